//! The float dataflow graph that every ONNX model is lowered to.
//!
//! tract's decluttered typed model has dozens of op types; after import only four
//! kinds of computation remain, each producing a flat list of scalar values.
//! Data movement (reshape, transpose, slice, concat, pad, gather, tile...) does not
//! survive import: it only rearranges [`Src`] references, which costs nothing in a
//! circuit. Constant subgraphs are folded at import time.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Identifier of one scalar value: model inputs come first, then each node's outputs in order.
pub type ValueId = u32;

/// Where one scalar operand comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Src {
    /// The constant zero (padding).
    Zero,
    /// A value computed earlier (or a model input).
    Value(ValueId),
}

/// An elementwise non-linearity, applied through a lookup table in the circuit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    /// y = x (the table then only range-checks).
    Identity,
    /// y = max(x, 0).
    Relu,
    /// y = 1 / (1 + e^-x).
    Sigmoid,
    /// y = x for x >= 0, alpha * x otherwise.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// y = tanh(x).
    Tanh,
    /// y = e^x.
    Exp,
    /// y = ln(x), defined for x > 0.
    Ln,
    /// y = sqrt(x), defined for x >= 0.
    Sqrt,
    /// y = sqrt(x + eps), defined for x >= 0: the denominator of a normalization, whose
    /// `eps` is usually far below one step of the variance it is added to.
    SqrtEps {
        /// Added under the root.
        eps: f32,
    },
    /// y = erf(x).
    Erf,
    /// y = x * Phi(x) (GELU, exact form).
    Gelu,
    /// y = x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))) (GELU, tanh form).
    GeluTanh,
    /// y = x * sigmoid(x) (SiLU, swish).
    Silu,
    /// y = ln(1 + e^x).
    Softplus,
    /// y = x for x > 0, alpha * (e^x - 1) otherwise.
    Elu {
        /// Scale of the negative part.
        alpha: f32,
    },
    /// y = 1 for x > 0, else 0 (the strict comparisons Less and Greater of a difference).
    Positive,
    /// y = 1 for x >= 0, else 0 (LessOrEqual, GreaterOrEqual, Equal).
    NonNegative,
    /// y = the largest integer <= x.
    Floor,
    /// y = the smallest integer >= x.
    Ceil,
    /// y = x rounded to the nearest integer, halves to even (ONNX Round).
    Round,
    /// y = x rounded toward zero (the quotient of an integer division).
    Trunc,
    /// y = -1, 0 or 1 by the sign of x.
    Sign,
    /// y = sin(x).
    Sin,
    /// y = cos(x).
    Cos,
    /// y = tan(x).
    Tan,
    /// y = asin(x), defined on [-1, 1].
    Asin,
    /// y = acos(x), defined on [-1, 1].
    Acos,
    /// y = atan(x).
    Atan,
    /// y = sinh(x).
    Sinh,
    /// y = cosh(x).
    Cosh,
    /// y = asinh(x).
    Asinh,
    /// y = acosh(x), defined for x >= 1.
    Acosh,
    /// y = atanh(x), defined on (-1, 1).
    Atanh,
    /// y = x * clamp(x / 6 + 1/2, 0, 1).
    HardSwish,
    /// y = x^p for a constant exponent `p`; undefined where the real power is (a negative
    /// base with a fractional exponent, zero with a negative one).
    Pow {
        /// The exponent.
        p: f32,
    },
}

/// Rows of a sparse matrix in compressed form: row `j` owns `srcs[offsets[j]..offsets[j+1]]`.
///
/// Float weights in the [`Graph`], integer weights once quantized.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseRows<W = f64> {
    /// `offsets.len() == rows + 1`, starting at 0.
    pub offsets: Vec<u32>,
    /// Operand of each term.
    pub srcs: Vec<Src>,
    /// Coefficient of each term.
    pub weights: Vec<W>,
}

impl<W: Copy + PartialEq + Default> SparseRows<W> {
    /// An empty matrix with zero rows.
    pub fn new() -> Self {
        Self { offsets: vec![0], srcs: Vec::new(), weights: Vec::new() }
    }

    /// Appends one row; terms with a [`Src::Zero`] operand or a zero weight are dropped.
    pub fn push_row(&mut self, terms: impl IntoIterator<Item = (Src, W)>) {
        for (src, w) in terms {
            if src != Src::Zero && w != W::default() {
                self.srcs.push(src);
                self.weights.push(w);
            }
        }
        self.offsets.push(self.srcs.len() as u32);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The terms of row `j`.
    pub fn row(&self, j: usize) -> impl Iterator<Item = (Src, W)> + '_ {
        let (a, b) = (self.offsets[j] as usize, self.offsets[j + 1] as usize);
        self.srcs[a..b].iter().copied().zip(self.weights[a..b].iter().copied())
    }

