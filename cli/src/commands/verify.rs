//! `zkattest verify`.

use std::collections::BTreeMap;
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
    /// The class names of label outputs' values (a classifier with string labels).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, Vec<String>>,
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
        labels: compiled.graph.class_labels(&proof.outputs),
        verify_s: t.elapsed().as_secs_f64(),
    };
    crate::output::print(json, &report, || {
        format!(
            "valid: {} shard proof(s), chained; outputs {:?}{}",
            report.shards,
            report.outputs,
            super::prove::labels_text(&report.labels)
        )
    })
}
