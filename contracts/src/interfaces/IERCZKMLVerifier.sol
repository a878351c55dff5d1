// SPDX-License-Identifier: CC0-1.0
pragma solidity ^0.8.20;

/// @title ERC-7992 inference verifier (Draft).
/// @notice Verifies a zero-knowledge proof that a registered model produced `output` from the
/// input committed to by `inputCommitment`. Reverts on every failure; returning means valid.
interface IERCZKMLVerifier {
    /// @notice A proof for (`modelId`, `inputCommitment`, `output`) verified; `caller` submitted it.
    event InferenceVerified(
        uint256 indexed modelId, bytes32 indexed inputCommitment, bytes output, address indexed caller
    );

    /// @notice The proof is malformed or the proof system rejected it.
    error InvalidProof();
    /// @notice The proof is not tied to the given `modelId` (its model digest differs).
    error ModelMismatch();
    /// @notice The proof's input commitment differs from `inputCommitment`.
    error InputCommitmentMismatch();
    /// @notice `output` is malformed or differs from the outputs the proof attests.
    error OutputMismatch();
    /// @notice The model's proof system is not supported by this verifier.
    error UnsupportedProofSystem(bytes4 proofSystemId);
    /// @notice The model is deprecated, so its inferences are no longer verified.
    error VerificationRefused_ModelDeprecated(uint256 modelId);

    /// @notice Verifies a ZK proof for an inference.
    /// @dev MUST revert on any failure path. Successful execution implies validity.
    /// @param modelId Registry model identifier.
    /// @param inputCommitment Commitment to the (private) inputs.
    /// @param output ABI-encoded public outputs.
    /// @param proof ZK proof bytes.
    function verifyInference(uint256 modelId, bytes32 inputCommitment, bytes calldata output, bytes calldata proof)
        external;

    /// @notice The proof system identifier of a model.
    /// @param modelId The model to read.
    /// @return The model's `proofSystemId`.
    function proofSystemOf(uint256 modelId) external view returns (bytes4);

    /// @notice The registry this verifier reads model commitments from.
    /// @return registryAddress The registry's address.
    function registry() external view returns (address registryAddress);
}
