// SPDX-License-Identifier: CC0-1.0
pragma solidity ^0.8.20;

/// @title ERC-7992 model registry (Draft, "Verifiable ML Model Inference (ZKML)").
/// @notice Issues a `modelId` for a `ModelCommitment` and tracks its owner and deprecation.
/// @dev Transcribed from the ERC text with one unavoidable change: the Draft declares both
/// `event ModelDeprecated(uint256)` and `error ModelDeprecated(uint256)` in this interface,
/// which solc rejects ("Identifier already declared"). The event keeps its name (indexers
/// match its topic); the error is `ModelIsDeprecated`. The ERC marks ERC-165 as a
/// comment-level parent; the interface stays free of it so `type(..).interfaceId` covers
/// exactly the functions below.
interface IERCZKMLRegistry {
    /// @notice Hashes that pin down one model and the proof system that attests its inferences.
    struct ModelCommitment {
        bytes32 modelHash; // weights + architecture hash
        bytes32 circuitHash; // arithmetic circuit / AIR hash
        bytes32 vkHash; // verifying key hash
        bytes4 proofSystemId; // keccak-based identifier
        string uri; // optional off-chain metadata (IPFS/HTTP)
    }

    /// @notice A model was registered under `modelId` by `owner`.
    event ModelRegistered(uint256 indexed modelId, address indexed owner, ModelCommitment commitment);

    /// @notice The owner replaced the commitment of `modelId`.
    event ModelUpdated(uint256 indexed modelId, ModelCommitment oldCommitment, ModelCommitment newCommitment);

    /// @notice The owner deprecated `modelId`; it accepts no further inferences.
    event ModelDeprecated(uint256 indexed modelId);

    /// @notice No model is registered under `modelId`.
    error ModelNotFound(uint256 modelId);
    /// @notice `caller` is not the owner of `modelId`.
    error NotModelOwner(uint256 modelId, address caller);
    /// @notice `modelId` is deprecated (the ERC's `ModelDeprecated` error, renamed; see above).
    error ModelIsDeprecated(uint256 modelId);

    /// @notice Registers a model; the caller becomes its owner.
    /// @param commitment The model's hashes, proof system and metadata URI.
    /// @return modelId A new, unique model identifier.
    function registerModel(ModelCommitment calldata commitment) external returns (uint256 modelId);

    /// @notice Replaces the commitment of a model. Owner only.
    /// @param modelId The model to update.
    /// @param newCommitment The new commitment.
    function updateModel(uint256 modelId, ModelCommitment calldata newCommitment) external;

    /// @notice Deprecates a model so it accepts no further inferences. Owner only; irreversible.
    /// @param modelId The model to deprecate.
    function deprecateModel(uint256 modelId) external;

    /// @notice The current commitment, deprecation status and owner of a model.
    /// @param modelId The model to read.
    /// @return commitment The current commitment.
    /// @return deprecated Whether the model is deprecated.
    /// @return owner The model's owner.
    function getModel(uint256 modelId)
        external
        view
        returns (ModelCommitment memory commitment, bool deprecated, address owner);
}
