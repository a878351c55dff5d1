//! Fixed-point quantization of a float [`Graph`] and the quantized reference evaluator.

pub mod calibrate;
pub mod eval;
pub mod semantics;

use serde::{Deserialize, Serialize};

use crate::error::{ProverError, Result};
use crate::model::graph::{
    Activation, Graph, NodeKind, OutputTensor, SparseRows, Src, TensorInfo, ValueId,
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
        /// Rescale exponent: the weights' scale (0 for integral weights).
        shift: u32,
        /// Fused activation.
        act: Activation,
    },
    /// `out_j = act(requant(a_j * b_j, scale))`.
    Mul {
        /// Left operands.
        a: Vec<Src>,
        /// Right operands.
        b: Vec<Src>,
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
}

impl QKind {
    /// Number of outputs.
    pub fn len(&self) -> usize {
        match self {
            QKind::Linear { bias, .. } => bias.len(),
            QKind::Mul { a, .. } => a.len(),
            QKind::Act { input, .. } => input.len(),
            QKind::Max { windows } => windows.len(),
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
            QKind::Act { input, .. } => vec![input[j]],
            QKind::Max { windows } => windows[j].clone(),
        }
    }

    /// The activation applied to the outputs, if any.
    pub fn activation(&self) -> Option<Activation> {
        match self {
            QKind::Linear { act, .. } | QKind::Mul { act, .. } | QKind::Act { act, .. } => {
                Some(*act)
            }
            QKind::Max { .. } => None,
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
}

/// A quantized model: what the circuits prove.
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
}

impl QModel {
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

/// The fixed-point scale of a linear node's weights (also its rescale exponent).
///
/// Rounding `w` to `2^-ws` moves an output by at most `nnz * 2^(-ws-1) * max|x|`; with
/// inputs up to the lookup bound (`2^(L-1-s)` in real terms) that is at most half an output
/// step (`2^(-s-1)`) once `ws >= L - 1 + log2(nnz)`. That many bits, at least the value scale
/// and at most [`MAX_RESCALE_LIMBS`] limbs of it, keeps small weights (a mean's `1/n`, a
/// normalization's `1/sigma`) from rounding to nothing. The bias, at `2^(s + ws)`, stays well
/// inside 64 bits.
pub fn weight_scale(rows: &SparseRows<f64>, settings: &QuantSettings) -> u32 {
    let s = settings.scale_bits;
    let nnz = (0..rows.len())
        .map(|j| (rows.offsets[j + 1] - rows.offsets[j]) as usize)
        .max()
        .unwrap_or(1)
        .max(1);
    let wanted = settings.lookup_bits - 1 + (nnz as f64).log2().ceil() as u32;
    wanted.clamp(s, (MAX_RESCALE_LIMBS * s).min(MAX_BIAS_SCALE.saturating_sub(s)).max(s))
}

/// Largest scale of a bias (`2^(s + ws)`): biases up to `2^(63 - 48)` in magnitude fit i64.
const MAX_BIAS_SCALE: u32 = 48;

/// Quantizes a float graph: weights to fixed point, activations fused into the linear
/// node that feeds them whenever that node has no other consumer.
pub fn quantize(graph: &Graph, settings: QuantSettings) -> Result<QModel> {
    settings.validate().map_err(ProverError::Settings)?;
    let n_in = graph.num_input_values();
    let mut uses = vec![0u32; graph.num_values()];
    for node in &graph.nodes {
        for s in node.kind.operands() {
            if let Src::Value(v) = s {
                uses[v as usize] += 1;
            }
        }
    }
    for o in &graph.outputs {
        for s in &o.srcs {
            if let Src::Value(v) = s {
                uses[*v as usize] += 1;
            }
        }
    }

    // remap[old id] = where that value lives in the quantized model.
    let mut remap: Vec<Src> = (0..n_in as ValueId).map(Src::Value).collect();
    remap.resize(graph.num_values(), Src::Zero);
    let map = |remap: &Vec<Src>, s: Src| match s {
        Src::Zero => Src::Zero,
        Src::Value(v) => remap[v as usize],
    };
    let mut nodes: Vec<QNode> = Vec::with_capacity(graph.nodes.len());
    let mut next = n_in as ValueId;
    let s = settings.scale_bits;
    let mut i = 0;
    while i < graph.nodes.len() {
        let node = &graph.nodes[i];
        // An activation reading exactly this node's outputs, which nothing else reads, fuses.
        let fused = graph.nodes.get(i + 1).and_then(|nx| match &nx.kind {
            NodeKind::Act { input, act }
                if matches!(node.kind, NodeKind::Linear { .. } | NodeKind::Mul { .. })
                    && input.len() == node.kind.len()
                    && input.iter().enumerate().all(|(j, src)| {
                        *src == Src::Value(node.first + j as ValueId)
                            && uses[(node.first as usize) + j] == 1
                    }) =>
            {
                Some((nx, *act))
            }
            _ => None,
        });
        let act = fused.map(|(_, a)| a).unwrap_or(Activation::Identity);
        let kind = match &node.kind {
            NodeKind::Linear { rows, bias } => {
                let wscale =
                    if integral(&rows.weights) { 0 } else { weight_scale(rows, &settings) };
                let shift = wscale;
                let mut q = SparseRows::<i64>::new();
                for j in 0..rows.len() {
                    q.push_row(rows.row(j).map(|(src, w)| {
                        (map(&remap, src), (w * (1u64 << wscale) as f64).round() as i64)
                    }));
                }
                let bias = bias
                    .iter()
                    .map(|b| (b * (1u64 << (s + wscale)) as f64).round() as i64)
                    .collect();
                QKind::Linear { rows: q, bias, shift, act }
            }
            NodeKind::Mul { a, b } => QKind::Mul {
                a: a.iter().map(|x| map(&remap, *x)).collect(),
                b: b.iter().map(|x| map(&remap, *x)).collect(),
                act,
            },
            NodeKind::Act { input, act } => {
                QKind::Act { input: input.iter().map(|x| map(&remap, *x)).collect(), act: *act }
            }
            NodeKind::Max { windows } => QKind::Max {
                windows: windows
                    .iter()
                    .map(|w| w.iter().map(|x| map(&remap, *x)).collect())
                    .collect(),
            },
        };
        let len = kind.len();
        let (name, op, produced_by) = match fused {
            Some((nx, _)) => (node.name.clone(), format!("{}+{}", node.op, nx.op), nx),
            None => (node.name.clone(), node.op.clone(), node),
        };
        for j in 0..len {
            remap[produced_by.first as usize + j] = Src::Value(next + j as ValueId);
        }
        nodes.push(QNode { name, op, first: next, kind });
        next += len as ValueId;
        i += if fused.is_some() { 2 } else { 1 };
    }
    let outputs = graph
        .outputs
        .iter()
        .map(|o| OutputTensor {
            info: o.info.clone(),
            srcs: o.srcs.iter().map(|x| map(&remap, *x)).collect(),
        })
        .collect();
    Ok(QModel { settings, inputs: graph.inputs.clone(), nodes, outputs })
}
