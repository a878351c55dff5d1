//! Fixed-point quantization of a float [`Graph`] and the quantized reference evaluator.

pub mod calibrate;
pub mod eval;
mod quantizer;
pub mod scales;
pub mod semantics;
#[cfg(test)]
mod tests;
mod wellformed;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::graph::{
    Activation, Graph, IndexCheck, OutputTensor, SparseRows, Src, TensorInfo, ValueId,
};
pub use semantics::QuantSettings;

/// A quantized computation. Every kind ends in one lookup per output (a requantization
/// with an activation), so every value of a quantized model is range-checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum QKind {
    /// `out_j = act(requant(bias_j + sum w x, shift))`.
    Linear {
        /// Integer weights.
        rows: SparseRows<i64>,
        /// Integer biases at scale `2^(scale + weight scale)`.
        bias: Vec<i64>,
        /// Rescale exponent (0 for integral weights at the output's scale).
        shift: u32,
        /// Fused activation.
        act: Activation,
    },
    /// `out_j = act(requant(a_j * b_j, shift))`.
    Mul {
        /// Left operands.
        a: Vec<Src>,
        /// Right operands.
        b: Vec<Src>,
        /// Rescale exponent: the operands' scales less the output's.
        shift: u32,
        /// Fused activation.
        act: Activation,
    },
    /// `out_j = act(requant(sum_t a_(j,t) * b_(j,t), shift))`, `terms` products per output
    /// accumulated before one rescale.
    Dot {
        /// Left operands, `terms` per output.
        a: Vec<Src>,
        /// Right operands, parallel to `a`.
        b: Vec<Src>,
        /// Products per output, at least one.
        terms: u32,
        /// Rescale exponent: the operands' scales less the output's.
        shift: u32,
        /// Fused activation.
        act: Activation,
    },
    /// `out_j = act(x_j)`.
    Act {
        /// Operands.
        input: Vec<Src>,
        /// The activation.
        act: Activation,
    },
    /// `out_j = max(window_j)` as a chain of `m + relu(v - m)` steps.
    Max {
        /// Non-empty windows.
        windows: Vec<Vec<Src>>,
    },
    /// `out_j = act(round(a_j * 2^shift / b_j))` for `0 < b_j <= 2^(lookup_bits-2)`
    /// (see [`semantics::divide`]).
    Div {
        /// Numerators.
        a: Vec<Src>,
        /// Denominators.
        b: Vec<Src>,
        /// The numerator's extra scale: the output's scale plus the denominator's less the
        /// numerator's.
        shift: u32,
        /// Fused activation.
        act: Activation,
    },
}

impl QKind {
    /// Number of outputs.
    pub fn len(&self) -> usize {
        match self {
            QKind::Linear { bias, .. } => bias.len(),
            QKind::Mul { a, .. } => a.len(),
            QKind::Dot { a, terms, .. } => a.len() / (*terms).max(1) as usize,
            QKind::Act { input, .. } => input.len(),
            QKind::Max { windows } => windows.len(),
            QKind::Div { a, .. } => a.len(),
        }
    }

    /// True when the node has no outputs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Operands of output `j`, in the order the circuit reads them.
    pub fn operands_of(&self, j: usize) -> Vec<Src> {
        match self {
            QKind::Linear { rows, .. } => rows.row(j).map(|(s, _)| s).collect(),
            QKind::Mul { a, b, .. } => vec![a[j], b[j]],
            QKind::Dot { a, b, terms, .. } => {
                let n = *terms as usize;
                a[j * n..(j + 1) * n]
                    .iter()
                    .zip(&b[j * n..(j + 1) * n])
                    .flat_map(|(x, y)| [*x, *y])
                    .collect()
            }
            QKind::Act { input, .. } => vec![input[j]],
            QKind::Max { windows } => windows[j].clone(),
            QKind::Div { a, b, .. } => vec![a[j], b[j]],
        }
    }

    /// The activation applied to the outputs, if any.
    pub fn activation(&self) -> Option<Activation> {
        match self {
            QKind::Linear { act, .. }
            | QKind::Mul { act, .. }
            | QKind::Dot { act, .. }
            | QKind::Act { act, .. }
            | QKind::Div { act, .. } => Some(*act),
            QKind::Max { .. } => None,
        }
    }

    /// Exclusive bound on |lookup input| (the rescaled value, the quotient, a running
    /// maximum's difference): the lookup domain's, or the value range where it is wide.
    pub fn input_bound(&self, settings: &QuantSettings) -> i64 {
        match self {
            QKind::Div { .. } => settings.bound(),
            QKind::Max { .. } if settings.wide => settings.value_bound(),
            QKind::Max { .. } => settings.bound(),
            _ => self.activation().map_or(settings.bound(), |a| settings.bound_for(a)),
        }
    }
}

/// One quantized node; output `j` is value `first + j`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QNode {
    /// Source node name (the linear node's when an activation was fused into it).
    pub name: String,
    /// Source op names, e.g. "Conv+Max".
    pub op: String,
    /// First value id.
    pub first: ValueId,
    /// The computation.
    pub kind: QKind,
    /// Fixed-point exponent of the node's outputs: output `j` stands for `value / 2^scale`.
    pub scale: u32,
}

