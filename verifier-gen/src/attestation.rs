//! An aggregated proof as the registry takes it (see `zkattest_chain::Attestation`).

use zkattest_chain::attestation::encode_output;
use zkattest_chain::Attestation;
use zkattest_prover::aggregate::circuit::{INPUT_COMMITMENT, MODEL_ID};
use zkattest_prover::artifacts::AggregatedProof;
use zkattest_prover::circuit::instance;

use crate::calldata::{encode, word};
use crate::{Result, VerifierGenError};

/// The registry's view of an aggregated proof: model digest, input commitment, ABI-encoded
/// output and the verifier calldata. A model with more outputs than the proof shows claims
/// none on chain: its outputs are bound by the output commitment the registry keeps.
pub fn attestation(agg: &AggregatedProof) -> Result<Attestation> {
    let bad = |reason: String| VerifierGenError::Calldata(format!("aggregated proof: {reason}"));
    let instances = agg.instances().map_err(bad)?;
    let proof = agg.proof_bytes().map_err(bad)?;
    if instances.len() <= INPUT_COMMITMENT.max(MODEL_ID) {
        return Err(bad(format!("{} public instances is too few", instances.len())));
    }
    let scale =
        u8::try_from(agg.scale_bits).map_err(|_| bad(format!("scale {}", agg.scale_bits)))?;
    Ok(Attestation {
        vk_hash: word(&instances[MODEL_ID]).into(),
        output_scale_bits: scale,
        input_commitment: word(&instances[INPUT_COMMITMENT]).into(),
        output: encode_output(instance::shown(&agg.outputs_q), scale),
        proof: encode(&instances, &proof).into(),
    })
}
