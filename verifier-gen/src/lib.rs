//! zkattest verifier generation: the universal aggregation circuit's verifying key becomes
//! a Solidity verifier contract (snark-verifier's EVM code generation, hardened so that an
//! invalid proof reverts promptly), plus the calldata encoding that goes with it and a local
//! EVM (revm) to check proofs and measure gas.

#![warn(missing_docs)]

pub mod attestation;
pub mod calldata;
pub mod evm;
pub mod forge;
pub mod solidity;

/// Errors of verifier generation and EVM checks.
#[derive(Debug, thiserror::Error)]
pub enum VerifierGenError {
    /// Calldata does not have the expected layout.
    #[error("calldata: {0}")]
    Calldata(String),
    /// The EVM rejected a deployment or a call.
    #[error("EVM: {0}")]
    Evm(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// forge, its artifacts or the chain.
    #[error(transparent)]
    Chain(#[from] zkattest_chain::ChainError),
}

/// Result alias of this crate.
pub type Result<T, E = VerifierGenError> = std::result::Result<T, E>;
