//! The cluster crate's error type.

use std::path::PathBuf;

use crate::queue::QueueError;

/// What can go wrong between the queue, the object store and the prover.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("object store: invalid URL {url:?}: {reason}")]
    StoreUrl { url: String, reason: String },
    #[error("object store, {key}: {source}")]
    Store {
        key: String,
        #[source]
        source: object_store::Error,
    },
    /// An artifact's bytes do not match the digest it is stored under, or do not parse.
    #[error("corrupted artifact {key}: {reason}")]
    Corrupt { key: String, reason: String },
    #[error(transparent)]
    Prover(#[from] zkattest_prover::ProverError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A job was dead-lettered; the inference cannot complete.
    #[error("job {job} failed after {attempts} attempt(s): {reason}")]
    JobFailed { job: String, attempts: i32, reason: String },
    /// The queue holds a job this build does not know how to run.
    #[error("job {job}: unknown kind {kind:?}")]
    UnknownKind { job: String, kind: String },
    /// A result in the store does not check out against what the coordinator knows (the
    /// model's own keys, the verified inference): it is not used.
    #[error("untrusted result {key}: {source}")]
    UntrustedResult {
        key: String,
        #[source]
        source: zkattest_prover::ProverError,
    },
    #[error("{0}")]
    Invalid(String),
}

impl ClusterError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

/// Result with [`ClusterError`].
pub type Result<T> = std::result::Result<T, ClusterError>;
