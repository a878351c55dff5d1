// SPDX-License-Identifier: CC0-1.0
pragma solidity ^0.8.20;

/// @title ERC-7992 optional storage extension (Draft).
/// @notice Verifies an inference and keeps a record of it for later reads and settlement.
interface IERCZKMLStorageExtension {
    /// @notice A verified inference was stored under `inferenceId`.
    event InferenceStored(bytes32 indexed inferenceId);

    /// @notice Verify and store an inference record.
    /// @dev MUST revert on invalid proof.
    /// @param modelId Registry model identifier.
    /// @param inputCommitment Commitment to the (private) inputs.
    /// @param output ABI-encoded public outputs.
    /// @param proof ZK proof bytes.
    /// @return inferenceId keccak256(abi.encodePacked(modelId, inputCommitment, output)).
    function verifyAndStoreInference(
        uint256 modelId,
        bytes32 inputCommitment,
        bytes calldata output,
        bytes calldata proof
    ) external returns (bytes32 inferenceId);

    /// @notice A stored inference.
    /// @param inferenceId The record's identifier.
    /// @return modelId The model that produced the output.
    /// @return inputCommitment The commitment to the inputs.
    /// @return output The ABI-encoded outputs.
    function getInference(bytes32 inferenceId)
        external
        view
        returns (uint256 modelId, bytes32 inputCommitment, bytes memory output);
}
