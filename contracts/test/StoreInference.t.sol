// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {Vm} from "forge-std/Vm.sol";
import {RegistryTestBase} from "./utils/RegistryTestBase.sol";
import {IAttestationRegistry} from "../src/interfaces/IAttestationRegistry.sol";
import {IERCZKMLVerifier} from "../src/interfaces/IERCZKMLVerifier.sol";
import {IERCZKMLStorageExtension} from "../src/interfaces/IERCZKMLStorageExtension.sol";
import {OutputCodec} from "../src/libraries/OutputCodec.sol";
import {InstanceLayout} from "../src/libraries/InstanceLayout.sol";

/// @notice verifyAndStoreInference, replay semantics and the record views (MockVerifier).
contract StoreInferenceTest is RegistryTestBase {
    uint256 internal modelId;

    function setUp() public override {
        super.setUp();
        modelId = _registerModel();
    }

    function test_verifyAndStoreInference_returnsErcInferenceId() public {
        int256[] memory v = _values3();
        bytes32 id = _store(modelId, INPUT, v);
        assertEq(id, keccak256(abi.encodePacked(modelId, INPUT, _output(v))));
        assertEq(id, registry.computeInferenceId(modelId, INPUT, _output(v)));
    }

    function test_verifyAndStoreInference_storesFullRecord() public {
        vm.roll(1234);
        vm.warp(1_700_000_000);
        int256[] memory v = _values3();
        bytes32 id = _store(modelId, INPUT, v);

        assertTrue(registry.hasInference(id));
        (uint256 m, bytes32 input, bytes memory out) = registry.getInference(id);
        assertEq(m, modelId);
        assertEq(input, INPUT);
        assertEq(out, _output(v));

        IAttestationRegistry.InferenceRecord memory r = registry.getInferenceRecord(id);
        assertEq(r.modelId, modelId);
        assertEq(r.inputCommitment, INPUT);
        assertEq(r.output, _output(v));
        assertEq(r.submitter, submitter);
        assertEq(r.blockNumber, 1234);
        assertEq(r.timestamp, 1_700_000_000);

        (int256[] memory values, uint8 scaleBits) = registry.getAttestedOutput(id);
        assertEq(values, v);
        assertEq(scaleBits, SCALE);

        assertEq(registry.latestInference(modelId, INPUT), id);
        assertEq(registry.inferenceCount(modelId), 1);
    }

    function test_verifyAndStoreInference_emitsVerifiedThenStored() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        bytes32 id = registry.computeInferenceId(modelId, INPUT, _output(v));
        vm.expectEmit(address(registry));
        emit IERCZKMLVerifier.InferenceVerified(modelId, INPUT, _output(v), submitter);
        vm.expectEmit(address(registry));
        emit IERCZKMLStorageExtension.InferenceStored(id);
        vm.prank(submitter);
        registry.verifyAndStoreInference(modelId, INPUT, _output(v), p);
    }

    function test_verifyAndStoreInference_replayReturnsExistingIdWithoutDuplicate() public {
        int256[] memory v = _values3();
        bytes32 id = _store(modelId, INPUT, v);
        IAttestationRegistry.InferenceRecord memory before = registry.getInferenceRecord(id);

        vm.roll(block.number + 10);
        vm.recordLogs();
        vm.prank(stranger);
        // The proof is not even looked at on replay: the record was verified when stored.
        bytes32 again = registry.verifyAndStoreInference(modelId, INPUT, _output(v), hex"00");
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(again, id);
        assertEq(logs.length, 0, "replay emits nothing");
        assertEq(registry.inferenceCount(modelId), 1);
        assertEq(abi.encode(registry.getInferenceRecord(id)), abi.encode(before), "record unchanged");
    }

    function test_verifyAndStoreInference_replayAfterDeprecationReturnsExistingId() public {
        int256[] memory v = _values3();
        bytes32 id = _store(modelId, INPUT, v);
        vm.prank(owner);
        registry.deprecateModel(modelId);
        assertEq(registry.verifyAndStoreInference(modelId, INPUT, _output(v), hex"00"), id);
        assertEq(registry.inferenceCount(modelId), 1);
    }

    function test_verifyAndStoreInference_latestTracksNewestRecord() public {
        // Two outputs for one input cannot both be proven by a deterministic circuit; the
        // mock lets us check that "latest" means most recently stored, should it happen.
        int256[] memory a = _values3();
        int256[] memory b = _values3();
        b[2] = 999;
        bytes32 idA = _store(modelId, INPUT, a);
        bytes32 idB = _store(modelId, INPUT, b);
        assertTrue(idA != idB);
        assertEq(registry.latestInference(modelId, INPUT), idB);
        assertEq(registry.inferenceCount(modelId), 2);
        assertTrue(registry.hasInference(idA));
    }

    function test_verifyAndStoreInference_keepsInputsAndModelsApart() public {
        bytes32 vkB = bytes32(uint256(0xb0b));
        vm.prank(owner);
        uint256 modelB = registry.registerModelWithOutputScale(_commitment(vkB), SCALE);
        int256[] memory v = _values3();
        bytes32 idA = _store(modelId, INPUT, v);
        bytes memory pB = _approvedProof(vkB, INPUT, v);
        bytes32 idB = registry.verifyAndStoreInference(modelB, INPUT, _output(v), pB);
        assertTrue(idA != idB);
        assertEq(registry.latestInference(modelId, INPUT), idA);
        assertEq(registry.latestInference(modelB, INPUT), idB);
        assertEq(registry.latestInference(modelId, bytes32(uint256(1))), bytes32(0));
        assertEq(registry.inferenceCount(modelId), 1);
        assertEq(registry.inferenceCount(modelB), 1);
    }

    function test_verifyAndStoreInference_storesZeroOutputs() public {
        int256[] memory none = new int256[](0);
        bytes32 id = _store(modelId, INPUT, none);
        (uint256 m,, bytes memory out) = registry.getInference(id);
        assertEq(m, modelId);
        assertEq(out, _output(none));
    }

    function test_verifyAndStoreInference_storesExtremeValues() public {
        int256[] memory v = new int256[](MAX_OUTPUTS);
        for (uint256 i = 0; i < MAX_OUTPUTS; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) -- i < 30
            v[i] = i % 2 == 0 ? OutputCodec.MAX_VALUE - int256(i) : OutputCodec.MIN_VALUE + int256(i - 1);
        }
        bytes32 id = _store(modelId, INPUT, v);
        (,, bytes memory out) = registry.getInference(id);
        assertEq(out, _output(v));
        (int256[] memory got,) = registry.getAttestedOutput(id);
        assertEq(got[0], type(int16).max);
        assertEq(got[1], type(int16).min);
    }

    function test_verifyAndStoreInference_revertsOnInvalidProofAndStoresNothing() public {
        int256[] memory v = _values3();
        bytes memory p = _proof(VK, INPUT, v); // never approved
        vm.expectRevert(IERCZKMLVerifier.InvalidProof.selector);
        registry.verifyAndStoreInference(modelId, INPUT, _output(v), p);
        assertFalse(registry.hasInference(registry.computeInferenceId(modelId, INPUT, _output(v))));
        assertEq(registry.inferenceCount(modelId), 0);
    }

    function test_verifyAndStoreInference_revertsForDeprecatedModel() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        vm.prank(owner);
        registry.deprecateModel(modelId);
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLVerifier.VerificationRefused_ModelDeprecated.selector, modelId));
        registry.verifyAndStoreInference(modelId, INPUT, _output(v), p);
    }

    function test_verifyAndStoreInference_revertsOnMismatchedClaim() public {
        int256[] memory v = _values3();
        bytes memory p = _approvedProof(VK, INPUT, v);
        int256[] memory w = _values3();
        w[0] = 6;
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyAndStoreInference(modelId, INPUT, _output(w), p);
        vm.expectRevert(IERCZKMLVerifier.InputCommitmentMismatch.selector);
        registry.verifyAndStoreInference(modelId, bytes32(0), _output(v), p);
    }

    function test_recordViews_revertForUnknownInference() public {
        bytes32 id = keccak256("nothing");
        bytes memory err = abi.encodeWithSelector(IAttestationRegistry.InferenceNotFound.selector, id);
        vm.expectRevert(err);
        registry.getInference(id);
        vm.expectRevert(err);
        registry.getInferenceRecord(id);
        vm.expectRevert(err);
        registry.getAttestedOutput(id);
        assertFalse(registry.hasInference(id));
    }

    // ------------------------------------------------------------------ output commitment

    /// @dev A proof of a model with more outputs than the packed words hold (count 0 in the
    /// words) committing to them with `commitment`, approved by the verifier stand-in.
    function _committedProof(bytes32 input, uint256 commitment) internal returns (bytes memory) {
        uint256[] memory inst = _instances(VK, input, new int256[](0));
        return _approvedProofWith(inst, inst.length - 1, commitment);
    }

    function test_verifyAndStoreInference_keepsTheCommitmentOfOutputsTooManyToShow() public {
        uint256 c = uint256(keccak256("all 100 outputs")) % InstanceLayout.FIELD_MODULUS;
        bytes memory p = _committedProof(INPUT, c);
        bytes memory none = _output(new int256[](0));
        bytes32 id = registry.computeInferenceId(modelId, INPUT, none);
        vm.expectEmit(true, false, false, true, address(registry));
        emit IAttestationRegistry.InferenceOutputCommitted(id, bytes32(c));
        vm.prank(submitter);
        assertEq(registry.verifyAndStoreInference(modelId, INPUT, none, p), id);
        assertEq(registry.getOutputCommitment(id), bytes32(c));
    }

    function test_verifyAndStoreInference_storesNoCommitmentBesideShownValues() public {
        int256[] memory v = _values3();
        uint256[] memory inst = _instances(VK, INPUT, v);
        bytes memory p = _approvedProofWith(inst, inst.length - 1, 12_345);
        vm.recordLogs();
        vm.prank(submitter);
        bytes32 id = registry.verifyAndStoreInference(modelId, INPUT, _output(v), p);
        assertEq(registry.getOutputCommitment(id), bytes32(0));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i = 0; i < logs.length; ++i) {
            assertTrue(logs[i].topics[0] != IAttestationRegistry.InferenceOutputCommitted.selector);
        }
    }

    function test_verifyInference_rejectsANonCanonicalOutputCommitment() public {
        // The verifier reduces instances mod r: c + r would verify like c, so it is refused.
        uint256 c = 7;
        bytes memory none = _output(new int256[](0));
        bytes memory p = _committedProof(INPUT, c + InstanceLayout.FIELD_MODULUS);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyAndStoreInference(modelId, INPUT, none, p);
        registry.verifyInference(modelId, INPUT, none, _committedProof(INPUT, c));
    }

    function test_getOutputCommitment_revertsForAnUnknownInference() public {
        bytes32 id = keccak256("nothing");
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.InferenceNotFound.selector, id));
        registry.getOutputCommitment(id);
    }
}
