//! `zkattest calibrate`.

use std::path::PathBuf;

use anyhow::Context;
use zkattest_prover::artifacts::compiled::{AUTO_LOOKUP_BITS, DEFAULT_HEADROOM};
use zkattest_prover::model::import::import_onnx;
use zkattest_prover::model::input::InputData;
use zkattest_prover::quant::calibrate::calibrate;

use super::ModelArgs;

/// Arguments of `calibrate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// More sample inputs to calibrate on.
    #[arg(long = "sample")]
    pub samples: Vec<PathBuf>,
    /// Lookup domain bits.
    #[arg(long, default_value_t = AUTO_LOOKUP_BITS[0])]
    pub lookup_bits: u32,
    /// Keep the largest value under bound/headroom.
    #[arg(long, default_value_t = DEFAULT_HEADROOM)]
    pub headroom: f64,
}

pub fn run(a: Args, json: bool) -> anyhow::Result<()> {
    let mut samples = vec![a.model.input()?];
    for p in &a.samples {
        samples.push(InputData::from_file(p).with_context(|| format!("reading {}", p.display()))?);
    }
    let graph = import_onnx(&a.model.onnx()?, samples[0].shapes.as_deref())?;
    let values: Vec<Vec<Vec<f64>>> = samples.iter().map(|s| s.values.clone()).collect();
    let c = calibrate(&graph, &values, a.lookup_bits, a.headroom)?;
    crate::output::print(json, &c, || {
        let mut s = format!(
            "input scale 2^{} (lookup bits {}): peak {:.0}% of the lookup bound\noutput step {:.3e}; vs float over {} sample(s): max abs error {:.4e}, argmax agreement {:.0}%\n\n{:<32} {:<18} {:>5} {:>11} {:>6}",
            c.settings.scale_bits,
            c.settings.lookup_bits,
            c.peak_fraction * 100.0,
            c.output_step,
            c.accuracy.samples,
            c.accuracy.max_abs_error,
            c.accuracy.argmax_agreement * 100.0,
            "node",
            "op",
            "scale",
            "max |x|",
            "peak"
        );
        for n in &c.nodes {
            s += &format!(
                "\n{:<32} {:<18} {:>5} {:>11.4e} {:>5.0}%",
                n.name,
                n.op,
                n.scale,
                n.max_abs,
                n.peak_fraction * 100.0
            );
        }
        s
    })
}
