// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {Test} from "forge-std/Test.sol";
import {Deploy} from "../script/Deploy.s.sol";
import {AttestationRegistry} from "../src/AttestationRegistry.sol";
import {IERCZKMLRegistry} from "../src/interfaces/IERCZKMLRegistry.sol";
import {MockVerifier} from "./mocks/MockVerifier.sol";

/// @notice The deploy script in-process (a MockVerifier stands in for the generated verifier).
contract DeployScriptTest is Test {
    Deploy internal script;
    bytes32 internal constant VK = bytes32(uint256(0x5eed));

    function setUp() public {
        script = new Deploy();
    }

    function _config() internal pure returns (Deploy.Config memory c) {
        c.verifierCreationCode = type(MockVerifier).creationCode;
        c.verifierGasLimit = 1_000_000;
        c.accLimbs = 12;
        c.maxOutputs = 30;
        c.vkHash = VK;
        c.modelHash = keccak256("m");
        c.uri = "ipfs://digits";
        c.outputScaleBits = 7;
    }

    function test_deploy_createsVerifierRegistryAndModel() public {
        (address verifier, address registry, uint256 modelId) = script.deploy(_config());
        assertGt(verifier.code.length, 0);
        AttestationRegistry r = AttestationRegistry(registry);
        assertEq(r.verifier(), verifier);
        assertEq(r.verifierGasLimit(), 1_000_000);
        assertEq(r.outputWords(), 2);
        assertEq(r.instanceCount(), 17);
        assertEq(modelId, 1);
        (IERCZKMLRegistry.ModelCommitment memory c,, address owner) = r.getModel(modelId);
        assertEq(c.vkHash, VK);
        assertEq(c.uri, "ipfs://digits");
        assertEq(owner, tx.origin, "the broadcasting account owns the model");
        assertEq(r.outputScaleBitsOf(modelId), 7);
    }

    function test_deploy_reusesVerifierAndSkipsModelWithoutVkHash() public {
        Deploy.Config memory c = _config();
        c.verifier = address(new MockVerifier());
        c.vkHash = bytes32(0);
        (address verifier, address registry, uint256 modelId) = script.deploy(c);
        assertEq(verifier, c.verifier);
        assertEq(AttestationRegistry(registry).verifier(), c.verifier);
        assertEq(modelId, 0);
    }

    function test_deploy_registersIntoExistingRegistry() public {
        (, address registry,) = script.deploy(_config());
        Deploy.Config memory c = _config();
        c.registry = registry;
        (, address again, uint256 modelId) = script.deploy(c);
        assertEq(again, registry);
        assertEq(modelId, 2);
    }

    function test_configFromEnv_readsVariablesWithDefaults() public {
        vm.setEnv("VERIFIER_ARTIFACT", "MockVerifier.sol:MockVerifier");
        vm.setEnv("MODEL_VK_HASH", vm.toString(VK));
        vm.setEnv("OUTPUT_SCALE_BITS", "7");
        Deploy.Config memory c = script.configFromEnv();
        assertEq(keccak256(c.verifierCreationCode), keccak256(vm.getCode("MockVerifier.sol:MockVerifier")));
        assertEq(c.vkHash, VK);
        assertEq(c.outputScaleBits, 7);
        assertEq(c.verifierGasLimit, 1_000_000);
        assertEq(c.accLimbs, 12);
        assertEq(c.maxOutputs, 30);
        (,, uint256 modelId) = script.run();
        assertEq(modelId, 1);
    }
}
