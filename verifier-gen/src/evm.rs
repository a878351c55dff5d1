//! A local EVM (revm) to deploy the verifier and check proofs, reporting gas.

use crate::{Result, VerifierGenError};

/// Deploys `deployment_code` in a fresh in-memory EVM and calls it with `calldata`.
/// Returns the gas used by the call transaction (including the 21,000 base and calldata).
pub fn deploy_and_call(deployment_code: Vec<u8>, calldata: Vec<u8>) -> Result<u64> {
    snark_verifier_sdk::snark_verifier::loader::evm::deploy_and_call(deployment_code, calldata)
        .map_err(VerifierGenError::Evm)
}

/// Reads the creation bytecode of a contract from a forge artifact
/// (`contracts/out/<File>.sol/<Contract>.json`).
pub fn forge_bytecode(artifact: &std::path::Path) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(artifact)
        .map_err(|e| VerifierGenError::Io { path: artifact.to_path_buf(), source: e })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| VerifierGenError::Artifact(format!("{}: {e}", artifact.display())))?;
    let hex_code = json["bytecode"]["object"].as_str().ok_or_else(|| {
        VerifierGenError::Artifact(format!("{}: no bytecode.object", artifact.display()))
    })?;
    hex::decode(hex_code.trim_start_matches("0x"))
        .map_err(|e| VerifierGenError::Artifact(format!("{}: {e}", artifact.display())))
}

/// Runtime bytecode size of a forge artifact (`deployedBytecode.object`), for EIP-170.
pub fn forge_runtime_size(artifact: &std::path::Path) -> Result<usize> {
    let text = std::fs::read_to_string(artifact)
        .map_err(|e| VerifierGenError::Io { path: artifact.to_path_buf(), source: e })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| VerifierGenError::Artifact(format!("{}: {e}", artifact.display())))?;
    let hex_code = json["deployedBytecode"]["object"].as_str().ok_or_else(|| {
        VerifierGenError::Artifact(format!("{}: no deployedBytecode.object", artifact.display()))
    })?;
    Ok(hex_code.trim_start_matches("0x").len() / 2)
}
