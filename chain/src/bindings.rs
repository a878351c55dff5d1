//! Solidity bindings of the attestation registry (contracts/src/interfaces), for alloy.
//!
//! Declared here rather than generated from forge's output so the crate builds without a
//! forge run; `tests/abi.rs` checks every selector against the compiled artifact.

alloy::sol! {
    #[sol(rpc)]
    #[derive(Debug)]
    interface IAttestationRegistry {
        struct ModelCommitment {
            bytes32 modelHash;
            bytes32 circuitHash;
            bytes32 vkHash;
            bytes4 proofSystemId;
            string uri;
        }

        struct InferenceRecord {
            uint256 modelId;
            bytes32 inputCommitment;
            bytes output;
            address submitter;
            uint256 blockNumber;
            uint256 timestamp;
        }

        event ModelRegistered(uint256 indexed modelId, address indexed owner, ModelCommitment commitment);
        event InferenceStored(bytes32 indexed inferenceId);
        event InferenceVerified(uint256 indexed modelId, bytes32 indexed inputCommitment, bytes output, address indexed caller);

        error ModelNotFound(uint256 modelId);
        error NotModelOwner(uint256 modelId, address caller);
        error ModelIsDeprecated(uint256 modelId);
        error InvalidProof();
        error ModelMismatch();
        error InputCommitmentMismatch();
        error OutputMismatch();
        error UnsupportedProofSystem(bytes4 proofSystemId);
        error VerificationRefused_ModelDeprecated(uint256 modelId);
        error InvalidVkHash(bytes32 vkHash);
        error VkHashImmutable(uint256 modelId);
        error NotPendingModelOwner(uint256 modelId, address caller);
        error InferenceNotFound(bytes32 inferenceId);
        error InsufficientGasForVerifier(uint256 verifierGasLimit);
        error VerifierNotAContract(address verifier);
        error InvalidVerifierGasLimit(uint256 gasLimit);
        error InvalidInstanceLayout(uint256 accumulatorLimbs, uint256 maxOutputs);
        error ProofTooShort(uint256 length, uint256 instanceBytes);
        error LayoutMismatch();

        function PROOF_SYSTEM_ID() external view returns (bytes4);
        function registerModel(ModelCommitment calldata commitment) external returns (uint256 modelId);
        function registerModelWithOutputScale(ModelCommitment calldata commitment, uint8 outputScaleBits) external returns (uint256 modelId);
        function updateModel(uint256 modelId, ModelCommitment calldata newCommitment) external;
        function deprecateModel(uint256 modelId) external;
        function getModel(uint256 modelId) external view returns (ModelCommitment memory commitment, bool deprecated, address owner);
        function verifyInference(uint256 modelId, bytes32 inputCommitment, bytes calldata output, bytes calldata proof) external;
        function verifyAndStoreInference(uint256 modelId, bytes32 inputCommitment, bytes calldata output, bytes calldata proof) external returns (bytes32 inferenceId);
        function getInference(bytes32 inferenceId) external view returns (uint256 modelId, bytes32 inputCommitment, bytes memory output);
        function outputScaleBitsOf(uint256 modelId) external view returns (uint8);
        function modelCount() external view returns (uint256);
        function inferenceCount(uint256 modelId) external view returns (uint256);
        function latestInference(uint256 modelId, bytes32 inputCommitment) external view returns (bytes32 inferenceId);
        function hasInference(bytes32 inferenceId) external view returns (bool);
        function getInferenceRecord(bytes32 inferenceId) external view returns (InferenceRecord memory record);
        function getAttestedOutput(bytes32 inferenceId) external view returns (int256[] memory values, uint8 scaleBits);
        function getOutputCommitment(bytes32 inferenceId) external view returns (bytes32);
        function computeInferenceId(uint256 modelId, bytes32 inputCommitment, bytes calldata output) external pure returns (bytes32);
        function verifier() external view returns (address);
        function srsDigest() external view returns (bytes32);
        function srsDigestOf(uint256 modelId) external view returns (bytes32);
        function accumulatorLimbs() external view returns (uint256);
        function maxOutputs() external view returns (uint256);
    }
}

use alloy::sol_types::SolInterface;

/// A readable reason for revert data returned by the registry: the custom error's name and
/// arguments when it is one of the registry's errors, else the raw bytes.
pub fn decode_revert(data: &[u8]) -> String {
    match IAttestationRegistry::IAttestationRegistryErrors::abi_decode(data) {
        Ok(e) => format!("{e:?}"),
        Err(_) if data.is_empty() => "reverted without data".to_string(),
        Err(_) => format!("revert data 0x{}", hex::encode(data)),
    }
}
