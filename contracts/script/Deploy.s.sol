// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {Script, console} from "forge-std/Script.sol";
import {AttestationRegistry} from "../src/AttestationRegistry.sol";
import {IERCZKMLRegistry} from "../src/interfaces/IERCZKMLRegistry.sol";

/// @title Deploys the verifier (or reuses one) and the attestation registry, and registers a model.
/// @notice Configuration comes from environment variables (all optional):
///   Verifier, first one set wins:
///     VERIFIER_ADDRESS        an already deployed verifier
///     VERIFIER_ARTIFACT       a forge artifact to deploy, e.g. "Halo2Verifier.sol:Halo2Verifier"
///     VERIFIER_BYTECODE_PATH  a file holding the verifier's creation bytecode as hex
///   Registry:
///     REGISTRY_ADDRESS        reuse this registry instead of deploying one (then only registers)
///     VERIFIER_GAS_LIMIT      default 1000000
///     ACC_LIMBS               default 12
///     MAX_OUTPUTS             default 30 (packed into ceil(30 / 15) = 2 instance words)
///   Model (registered only if MODEL_VK_HASH is set):
///     MODEL_VK_HASH           the model digest (bytes32, a BN254 field element)
///     MODEL_HASH, CIRCUIT_HASH  bytes32, default zero
///     MODEL_URI               default ""
///     OUTPUT_SCALE_BITS       default 0
/// Example against anvil (its first default account):
///   forge script contracts/script/Deploy.s.sol --rpc-url http://127.0.0.1:8545 --broadcast \
///     --private-key 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
/// Returns (verifier, registry, modelId); modelId is 0 when no model was registered.
contract Deploy is Script {
    bytes4 internal constant PROOF_SYSTEM_ID = bytes4(keccak256("halo2-kzg-bn254-shplonk-v1"));

    /// @notice Everything the deployment needs; `run` reads it from the environment.
    struct Config {
        address verifier;
        bytes verifierCreationCode; // used when verifier == address(0)
        address registry; // reuse when non-zero
        uint256 verifierGasLimit;
        uint256 accLimbs;
        uint256 maxOutputs;
        bytes32 vkHash; // register a model when non-zero
        bytes32 modelHash;
        bytes32 circuitHash;
        string uri;
        uint8 outputScaleBits;
    }

    /// @notice Entry point for `forge script`.
    function run() external returns (address verifier, address registry, uint256 modelId) {
        return deploy(configFromEnv());
    }

    /// @notice Reads the configuration from environment variables (see the contract doc).
    function configFromEnv() public view returns (Config memory c) {
        c.verifier = vm.envOr("VERIFIER_ADDRESS", address(0));
        if (c.verifier == address(0)) {
            string memory artifact = vm.envOr("VERIFIER_ARTIFACT", string(""));
            string memory path = vm.envOr("VERIFIER_BYTECODE_PATH", string(""));
            if (bytes(artifact).length != 0) {
                c.verifierCreationCode = vm.getCode(artifact);
            } else if (bytes(path).length != 0) {
                c.verifierCreationCode = vm.parseBytes(vm.trim(vm.readFile(path)));
            } else {
                revert("Deploy: set VERIFIER_ADDRESS, VERIFIER_ARTIFACT or VERIFIER_BYTECODE_PATH");
            }
        }
        c.registry = vm.envOr("REGISTRY_ADDRESS", address(0));
        c.verifierGasLimit = vm.envOr("VERIFIER_GAS_LIMIT", uint256(1_000_000));
        c.accLimbs = vm.envOr("ACC_LIMBS", uint256(12));
        c.maxOutputs = vm.envOr("MAX_OUTPUTS", uint256(30));
        c.vkHash = vm.envOr("MODEL_VK_HASH", bytes32(0));
        c.modelHash = vm.envOr("MODEL_HASH", bytes32(0));
        c.circuitHash = vm.envOr("CIRCUIT_HASH", bytes32(0));
        c.uri = vm.envOr("MODEL_URI", string(""));
        uint256 scale = vm.envOr("OUTPUT_SCALE_BITS", uint256(0));
        require(scale <= type(uint8).max, "Deploy: OUTPUT_SCALE_BITS must fit in uint8");
        // forge-lint: disable-next-line(unsafe-typecast) -- checked just above
        c.outputScaleBits = uint8(scale);
    }

    /// @notice Deploys and registers as configured, broadcasting from the script's sender.
    function deploy(Config memory c) public returns (address verifier, address registry, uint256 modelId) {
        vm.startBroadcast();
        verifier = c.verifier;
        if (c.registry != address(0)) {
            registry = c.registry;
            verifier = AttestationRegistry(registry).verifier();
        } else {
            if (verifier == address(0)) verifier = _create(c.verifierCreationCode);
            registry = address(new AttestationRegistry(verifier, c.verifierGasLimit, c.accLimbs, c.maxOutputs));
        }
        if (c.vkHash != bytes32(0)) {
            IERCZKMLRegistry.ModelCommitment memory commitment = IERCZKMLRegistry.ModelCommitment({
                modelHash: c.modelHash,
                circuitHash: c.circuitHash,
                vkHash: c.vkHash,
                proofSystemId: PROOF_SYSTEM_ID,
                uri: c.uri
            });
            modelId = AttestationRegistry(registry).registerModelWithOutputScale(commitment, c.outputScaleBits);
        }
        vm.stopBroadcast();
        console.log("verifier", verifier);
        console.log("registry", registry);
        console.log("modelId", modelId);
    }

    function _create(bytes memory creationCode) internal returns (address deployed) {
        require(creationCode.length != 0, "Deploy: empty verifier bytecode");
        assembly ("memory-safe") {
            deployed := create(0, add(creationCode, 0x20), mload(creationCode))
        }
        require(deployed != address(0), "Deploy: verifier creation failed");
    }
}
