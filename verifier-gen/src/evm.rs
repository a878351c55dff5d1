//! A local EVM (revm) to deploy the verifier and check proofs, reporting gas.

use crate::{Result, VerifierGenError};

/// Deploys `deployment_code` in a fresh in-memory EVM and calls it with `calldata`.
/// Returns the gas used by the call transaction (including the 21,000 base and calldata).
pub fn deploy_and_call(deployment_code: Vec<u8>, calldata: Vec<u8>) -> Result<u64> {
    snark_verifier_sdk::snark_verifier::loader::evm::deploy_and_call(deployment_code, calldata)
        .map_err(VerifierGenError::Evm)
}

/// The hex string at `field` (e.g. `bytecode`) of a forge artifact, decoded.
fn artifact_code(artifact: &std::path::Path, field: &str) -> Result<Vec<u8>> {
    let bad = |why: String| VerifierGenError::Artifact(format!("{}: {why}", artifact.display()));
    let text = std::fs::read_to_string(artifact)
        .map_err(|e| VerifierGenError::Io { path: artifact.to_path_buf(), source: e })?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let hex_code =
        json[field]["object"].as_str().ok_or_else(|| bad(format!("no {field}.object")))?;
    hex::decode(hex_code.trim_start_matches("0x")).map_err(|e| bad(e.to_string()))
}

/// Reads the creation bytecode of a contract from a forge artifact
/// (`contracts/out/<File>.sol/<Contract>.json`).
pub fn forge_bytecode(artifact: &std::path::Path) -> Result<Vec<u8>> {
    artifact_code(artifact, "bytecode")
}

/// Runtime bytecode size of a forge artifact (`deployedBytecode.object`), for EIP-170.
pub fn forge_runtime_size(artifact: &std::path::Path) -> Result<usize> {
    Ok(artifact_code(artifact, "deployedBytecode")?.len())
}
