//! An attestation: what `verifyAndStoreInference` takes, plus the model digest and output scale
//! needed to register the model. Written by `zkattest aggregate`, read by `submit` and the
//! relayer; also the fixture of contracts/test/RealProof.t.sol (same field names).

use std::path::Path;

use alloy::primitives::{keccak256, Bytes, B256, I256, U256};
use alloy::sol_types::{sol_data, SolType};

/// The Solidity type of `output`: `(int256[] values, uint8 scaleBits)`.
type OutputAbi = (sol_data::Array<sol_data::Int<256>>, sol_data::Uint<8>);
use serde::{Deserialize, Serialize};

use crate::{json_file, ChainError, Result};

/// Where the real-proof fixture lives, relative to the repository root.
pub const FIXTURE: &str = "contracts/test/fixtures/aggregated_proof.json";

/// One inference, ready for the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// The model digest the aggregated proof exposes (`ModelCommitment.vkHash`).
    pub vk_hash: B256,
    /// Scale exponent of the outputs (registered with the model).
    pub output_scale_bits: u8,
    /// Input commitment (big-endian field element).
    pub input_commitment: B256,
    /// `abi.encode(int256[] values, uint8 scaleBits)`.
    pub output: Bytes,
    /// Public instances (32-byte big-endian words) followed by the proof transcript.
    pub proof: Bytes,
}

impl Attestation {
    /// Reads an attestation file (JSON). Unknown fields are ignored so the forge fixture,
    /// which adds the verifier's bytecode and layout, reads as one too.
    pub fn from_file(path: &Path) -> Result<Self> {
        json_file::read(path, "attestation file")
    }

    /// Writes the attestation as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<()> {
        json_file::write(path, "attestation", self)
    }

    /// The committed real-proof fixture (`contracts/test/fixtures/aggregated_proof.json`,
    /// written by verifier-gen's aggregation test) and the registry layout it was made for.
    pub fn fixture(root: &Path) -> Result<(Self, crate::deploy::RegistryParams)> {
        let path = root.join(FIXTURE);
        let json: serde_json::Value = json_file::read(&path, "fixture")?;
        let bad = |reason: String| ChainError::Invalid { what: "fixture", reason };
        let a = Self::deserialize(&json).map_err(|e| bad(e.to_string()))?;
        let field = |k: &str| json[k].as_u64().ok_or_else(|| bad(format!("no {k}")));
        let params = crate::deploy::RegistryParams {
            verifier_gas_limit: crate::deploy::DEFAULT_VERIFIER_GAS_LIMIT,
            accumulator_limbs: field("acc_limbs")?,
            max_outputs: field("max_outputs")?,
        };
        Ok((a, params))
    }

    /// The output values and scale this attestation claims.
    pub fn output_values(&self) -> Result<(Vec<i128>, u8)> {
        decode_output(&self.output)
    }
}

/// The registry's inference id: `keccak256(abi.encodePacked(modelId, inputCommitment, output))`.
pub fn inference_id(model_id: U256, input_commitment: B256, output: &[u8]) -> B256 {
    let mut packed = Vec::with_capacity(64 + output.len());
    packed.extend_from_slice(&model_id.to_be_bytes::<32>());
    packed.extend_from_slice(input_commitment.as_slice());
    packed.extend_from_slice(output);
    keccak256(packed)
}

/// `abi.encode(int256[] values, uint8 scaleBits)`.
pub fn encode_output(values: &[i64], scale_bits: u8) -> Bytes {
    // Every i64 fits 256 bits.
    let values: Vec<I256> = values.iter().map(|v| I256::unchecked_from(*v)).collect();
    OutputAbi::abi_encode_params(&(values, scale_bits)).into()
}

/// Inverse of [`encode_output`]; values beyond ±2^127 are rejected.
pub fn decode_output(output: &[u8]) -> Result<(Vec<i128>, u8)> {
    let (values, scale) = OutputAbi::abi_decode_params(output)
        .map_err(|e| ChainError::Invalid { what: "output encoding", reason: e.to_string() })?;
    let values = values
        .into_iter()
        .map(|v| {
            i128::try_from(v).map_err(|_| ChainError::Invalid {
                what: "output encoding",
                reason: format!("value {v} does not fit 128 bits"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((values, scale))
}

/// Dequantized values: `v / 2^scale`.
pub fn dequantize(values: &[i128], scale_bits: u8) -> Vec<f64> {
    let s = (scale_bits as f64).exp2();
    values.iter().map(|v| *v as f64 / s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_roundtrip_matches_solidity_layout() {
        let enc = encode_output(&[5, -3], 8);
        // head: offset 0x40, scale; tail: length, values (two's complement).
        assert_eq!(enc.len(), 5 * 32);
        assert_eq!(enc[31], 0x40);
        assert_eq!(enc[63], 8);
        assert_eq!(enc[95], 2);
        assert_eq!(enc[127], 5);
        assert_eq!(enc[128..159], [0xff; 31]);
        assert_eq!(enc[159], 0xfd);
        assert_eq!(decode_output(&enc).expect("decode"), (vec![5, -3], 8));
        assert!(decode_output(&enc[..100]).is_err());
    }
}