    /// Total number of terms (multiply-accumulates).
    pub fn nnz(&self) -> usize {
        self.srcs.len()
    }
}

/// What a node computes; output `j` of the node is value `node.first + j`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum NodeKind {
    /// `y_j = bias_j + sum_t w_t * x_t` over the terms of row `j`: matmul, conv, pooling sums,
    /// affine ops with constants, sums and differences of activations, folded batch norm.
    Linear {
        /// One row per output.
        rows: SparseRows,
        /// One bias per output.
        bias: Vec<f64>,
    },
    /// `y_j = a_j * b_j`, the product of two activations (elementwise Mul, Square).
    Mul {
        /// Left operands.
        a: Vec<Src>,
        /// Right operands.
        b: Vec<Src>,
    },
    /// `y_j = sum_t a_(j,t) * b_(j,t)` over `terms` products per output: a matrix product
    /// of two activations (attention's `Q K^T`, `softmax V`).
    Dot {
        /// Left operands, `terms` per output.
        a: Vec<Src>,
        /// Right operands, parallel to `a`.
        b: Vec<Src>,
        /// Products per output, at least one.
        terms: u32,
    },
    /// `y_j = act(x_j)`.
    Act {
        /// Operands.
        input: Vec<Src>,
        /// The non-linearity.
        act: Activation,
    },
    /// `y_j = max(window_j)` (max pooling, max reductions).
    Max {
        /// One non-empty window per output.
        windows: Vec<Vec<Src>>,
    },
    /// `y_j = a_j / b_j` for a positive `b_j` (softmax normalization, softsign, division by
    /// a tensor).
    Div {
        /// Numerators.
        a: Vec<Src>,
        /// Denominators, positive.
        b: Vec<Src>,
    },
    /// `y_j = trunc(a_j / c_j)` for integer-valued `a_j` and a nonzero integer constant
    /// `c_j`: ONNX `Div` on integer tensors, which truncates toward zero.
    IntDiv {
        /// Numerators, integer-valued.
        a: Vec<Src>,
        /// Divisors, nonzero.
        c: Vec<i64>,
    },
    /// `y_j = trunc(a_j / b_j)` for integer-valued `a_j` and positive integer-valued `b_j`:
    /// ONNX `Div` of two integer tensors once the import has moved the divisor's sign onto
    /// the numerator (`trunc(a / b) = trunc(sign(b) a / |b|)`).
    IntDivBy {
        /// Numerators, integer-valued.
        a: Vec<Src>,
        /// Divisors, positive integers.
        b: Vec<Src>,
    },
}

impl NodeKind {
    /// Number of values the node produces.
    pub fn len(&self) -> usize {
        match self {
            NodeKind::Linear { bias, .. } => bias.len(),
            NodeKind::Mul { a, .. } => a.len(),
            NodeKind::Dot { a, terms, .. } => a.len() / (*terms).max(1) as usize,
            NodeKind::Act { input, .. } => input.len(),
            NodeKind::Max { windows } => windows.len(),
            NodeKind::Div { a, .. } => a.len(),
            NodeKind::IntDiv { a, .. } | NodeKind::IntDivBy { a, .. } => a.len(),
        }
    }

    /// True when the node produces nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every operand the node reads, in order.
    pub fn operands(&self) -> Box<dyn Iterator<Item = Src> + '_> {
        match self {
            NodeKind::Linear { rows, .. } => Box::new(rows.srcs.iter().copied()),
            NodeKind::Mul { a, b } | NodeKind::Dot { a, b, .. } => {
                Box::new(a.iter().chain(b.iter()).copied())
            }
            NodeKind::Act { input, .. } => Box::new(input.iter().copied()),
            NodeKind::Max { windows } => Box::new(windows.iter().flatten().copied()),
            NodeKind::Div { a, b } | NodeKind::IntDivBy { a, b } => {
                Box::new(a.iter().chain(b.iter()).copied())
            }
            NodeKind::IntDiv { a, .. } => Box::new(a.iter().copied()),
        }
    }
}

/// One computation of the graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Name of the tract node it came from (for error messages and reports).
    pub name: String,
    /// tract op name it came from, e.g. "Conv", "EinSum", "Max".
    pub op: String,
    /// First value id it produces.
    pub first: ValueId,
    /// What it computes.
    pub kind: NodeKind,
}

/// A named tensor of the model's interface.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TensorInfo {
    /// ONNX name.
    pub name: String,
    /// Shape, fully concrete.
    pub shape: Vec<usize>,
    /// What the ONNX type allows as a value (files without it are floats).
    #[serde(default)]
    pub elem: ElemType,
    /// The names of an integer output's values `0, 1, …`: a classifier's string labels,
    /// proven as their index. Empty for every other tensor.
    #[serde(default)]
    pub classes: Vec<String>,
}

