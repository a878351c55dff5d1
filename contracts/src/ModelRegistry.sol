// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {IAttestationRegistry} from "./interfaces/IAttestationRegistry.sol";
import {IERCZKMLRegistry} from "./interfaces/IERCZKMLRegistry.sol";
import {IERCZKMLVerifier} from "./interfaces/IERCZKMLVerifier.sol";
import {InstanceLayout} from "./libraries/InstanceLayout.sol";

/// @title Model half of the attestation registry: registration, metadata updates, deprecation
/// and per-model two-step ownership.
/// @notice Anyone may register a model and becomes its owner. Only that owner can update or
/// deprecate it; there is no registry-wide admin.
/// Versioning policy: a modelId is bound to one verifying key forever. `updateModel` may
/// change the descriptive fields (modelHash, circuitHash, uri) but never `vkHash`; new weights,
/// new quantization or new keys mean a new modelId (and usually deprecating the old one).
/// So every record under a modelId was proven against the same key, and a consumer that pins
/// a modelId never sees its meaning drift.
abstract contract ModelRegistry is IAttestationRegistry {
    /// @notice bytes4(keccak256("halo2-kzg-bn254-shplonk-v1")): the only proof system accepted.
    bytes4 public constant PROOF_SYSTEM_ID = bytes4(keccak256("halo2-kzg-bn254-shplonk-v1"));

    /// @dev The first word is everything verification reads besides vkHash.
    struct Model {
        address owner; // zero iff the model does not exist
        uint48 inferenceCount;
        uint8 outputScaleBits;
        bool deprecated;
        bytes32 vkHash;
        bytes32 modelHash;
        bytes32 circuitHash;
        string uri;
    }

    uint256 private _modelCount;
    mapping(uint256 modelId => Model) internal _models;
    mapping(uint256 modelId => address) private _pendingOwners;

    /// @inheritdoc IERCZKMLRegistry
    /// @dev Declares integer outputs (scale 0); see `registerModelWithOutputScale`.
    function registerModel(ModelCommitment calldata commitment) external returns (uint256 modelId) {
        return _register(commitment, 0);
    }

    /// @inheritdoc IAttestationRegistry
    function registerModelWithOutputScale(ModelCommitment calldata commitment, uint8 outputScaleBits)
        external
        returns (uint256 modelId)
    {
        return _register(commitment, outputScaleBits);
    }

    /// @inheritdoc IERCZKMLRegistry
    /// @dev Reverts with `VkHashImmutable` if `newCommitment.vkHash` differs (see versioning policy).
    function updateModel(uint256 modelId, ModelCommitment calldata newCommitment) external {
        Model storage m = _ownedModel(modelId);
        if (m.deprecated) revert ModelIsDeprecated(modelId);
        _checkCommitment(newCommitment);
        if (newCommitment.vkHash != m.vkHash) revert VkHashImmutable(modelId);
        ModelCommitment memory old = _commitmentOf(m);
        m.modelHash = newCommitment.modelHash;
        m.circuitHash = newCommitment.circuitHash;
        m.uri = newCommitment.uri;
        emit ModelUpdated(modelId, old, newCommitment);
    }

    /// @inheritdoc IERCZKMLRegistry
    function deprecateModel(uint256 modelId) external {
        Model storage m = _ownedModel(modelId);
        if (m.deprecated) revert ModelIsDeprecated(modelId);
        m.deprecated = true;
        emit ModelDeprecated(modelId);
    }

    /// @inheritdoc IERCZKMLRegistry
    function getModel(uint256 modelId)
        external
        view
        returns (ModelCommitment memory commitment, bool deprecated, address owner)
    {
        Model storage m = _existingModel(modelId);
        return (_commitmentOf(m), m.deprecated, m.owner);
    }

    /// @inheritdoc IAttestationRegistry
    /// @dev Allowed on deprecated models too: ownership of a retired model is harmless.
    function transferModelOwnership(uint256 modelId, address newOwner) external {
        Model storage m = _ownedModel(modelId);
        _pendingOwners[modelId] = newOwner;
        emit ModelOwnershipTransferStarted(modelId, m.owner, newOwner);
    }

    /// @inheritdoc IAttestationRegistry
    function acceptModelOwnership(uint256 modelId) external {
        Model storage m = _existingModel(modelId);
        if (msg.sender != _pendingOwners[modelId]) revert NotPendingModelOwner(modelId, msg.sender);
        address previous = m.owner;
        m.owner = msg.sender;
        delete _pendingOwners[modelId];
        emit ModelOwnershipTransferred(modelId, previous, msg.sender);
    }

    /// @inheritdoc IAttestationRegistry
    function pendingModelOwner(uint256 modelId) external view returns (address) {
        _existingModel(modelId);
        return _pendingOwners[modelId];
    }

    /// @inheritdoc IAttestationRegistry
    function outputScaleBitsOf(uint256 modelId) external view returns (uint8) {
        return _existingModel(modelId).outputScaleBits;
    }

    /// @inheritdoc IAttestationRegistry
    function modelCount() external view returns (uint256) {
        return _modelCount;
    }

    /// @inheritdoc IAttestationRegistry
    function inferenceCount(uint256 modelId) external view returns (uint256) {
        return _existingModel(modelId).inferenceCount;
    }

    /// @inheritdoc IERCZKMLVerifier
    function proofSystemOf(uint256 modelId) external view returns (bytes4) {
        _existingModel(modelId);
        return PROOF_SYSTEM_ID;
    }

    function _register(ModelCommitment calldata commitment, uint8 outputScaleBits) private returns (uint256 modelId) {
        _checkCommitment(commitment);
        modelId = ++_modelCount;
        Model storage m = _models[modelId];
        m.owner = msg.sender;
        m.outputScaleBits = outputScaleBits;
        m.vkHash = commitment.vkHash;
        m.modelHash = commitment.modelHash;
        m.circuitHash = commitment.circuitHash;
        m.uri = commitment.uri;
        emit ModelRegistered(modelId, msg.sender, commitment);
        emit ModelOutputScaleSet(modelId, outputScaleBits);
    }

    /// @dev Rejects what could never verify here, at registration instead of at every proof.
    function _checkCommitment(ModelCommitment calldata commitment) private pure {
        if (commitment.proofSystemId != PROOF_SYSTEM_ID) revert UnsupportedProofSystem(commitment.proofSystemId);
        uint256 vk = uint256(commitment.vkHash);
        if (vk == 0 || vk >= InstanceLayout.FIELD_MODULUS) revert InvalidVkHash(commitment.vkHash);
    }

    function _commitmentOf(Model storage m) private view returns (ModelCommitment memory) {
        return ModelCommitment({
            modelHash: m.modelHash,
            circuitHash: m.circuitHash,
            vkHash: m.vkHash,
            proofSystemId: PROOF_SYSTEM_ID,
            uri: m.uri
        });
    }

    /// @dev The model, or revert `ModelNotFound`.
    function _existingModel(uint256 modelId) internal view returns (Model storage m) {
        m = _models[modelId];
        if (m.owner == address(0)) revert ModelNotFound(modelId);
    }

    /// @dev The model if the caller owns it, or revert.
    function _ownedModel(uint256 modelId) private view returns (Model storage m) {
        m = _existingModel(modelId);
        if (m.owner != msg.sender) revert NotModelOwner(modelId, msg.sender);
    }
}
