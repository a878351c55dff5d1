//! zkattest verifier generation: the universal aggregation circuit's verifying key becomes
//! a Solidity verifier contract (snark-verifier's EVM code generation, hardened so that an
//! invalid proof reverts promptly), plus the calldata encoding that goes with it and a local
//! EVM (revm) to check proofs and measure gas.

#![warn(missing_docs)]

pub mod attestation;
pub mod calldata;
pub mod evm;
pub mod fixture;
pub mod forge;
pub mod solidity;

/// Errors of verifier generation and EVM checks.
#[derive(Debug, thiserror::Error)]
pub enum VerifierGenError {
    /// Calldata does not have the expected layout.
    #[error("calldata: {0}")]
    Calldata(String),
    /// The EVM could not deploy the verifier or run the call.
    #[error("EVM: {0}")]
    Evm(String),
    /// The verifier did not accept the proof.
    #[error("the EVM verifier rejected the proof ({} gas, {:?})", .0.gas_used, .0.status)]
    Rejected(evm::EvmOutcome),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A committed fixture was made with another aggregation key.
    #[error("{path} is stale: made with aggregation key {recorded}, the current key is {current}; regenerate it with `{command}`")]
    StaleFixture {
        /// The fixture.
        path: std::path::PathBuf,
        /// The key digest it records.
        recorded: String,
        /// The current key's digest.
        current: String,
        /// The command that regenerates it.
        command: &'static str,
    },
    /// Proving (the fixtures' shard proofs and aggregations).
    #[error(transparent)]
    Prover(#[from] zkattest_prover::ProverError),
    /// forge, its artifacts or the chain.
    #[error(transparent)]
    Chain(#[from] zkattest_chain::ChainError),
}

/// Result alias of this crate.
pub type Result<T, E = VerifierGenError> = std::result::Result<T, E>;
