// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {IERC165} from "./interfaces/IERC165.sol";
import {IAttestationRegistry} from "./interfaces/IAttestationRegistry.sol";
import {IERCZKMLRegistry} from "./interfaces/IERCZKMLRegistry.sol";
import {IERCZKMLVerifier} from "./interfaces/IERCZKMLVerifier.sol";
import {IERCZKMLStorageExtension} from "./interfaces/IERCZKMLStorageExtension.sol";
import {InstanceLayout} from "./libraries/InstanceLayout.sol";
import {OutputCodec} from "./libraries/OutputCodec.sol";
import {PackedOutput} from "./libraries/PackedOutput.sol";
import {ModelRegistry} from "./ModelRegistry.sol";

/// @title zkattest attestation registry (ERC-7992 registry + verifier + storage extension).
/// @notice Model owners register models; anyone submits a proof that a registered model
/// produced an output from a committed input; dApps read the verified records.
/// @dev One contract plays the ERC's registry and verifier roles so verification reads the model
/// with two storage loads instead of an external call (`registry()` returns this contract).
/// The universal aggregation verifier and the instance layout are immutable: a new verifier
/// means a new registry, never a silent change under existing records. There is no admin.
contract AttestationRegistry is ModelRegistry, IERC165 {
    /// @dev One stored inference. Slot 0 and 1 are written once; the output words likewise.
    struct Record {
        bytes32 inputCommitment;
        address submitter; // zero iff the record does not exist
        uint48 blockNumber; // 2^48 blocks: ~9,000 years even at 1 ms per block
        uint48 timestamp;
        mapping(uint256 => uint256) output; // PackedOutput: model id, scale, values
        bytes32 outputCommitment; // written only when the outputs are not in the proof's words
    }

    address private immutable _VERIFIER;
    uint256 private immutable _VERIFIER_GAS_LIMIT;
    uint256 private immutable _ACC_LIMBS;
    uint256 private immutable _MAX_OUTPUTS;
    /// @dev Byte length of the instances at the head of `proof`.
    uint256 private immutable _INSTANCE_BYTES;
    /// @dev Index of the output commitment among the instances.
    uint256 private immutable _OUTPUT_COMMITMENT_INDEX;
    /// @dev The verifier's `srsDigest()`, read once (zero for a verifier without it).
    bytes32 private immutable _SRS_DIGEST;

    mapping(bytes32 inferenceId => Record) private _records;
    mapping(uint256 modelId => mapping(bytes32 inputCommitment => bytes32 inferenceId)) private _latest;

    /// @param verifier_ The universal aggregation verifier (must have code).
    /// @param verifierGasLimit_ Gas forwarded to it; e.g. 1,000,000 (the real aggregated proof needs ~417k).
    /// @param accumulatorLimbs_ KZG accumulator limbs leading the instances (12 for snark-verifier).
    /// @param maxOutputs_ Output slots packed into the instances (30 for zkattest, i.e. 2 words), 1..63.
    constructor(address verifier_, uint256 verifierGasLimit_, uint256 accumulatorLimbs_, uint256 maxOutputs_) {
        if (verifier_.code.length == 0) revert VerifierNotAContract(verifier_);
        if (verifierGasLimit_ == 0) revert InvalidVerifierGasLimit(verifierGasLimit_);
        // The packed count has 6 bits (OutputCodec); the limb bound only keeps arithmetic sane.
        if (maxOutputs_ == 0 || maxOutputs_ > OutputCodec.MAX_OUTPUT_SLOTS || accumulatorLimbs_ > type(uint16).max) {
            revert InvalidInstanceLayout(accumulatorLimbs_, maxOutputs_);
        }
        _VERIFIER = verifier_;
        _VERIFIER_GAS_LIMIT = verifierGasLimit_;
        _ACC_LIMBS = accumulatorLimbs_;
        _MAX_OUTPUTS = maxOutputs_;
        _INSTANCE_BYTES = InstanceLayout.count(accumulatorLimbs_, maxOutputs_) * 32;
        _OUTPUT_COMMITMENT_INDEX = InstanceLayout.outputCommitmentIndex(accumulatorLimbs_, maxOutputs_);
        _SRS_DIGEST = _srsDigestOf(verifier_);
    }

    /// @dev The SRS digest a generated verifier names (`srsDigest()`); zero if it names none.
    /// Bounded gas: a verifier without the view may run its fallback on any calldata.
    function _srsDigestOf(address verifier_) private view returns (bytes32 digest) {
        (bool ok, bytes memory ret) = verifier_.staticcall{gas: 20_000}(abi.encodeWithSignature("srsDigest()"));
        if (ok && ret.length == 32) digest = abi.decode(ret, (bytes32));
    }

    // ------------------------------------------------------------------ verification

    /// @inheritdoc IERCZKMLVerifier
    /// @dev Stateless apart from the event. See `_verify` for the checks and their errors.
    function verifyInference(uint256 modelId, bytes32 inputCommitment, bytes calldata output, bytes calldata proof)
        external
    {
        _verify(modelId, inputCommitment, output, proof);
        emit InferenceVerified(modelId, inputCommitment, output, msg.sender);
    }

    /// @inheritdoc IERCZKMLStorageExtension
    /// @dev Idempotent: if the record already exists its id is returned at once, without looking
    /// at `proof` and without events. That is safe (the record was verified when stored; nothing
    /// changes) and lets a relayer resubmit after a crash without failing or duplicating. It also
    /// holds after the model was deprecated, since no record is created.
    function verifyAndStoreInference(
        uint256 modelId,
        bytes32 inputCommitment,
        bytes calldata output,
        bytes calldata proof
    ) external returns (bytes32 inferenceId) {
        inferenceId = keccak256(abi.encodePacked(modelId, inputCommitment, output));
        Record storage r = _records[inferenceId];
        if (r.submitter != address(0)) return inferenceId;

        (Model storage m, uint256 count, uint8 scaleBits) = _verify(modelId, inputCommitment, output, proof);

        r.inputCommitment = inputCommitment;
        if (count == 0) {
            // No values in the proof's words: either the model has none to show or more than
            // the words hold; the commitment then is all that binds them, so keep it.
            bytes32 committed = bytes32(InstanceLayout.at(proof, _OUTPUT_COMMITMENT_INDEX));
            r.outputCommitment = committed;
            emit InferenceOutputCommitted(inferenceId, committed);
        }
        r.submitter = msg.sender;
        r.blockNumber = uint48(block.number);
        r.timestamp = uint48(block.timestamp);
        PackedOutput.store(r.output, modelId, scaleBits, output, count);
        _latest[modelId][inputCommitment] = inferenceId;
        ++m.inferenceCount; // shares the word verification already loaded: a warm write

        emit InferenceVerified(modelId, inputCommitment, output, msg.sender);
        emit InferenceStored(inferenceId);
    }

    /// @dev Every check of an inference claim, cheapest and most specific first, then the proof.
    /// Errors: ModelNotFound, VerificationRefused_ModelDeprecated, InvalidProof (too short or
    /// rejected), ModelMismatch, InputCommitmentMismatch (also for a commitment not below r),
    /// OutputMismatch (bad encoding, scale, an output commitment not below r,
    /// too many values, a value outside its slot, packed words differing), InsufficientGasForVerifier.
    function _verify(uint256 modelId, bytes32 inputCommitment, bytes calldata output, bytes calldata proof)
        private
        view
        returns (Model storage m, uint256 count, uint8 scaleBits)
    {
        m = _existingModel(modelId);
        if (m.deprecated) revert VerificationRefused_ModelDeprecated(modelId);
        // Strictly longer: an empty proof transcript can never be valid.
        if (proof.length <= _INSTANCE_BYTES) revert InvalidProof();

        uint256 limbs = _ACC_LIMBS;
        if (InstanceLayout.at(proof, InstanceLayout.modelDigestIndex(limbs)) != uint256(m.vkHash)) {
            revert ModelMismatch();
        }
        // The verifier reduces instances mod r, so c and c + k*r verify alike: only the
        // canonical form may key a record, or one proof could be stored several times.
        if (
            uint256(inputCommitment) >= InstanceLayout.FIELD_MODULUS
                || InstanceLayout.at(proof, InstanceLayout.inputCommitmentIndex(limbs)) != uint256(inputCommitment)
        ) {
            revert InputCommitmentMismatch();
        }
        count = _checkOutputs(output, proof, m.outputScaleBits);
        // Canonical like the input commitment: c and c + k*r verify alike.
        if (InstanceLayout.at(proof, _OUTPUT_COMMITMENT_INDEX) >= InstanceLayout.FIELD_MODULUS) {
            revert OutputMismatch();
        }
        scaleBits = m.outputScaleBits;
        _callVerifier(proof);
    }

    /// @dev The packed output instances must be exactly the packing of (count, scale, values),
    /// which also requires count <= maxOutputs and every value in its slot's range, 48, 32 or 16
    /// bits by the count (OutputCodec.slotBits).
    /// The proof states the scale, so a model registered with another scale than its circuit's
    /// gets no inference through.
    function _checkOutputs(bytes calldata output, bytes calldata proof, uint8 modelScaleBits)
        private
        view
        returns (uint256 count)
    {
        bool ok;
        uint8 scaleBits;
        (ok, count, scaleBits) = OutputCodec.parse(output);
        if (!ok || scaleBits != modelScaleBits) revert OutputMismatch();
        bytes calldata words = proof[InstanceLayout.firstOutputWordIndex(_ACC_LIMBS) * 32:_OUTPUT_COMMITMENT_INDEX * 32];
        if (!OutputCodec.matchesWords(output, count, scaleBits, words, _MAX_OUTPUTS)) revert OutputMismatch();
    }

    /// @dev Staticcalls the verifier with `proof` as calldata and at most `_VERIFIER_GAS_LIMIT` gas,
    /// so an invalid proof costs at most that (the stock verifier burns all gas it is given).
    /// Accepts an empty return (snark-verifier) or a single ABI `true`; anything else is invalid.
    function _callVerifier(bytes calldata proof) private view {
        address target = _VERIFIER;
        uint256 gasLimit = _VERIFIER_GAS_LIMIT;
        bool ok;
        bool starved;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, proof.offset, proof.length)
            // EIP-150 forwards at most 63/64 of what is left; 5,000 covers the call's own cost
            // (cold account 2,600 + memory). If the verifier cannot get its full limit, a failure
            // may just be out-of-gas and must not be reported as an invalid proof.
            let avail := gas()
            starved := lt(sub(avail, div(avail, 64)), add(gasLimit, 5000))
            ok := staticcall(gasLimit, target, ptr, proof.length, 0, 0)
            switch returndatasize()
            case 0 {}
            case 32 {
                returndatacopy(0, 0, 32)
                ok := and(ok, eq(mload(0), 1))
            }
            default { ok := 0 }
        }
        if (!ok) {
            if (starved) revert InsufficientGasForVerifier(gasLimit);
            revert InvalidProof();
        }
    }

    // ------------------------------------------------------------------ records

    /// @inheritdoc IERCZKMLStorageExtension
    /// @dev Reverts with `InferenceNotFound` for an unknown id. `output` is re-encoded from the
    /// packed record and is byte-identical to what was submitted (the encoding is canonical).
    function getInference(bytes32 inferenceId)
        external
        view
        returns (uint256 modelId, bytes32 inputCommitment, bytes memory output)
    {
        Record storage r = _existingRecord(inferenceId);
        (uint256 id, uint8 scaleBits, int256[] memory values) = PackedOutput.load(r.output);
        return (id, r.inputCommitment, abi.encode(values, scaleBits));
    }

    /// @inheritdoc IAttestationRegistry
    function getInferenceRecord(bytes32 inferenceId) external view returns (InferenceRecord memory record) {
        Record storage r = _existingRecord(inferenceId);
        (uint256 id, uint8 scaleBits, int256[] memory values) = PackedOutput.load(r.output);
        record = InferenceRecord({
            modelId: id,
            inputCommitment: r.inputCommitment,
            output: abi.encode(values, scaleBits),
            submitter: r.submitter,
            blockNumber: r.blockNumber,
            timestamp: r.timestamp
        });
    }

    /// @inheritdoc IAttestationRegistry
    function getAttestedOutput(bytes32 inferenceId) external view returns (int256[] memory values, uint8 scaleBits) {
        (, scaleBits, values) = PackedOutput.load(_existingRecord(inferenceId).output);
    }

    /// @inheritdoc IAttestationRegistry
    function getOutputCommitment(bytes32 inferenceId) external view returns (bytes32) {
        return _existingRecord(inferenceId).outputCommitment;
    }

    /// @inheritdoc IAttestationRegistry
    function hasInference(bytes32 inferenceId) external view returns (bool) {
        return _records[inferenceId].submitter != address(0);
    }

    /// @inheritdoc IAttestationRegistry
    function latestInference(uint256 modelId, bytes32 inputCommitment) external view returns (bytes32) {
        return _latest[modelId][inputCommitment];
    }

    /// @inheritdoc IAttestationRegistry
    function computeInferenceId(uint256 modelId, bytes32 inputCommitment, bytes calldata output)
        external
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(modelId, inputCommitment, output));
    }

    function _existingRecord(bytes32 inferenceId) private view returns (Record storage r) {
        r = _records[inferenceId];
        if (r.submitter == address(0)) revert InferenceNotFound(inferenceId);
    }

    // ------------------------------------------------------------------ configuration

    /// @inheritdoc IERCZKMLVerifier
    function registry() external view returns (address) {
        return address(this);
    }

    /// @inheritdoc IAttestationRegistry
    function verifier() external view returns (address) {
        return _VERIFIER;
    }

    /// @inheritdoc IAttestationRegistry
    function verifierGasLimit() external view returns (uint256) {
        return _VERIFIER_GAS_LIMIT;
    }

    /// @inheritdoc IAttestationRegistry
    function srsDigest() external view returns (bytes32) {
        return _SRS_DIGEST;
    }

    /// @inheritdoc IAttestationRegistry
    function srsDigestOf(uint256 modelId) external view returns (bytes32) {
        _existingModel(modelId);
        return _SRS_DIGEST;
    }

    /// @inheritdoc IAttestationRegistry
    function accumulatorLimbs() external view returns (uint256) {
        return _ACC_LIMBS;
    }

    /// @inheritdoc IAttestationRegistry
    function maxOutputs() external view returns (uint256) {
        return _MAX_OUTPUTS;
    }

    /// @inheritdoc IAttestationRegistry
    function outputWords() external view returns (uint256) {
        return InstanceLayout.outputWords(_MAX_OUTPUTS);
    }

    /// @inheritdoc IAttestationRegistry
    function instanceCount() external view returns (uint256) {
        return _INSTANCE_BYTES / 32;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IERCZKMLRegistry).interfaceId
            || interfaceId == type(IERCZKMLVerifier).interfaceId
            || interfaceId == type(IERCZKMLStorageExtension).interfaceId
            || interfaceId == type(IAttestationRegistry).interfaceId;
    }
}
