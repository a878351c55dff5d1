//! `zkattest bench`: the whole shard pipeline on one model, with its costs.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use zkattest_prover::artifacts::compiled::CompileOptions;
use zkattest_prover::artifacts::{CompiledModel, SetupInfo};
use zkattest_prover::model::import::tract_float_outputs;
use zkattest_prover::model::input::InputData;
use zkattest_prover::pipeline;
use zkattest_prover::quant::calibrate::argmax;

use super::{peak_rss_mb, CircuitArgs, ModelArgs, SrsArgs};
use crate::progress::bar;

/// Arguments of `bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub circuit: CircuitArgs,
    /// Shards proven at once.
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    #[command(flatten)]
    pub srs: SrsArgs,
}

/// One benchmark row.
#[derive(Serialize)]
pub struct Bench {
    pub model: String,
    pub ops: Vec<String>,
    pub nodes: usize,
    pub macs: usize,
    pub shards: usize,
    pub k: u32,
    pub rows: usize,
    pub rows_per_shard: Vec<usize>,
    pub scale_bits: u32,
    pub lookup_bits: u32,
    pub wide_values: bool,
    pub calibration: String,
    pub compile_s: f64,
    pub keygen_s: f64,
    pub prove_s: f64,
    pub verify_s: f64,
    pub peak_rss_mb: f64,
    pub proof_bytes: usize,
    pub output: Vec<f64>,
    pub float_output: Vec<f64>,
    pub max_abs_error: f64,
    pub argmax_match: bool,
    pub srs: String,
}

pub fn run(a: Args, json: bool) -> anyhow::Result<()> {
    let onnx = a.model.onnx()?;
    let input = a.model.input()?;
    let b = measure(&onnx, &input, &a.circuit.options(), &a.srs, a.parallel, json)?;
    crate::output::print(json, &b, || b.table())
}

/// Compiles, sets up, proves and verifies one model, measuring each stage.
pub fn measure(
    onnx: &Path,
    input: &InputData,
    options: &CompileOptions,
    srs: &SrsArgs,
    parallel: usize,
    json: bool,
) -> anyhow::Result<Bench> {
    let t = Instant::now();
    let compiled = CompiledModel::compile(onnx, std::slice::from_ref(input), options)?;
    let compile_s = t.elapsed().as_secs_f64();
    let dir = tempfile::tempdir()?;
    let srs = srs.load(compiled.plan.k, json)?;
    let n = compiled.plan.shards.len();

    let pb = bar(n, "keygen", json);
    let setup = SetupInfo::run(&compiled, dir.path(), &srs, &|_| pb.inc(1))?;
    pb.finish_and_clear();

    let pb = bar(n, "proving", json);
    let t = Instant::now();
    let salt = zkattest_prover::random_salt();
    let (proof, _) =
        pipeline::prove(&compiled, dir.path(), &srs, &input.values, salt, parallel, &|_| {
            pb.inc(1)
        })?;
    let prove_s = t.elapsed().as_secs_f64();
    pb.finish_and_clear();

    let t = Instant::now();
    pipeline::verify(&compiled, dir.path(), &srs, &proof)?;
    let verify_s = t.elapsed().as_secs_f64();

    let float_output: Vec<f64> =
        tract_float_outputs(onnx, input)?.into_iter().flatten().map(f64::from).collect();
    let max_abs_error =
        proof.outputs.iter().zip(&float_output).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    let mut ops: Vec<String> = compiled.graph.nodes.iter().map(|n| n.op.clone()).collect();
    ops.dedup();
    let b = Bench {
        model: compiled.name.clone(),
        ops,
        nodes: compiled.graph.nodes.len(),
        macs: compiled.graph.macs(),
        shards: n,
        k: compiled.plan.k,
        rows: compiled.plan.shards.iter().map(|s| s.rows).sum(),
        rows_per_shard: compiled.plan.shards.iter().map(|s| s.rows).collect(),
        scale_bits: compiled.model.settings.scale_bits,
        lookup_bits: compiled.model.settings.lookup_bits,
        wide_values: compiled.model.settings.wide,
        calibration: compiled.search.mode.to_string(),
        compile_s,
        keygen_s: setup.keygen_s.iter().sum(),
        prove_s,
        verify_s,
        peak_rss_mb: peak_rss_mb(),
        proof_bytes: proof.shards.iter().map(|s| s.proof.len()).sum(),
        argmax_match: argmax(&proof.outputs) == argmax(&float_output),
        output: proof.outputs,
        float_output,
        max_abs_error,
        srs: srs.origin.label(),
    };
    Ok(b)
}

impl Bench {
    /// The human-readable table.
    pub fn table(&self) -> String {
        format!(
            "{:<18} {:>9} {:>7} {:>3} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n{:<18} {:>9} {:>7} {:>3} {:>9} {:>9.2} {:>9.2} {:>9.0} {:>9} {:>9.4}\noutput       {:?}\nfloat output {:?}",
            "model", "MACs", "shards", "k", "rows", "keygen_s", "prove_s", "peak_MB", "proof_B", "max_err",
            self.model, self.macs, self.shards, self.k, self.rows, self.keygen_s, self.prove_s, self.peak_rss_mb, self.proof_bytes, self.max_abs_error,
            self.output, self.float_output
        )
    }
}
