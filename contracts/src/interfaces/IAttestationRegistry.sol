// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IERCZKMLRegistry} from "./IERCZKMLRegistry.sol";
import {IERCZKMLVerifier} from "./IERCZKMLVerifier.sol";
import {IERCZKMLStorageExtension} from "./IERCZKMLStorageExtension.sol";

/// @title zkattest attestation registry: ERC-7992 registry + verifier + storage, and what the ERC leaves open.
/// @notice Adds per-model output scale, two-step model ownership, full inference records and
/// the reads a dApp needs (latest record per input, counts). Its ERC-165 id covers only the
/// functions declared here; the three ERC interfaces are reported separately.
interface IAttestationRegistry is IERCZKMLRegistry, IERCZKMLVerifier, IERCZKMLStorageExtension {
    /// @notice A stored inference with its provenance.
    struct InferenceRecord {
        uint256 modelId;
        bytes32 inputCommitment;
        bytes output; // abi.encode(int256[] values, uint8 scaleBits)
        address submitter;
        uint256 blockNumber;
        uint256 timestamp;
    }

    /// @notice Stored with an inference whose outputs are too many for the proof's packed words
    /// (the model has more than `maxOutputs()`): the proof's Poseidon commitment to all of them,
    /// which anyone holding the values can recompute (zkattest's `boundary_commitment`).
    event InferenceOutputCommitted(bytes32 indexed inferenceId, bytes32 outputCommitment);
    /// @notice `modelId` declares that its output values are fixed-point with `scaleBits` fractional bits.
    event ModelOutputScaleSet(uint256 indexed modelId, uint8 scaleBits);
    /// @notice The owner of `modelId` nominated `newOwner` (address(0) cancels a nomination).
    event ModelOwnershipTransferStarted(
        uint256 indexed modelId, address indexed previousOwner, address indexed newOwner
    );
    /// @notice Ownership of `modelId` moved from `previousOwner` to `newOwner`.
    event ModelOwnershipTransferred(uint256 indexed modelId, address indexed previousOwner, address indexed newOwner);

    /// @notice `vkHash` is zero or not a BN254 scalar field element, so no proof could ever match it.
    error InvalidVkHash(bytes32 vkHash);
    /// @notice `updateModel` may not change `vkHash`: a new verifying key needs a new modelId.
    error VkHashImmutable(uint256 modelId);
    /// @notice `caller` is not the nominated next owner of `modelId`.
    error NotPendingModelOwner(uint256 modelId, address caller);
    /// @notice No inference is stored under `inferenceId`.
    error InferenceNotFound(bytes32 inferenceId);
    /// @notice Too little gas was left to give the verifier its full budget, so a failure proves nothing.
    error InsufficientGasForVerifier(uint256 verifierGasLimit);
    /// @notice Constructor: `verifier` has no code (a call to it would succeed vacuously).
    error VerifierNotAContract(address verifier);
    /// @notice Constructor: the verifier gas limit must be positive.
    error InvalidVerifierGasLimit(uint256 gasLimit);
    /// @notice Constructor: `maxOutputs` must be in [1, 255] (the packed count has 8 bits) and
    /// `accumulatorLimbs` at most 65535.
    error InvalidInstanceLayout(uint256 accumulatorLimbs, uint256 maxOutputs);

    /// @notice Registers a model whose outputs are fixed-point with `outputScaleBits` fractional bits.
    /// @dev `registerModel` is this with `outputScaleBits = 0`. The scale is immutable: it is part
    /// of the quantization settings the model digest (`vkHash`) already binds.
    /// @param commitment The model's hashes, proof system and metadata URI.
    /// @param outputScaleBits Fractional bits of every output value (real value = v / 2^scaleBits).
    /// @return modelId A new, unique model identifier.
    function registerModelWithOutputScale(ModelCommitment calldata commitment, uint8 outputScaleBits)
        external
        returns (uint256 modelId);

    /// @notice Starts a two-step ownership transfer of a model. Owner only.
    /// @param modelId The model.
    /// @param newOwner The nominee, who must call `acceptModelOwnership`; address(0) cancels.
    function transferModelOwnership(uint256 modelId, address newOwner) external;

    /// @notice Completes an ownership transfer. Only the nominated owner may call it.
    /// @param modelId The model.
    function acceptModelOwnership(uint256 modelId) external;

