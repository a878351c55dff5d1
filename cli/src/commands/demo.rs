//! `zkattest demo`: the pipeline end to end on a bundled model, with no arguments.
//!
//! For now (before aggregation and the chain land) it proves a bundled digits classifier
//! as several chained shards and verifies the chain natively.

use serde::Serialize;
use zkattest_prover::artifacts::compiled::CompileOptions;
use zkattest_prover::model::input::InputData;

use super::bench::{measure, Bench};
use super::SrsArgs;

/// The bundled model: an MLP trained on scikit-learn's 8x8 digits (see models/wide_mlp).
const MODEL: &[u8] = include_bytes!("../../../models/wide_mlp/network.onnx");
const INPUT: &str = include_str!("../../../models/wide_mlp/input.json");
/// Small enough circuits that the bundled model is split into several shards.
const DEMO_MAX_K: u32 = 14;

/// Arguments of `demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub srs: SrsArgs,
}

#[derive(Serialize)]
struct Report {
    model_id: String,
    #[serde(flatten)]
    bench: Bench,
}

pub fn run(a: Args, json: bool) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let model_dir = dir.path().join("wide_mlp");
    std::fs::create_dir_all(&model_dir)?;
    let onnx = model_dir.join("network.onnx");
    std::fs::write(&onnx, MODEL)?;
    let input = InputData::from_json(INPUT, std::path::Path::new("models/wide_mlp/input.json"))?;
    let options = CompileOptions { max_k: DEMO_MAX_K, ..CompileOptions::default() };
    let bench = measure(&onnx, &input, &options, &a.srs, 1, json)?;
    let report = Report { model_id: "digits-wide-mlp".into(), bench };
    crate::output::print(json, &report, || {
        format!(
            "zkattest demo: digits classifier (scikit-learn 8x8 digits), {} chained shard proofs, verified\n{}",
            report.bench.shards,
            report.bench.table()
        )
    })
}
