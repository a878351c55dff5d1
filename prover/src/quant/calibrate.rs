//! Picks the fixed-point scale from sample inputs and reports accuracy against float.

use serde::{Deserialize, Serialize};

use super::{quantize, QModel, QuantSettings};
use crate::error::{ProverError, Result};
use crate::model::graph::Graph;

/// Accuracy of a quantized model against the float graph on some inputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Largest |quantized - float| over all outputs of all samples.
    pub max_abs_error: f64,
    /// Fraction of samples whose output argmax agrees (classifiers; per output tensor).
    pub argmax_agreement: f64,
    /// Number of samples compared.
    pub samples: usize,
}

/// What calibration chose and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The chosen settings.
    pub settings: QuantSettings,
    /// Largest lookup input seen, as a fraction of the lookup bound.
    pub peak_fraction: f64,
    /// Accuracy at the chosen settings on the samples.
    pub accuracy: Accuracy,
}

/// Index of the largest element (first on ties).
pub fn argmax(v: &[f64]) -> Option<usize> {
    v.iter()
        .enumerate()
        .fold(None, |best: Option<(usize, f64)>, (i, &x)| match best {
            Some((_, b)) if b >= x => best,
            _ => Some((i, x)),
        })
        .map(|(i, _)| i)
}

/// Compares the quantized model with the float graph on `samples`.
pub fn accuracy(graph: &Graph, q: &QModel, samples: &[Vec<Vec<f64>>]) -> Result<Accuracy> {
    let mut acc = Accuracy { samples: samples.len(), ..Default::default() };
    let mut agree = 0usize;
    let mut total = 0usize;
    for inputs in samples {
        let float_out = graph.gather_outputs(&graph.eval_f64(inputs));
        let trace = q.eval(&q.quantize_inputs(inputs)?)?;
        let q_out = q.outputs_f64(&trace);
        for (f, qo) in float_out.iter().zip(&q_out) {
            for (a, b) in f.iter().zip(qo) {
                acc.max_abs_error = acc.max_abs_error.max((a - b).abs());
            }
            if f.len() > 1 {
                total += 1;
                agree += usize::from(argmax(f) == argmax(qo));
            }
        }
    }
    acc.argmax_agreement = if total == 0 { 1.0 } else { agree as f64 / total as f64 };
    Ok(acc)
}

/// Chooses the largest scale for which every lookup input of every sample stays within
/// `1/headroom` of the lookup bound, so unseen inputs of similar magnitude still fit.
pub fn calibrate(
    graph: &Graph,
    samples: &[Vec<Vec<f64>>],
    lookup_bits: u32,
    headroom: f64,
) -> Result<Calibration> {
    if samples.is_empty() {
        return Err(ProverError::Settings("calibration needs at least one sample input".into()));
    }
    if headroom < 1.0 {
        return Err(ProverError::Settings(format!("headroom {headroom} must be >= 1")));
    }
    for scale_bits in (1..lookup_bits.saturating_sub(1)).rev() {
        let settings = QuantSettings { scale_bits, lookup_bits };
        let q = quantize(graph, settings)?;
        let bound = settings.bound() as f64;
        let mut peak = 0f64;
        for inputs in samples {
            let inputs_q = match q.quantize_inputs(inputs) {
                Ok(v) => v,
                // Too large at this scale: try a smaller one.
                Err(ProverError::OutOfRange { .. }) => {
                    peak = f64::INFINITY;
                    break;
                }
                Err(e) => return Err(e),
            };
            let input_peak = inputs_q.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
            let (_, stats) = q.eval_stats(&inputs_q)?;
            let node_peak = stats.max_abs.iter().copied().max().unwrap_or(0);
            peak = peak.max(input_peak as f64).max(node_peak as f64);
        }
        if peak * headroom < bound {
            let accuracy = accuracy(graph, &q, samples)?;
            return Ok(Calibration { settings, peak_fraction: peak / bound, accuracy });
        }
    }
    Err(ProverError::Settings(format!(
        "no scale fits the samples within lookup_bits {lookup_bits}; raise lookup_bits"
    )))
}
