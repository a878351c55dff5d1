//! A job: one attestation to land, and the states it moves through.

use alloy::primitives::{keccak256, Bytes, B256, U256};
use serde::{Deserialize, Serialize};
use zkattest_chain::attestation::{decode_output, inference_id};
use zkattest_chain::query::verify_and_store_calldata;
use zkattest_chain::Attestation;

use crate::{RelayerError, Result};

/// Where a job is. `Submitted` covers "sent, waiting for inclusion and confirmations".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Submitted,
    Confirmed,
    Failed,
}

impl Status {
    /// The database form.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Submitted => "submitted",
            Status::Confirmed => "confirmed",
            Status::Failed => "failed",
        }
    }

    /// Parses the database form.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "queued" => Status::Queued,
            "submitted" => Status::Submitted,
            "confirmed" => Status::Confirmed,
            "failed" => Status::Failed,
            other => return Err(RelayerError::Migration(format!("unknown job status {other:?}"))),
        })
    }

    /// All statuses (for metrics).
    pub const ALL: [Status; 4] =
        [Status::Queued, Status::Submitted, Status::Confirmed, Status::Failed];
}

/// The body of `POST /v1/attestations`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationRequest {
    /// Registry model id: a decimal or 0x-hex string, or a JSON number.
    pub model_id: serde_json::Value,
    /// 32-byte input commitment, 0x-hex.
    pub input_commitment: String,
    /// `abi.encode(int256[] values, uint8 scaleBits)`, 0x-hex.
    pub output: String,
    /// Instances and proof, 0x-hex.
    pub proof: String,
}

/// A validated request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    pub model_id: U256,
    pub input_commitment: B256,
    pub output: Bytes,
    pub proof: Bytes,
}

fn hex_field(name: &str, s: &str) -> Result<Vec<u8>> {
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| RelayerError::BadRequest(format!("{name}: expected 0x-prefixed hex")))?;
    hex::decode(digits).map_err(|e| RelayerError::BadRequest(format!("{name}: {e}")))
}

impl AttestationRequest {
    /// The request that submits `a` under the registry's `model_id` (what clients send).
    pub fn new(model_id: U256, a: &Attestation) -> Self {
        Self {
            model_id: serde_json::Value::String(model_id.to_string()),
            input_commitment: a.input_commitment.to_string(),
            output: a.output.to_string(),
            proof: a.proof.to_string(),
        }
    }

    /// Checks every field; the error says which one is wrong and why.
    pub fn validate(&self, max_outputs: usize) -> Result<NewJob> {
        let model_id = match &self.model_id {
            serde_json::Value::Number(n) => n.as_u64().map(U256::from).ok_or_else(|| {
                RelayerError::BadRequest("model_id: not a non-negative integer".into())
            })?,
            serde_json::Value::String(s) => {
                s.parse::<U256>().map_err(|e| RelayerError::BadRequest(format!("model_id: {e}")))?
            }
            _ => {
                return Err(RelayerError::BadRequest(
                    "model_id: expected a string or a number".into(),
                ))
            }
        };
        if model_id.is_zero() {
            return Err(RelayerError::BadRequest("model_id: 0 is never a registered model".into()));
        }
        let input = hex_field("input_commitment", &self.input_commitment)?;
        if input.len() != 32 {
            return Err(RelayerError::BadRequest(format!(
                "input_commitment: {} bytes, expected 32",
                input.len()
            )));
        }
        let output = hex_field("output", &self.output)?;
        let (values, _) =
            decode_output(&output).map_err(|e| RelayerError::BadRequest(format!("output: {e}")))?;
        if values.len() > max_outputs {
            return Err(RelayerError::BadRequest(format!(
                "output: {} values, at most {max_outputs}",
                values.len()
            )));
        }
        let proof = hex_field("proof", &self.proof)?;
        if proof.is_empty() || proof.len() % 32 != 0 {
            return Err(RelayerError::BadRequest(format!(
                "proof: {} bytes, expected a non-empty multiple of 32",
                proof.len()
            )));
        }
        Ok(NewJob {
            model_id,
            input_commitment: B256::from_slice(&input),
            output: output.into(),
            proof: proof.into(),
        })
    }
}

impl NewJob {
    /// The `verifyAndStoreInference` calldata.
    pub fn calldata(&self) -> Vec<u8> {
        verify_and_store_calldata(self.model_id, self.input_commitment, &self.output, &self.proof)
    }

    /// The job id: the hash of the calldata, so the same attestation is always the same job.
    pub fn id(&self) -> B256 {
        keccak256(self.calldata())
    }

    /// The registry's inference id for this attestation.
    pub fn inference_id(&self) -> B256 {
        inference_id(self.model_id, self.input_commitment, &self.output)
    }
}

/// A job as the API reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    pub id: B256,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<B256>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_number: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference_id: Option<B256>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gas_used: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Transactions sent for this job (more than one after fee bumps).
    pub transactions: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkattest_chain::attestation::encode_output;

    fn req() -> AttestationRequest {
        AttestationRequest {
            model_id: serde_json::json!("7"),
            input_commitment: format!("0x{}", "11".repeat(32)),
            output: format!("0x{}", hex::encode(encode_output(&[1, -2], 8))),
            proof: format!("0x{}", "22".repeat(64)),
        }
    }

    #[test]
    fn valid_request_and_stable_id() {
        let a = req().validate(30).expect("valid");
        assert_eq!(a.model_id, U256::from(7));
        assert_eq!(a.id(), req().validate(30).expect("valid").id());
        let mut other = req();
        other.model_id = serde_json::json!(8);
        assert_ne!(a.id(), other.validate(30).expect("valid").id());
    }

    #[test]
    fn each_bad_field_is_named() {
        type Mutation = Box<dyn Fn(&mut AttestationRequest)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|r| r.model_id = serde_json::json!("x")), "model_id"),
            (Box::new(|r| r.model_id = serde_json::json!(0)), "model_id"),
            (Box::new(|r| r.model_id = serde_json::json!(-1)), "model_id"),
            (Box::new(|r| r.input_commitment = "0x1234".into()), "input_commitment"),
            (Box::new(|r| r.input_commitment = "11".repeat(32)), "input_commitment"),
            (Box::new(|r| r.output = "0xzz".into()), "output"),
            (Box::new(|r| r.output = "0x00".into()), "output"),
            (Box::new(|r| r.proof = "0x".into()), "proof"),
            (Box::new(|r| r.proof = "0x0102".into()), "proof"),
        ];
        for (mutate, field) in cases {
            let mut r = req();
            mutate(&mut r);
            let e = r.validate(30).expect_err(field).to_string();
            assert!(e.contains(field), "{e} should name {field}");
        }
        assert!(req().validate(1).expect_err("too many").to_string().contains("at most 1"));
    }
}