/// The kind of number an ONNX tensor holds; all are proven as fixed-point values, exactly
/// for integers and booleans.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElemType {
    /// Any real number (quantized).
    #[default]
    Float,
    /// Whole numbers only.
    Integer,
    /// 0 or 1.
    Bool,
}

impl ElemType {
    /// Why `x` is not a value of this type, if it is not.
    pub fn reject(&self, x: f64) -> Option<&'static str> {
        match self {
            ElemType::Float => None,
            ElemType::Integer => (x.fract() != 0.0).then_some("an integer"),
            ElemType::Bool => (x != 0.0 && x != 1.0).then_some("a boolean (0 or 1)"),
        }
    }
}

impl TensorInfo {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

impl Graph {
    /// For every output with class names, by output name, the name of each of its values
    /// in `outputs` (all outputs flattened in order); a value that is no class index keeps
    /// its number.
    pub fn class_labels(&self, outputs: &[f64]) -> BTreeMap<String, Vec<String>> {
        let mut labels = BTreeMap::new();
        let mut rest = outputs;
        for o in &self.outputs {
            let (values, tail) = rest.split_at(o.srcs.len().min(rest.len()));
            rest = tail;
            if o.info.classes.is_empty() {
                continue;
            }
            let name = |v: &f64| {
                let known = v.fract() == 0.0 && *v >= 0.0;
                let class = known.then(|| o.info.classes.get(*v as usize)).flatten();
                class.cloned().unwrap_or_else(|| v.to_string())
            };
            labels.insert(o.info.name.clone(), values.iter().map(name).collect());
        }
        labels
    }
}

/// A model output: its shape and, row-major, where each element comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputTensor {
    /// Name and shape.
    pub info: TensorInfo,
    /// Source of each element.
    pub srcs: Vec<Src>,
}

/// An index into an axis of `len` entries that the circuit does not bound: ONNX defines it
/// on `[-len, len)` only (onnxruntime stops outside), while the gather or scatter lowered
/// from it picks the nearest entry there. Witness generation checks it, so such an input is
/// an error instead of a proof of a value no ONNX runtime computes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexCheck {
    /// Name of the tract node that reads the index.
    pub node: String,
    /// Its op.
    pub op: String,
    /// The index, an integer value.
    pub index: Src,
    /// Entries of the axis it selects along.
    pub len: u64,
}

/// A whole model as a scalar dataflow graph over float weights.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    /// Inputs; input `i` owns consecutive value ids starting after input `i-1`.
    pub inputs: Vec<TensorInfo>,
    /// Computations in topological order; ids are consecutive after the inputs.
    pub nodes: Vec<Node>,
    /// Outputs.
    pub outputs: Vec<OutputTensor>,
    /// Indices checked at witness generation (gathers and scatters at input indices).
    #[serde(default)]
    pub index_checks: Vec<IndexCheck>,
}

