//! Picks the fixed-point scale from sample inputs and reports accuracy against float.

use serde::{Deserialize, Serialize};

use super::scales::ValueRanges;
use super::semantics::scale_free;
use super::{quantize_with_ranges, QModel, QuantSettings};
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
    /// Largest value seen, as a fraction of the bound its node checks it against (the
    /// lookup bound, or the value bound for wide values).
    pub peak_fraction: f64,
    /// The outputs' resolution: outputs are multiples of it, so rounding the last step
    /// alone costs half of it.
    pub output_step: f64,
    /// Accuracy at the chosen settings on the samples.
    pub accuracy: Accuracy,
    /// Every node's scale and range, in model order.
    pub nodes: Vec<NodeRange>,
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

/// One node's place in the lookup domain, for the calibration report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeRange {
    /// Node name.
    pub name: String,
    /// Its ops, e.g. "Gemm+Relu".
    pub op: String,
    /// Exponent of its outputs: they are multiples of `2^-scale`.
    pub scale: u32,
    /// Largest |float value| of its lookup inputs on the samples.
    pub max_abs: f64,
    /// Largest quantized input on the samples, as a fraction of the bound its node checks.
    pub peak_fraction: f64,
    /// The error the node's own rounding adds to its outputs: half its step, `2^-(scale+1)`
    /// (errors arriving from its inputs come on top, scaled by its weights).
    pub rounding_error: f64,
}

/// Chooses the largest input scale for which every sample input, and every value entering
/// a tabulated activation, stays within `1/headroom` of the lookup bound, so unseen inputs
/// of similar magnitude still fit; every other node gets the largest scale its own float
/// range fits at with the same headroom (see [`super::scales`]). With `wide` values, only
/// tabulated functions' inputs need the lookup domain (see [`QuantSettings::wide`]).
pub fn calibrate(
    graph: &Graph,
    samples: &[Vec<Vec<f64>>],
    lookup_bits: u32,
    wide: bool,
    headroom: f64,
) -> Result<Calibration> {
    if samples.is_empty() {
        return Err(ProverError::Settings("calibration needs at least one sample input".into()));
    }
    if headroom.is_nan() || headroom < 1.0 {
        return Err(ProverError::Settings(format!("headroom {headroom} must be >= 1")));
    }
    let ranges = ValueRanges::measure(graph, samples)?;
    // First with every input at the settings' scale; only when no scale holds the inputs
    // that way, inputs too wide for it each take their own (see `QModel::input_scales`).
    let mut outside = None;
    for own_input_scales in [false, true] {
        let at = (lookup_bits, wide, own_input_scales);
        if let Some(c) = calibrate_at(graph, samples, &ranges, at, headroom, &mut outside)? {
            return Ok(c);
        }
    }
    // A function's domain the samples leave at every scale says more than "no scale fits".
    Err(outside.unwrap_or_else(|| {
        ProverError::Settings(format!(
            "no scale fits the samples within lookup_bits {lookup_bits}; raise lookup_bits"
        ))
    }))
}

/// The largest scale that fits, if any; inputs must fit at it unless `own_input_scales`.
fn calibrate_at(
    graph: &Graph,
    samples: &[Vec<Vec<f64>>],
    ranges: &ValueRanges,
    (lookup_bits, wide, own_input_scales): (u32, bool, bool),
    headroom: f64,
    outside: &mut Option<ProverError>,
) -> Result<Option<Calibration>> {
    for scale_bits in (1..lookup_bits.saturating_sub(1)).rev() {
        let settings = QuantSettings { scale_bits, lookup_bits, wide };
        let q = match quantize_with_ranges(graph, settings, ranges, headroom) {
            Ok(q) => q,
            // A rescale this scale cannot hold: a smaller one may.
            Err(ProverError::Settings(_)) => continue,
            Err(e) => return Err(e),
        };
        let Some(peaks) = peaks(&q, samples)? else { continue };
        let bound = |n: &super::QNode| n.kind.input_bound(&settings) as f64;
        // Inputs and table domains keep the headroom; the other nodes got theirs when their
        // scales were fitted, and need only stay inside the domain.
        let fits = q.nodes.iter().zip(&peaks.nodes).all(|(n, p)| {
            let tabulated = n.kind.activation().is_some_and(|a| !scale_free(a));
            (*p as f64) * if tabulated { headroom } else { 1.0 } < bound(n)
        });
        // Wide inputs always have their own scales, fitted with the headroom.
        let inputs_fit = wide
            || q.input_scales.is_empty()
                && (peaks.inputs as f64) * headroom < settings.bound() as f64;
        if !fits || !(own_input_scales || inputs_fit) {
            continue;
        }
        // An interpolated exponential's outputs reach the value range's end at fine
        // scales (`semantics::grid`): a coarser scale may hold them.
        let accuracy = match accuracy(graph, &q, samples) {
            Err(e @ ProverError::OutOfDomain { .. }) => {
                outside.get_or_insert(e);
                continue;
            }
            other => other?,
        };
        let input_fraction = peaks.inputs as f64 / settings.value_bound() as f64;
        let top = q
            .nodes
            .iter()
            .zip(&peaks.nodes)
            .map(|(n, p)| *p as f64 / bound(n))
            .fold(input_fraction, f64::max);
        let nodes = q
            .nodes
            .iter()
            .zip(&peaks.nodes)
            .map(|(n, p)| NodeRange {
                name: n.name.clone(),
                op: n.op.clone(),
                scale: n.scale,
                max_abs: *p as f64 / (1u64 << n.scale) as f64,
                peak_fraction: *p as f64 / bound(n),
                rounding_error: 0.5 / (1u64 << n.scale) as f64,
            })
            .collect();
        return Ok(Some(Calibration {
            settings,
            peak_fraction: top,
            output_step: 1.0 / (1u64 << q.output_scale()) as f64,
            accuracy,
            nodes,
        }));
    }
    Ok(None)
}

/// Largest |quantized input| and largest |lookup input| per node over the samples.
struct Peaks {
    inputs: u64,
    nodes: Vec<i128>,
}

/// The samples' peaks at `q`'s settings; none when an input does not fit at all.
fn peaks(q: &QModel, samples: &[Vec<Vec<f64>>]) -> Result<Option<Peaks>> {
    let mut peaks = Peaks { inputs: 0, nodes: vec![0; q.nodes.len()] };
    for inputs in samples {
        let inputs_q = match q.quantize_inputs(inputs) {
            Ok(v) => v,
            Err(ProverError::OutOfRange { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let top = inputs_q.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
        peaks.inputs = peaks.inputs.max(top);
        let (_, stats) = q.eval_stats(&inputs_q)?;
        for (p, m) in peaks.nodes.iter_mut().zip(stats.max_abs) {
            *p = (*p).max(m);
        }
    }
    Ok(Some(peaks))
}
