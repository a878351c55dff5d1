//! Errors of the chain crate.

use std::path::PathBuf;

/// Everything that can go wrong talking to contracts, forge or anvil.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("forge artifact {path}: {reason}")]
    Artifact { path: PathBuf, reason: String },
    #[error("forge build failed (did scripts/setup.sh run?): {0}")]
    Forge(String),
    #[error("could not start anvil ({0}); run scripts/setup.sh or put anvil on PATH")]
    Anvil(String),
    #[error("no chain at {url}: {reason}")]
    NoChain { url: String, reason: String },
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error("{what} reverted: {reason}")]
    Reverted { what: String, reason: String },
    #[error("{what}: {reason}")]
    Rpc { what: String, reason: String },
}

/// Result alias of the chain crate.
pub type Result<T> = std::result::Result<T, ChainError>;

impl ChainError {
    pub(crate) fn rpc(what: impl Into<String>, e: impl std::fmt::Display) -> Self {
        ChainError::Rpc { what: what.into(), reason: e.to_string() }
    }
}
