// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {RegistryTestBase} from "./utils/RegistryTestBase.sol";
import {IERCZKMLRegistry} from "../src/interfaces/IERCZKMLRegistry.sol";
import {IERCZKMLVerifier} from "../src/interfaces/IERCZKMLVerifier.sol";
import {InstanceLayout} from "../src/libraries/InstanceLayout.sol";
import {OutputCodec} from "../src/libraries/OutputCodec.sol";
import {ProofCodec} from "../src/libraries/ProofCodec.sol";

/// @notice verifyInference: every check the registry makes before and around the verifier call.
/// The verifier is a MockVerifier, so these tests cover the registry's logic, not cryptography.
contract VerifyInferenceTest is RegistryTestBase {
    uint256 internal modelId;
    uint256 internal constant DIGEST = ACC_LIMBS;
    uint256 internal constant INPUT_AT = ACC_LIMBS + 1;
    uint256 internal constant COUNT_AT = ACC_LIMBS + 2;
    uint256 internal constant OUT0 = ACC_LIMBS + 3;

    function setUp() public override {
        super.setUp();
        modelId = _registerModel();
    }

    function test_verifyInference_acceptsMatchingProofAndEmits() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        vm.expectEmit(address(registry));
        emit IERCZKMLVerifier.InferenceVerified(modelId, INPUT, _output(v), submitter);
        vm.prank(submitter);
        registry.verifyInference(modelId, INPUT, _output(v), p);
    }

    function test_verifyInference_forwardsProofUnchanged() public {
        // The mock accepts only byte-identical calldata: nothing else was approved.
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        registry.verifyInference(modelId, INPUT, _output(v), p);
        bytes memory tampered = bytes.concat(p, hex"00");
        vm.expectRevert(IERCZKMLVerifier.InvalidProof.selector);
        registry.verifyInference(modelId, INPUT, _output(v), tampered);
    }

    function test_verifyInference_storesNothing() public {
        int256[] memory v = _values3();
        registry.verifyInference(modelId, INPUT, _output(v), _approvedProof(VK, INPUT, v));
        assertEq(registry.inferenceCount(modelId), 0);
        assertEq(registry.latestInference(modelId, INPUT), bytes32(0));
        assertFalse(registry.hasInference(registry.computeInferenceId(modelId, INPUT, _output(v))));
    }

    function test_verifyInference_encodesNegativeOutputsAsFieldComplement() public {
        int256[] memory v = new int256[](2);
        v[0] = -1;
        v[1] = -int256(OutputCodec.MAX_ABS_VALUE);
        uint256[] memory inst = _instances(VK, INPUT, v);
        assertEq(inst[OUT0], OutputCodec.FIELD_MODULUS - 1);
        assertEq(inst[OUT0 + 1], OutputCodec.MAX_ABS_VALUE + 1);
        registry.verifyInference(modelId, INPUT, _output(v), _approvedProof(VK, INPUT, v));
    }

    function test_verifyInference_acceptsZeroAndMaxOutputs() public {
        int256[] memory none = new int256[](0);
        registry.verifyInference(modelId, INPUT, _output(none), _approvedProof(VK, INPUT, none));
        int256[] memory full = new int256[](MAX_OUTPUTS);
        for (uint256 i = 0; i < MAX_OUTPUTS; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) -- i < 32
            full[i] = int256(i) - 16;
        }
        registry.verifyInference(modelId, INPUT, _output(full), _approvedProof(VK, INPUT, full));
    }

    function test_verifyInference_revertsForUnknownModel() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.ModelNotFound.selector, 2));
        registry.verifyInference(2, INPUT, _output(v), p);
    }

    function test_verifyInference_revertsForDeprecatedModel() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        vm.prank(owner);
        registry.deprecateModel(modelId);
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLVerifier.VerificationRefused_ModelDeprecated.selector, modelId));
        registry.verifyInference(modelId, INPUT, _output(v), p);
    }

    function test_verifyInference_revertsOnProofWithoutTranscript() public {
        int256[] memory v = _values3();
        bytes memory instancesOnly = ProofCodec.encode(_instances(VK, INPUT, v), "");
        mock.setAcceptAll(true);
        vm.expectRevert(IERCZKMLVerifier.InvalidProof.selector);
        registry.verifyInference(modelId, INPUT, _output(v), instancesOnly);
        vm.expectRevert(IERCZKMLVerifier.InvalidProof.selector);
        registry.verifyInference(modelId, INPUT, _output(v), hex"01");
    }

    function test_verifyInference_revertsOnModelDigestMismatch() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProofWith(_instances(VK, INPUT, v), DIGEST, uint256(VK) + 1);
        vm.expectRevert(IERCZKMLVerifier.ModelMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(v), p);
    }

    function test_verifyInference_revertsOnProofOfAnotherModel() public {
        // A valid proof for model B presented as model A.
        bytes32 vkB = bytes32(uint256(0xb0b));
        vm.prank(stranger);
        registry.registerModelWithOutputScale(_commitment(vkB), SCALE);
        int256[] memory v = _values3();
        bytes memory proofB = _approvedProof(vkB, INPUT, v);
        registry.verifyInference(2, INPUT, _output(v), proofB);
        vm.expectRevert(IERCZKMLVerifier.ModelMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(v), proofB);
    }

    function test_verifyInference_revertsOnInputCommitmentMismatch() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        vm.expectRevert(IERCZKMLVerifier.InputCommitmentMismatch.selector);
        registry.verifyInference(modelId, bytes32(uint256(INPUT) + 1), _output(v), p);
    }

    function test_verifyInference_revertsOnOutputValueMismatch() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        v[1] = 3; // claimed 3, proven -3
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(v), p);
    }

    function test_verifyInference_revertsOnOutputCountMismatch() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        int256[] memory shorter = new int256[](2);
        shorter[0] = v[0];
        shorter[1] = v[1];
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(shorter), p);
        // numOutputs instance alone altered.
        p = _approvedProofWith(_instances(VK, INPUT, v), COUNT_AT, 4);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(v), p);
    }

    function test_verifyInference_revertsOnScaleMismatch() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, OutputCodec.encode(v, SCALE + 1), p);
    }

    function test_verifyInference_revertsOnTooManyOutputs() public {
        int256[] memory v = new int256[](MAX_OUTPUTS + 1);
        uint256[] memory inst = _instances(VK, INPUT, new int256[](0));
        inst[COUNT_AT] = MAX_OUTPUTS + 1;
        bytes memory p = ProofCodec.encode(inst, hex"00");
        mock.setAcceptAll(true);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(v), p);
    }

    function test_verifyInference_revertsOnNonZeroPadding() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProofWith(_instances(VK, INPUT, v), OUT0 + MAX_OUTPUTS - 1, 1);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(v), p);
    }

    function test_verifyInference_revertsOnNonCanonicalOutputEncoding() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        bytes memory good = _output(v);
        bytes[] memory bad = new bytes[](6);
        bad[0] = bytes.concat(good, hex"00"); // trailing byte
        bad[1] = bytes.concat(good, new bytes(32)); // trailing word
        bad[2] = _slice(good, 0, good.length - 1); // truncated
        bad[3] = _withWord(good, 0, 0x60); // non-minimal offset
        bad[4] = _withWord(good, 1, uint256(SCALE) | (1 << 8)); // dirty uint8
        bad[5] = hex"0000"; // shorter than the head
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
            registry.verifyInference(modelId, INPUT, bad[i], p);
        }
    }

    function test_verifyInference_revertsOnValueWithoutUniqueFieldEncoding() public {
        // 5 - r is a different integer from 5 but encodes to the same field element.
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        int256[] memory alias_ = _values3();
        alias_[0] = 5 - int256(OutputCodec.FIELD_MODULUS);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(alias_), p);
        // And a value just past the accepted range, whatever the instance says.
        alias_[0] = int256(OutputCodec.MAX_ABS_VALUE) + 1;
        uint256[] memory inst = _instances(VK, INPUT, v);
        p = _approvedProofWith(inst, OUT0, OutputCodec.MAX_ABS_VALUE + 1);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(alias_), p);
    }

    function test_verifyInference_revertsWhenVerifierRejects() public {
        int256[] memory v = _values3();
        bytes memory p = _proof(VK, INPUT, v); // consistent instances, never approved
        vm.expectRevert(IERCZKMLVerifier.InvalidProof.selector);
        registry.verifyInference(modelId, INPUT, _output(v), p);
    }

    function test_verifyInference_acceptsAbiTrueReturn() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        mock.setReturnData(abi.encode(true));
        registry.verifyInference(modelId, INPUT, _output(v), p);
    }

    function test_verifyInference_revertsOnAbiFalseOrOddReturn() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        bytes[] memory returns_ = new bytes[](3);
        returns_[0] = abi.encode(false);
        returns_[1] = abi.encode(uint256(2));
        returns_[2] = abi.encode(true, true);
        for (uint256 i = 0; i < returns_.length; ++i) {
            mock.setReturnData(returns_[i]);
            vm.expectRevert(IERCZKMLVerifier.InvalidProof.selector);
            registry.verifyInference(modelId, INPUT, _output(v), p);
        }
    }

    function test_verifyInference_checksInstancesBeforeCallingVerifier() public {
        // A verifier that accepts everything still cannot make a mismatched claim pass.
        mock.setAcceptAll(true);
        int256[] memory v = _values3();
        bytes memory p = _proof(VK, INPUT, v);
        vm.expectRevert(IERCZKMLVerifier.InputCommitmentMismatch.selector);
        registry.verifyInference(modelId, bytes32(0), _output(v), p);
    }

    function test_registry_returnsItself() public view {
        assertEq(registry.registry(), address(registry));
    }

    function test_instanceLayout_isExposed() public view {
        assertEq(registry.verifier(), address(mock));
        assertEq(registry.verifierGasLimit(), GAS_LIMIT);
        assertEq(registry.accumulatorLimbs(), ACC_LIMBS);
        assertEq(registry.maxOutputs(), MAX_OUTPUTS);
        assertEq(registry.instanceCount(), InstanceLayout.count(ACC_LIMBS, MAX_OUTPUTS));
        assertEq(registry.instanceCount(), 47);
    }

    function _withWord(bytes memory b, uint256 wordIndex, uint256 value) private pure returns (bytes memory out) {
        out = bytes.concat(b);
        assembly ("memory-safe") {
            mstore(add(add(out, 0x20), shl(5, wordIndex)), value)
        }
    }

    function _slice(bytes memory b, uint256 from, uint256 to) private pure returns (bytes memory out) {
        out = new bytes(to - from);
        for (uint256 i = from; i < to; ++i) {
            out[i - from] = b[i];
        }
    }
}
