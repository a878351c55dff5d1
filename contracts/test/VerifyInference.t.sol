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
    uint256 internal constant WORD0 = ACC_LIMBS + 2; // the first values and the count
    uint256 internal constant WORD1 = ACC_LIMBS + 3; // the rest
    uint256 internal constant COUNT_SHIFT = 240;
    uint256 internal constant COUNT_ONE = 2 ** 240; // a count of 1 in word 0
    /// @dev A word of 5 unused 48-bit slots: each field is 2^47 (v = 0).
    uint256 internal constant PADDING_48 = 0x800000000000800000000000800000000000800000000000800000000000;

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

    function test_verifyInference_packsOutputsLikeTheCircuit() public {
        // Known answers, computed independently of OutputCodec: up to 10 values take 48-bit
        // fields v + 2^47, slot i at bit 48 (i mod 5) of word i / 5, unused slots 2^47, the
        // count at bit 240 of word 0 and the scale (7) at 246; 11 to 14 take 32-bit fields
        // (7 a word), more take 16-bit fields (15 a word).
        int256[] memory v = new int256[](3);
        v[0] = -1;
        v[1] = 32_767;
        v[2] = -32_768;
        uint256[] memory inst = _instances(VK, INPUT, v);
        assertEq(inst.length, ACC_LIMBS + 3 + OUTPUT_WORDS);
        assertEq(inst[WORD0], 0x1c38000000000008000000000007fffffff8000800000007fff7fffffffffff);
        assertEq(inst[WORD1], PADDING_48);
        // The Rust unit test's vectors (prover/src/aggregate/outputs/tests.rs, known_answers).
        int256[] memory r = new int256[](5);
        (r[0], r[1], r[2], r[3], r[4]) = (5, -3, 0, 32_767, -32_768);
        inst = _instances(VK, INPUT, r);
        assertEq(inst[WORD0], 0x1c57fffffff8000800000007fff8000000000007ffffffffffd800000000005);
        assertEq(inst[WORD1], PADDING_48);
        int256[] memory wide = new int256[](3);
        (wide[0], wide[1], wide[2]) = (2 ** 40, -(2 ** 47), 2 ** 47 - 1);
        inst = _instances(VK, INPUT, wide);
        assertEq(inst[WORD0], 0x1c3800000000000800000000000ffffffffffff000000000000810000000000);
        int256[] memory twelve = new int256[](12);
        for (uint256 i = 0; i < 12; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) -- i < 12
            twelve[i] = int256(i) - 6;
        }
        inst = _instances(VK, INPUT, twelve);
        assertEq(inst[WORD0], 0x1cc0000800000007fffffff7ffffffe7ffffffd7ffffffc7ffffffb7ffffffa);
        assertEq(inst[WORD1], 0x80000000800000008000000580000004800000038000000280000001);
        int256[] memory twenty = new int256[](20);
        for (uint256 i = 0; i < 20; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) -- i < 20
            twenty[i] = int256(i);
        }
        inst = _instances(VK, INPUT, twenty);
        assertEq(inst[WORD0], 0x1d4800e800d800c800b800a8009800880078006800580048003800280018000);
        assertEq(inst[WORD1], 0x80008000800080008000800080008000800080008013801280118010800f);
        // No outputs: padding only, count 0, the scale.
        inst = _instances(VK, INPUT, new int256[](0));
        assertEq(inst[WORD0], PADDING_48 | (uint256(SCALE) << 246));
        assertEq(inst[WORD1], PADDING_48);
        registry.verifyInference(modelId, INPUT, _output(v), _approvedProof(VK, INPUT, v));
        registry.verifyInference(modelId, INPUT, _output(r), _approvedProof(VK, INPUT, r));
        registry.verifyInference(modelId, INPUT, _output(wide), _approvedProof(VK, INPUT, wide));
    }

    function test_verifyInference_acceptsZeroAndMaxOutputs() public {
        int256[] memory none = new int256[](0);
        registry.verifyInference(modelId, INPUT, _output(none), _approvedProof(VK, INPUT, none));
        int256[] memory full = new int256[](MAX_OUTPUTS);
        for (uint256 i = 0; i < MAX_OUTPUTS; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) -- i < 30
            full[i] = int256(i) - 16;
        }
        full[0] = OutputCodec.MIN_VALUE;
        full[MAX_OUTPUTS - 1] = OutputCodec.MAX_VALUE;
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
        // The count field alone altered (3 -> 4, 3 -> 2).
        uint256[] memory inst = _instances(VK, INPUT, v);
        p = _approvedProofWith(inst, WORD0, inst[WORD0] + COUNT_ONE);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(v), p);
        inst = _instances(VK, INPUT, v);
        p = _approvedProofWith(inst, WORD0, inst[WORD0] - COUNT_ONE);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(v), p);
        // Dropping a trailing zero is a different claim too: [5, -3, 1000, 0] vs [5, -3, 1000].
        int256[] memory longer = new int256[](4);
        (longer[0], longer[1], longer[2]) = (v[0], v[1], v[2]);
        p = _approvedProof(VK, INPUT, longer);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(v), p);
        registry.verifyInference(modelId, INPUT, _output(longer), p);
    }

    function test_verifyInference_revertsOnScaleMismatch() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, OutputCodec.encode(v, SCALE + 1), p);
    }

    function test_verifyInference_revertsOnTooManyOutputs() public {
        // 31 zeros, and instances whose count field says 31 (the 6-bit field can hold it).
        int256[] memory v = new int256[](MAX_OUTPUTS + 1);
        uint256[] memory inst = _instances(VK, INPUT, new int256[](0));
        inst[WORD0] |= (MAX_OUTPUTS + 1) << COUNT_SHIFT;
        bytes memory p = ProofCodec.encode(inst, hex"00");
        mock.setAcceptAll(true);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(v), p);
    }

    function test_verifyInference_revertsOnAlteredPadding() public {
        // Unused slots must hold exactly v = 0 and the bits above the fields must be zero.
        int256[] memory v = _values3(); // 48-bit slots, 5 a word
        uint256[] memory bad = new uint256[](6);
        uint256[] memory at = new uint256[](6);
        uint256[] memory inst = _instances(VK, INPUT, v);
        (at[0], bad[0]) = (WORD0, inst[WORD0] + (1 << 144)); // slot 3: 2^47 -> 2^47 + 1
        (at[1], bad[1]) = (WORD0, inst[WORD0] - (2 ** 47 << 192)); // slot 4: 2^47 -> 0
        (at[2], bad[2]) = (WORD0, inst[WORD0] | (1 << 252)); // above the count and the scale
        (at[3], bad[3]) = (WORD1, inst[WORD1] + (1 << 192)); // slot 9
        (at[4], bad[4]) = (WORD1, inst[WORD1] | (1 << 240)); // above the fields of word 1
        (at[5], bad[5]) = (WORD1, 0); // all-zero padding word
        for (uint256 i = 0; i < bad.length; ++i) {
            bytes memory p = _approvedProofWith(_instances(VK, INPUT, v), at[i], bad[i]);
            vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
            registry.verifyInference(modelId, INPUT, _output(v), p);
        }
        // 32-bit slots fill 224 bits of a word: the 16 above them are zero too.
        int256[] memory twelve = new int256[](12);
        inst = _instances(VK, INPUT, twelve);
        for (uint256 w = WORD0; w <= WORD1; ++w) {
            bytes memory p = _approvedProofWith(_instances(VK, INPUT, twelve), w, inst[w] | (1 << 230));
            vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
            registry.verifyInference(modelId, INPUT, _output(twelve), p);
        }
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

    function test_verifyInference_revertsOnValueOutsideItsSlot() public {
        // At each width (3 values: 48 bits, 12: 32, 20: 16), 5 + 2^b has the same low b bits
        // as 5: without the range check it would alias.
        uint256[3] memory counts = [uint256(3), 12, 20];
        for (uint256 c = 0; c < counts.length; ++c) {
            int256[] memory v = new int256[](counts[c]);
            (v[0], v[1], v[2]) = (5, -3, 1000);
            uint256 bits = OutputCodec.slotBits(v.length, MAX_OUTPUTS);
            int256 half = int256(1 << (bits - 1));
            bytes memory p = _approvedProof(VK, INPUT, v);
            int256[] memory alias_ = new int256[](v.length);
            (alias_[1], alias_[2]) = (v[1], v[2]);
            alias_[0] = 5 + 2 * half;
            vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
            registry.verifyInference(modelId, INPUT, _output(alias_), p);
            alias_[0] = 5 - 2 * half;
            vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
            registry.verifyInference(modelId, INPUT, _output(alias_), p);
            // Just past either end, with the instance word a range-unchecked packer would
            // produce (the field carries into the next slot): rejected whatever the instance says.
            uint256[] memory inst = _instances(VK, INPUT, v);
            // forge-lint: disable-next-line(unsafe-typecast) -- 5 + half > 0
            uint256 field0 = uint256(5 + half);
            alias_[0] = half; // field 2^b: slot 0 reads 0, slot 1 gains 1
            p = _approvedProofWith(inst, WORD0, inst[WORD0] - field0 + (1 << bits));
            vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
            registry.verifyInference(modelId, INPUT, _output(alias_), p);
            inst = _instances(VK, INPUT, v);
            alias_[0] = -half - 1; // field -1: borrows from slot 1
            p = _approvedProofWith(inst, WORD0, inst[WORD0] - field0 - 1);
            vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
            registry.verifyInference(modelId, INPUT, _output(alias_), p);
            // The extreme int256 values.
            alias_[0] = type(int256).max;
            vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
            registry.verifyInference(modelId, INPUT, _output(alias_), p);
            alias_[0] = type(int256).min;
            vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
            registry.verifyInference(modelId, INPUT, _output(alias_), p);
        }
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

    function test_registry_srsDigestIsZeroForAVerifierThatNamesNone() public {
        assertEq(registry.srsDigest(), bytes32(0));
        uint256 id = _registerModel();
        assertEq(registry.srsDigestOf(id), bytes32(0));
    }

    function test_registry_returnsItself() public view {
        assertEq(registry.registry(), address(registry));
    }

    function test_instanceLayout_isExposed() public view {
        assertEq(registry.verifier(), address(mock));
        assertEq(registry.verifierGasLimit(), GAS_LIMIT);
        assertEq(registry.accumulatorLimbs(), ACC_LIMBS);
        assertEq(registry.maxOutputs(), MAX_OUTPUTS);
        assertEq(registry.outputWords(), OUTPUT_WORDS);
        assertEq(registry.instanceCount(), InstanceLayout.count(ACC_LIMBS, MAX_OUTPUTS));
        // 12 accumulator limbs, model digest, input commitment, 2 packed output words, output
        // commitment.
        assertEq(registry.instanceCount(), 17);
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
