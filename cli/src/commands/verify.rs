//! `zkattest verify`.

use std::path::PathBuf;

use serde::Serialize;
use zkattest_prover::artifacts::inference::read_json;
use zkattest_prover::artifacts::{CompiledModel, InferenceProof};
use zkattest_prover::pipeline;

use super::SrsArgs;

/// Arguments of `verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Artifact folder (compiled model and verifying keys).
    #[arg(long)]
    pub artifacts: PathBuf,
    /// Proof file written by `prove`.
    #[arg(long)]
    pub proof: PathBuf,
    #[command(flatten)]
    pub srs: SrsArgs,
}

#[derive(Serialize)]
struct Report {
    valid: bool,
    shards: usize,
    input_commitment: String,
    outputs: Vec<f64>,
    verify_s: f64,
}

pub fn run(a: Args, json: bool) -> anyhow::Result<()> {
    let compiled = CompiledModel::load(&a.artifacts)?;
    let proof: InferenceProof = read_json(&a.proof)?;
    let srs = a.srs.load(compiled.plan.k, json)?;
    let t = std::time::Instant::now();
    pipeline::verify(&compiled, &a.artifacts, &srs, &proof)?;
    let report = Report {
        valid: true,
        shards: proof.shards.len(),
        input_commitment: proof.input_commitment.clone(),
        outputs: proof.outputs.clone(),
        verify_s: t.elapsed().as_secs_f64(),
    };
    crate::output::print(json, &report, || {
        format!("valid: {} shard proof(s), chained; outputs {:?}", report.shards, report.outputs)
    })
}
