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
    Ok(zkattest_chain::forge::bytecode(artifact)?)
}

/// Runtime bytecode size of a forge artifact (`deployedBytecode.object`), for EIP-170.
pub fn forge_runtime_size(artifact: &std::path::Path) -> Result<usize> {
    Ok(zkattest_chain::forge::runtime_size(artifact)?)
}
