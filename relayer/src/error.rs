//! Errors of the relayer.

/// Everything that can stop the relayer or fail a request.
#[derive(Debug, thiserror::Error)]
pub enum RelayerError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("signer: {0}")]
    Signer(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migration(String),
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Chain(#[from] zkattest_chain::ChainError),
    #[error("rpc: {0}")]
    Rpc(String),
    #[error("{path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
}

/// Result alias of the relayer.
pub type Result<T> = std::result::Result<T, RelayerError>;