    /// @notice The nominated next owner of a model, or address(0).
    /// @param modelId The model.
    /// @return The pending owner.
    function pendingModelOwner(uint256 modelId) external view returns (address);

    /// @notice The output scale a model declared at registration.
    /// @param modelId The model.
    /// @return Fractional bits of the model's output values.
    function outputScaleBitsOf(uint256 modelId) external view returns (uint8);

    /// @notice Number of models registered so far; model ids are 1..modelCount().
    /// @return The count.
    function modelCount() external view returns (uint256);

    /// @notice Number of inferences stored for a model.
    /// @param modelId The model.
    /// @return The count.
    function inferenceCount(uint256 modelId) external view returns (uint256);

    /// @notice The most recently stored inference for (`modelId`, `inputCommitment`), or zero.
    /// @param modelId The model.
    /// @param inputCommitment The input commitment.
    /// @return inferenceId The record's identifier, or bytes32(0) if none.
    function latestInference(uint256 modelId, bytes32 inputCommitment) external view returns (bytes32 inferenceId);

    /// @notice Whether an inference is stored under `inferenceId`.
    /// @param inferenceId The identifier.
    /// @return True if stored.
    function hasInference(bytes32 inferenceId) external view returns (bool);

    /// @notice A stored inference with its provenance; reverts with `InferenceNotFound` if absent.
    /// @param inferenceId The identifier.
    /// @return record The record.
    function getInferenceRecord(bytes32 inferenceId) external view returns (InferenceRecord memory record);

    /// @notice The decoded outputs of a stored inference; reverts with `InferenceNotFound` if absent.
    /// @param inferenceId The identifier.
    /// @return values Fixed-point output values.
    /// @return scaleBits Fractional bits (real value = v / 2^scaleBits).
    function getAttestedOutput(bytes32 inferenceId) external view returns (int256[] memory values, uint8 scaleBits);

    /// @notice The proven commitment to all the outputs of a stored inference whose model has
    /// more outputs than the proof's packed words hold (its `output` then has no values); zero
    /// for an inference whose values are stored themselves. Reverts with `InferenceNotFound` if
    /// absent.
    /// @param inferenceId The identifier.
    /// @return The commitment, a canonical field element.
    function getOutputCommitment(bytes32 inferenceId) external view returns (bytes32);

    /// @notice keccak256(abi.encodePacked(modelId, inputCommitment, output)), as the ERC defines it.
    /// @param modelId The model.
    /// @param inputCommitment The input commitment.
    /// @param output The ABI-encoded outputs.
    /// @return The inference identifier.
    function computeInferenceId(uint256 modelId, bytes32 inputCommitment, bytes calldata output)
        external
        pure
        returns (bytes32);

    /// @notice The universal aggregation verifier every proof is checked against (immutable).
    /// @return The verifier's address.
    function verifier() external view returns (address);

    /// @notice Gas forwarded to the verifier (immutable); bounds what an invalid proof can burn.
    /// @return The gas limit.
    function verifierGasLimit() external view returns (uint256);

    /// @notice Digest of the SRS the verifier's pairing check trusts, as the verifier names it
    /// (`srsDigest()`; zkattest's SRS digest: SHA-256 of the G1 and G2 generators and [tau]G2),
    /// read at construction. Zero when the verifier names none.
    /// @return The digest.
    function srsDigest() external view returns (bytes32);

    /// @notice The SRS digest a model's proofs are verified under: part of its record (every
    /// model of a registry shares the registry's verifier). Reverts for an unknown model.
    /// @param modelId The model.
    /// @return The digest.
    function srsDigestOf(uint256 modelId) external view returns (bytes32);

    /// @notice Number of KZG accumulator limbs leading the public instances (immutable).
    /// @return The limb count.
    function accumulatorLimbs() external view returns (uint256);

    /// @notice Number of output values the public instances can carry (immutable).
    /// @return The maximum number of outputs.
    function maxOutputs() external view returns (uint256);

    /// @notice Number of packed output words in the public instances: ceil(maxOutputs / 15).
    /// @return The word count.
    function outputWords() external view returns (uint256);

    /// @notice Total number of public instances: accumulatorLimbs + 2 + outputWords.
    /// @return The instance count.
    function instanceCount() external view returns (uint256);
}
