//! `zkattest prove`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use zkattest_prover::artifacts::inference::{write_json, InputOpening};
use zkattest_prover::artifacts::CompiledModel;
use zkattest_prover::pipeline::{self, ShardTiming};

use super::SrsArgs;
use crate::progress::bar;

/// Arguments of `prove`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Artifact folder (compiled model and keys).
    #[arg(long)]
    pub artifacts: PathBuf,
    /// Input file (`{"input_data": [[...]]}`).
    #[arg(long)]
    pub input: PathBuf,
    /// Commit to the input without a salt so anyone holding the input can recompute the
    /// commitment (default: a random salt keeps the input private).
    #[arg(long)]
    pub public_input: bool,
    /// Shards proven at once (each needs its own memory).
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    /// Proof file [default: <artifacts>/proof.json]; the salt goes to <proof>.opening.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub srs: SrsArgs,
    #[command(flatten)]
    pub cluster: super::cluster::ProveClusterArgs,
}

/// What local and cluster proving both write and report.
#[derive(Serialize)]
pub struct Proven {
    pub proof: PathBuf,
    pub opening: PathBuf,
    pub shards: usize,
    pub input_commitment: String,
    pub outputs: Vec<f64>,
    /// The class names of label outputs' values (a classifier with string labels).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, Vec<String>>,
    pub prove_s: f64,
}

impl Proven {
    /// Writes the proof (`--out`, default `<artifacts>/proof.json`) and the salt beside it.
    pub fn write(
        a: &Args,
        compiled: &CompiledModel,
        proof: &zkattest_prover::artifacts::InferenceProof,
        salt: &zkattest_prover::Fr,
        prove_s: f64,
    ) -> anyhow::Result<Self> {
        let out = a.out.clone().unwrap_or_else(|| a.artifacts.join("proof.json"));
        let opening = out.with_extension("opening.json");
        write_json(&out, proof)?;
        write_json(&opening, &InputOpening::new(salt))?;
        Ok(Self {
            proof: out,
            opening,
            shards: proof.shards.len(),
            input_commitment: proof.input_commitment.clone(),
            outputs: proof.outputs.clone(),
            labels: compiled.graph.class_labels(&proof.outputs),
            prove_s,
        })
    }

    /// The human summary.
    pub fn text(&self) -> String {
        format!(
            "proved {} shard(s) in {:.1} s -> {}\n  input commitment {}\n  outputs {:?}{}\n  salt (keep private unless --public-input) -> {}",
            self.shards,
            self.prove_s,
            self.proof.display(),
            self.input_commitment,
            self.outputs,
            labels_text(&self.labels),
            self.opening.display()
        )
    }
}

/// The class names of label outputs as report lines (nothing when there are none).
pub fn labels_text(labels: &BTreeMap<String, Vec<String>>) -> String {
    labels.iter().map(|(output, names)| format!("\n  {output}: {}", names.join(", "))).collect()
}

#[derive(Serialize)]
struct Report {
    #[serde(flatten)]
    proven: Proven,
    timings: Vec<ShardTiming>,
}

pub fn run(a: Args, json: bool) -> anyhow::Result<()> {
    if a.cluster.url.is_some() {
        return super::cluster::prove(a, json);
    }
    let compiled = CompiledModel::load(&a.artifacts)?;
    let input = zkattest_prover::model::input::InputData::from_file(&a.input)?;
    let srs = a.srs.load(compiled.plan.k, json)?;
    let salt =
        if a.public_input { zkattest_prover::Fr::zero() } else { zkattest_prover::random_salt() };
    let pb = bar(compiled.plan.shards.len(), "proving", json);
    let t = std::time::Instant::now();
    let (proof, timings) =
        pipeline::prove(&compiled, &a.artifacts, &srs, &input.values, salt, a.parallel, &|_| {
            pb.inc(1)
        })?;
    let prove_s = t.elapsed().as_secs_f64();
    pb.finish_and_clear();
    let report = Report { proven: Proven::write(&a, &compiled, &proof, &salt, prove_s)?, timings };
    crate::output::print(json, &report, || report.proven.text())
}
