//! `zkattest calibrate`.

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;
use zkattest_prover::artifacts::compiled::{name_of, Candidate, CompiledModel};
use zkattest_prover::model::import::import_onnx;
use zkattest_prover::model::input::InputData;
use zkattest_prover::quant::calibrate::Calibration;

use super::{CircuitArgs, ModelArgs};

/// Arguments of `calibrate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// More sample inputs to calibrate on.
    #[arg(long = "sample")]
    pub samples: Vec<PathBuf>,
    #[command(flatten)]
    pub circuit: CircuitArgs,
}

/// What `calibrate` reports: the compile step's choice, without writing artifacts.
#[derive(Serialize)]
struct Report {
    /// `accuracy` or `resources`.
    mode: String,
    /// Every lookup domain tried, in order, with its accuracy or why it was not kept.
    tried: Vec<Candidate>,
    /// Shard circuit size and count at the chosen settings.
    k: u32,
    shards: usize,
    #[serde(flatten)]
    calibration: Calibration,
}

pub fn run(a: Args, json: bool) -> anyhow::Result<()> {
    if a.circuit.scale_bits.is_some() {
        anyhow::bail!("calibrate chooses the scale: drop --scale-bits (compile and bench take it)");
    }
    let mut samples = vec![a.model.input()?];
    for p in &a.samples {
        samples.push(InputData::from_file(p).with_context(|| format!("reading {}", p.display()))?);
    }
    let onnx = a.model.onnx()?;
    let graph = import_onnx(&onnx, samples[0].shapes.as_deref())?;
    let compiled =
        CompiledModel::from_graph(name_of(&onnx), graph, &samples, &a.circuit.options())?;
    let CompiledModel { calibration, search, plan, .. } = compiled;
    let r = Report {
        mode: search.mode.to_string(),
        tried: search.tried,
        k: plan.k,
        shards: plan.shards.len(),
        calibration: calibration.context("no calibration report (no sample inputs)")?,
    };
    crate::output::print(json, &r, || human(&r))
}

fn human(r: &Report) -> String {
    let c = &r.calibration;
    let mut s = format!(
        "input scale 2^{} (lookup bits {}{}, {} calibration): peak {:.0}% of its bound; {} shard(s) of 2^{} rows\noutput step {:.3e}; vs float over {} sample(s): max abs error {:.4e}, argmax agreement {:.0}%\n\nlookup domains tried:",
        c.settings.scale_bits,
        c.settings.lookup_bits,
        if c.settings.wide { ", wide values" } else { "" },
        r.mode,
        c.peak_fraction * 100.0,
        r.shards,
        r.k,
        c.output_step,
        c.accuracy.samples,
        c.accuracy.max_abs_error,
        c.accuracy.argmax_agreement * 100.0,
    );
    for t in &r.tried {
        let at = t.k.map(|k| format!(" at k = {k}")).unwrap_or_default();
        s += &format!("\n  {:>2} bits{}{at}: ", t.lookup_bits, if t.wide { ", wide" } else { "" });
        s += &match (&t.rejected, t.scale_bits, &t.accuracy) {
            (Some(why), _, _) => format!("not kept: {why}"),
            (None, Some(scale), Some(a)) => {
                format!("scale 2^{scale}, max abs error {:.4e}", a.max_abs_error)
            }
            (None, Some(scale), None) => format!("scale 2^{scale}"),
            (None, None, _) => "tried".to_string(),
        };
    }
    s += &format!(
        "\n\n{:<32} {:<18} {:>5} {:>11} {:>6} {:>10}",
        "node", "op", "scale", "max |x|", "peak", "rounding"
    );
    for n in &c.nodes {
        s += &format!(
            "\n{:<32} {:<18} {:>5} {:>11.4e} {:>5.0}% {:>10.2e}",
            n.name,
            n.op,
            n.scale,
            n.max_abs,
            n.peak_fraction * 100.0,
            n.rounding_error
        );
    }
    s
}