/// A quantized model: what the circuits prove. Inputs are at `settings.scale_bits` (or each
/// at its own scale, see `input_scales`), each node's outputs at the node's own scale, and
/// all model outputs at one scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QModel {
    /// Fixed-point settings.
    pub settings: QuantSettings,
    /// Input tensors; their values are ids `0..num_inputs`.
    pub inputs: Vec<TensorInfo>,
    /// Computations in topological order.
    pub nodes: Vec<QNode>,
    /// Output tensors.
    pub outputs: Vec<OutputTensor>,
    /// The scale of each input value, where some input does not fit the lookup domain at
    /// `settings.scale_bits` (raw features of scikit-learn pipelines in the thousands beside
    /// others near 0.01); empty when every input is at `settings.scale_bits`.
    #[serde(default)]
    pub input_scales: Vec<u32>,
    /// Indices witness generation checks (see [`IndexCheck`]).
    #[serde(default)]
    pub index_checks: Vec<IndexCheck>,
}

impl QModel {
    /// The scale of input value `v`.
    pub fn input_scale(&self, v: usize) -> u32 {
        self.input_scales.get(v).copied().unwrap_or(self.settings.scale_bits)
    }

    /// Number of scalar input values.
    pub fn num_input_values(&self) -> usize {
        self.inputs.iter().map(TensorInfo::numel).sum()
    }

    /// Total number of value ids.
    pub fn num_values(&self) -> usize {
        self.nodes
            .last()
            .map(|n| n.first as usize + n.kind.len())
            .unwrap_or_else(|| self.num_input_values())
    }

    /// Flat list of output sources over all output tensors.
    pub fn output_srcs(&self) -> Vec<Src> {
        self.outputs.iter().flat_map(|o| o.srcs.iter().copied()).collect()
    }

    /// The quantized outputs of an evaluated trace, flat over all output tensors.
    pub fn outputs_q(&self, trace: &eval::Trace) -> Vec<i64> {
        self.output_srcs().iter().map(|s| trace.get(*s)).collect()
    }

    /// The fixed-point exponent of a value (inputs: their own, see [`Self::input_scale`]).
    pub fn scale_of(&self, v: ValueId) -> u32 {
        // Nodes are in value order: the last one starting at or before `v` holds it.
        let i = self.nodes.partition_point(|n| n.first <= v);
        match i.checked_sub(1).map(|i| &self.nodes[i]) {
            Some(n) if ((v - n.first) as usize) < n.kind.len() => n.scale,
            _ => self.input_scale(v as usize),
        }
    }

    /// The fixed-point exponent of a source; the constant zero reads the same at every
    /// scale, so it takes the settings'.
    pub fn scale_of_src(&self, s: Src) -> u32 {
        match s {
            Src::Value(v) => self.scale_of(v),
            Src::Zero => self.settings.scale_bits,
        }
    }

    /// The one fixed-point exponent of every model output (quantization aligns them).
    pub fn output_scale(&self) -> u32 {
        self.output_srcs()
            .iter()
            .find_map(|s| match s {
                Src::Value(v) => Some(self.scale_of(*v)),
                Src::Zero => None,
            })
            .unwrap_or(self.settings.scale_bits)
    }

    /// The real numbers quantized outputs stand for.
    pub fn dequantize_outputs(&self, outputs_q: &[i64]) -> Vec<f64> {
        let scale = (1u64 << self.output_scale()) as f64;
        outputs_q.iter().map(|v| *v as f64 / scale).collect()
    }

    /// Activations used anywhere in the model.
    pub fn activations(&self) -> Vec<Activation> {
        let mut acts: Vec<Activation> = Vec::new();
        for n in &self.nodes {
            if let Some(a) = n.kind.activation() {
                if !acts.contains(&a) {
                    acts.push(a);
                }
            }
        }
        acts
    }
}

/// Weights that are small integers (sums, differences, pooling sums) need no rescale.
fn integral(weights: &[f64]) -> bool {
    weights.iter().all(|w| w.fract() == 0.0 && w.abs() < (1u64 << 20) as f64)
}

/// Remainder limbs a rescale may use (the rescale row's spare advice cells).
pub const MAX_RESCALE_LIMBS: u32 = crate::circuit::layout::REMAINDER_COLUMNS.len() as u32;

/// The rescale exponent of a linear node with `nnz` terms in its longest row.
///
/// Rounding a weight to an integer moves the accumulator by at most half an input value,
/// which is below `2^(V-1)` (`V` the value bits: the lookup bits, or more with wide values);
/// over `nnz` terms and after dividing by `2^shift` that is at most half an output step once
/// `shift >= V - 1 + log2(nnz)`, whatever the scales of the
/// operands and of the output (they only decide how the weights are written). That many
/// bits, at least the value scale and at most [`MAX_RESCALE_LIMBS`] limbs, keeps small
/// weights (a mean's `1/n`, a normalization's `1/sigma`) from rounding to nothing.
pub fn weight_scale(rows: &SparseRows<f64>, settings: &QuantSettings) -> u32 {
    let s = settings.scale_bits;
    let nnz = (0..rows.len())
        .map(|j| (rows.offsets[j + 1] - rows.offsets[j]) as usize)
        .max()
        .unwrap_or(1)
        .max(1);
    let wanted = settings.value_bits() - 1 + (nnz as f64).log2().ceil() as u32;
    wanted.clamp(s, MAX_RESCALE_LIMBS * s)
}

/// Quantizes a float graph with every value at the settings' scale: weights to fixed
/// point, activations fused into the linear node that feeds them whenever that node has no
/// other consumer.
pub fn quantize(graph: &Graph, settings: QuantSettings) -> Result<QModel> {
    quantizer::quantize(graph, settings, None)
}

/// Quantizes a float graph giving every node the largest scale its values fit at, from
/// their ranges on calibration samples (see [`scales`]).
pub fn quantize_with_ranges(
    graph: &Graph,
    settings: QuantSettings,
    ranges: &scales::ValueRanges,
    headroom: f64,
) -> Result<QModel> {
    let policy = scales::ScalePolicy::new(&settings, headroom);
    quantizer::quantize(graph, settings, Some((ranges, policy)))
}
