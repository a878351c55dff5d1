//! The proof of one inference: every shard proof plus what they attest.

use std::fs;
use std::path::Path;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};

use crate::error::{ProverError, Result};
use crate::proof::shard_proof::{fr_from_hex, fr_to_hex};
use crate::proof::ShardProof;

/// Format version of inference proof files.
pub const INFERENCE_VERSION: u32 = 1;

/// One inference, proven shard by shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InferenceProof {
    /// Format version.
    pub version: u32,
    /// Model name.
    pub model: String,
    /// Poseidon commitment to the (salted) quantized input, hex.
    pub input_commitment: String,
    /// Quantized outputs (flat, all output tensors).
    pub outputs_q: Vec<i64>,
    /// Outputs as real numbers.
    pub outputs: Vec<f64>,
    /// Scale exponent of the outputs.
    pub scale_bits: u32,
    /// Shard proofs in chain order.
    pub shards: Vec<ShardProof>,
}

/// The opening of an input commitment: keep it private in private-input mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputOpening {
    /// The salt, hex (all zero in public-input mode).
    pub salt: String,
}

impl InputOpening {
    /// The salt as a field element.
    pub fn salt(&self) -> std::result::Result<Fr, String> {
        fr_from_hex(&self.salt)
    }

    /// An opening for a salt.
    pub fn new(salt: &Fr) -> Self {
        Self { salt: fr_to_hex(salt) }
    }
}

/// Reads a JSON artifact.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).map_err(|e| ProverError::io(path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ProverError::Json { path: path.to_path_buf(), reason: e.to_string() })
}

/// Writes a JSON artifact atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let json = serde_json::to_vec_pretty(value)
        .map_err(|e| ProverError::Json { path: path.to_path_buf(), reason: e.to_string() })?;
    crate::proof::keys::write_atomic(path, |w| std::io::Write::write_all(w, &json))
}