impl Graph {
    /// The values read from outside the nodes: the outputs, then the checked indices.
    pub fn observed(&self) -> impl Iterator<Item = Src> + '_ {
        let outputs = self.outputs.iter().flat_map(|o| o.srcs.iter().copied());
        outputs.chain(self.index_checks.iter().map(|c| c.index))
    }

    /// Number of scalar inputs over all input tensors.
    pub fn num_input_values(&self) -> usize {
        self.inputs.iter().map(TensorInfo::numel).sum()
    }

    /// Total number of value ids (inputs and node outputs).
    pub fn num_values(&self) -> usize {
        self.nodes
            .last()
            .map(|n| n.first as usize + n.kind.len())
            .unwrap_or_else(|| self.num_input_values())
    }

    /// Multiply-accumulates of the linear parts.
    pub fn macs(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| match &n.kind {
                NodeKind::Linear { rows, .. } => rows.nnz(),
                NodeKind::Mul { a, .. } | NodeKind::Dot { a, .. } => a.len(),
                _ => 0,
            })
            .sum()
    }

    /// Evaluates the graph in f64 on flat inputs (one flat list per input tensor).
    pub fn eval_f64(&self, inputs: &[Vec<f64>]) -> Vec<f64> {
        let mut v: Vec<f64> = inputs.iter().flatten().copied().collect();
        v.reserve(self.num_values().saturating_sub(v.len()));
        let get = |v: &Vec<f64>, s: Src| match s {
            Src::Zero => 0.0,
            Src::Value(i) => v[i as usize],
        };
        for node in &self.nodes {
            match &node.kind {
                NodeKind::Linear { rows, bias } => {
                    for (j, b) in bias.iter().enumerate() {
                        let y = rows.row(j).fold(*b, |acc, (s, w)| acc + w * get(&v, s));
                        v.push(y);
                    }
                }
                NodeKind::Mul { a, b } => {
                    for (x, y) in a.iter().zip(b) {
                        let p = get(&v, *x) * get(&v, *y);
                        v.push(p);
                    }
                }
                NodeKind::Dot { a, b, terms } => {
                    let n = (*terms).max(1) as usize;
                    for (x, y) in a.chunks(n).zip(b.chunks(n)) {
                        let s = x.iter().zip(y).map(|(p, q)| get(&v, *p) * get(&v, *q)).sum();
                        v.push(s);
                    }
                }
                NodeKind::Act { input, act } => {
                    for x in input {
                        let y = act.apply_f64(get(&v, *x));
                        v.push(y);
                    }
                }
                NodeKind::Max { windows } => {
                    for w in windows {
                        let m = w.iter().map(|s| get(&v, *s)).fold(f64::NEG_INFINITY, f64::max);
                        v.push(m);
                    }
                }
                NodeKind::Div { a, b } => {
                    for (x, y) in a.iter().zip(b) {
                        let q = get(&v, *x) / get(&v, *y);
                        v.push(q);
                    }
                }
                NodeKind::IntDiv { a, c } => {
                    for (x, d) in a.iter().zip(c) {
                        v.push((get(&v, *x) / *d as f64).trunc());
                    }
                }
                NodeKind::IntDivBy { a, b } => {
                    for (x, y) in a.iter().zip(b) {
                        v.push((get(&v, *x) / get(&v, *y)).trunc());
                    }
                }
            }
        }
        v
    }

    /// Reads the output tensors (flat) out of a full value vector.
    pub fn gather_outputs<T: Copy + Default>(&self, values: &[T]) -> Vec<Vec<T>> {
        self.outputs
            .iter()
            .map(|o| {
                o.srcs
                    .iter()
                    .map(|s| match s {
                        Src::Zero => T::default(),
                        Src::Value(i) => values[*i as usize],
                    })
                    .collect()
            })
            .collect()
    }
}

impl Activation {
    /// The real-valued function.
    pub fn apply_f64(&self, x: f64) -> f64 {
        match *self {
            Activation::Identity => x,
            Activation::Relu => x.max(0.0),
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha as f64 * x
                }
            }
            // libm, not the platform's: a table entry must not depend on the machine that
            // builds it (it is part of the verifying key).
            Activation::Tanh => libm::tanh(x),
            Activation::Exp => libm::exp(x),
            Activation::Ln => libm::log(x),
            Activation::Sqrt => libm::sqrt(x),
            Activation::SqrtEps { eps } => {
                if x >= 0.0 {
                    libm::sqrt(x + f64::from(eps))
                } else {
                    f64::NAN
                }
            }
            Activation::Erf => libm::erf(x),
            Activation::Gelu => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
            Activation::GeluTanh => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + libm::tanh(c * (x + 0.044715 * x * x * x)))
            }
            Activation::Silu => x / (1.0 + libm::exp(-x)),
            // ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), without overflow for large x.
            Activation::Softplus => x.max(0.0) + libm::log1p(libm::exp(-x.abs())),
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha as f64 * libm::expm1(x)
                }
            }
            Activation::Positive => f64::from(u8::from(x > 0.0)),
            Activation::NonNegative => f64::from(u8::from(x >= 0.0)),
            Activation::Floor => x.floor(),
            Activation::Ceil => x.ceil(),
            Activation::Round => x.round_ties_even(),
            Activation::Trunc => x.trunc(),
            Activation::Sign => {
                if x == 0.0 {
                    0.0
                } else {
                    x.signum()
                }
            }
            Activation::Sin => libm::sin(x),
            Activation::Cos => libm::cos(x),
            Activation::Tan => libm::tan(x),
            Activation::Asin => libm::asin(x),
            Activation::Acos => libm::acos(x),
            Activation::Atan => libm::atan(x),
            Activation::Sinh => libm::sinh(x),
            Activation::Cosh => libm::cosh(x),
            Activation::Asinh => libm::asinh(x),
            Activation::Acosh => libm::acosh(x),
            Activation::Atanh => libm::atanh(x),
            Activation::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Activation::Pow { p } => libm::pow(x, f64::from(p)),
        }
    }

    /// True for the piecewise-linear activations (exact in integers at any scale).
    pub fn is_piecewise_linear(&self) -> bool {
        matches!(self, Activation::Identity | Activation::Relu | Activation::LeakyRelu { .. })
    }
}
