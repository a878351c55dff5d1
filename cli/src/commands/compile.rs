//! `zkattest compile`.

use std::path::PathBuf;

use serde::Serialize;
use zkattest_prover::artifacts::CompiledModel;

use super::{default_artifacts, CircuitArgs, ModelArgs};

/// Arguments of `compile`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub circuit: CircuitArgs,
    /// Output folder [default: zkattest-artifacts/<model>].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// What `compile` reports.
#[derive(Serialize)]
pub struct Summary {
    pub model: String,
    pub artifacts: PathBuf,
    pub nodes: usize,
    pub macs: usize,
    pub scale_bits: u32,
    pub lookup_bits: u32,
    /// Whether sums and ReLU outputs are wide values (see `--wide-values`).
    pub wide_values: bool,
    pub k: u32,
    pub shards: usize,
    pub rows: Vec<usize>,
    pub max_abs_error: Option<f64>,
    pub argmax_agreement: Option<f64>,
    pub calibration: String,
    pub lookup_bits_tried: Vec<u32>,
}

impl Summary {
    pub fn of(c: &CompiledModel, artifacts: PathBuf) -> Self {
        Self {
            model: c.name.clone(),
            artifacts,
            nodes: c.model.nodes.len(),
            macs: c.graph.macs(),
            scale_bits: c.model.settings.scale_bits,
            lookup_bits: c.model.settings.lookup_bits,
            wide_values: c.model.settings.wide,
            k: c.plan.k,
            shards: c.plan.shards.len(),
            rows: c.plan.shards.iter().map(|s| s.rows).collect(),
            max_abs_error: c.calibration.as_ref().map(|x| x.accuracy.max_abs_error),
            argmax_agreement: c.calibration.as_ref().map(|x| x.accuracy.argmax_agreement),
            calibration: c.search.mode.to_string(),
            lookup_bits_tried: c.search.tried.iter().map(|t| t.lookup_bits).collect(),
        }
    }

    pub fn human(&self) -> String {
        let mut s = format!(
            "compiled {} -> {}\n  nodes {}  MACs {}  scale 2^{}  lookup bits {}{} ({} calibration, tried {:?})\n  {} shard(s) of 2^{} rows, rows used {:?}",
            self.model,
            self.artifacts.display(),
            self.nodes,
            self.macs,
            self.scale_bits,
            self.lookup_bits,
            if self.wide_values { ", wide values" } else { "" },
            self.calibration,
            self.lookup_bits_tried,
            self.shards,
            self.k,
            self.rows
        );
        if let (Some(e), Some(a)) = (self.max_abs_error, self.argmax_agreement) {
            s += &format!("\n  vs float on the calibration input: max abs error {e:.4}, argmax agreement {:.0}%", a * 100.0);
        }
        s
    }
}

pub fn run(a: Args, json: bool) -> anyhow::Result<()> {
    let onnx = a.model.onnx()?;
    let input = a.model.input()?;
    let compiled = CompiledModel::compile(&onnx, &[input], &a.circuit.options())?;
    let out = a.out.clone().unwrap_or_else(|| default_artifacts(&compiled.name));
    compiled.save(&out)?;
    let summary = Summary::of(&compiled, out);
    crate::output::print(json, &summary, || summary.human())
}
