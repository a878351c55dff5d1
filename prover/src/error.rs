//! The prover crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong between an ONNX file and a verified proof.
#[derive(Debug, thiserror::Error)]
pub enum ProverError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file does not have the expected form.
    #[error("{path}: invalid JSON: {reason}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// tract could not load or type the ONNX model.
    #[error("cannot load ONNX model {path}: {reason}")]
    Onnx {
        /// The model file.
        path: PathBuf,
        /// tract's message.
        reason: String,
    },
    /// The model uses an op zkattest cannot prove.
    #[error("unsupported op {op} at node {node:?}: {reason}")]
    UnsupportedOp {
        /// tract op name.
        op: String,
        /// Node name.
        node: String,
        /// Why it is unsupported.
        reason: String,
    },
    /// Input data does not match the model's inputs.
    #[error("input mismatch: {0}")]
    InputShape(String),
    /// A quantized value does not fit the lookup domain the circuit range-checks: proving it
    /// would need a saturated (wrong) value, so nothing is proven.
    #[error("value {value} at node {node:?} ({op}) is outside the proven range ±{bound} (values at scale 2^{scale_bits}): the model was calibrated on smaller inputs; recompile on a sample like this input, with more `--headroom` or a wider `--lookup-bits`")]
    OutOfRange {
        /// Node name.
        node: String,
        /// The node's ops, e.g. "Conv+Relu", or "input".
        op: String,
        /// Offending quantized value.
        value: i128,
        /// Exclusive bound on |value|.
        bound: i128,
        /// The node's scale exponent.
        scale_bits: u32,
    },
    /// A value lies inside the lookup domain but outside the activation's own: the function
    /// is undefined there (the logarithm of a non-positive number) or too large to represent
    /// (the exponential of a large number). No table row exists, so nothing is proven.
    #[error("input {value} of {function} at node {node:?} ({op}) is outside the function's domain: it is undefined there or exceeds 2^40 at scale 2^{scale_bits}")]
    OutOfDomain {
        /// Node name.
        node: String,
        /// The node's ops.
        op: String,
        /// The function, e.g. "Ln".
        function: String,
        /// The offending input, as a real number.
        value: f64,
        /// The table's scale exponent.
        scale_bits: u32,
    },
    /// An integer division by a tensor met a divisor too large to truncate exactly at the
    /// model's scale; nothing is proven.
    #[error("integer divisor {divisor} at node {node:?} ({op}) is larger than 2^{scale_bits}, the largest an integer division truncates exactly at scale 2^{scale_bits}: recompile with `--scale-bits {need}` or more and `--lookup-bits` at least 2 above it")]
    IntegerDivisor {
        /// Node name.
        node: String,
        /// The node's ops.
        op: String,
        /// The divisor's magnitude.
        divisor: i64,
        /// The model's scale exponent.
        scale_bits: u32,
        /// The least scale exponent that holds the divisor.
        need: u32,
    },
    /// An index of a gather or scatter lies outside `[-len, len)`, where ONNX defines none
    /// (onnxruntime stops); the circuit would pick the nearest entry, so nothing is proven.
    #[error("index {index} at node {node:?} ({op}) is outside [-{len}, {len}), the entries of the axis it selects along: ONNX defines no result for it")]
    IndexOutOfRange {
        /// Node name.
        node: String,
        /// The node's op.
        op: String,
        /// The index.
        index: f64,
        /// Entries of the axis.
        len: u64,
    },
    /// Settings are inconsistent.
    #[error("invalid settings: {0}")]
    Settings(String),
    /// The model cannot be laid out within the row budget.
    #[error("shard planning failed: {0}")]
    Planning(String),
    /// halo2 rejected the circuit or the proof.
    #[error("halo2: {0}")]
    Halo2(String),
    /// A proof did not verify.
    #[error("proof rejected: {0}")]
    Rejected(String),
    /// Shard `after` passes on a commitment that shard `after + 1` did not receive: the shard
    /// proofs are out of order or come from different inferences.
    #[error("proof rejected: boundary mismatch between shards {after} and {}: shards out of order or from different inferences", after + 1)]
    BoundaryMismatch {
        /// The earlier shard of the broken link.
        after: usize,
    },
    /// The keys were made with another SRS than the one given.
    #[error("the keys were made with SRS {keys}, this run uses SRS {given}: pass the same --srs as setup")]
    SrsMismatch {
        /// Digest of the keys' SRS.
        keys: String,
        /// Digest of the SRS given.
        given: String,
    },
    /// A Powers of Tau ceremony file is malformed or fails a check.
    #[error("ceremony file {path}: {reason}")]
    Ptau {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An artifact on disk is missing, corrupt or from another version.
    #[error("artifact {path}: {reason}")]
    Artifact {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = ProverError> = std::result::Result<T, E>;

impl ProverError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ProverError::Io { path: path.into(), source }
    }
}
