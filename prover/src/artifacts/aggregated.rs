//! An aggregated inference proof: one KZG proof for the EVM.

use serde::{Deserialize, Serialize};

use crate::proof::shard_proof::{fr_from_hex, fr_to_hex};
use crate::Fr;

/// Format version of aggregated proof files.
pub const AGGREGATED_VERSION: u32 = 1;

/// One inference, aggregated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AggregatedProof {
    /// Format version.
    pub version: u32,
    /// Model name.
    pub model: String,
    /// Digest of the shard verifying keys (what the registry stores as `vkHash`), hex (LE).
    pub model_id: String,
    /// Input commitment, hex (LE).
    pub input_commitment: String,
    /// Quantized outputs.
    pub outputs_q: Vec<i64>,
    /// Scale exponent of the outputs.
    pub scale_bits: u32,
    /// All public instances, hex (LE field elements).
    pub instances: Vec<String>,
    /// Proof bytes (Keccak transcript), hex.
    pub proof: String,
}

impl AggregatedProof {
    /// Builds the file form.
    pub fn new(
        model: &str,
        instances: &[Fr],
        proof: &[u8],
        outputs_q: Vec<i64>,
        scale_bits: u32,
    ) -> Self {
        use crate::aggregate::circuit::{INPUT_COMMITMENT, MODEL_ID};
        Self {
            version: AGGREGATED_VERSION,
            model: model.to_string(),
            model_id: fr_to_hex(&instances[MODEL_ID]),
            input_commitment: fr_to_hex(&instances[INPUT_COMMITMENT]),
            outputs_q,
            scale_bits,
            instances: instances.iter().map(fr_to_hex).collect(),
            proof: hex::encode(proof),
        }
    }

    /// The instances as field elements.
    pub fn instances(&self) -> std::result::Result<Vec<Fr>, String> {
        self.instances.iter().map(|s| fr_from_hex(s)).collect()
    }

    /// The proof bytes.
    pub fn proof_bytes(&self) -> std::result::Result<Vec<u8>, String> {
        hex::decode(&self.proof).map_err(|e| e.to_string())
    }
}
