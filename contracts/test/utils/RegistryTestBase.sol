// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {Test} from "forge-std/Test.sol";
import {AttestationRegistry} from "../../src/AttestationRegistry.sol";
import {IERCZKMLRegistry} from "../../src/interfaces/IERCZKMLRegistry.sol";
import {OutputCodec} from "../../src/libraries/OutputCodec.sol";
import {ProofCodec} from "../../src/libraries/ProofCodec.sol";
import {MockVerifier} from "../mocks/MockVerifier.sol";

/// @notice Shared set-up: a registry over a MockVerifier (no cryptography) and builders for
/// commitments, outputs and proofs whose instances are consistent with a claim.
abstract contract RegistryTestBase is Test {
    uint256 internal constant GAS_LIMIT = 1_000_000;
    uint256 internal constant ACC_LIMBS = 12;
    uint256 internal constant MAX_OUTPUTS = 30;
    uint256 internal constant OUTPUT_WORDS = 2;
    uint8 internal constant SCALE = 7;
    bytes32 internal constant VK = bytes32(uint256(0x1234));
    bytes32 internal constant INPUT = bytes32(uint256(0xabcdef));
    bytes4 internal constant HALO2 = bytes4(keccak256("halo2-kzg-bn254-shplonk-v1"));

    MockVerifier internal mock;
    AttestationRegistry internal registry;
    address internal owner = makeAddr("owner");
    address internal stranger = makeAddr("stranger");
    address internal submitter = makeAddr("submitter");

    function setUp() public virtual {
        mock = new MockVerifier();
        registry = new AttestationRegistry(address(mock), GAS_LIMIT, ACC_LIMBS, MAX_OUTPUTS);
    }

    function _commitment(bytes32 vk) internal pure returns (IERCZKMLRegistry.ModelCommitment memory) {
        return IERCZKMLRegistry.ModelCommitment({
            modelHash: keccak256("weights"),
            circuitHash: keccak256("circuit"),
            vkHash: vk,
            proofSystemId: HALO2,
            uri: "ipfs://model"
        });
    }

    /// @dev Registers a model with vkHash VK and output scale SCALE as `owner`.
    function _registerModel() internal returns (uint256 modelId) {
        vm.prank(owner);
        modelId = registry.registerModelWithOutputScale(_commitment(VK), SCALE);
    }

    function _values3() internal pure returns (int256[] memory v) {
        v = new int256[](3);
        v[0] = 5;
        v[1] = -3;
        v[2] = 1000;
    }

    function _output(int256[] memory values) internal pure returns (bytes memory) {
        return OutputCodec.encode(values, SCALE);
    }

    function _accumulator() internal pure returns (uint256[] memory acc) {
        // Small values so the calldata never starts with one of MockVerifier's own selectors.
        acc = new uint256[](ACC_LIMBS);
        for (uint256 i = 0; i < ACC_LIMBS; ++i) {
            acc[i] = i + 1;
        }
    }

    function _instances(bytes32 vk, bytes32 input, int256[] memory values) internal pure returns (uint256[] memory) {
        return ProofCodec.buildInstances(_accumulator(), vk, input, values, SCALE, MAX_OUTPUTS);
    }

    /// @dev A proof whose instances match the claim; the transcript is filler the mock ignores.
    function _proof(bytes32 vk, bytes32 input, int256[] memory values) internal pure returns (bytes memory) {
        return ProofCodec.encode(_instances(vk, input, values), hex"deadbeefcafe");
    }

    /// @dev A matching proof that the mock will accept.
    function _approvedProof(bytes32 vk, bytes32 input, int256[] memory values) internal returns (bytes memory p) {
        p = _proof(vk, input, values);
        mock.approve(p);
    }

    /// @dev The proof with instance `index` replaced by `value`, approved by the mock so only
    /// the registry's own checks can reject it.
    function _approvedProofWith(uint256[] memory instances, uint256 index, uint256 value)
        internal
        returns (bytes memory p)
    {
        instances[index] = value;
        p = ProofCodec.encode(instances, hex"deadbeefcafe");
        mock.approve(p);
    }

    function _store(uint256 modelId, bytes32 input, int256[] memory values) internal returns (bytes32) {
        bytes memory p = _approvedProof(VK, input, values);
        vm.prank(submitter);
        return registry.verifyAndStoreInference(modelId, input, _output(values), p);
    }
}
