//! First pass of the import: decide how each tract node is lowered, or reject the model.
//!
//! Planning only looks at op types, parameters and which outlets are constant, so an
//! unsupported op is reported before any (possibly large) lowering work starts.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{
    FiniteReshape, Gather, GatherElements, GatherNd, MultiBroadcastTo, OneHot, Pad, PadMode,
    ScatterElements, ScatterNd, ScatterReduction, Slice, StridedSlice, Tile, Topk, Trilu,
    TypedConcat,
};
use tract_onnx::tract_core::ops::binary::{BinMiniOp, TypedBinOp};
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::cnn::{Conv, Deconv, MaxPool, SumPool};
use tract_onnx::tract_core::ops::downsample::Downsample;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::gru_cell::GruEpilogue;
use tract_onnx::tract_core::ops::identity::Identity;
use tract_onnx::tract_core::ops::logic::{
    And, CompEq, CompGT, CompGTE, CompLT, CompLTE, CompNE, Iff, Not, Or, Xor,
};
use tract_onnx::tract_core::ops::lstm_cell::LstmEpilogue;
use tract_onnx::tract_core::ops::math::{
    Abs, Acos, Acosh, Add, Asin, Asinh, Atan, Atanh, Ceil, Cos, Cosh, Div, Erf, Exp, Floor, Ln,
    Max, Min, Mul, Neg, Pow, PowConst, Recip, RoundHalfToEven, Rsqrt, ShiftLeft, Sign, Sin, Sinh,
    Sqrt, Square, Sub, SubF, Tan, Tanh,
};
use tract_onnx::tract_core::ops::nn::resize::NearestUpsample;
use tract_onnx::tract_core::ops::nn::{
    GeluApproximate, GeluExact, HardSwish, LeakyRelu, Reduce, Reducer, RmsNorm, Sigmoid, Silu,
    Softmax, SoftmaxKind,
};
use tract_onnx::tract_core::ops::scan::Scan;
use tract_onnx::tract_core::ops::source::TypedSource;

use super::builder::Origin;
use crate::error::Result;
use crate::model::graph::Activation;

/// How one tract node is lowered.
#[derive(Clone, Debug)]
pub(super) enum Step {
    /// Model input number `k`.
    Input(usize),
    /// Every input is constant: evaluate with tract.
    Fold,
    /// Pure data movement; `data` lists the inputs that carry data.
    Move { data: Vec<usize> },
    /// Contraction of a symbolic operand (`sym`) with a constant one.
    EinSum { op: Box<EinSum>, sym: usize },
    /// Contraction of two symbolic operands (attention's `Q K^T` and `A V`).
    EinSumProducts(Box<EinSum>),
    /// Convolution with constant kernel and bias.
    Conv(Box<Conv>),
    /// Sum or average pooling.
    SumPool(Box<SumPool>),
    /// Max pooling.
    MaxPool(Box<MaxPool>),
    /// Sum, max or min over axes.
    Reduce(Box<Reduce>),
    /// Elementwise op between a symbolic operand (`sym`) and a constant.
    ConstBin { kind: BinKind, sym: usize },
    /// Elementwise op between two symbolic operands.
    SymBin(BinKind),
    /// Elementwise non-linearity.
    Act(Activation),
    /// `x * x`.
    Square,
    /// `a^b` with a base that depends on the input (`base_const` false: `e^(b ln a)`) or a
    /// constant one (`e^(b ln a)` with `ln a` a constant weight). A constant exponent is
    /// tract's `PowConst`, a tabulated [`Activation::Pow`].
    Pow { base_const: bool },
    /// The comparison of a PReLU pattern (consumed by its `Iff`).
    PreluTest,
    /// `Iff(x > 0, x, x * slope)`.
    Prelu { x: OutletId, slope: OutletId },
    /// `Iff(c, t, f)` with a constant condition (attention masks): an element-by-element
    /// choice between two operands, either of which may be constant.
    Select,
    /// `|x|`, as the PReLU of slope -1.
    Abs,
    /// `-x`.
    Neg,
    /// `1 / x`.
    Recip,
    /// `1 / sqrt(x)`.
    Rsqrt,
    /// `x / sqrt(mean(x^2, axis) + eps)` (tract's fusion of RMS and layer norms).
    RmsNorm { axis: usize, eps: f64 },
    /// Softmax or log-softmax over axes, of the node's input or of `x` (tract expands
    /// LogSoftmax into `ln(softmax(x))`, which is computed as `x - max - ln(sum)`).
    Softmax { axes: Vec<usize>, log: bool, x: Option<OutletId> },
    /// An op linear in input `data` (transposed convolution, interpolating resize), its
    /// matrix probed with tract; input `additive` is a constant bias.
    Probe { data: usize, additive: Option<usize> },
    /// `Gather` from a constant table at indices that depend on the input.
    GatherByIndex { axis: usize },
    /// A loop (recurrent nets over several time steps), unrolled.
    Scan(Box<Scan>),
    /// The `k` largest (or smallest) values along `axis`, sorted, and their indices where
    /// that output is read.
    TopK(super::logic::Order),
    /// The cell update of an LSTM (`[pre-activations, c_prev] -> [h, c]`).
    LstmCell { hidden: usize },
    /// The cell update of a GRU (`[x pre-activations, h pre-activations, h_prev] -> h`).
    GruCell { hidden: usize },
    /// `GatherElements` at indices that depend on the input.
    GatherElementsByIndex { axis: usize },
    /// `GatherND` (`batch_dims` batch axes) at index tuples that depend on the input.
    GatherNdByIndex { batch_dims: usize },
    /// `ScatterElements` (`axis`) or `ScatterND` (`None`) at indices that depend on the
    /// input, or with a reduction at any indices.
    ScatterByIndex { axis: Option<usize>, reduction: ScatterReduction },
    /// `OneHot` of indices that depend on the input.
    OneHot(Box<OneHot>),
    /// Padding with a non-zero constant.
    PadConstant(Box<Pad>),
    /// A comparison of two operands (either may be constant), as a 0/1 value.
    Compare(CmpKind),
    /// Boolean logic on 0/1 values: `Not`, or a binary op with either operand constant.
    Logic(LogicKind),
    /// A cast that keeps every value: from booleans or integers, or between float types.
    Cast,
    /// `Iff(c, t, f)` with a condition that depends on the input: `f + c (t - f)`.
    Where,
    /// The index of the first (`last`: the last) maximum along `axis`, or minimum with
    /// `min` (ArgMax, ArgMin; the axis is kept with length 1).
    ArgMax { axis: usize, last: bool, min: bool },
    /// A tabulated activation of `x`, recognized in the pattern tract expands an ONNX op
    /// into (Softplus `ln(e^x + 1)`, Elu `Iff(x > 0, x, alpha (e^x - 1))`); the pattern's
    /// inner nodes are lowered too and dropped as unused.
    ActOf { act: Activation, x: OutletId, op: &'static str },
}

/// The elementwise binary ops zkattest lowers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BinKind {
    /// a + b.
    Add,
    /// a - b.
    Sub,
    /// b - a (tract's flipped subtraction).
    SubF,
    /// a * b.
    Mul,
    /// a / b.
    Div,
    /// max(a, b).
    Max,
    /// min(a, b).
    Min,
    /// `a << b` on integers, `a * 2^b`, for a constant `b` (tract's form of an integer
    /// product with a power of two).
    ShiftLeft,
}

/// The comparisons, each a step function of a difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CmpKind {
    /// a < b.
    Lt,
    /// a <= b.
    Le,
    /// a > b.
    Gt,
    /// a >= b.
    Ge,
    /// a == b.
    Eq,
    /// a != b.
    Ne,
}

/// Boolean logic on 0/1 values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LogicKind {
    /// 1 - a.
    Not,
    /// a b.
    And,
    /// a + b - a b.
    Or,
    /// a + b - 2 a b.
    Xor,
}

/// Plans every node of `model` (indexed by node id; nodes outside `order` stay `None`).
pub(super) fn plan(model: &TypedModel, order: &[usize]) -> Result<Vec<Option<Step>>> {
    let constant = constant_nodes(model, order);
    let is_const = |o: OutletId| constant[o.node];
    let mut steps: Vec<Option<Step>> = vec![None; model.nodes.len()];
    for &id in order {
        steps[id] = Some(plan_node(model, &model.nodes[id], &is_const)?);
    }
    Ok(steps)
}

/// Which nodes compute constants: everything not downstream of a model input.
///
/// Computed up front because pattern matching (PReLU) looks at nodes later in the order.
fn constant_nodes(model: &TypedModel, order: &[usize]) -> Vec<bool> {
    let mut constant = vec![false; model.nodes.len()];
    for &id in order {
        let node = &model.nodes[id];
        constant[id] = !node.op_is::<TypedSource>() && node.inputs.iter().all(|i| constant[i.node]);
    }
    constant
}

/// Plans one node given which outlets are constant.
fn plan_node(
    model: &TypedModel,
    node: &TypedNode,
    is_const: &dyn Fn(OutletId) -> bool,
) -> Result<Step> {
    let op_name = node.op.name();
    let origin = Origin { name: &node.name, op: &op_name };
    if node.op_is::<TypedSource>() {
        let k = model
            .input_outlets()
            .map_err(|e| origin.failed(e))?
            .iter()
            .position(|o| o.node == node.id)
            .ok_or_else(|| origin.failed("source is not a model input"))?;
        return Ok(Step::Input(k));
    }
    if is_const(OutletId::new(node.id, 0)) {
        return Ok(Step::Fold);
    }
    let step = plan_symbolic(model, node, &origin, is_const)?;
    check_output_types(node, &step, &origin)?;
    Ok(step)
}

/// Plans a node with at least one symbolic input.
fn plan_symbolic(
    model: &TypedModel,
    node: &TypedNode,
    origin: &Origin,
    is_const: &dyn Fn(OutletId) -> bool,
) -> Result<Step> {
    if let Some(op) = node.op_as::<Gather>() {
        if node.inputs.len() == 2 && !is_const(node.inputs[1]) {
            return if is_const(node.inputs[0]) {
                Ok(Step::GatherByIndex { axis: op.axis })
            } else {
                Err(origin.unsupported("Gather with input-dependent data and indices"))
            };
        }
    }
    if let Some(op) = node.op_as::<OneHot>() {
        return Ok(Step::OneHot(Box::new(op.clone())));
    }
    if let Some(op) = node.op_as::<Pad>().filter(|p| constant_fill(p).is_some()) {
        return Ok(Step::PadConstant(Box::new(op.clone())));
    }
    if let Some(op) = node.op_as::<Scan>() {
        return Ok(Step::Scan(Box::new(op.clone())));
    }
    if let Some(op) = node.op_as::<Topk>() {
        return plan_top_k(model, node, op, origin);
    }
    if let Some(op) = node.op_as::<LstmEpilogue>() {
        return Ok(Step::LstmCell { hidden: op.hidden });
    }
    if let Some(op) = node.op_as::<GruEpilogue>() {
        return Ok(Step::GruCell { hidden: op.hidden });
    }
    if let Some(op) = node.op_as::<GatherElements>() {
        if node.inputs.len() == 2 && !is_const(node.inputs[1]) {
            return Ok(Step::GatherElementsByIndex { axis: op.axis });
        }
    }
    if node.inputs.len() >= 2 && !is_const(node.inputs[1]) {
        if let Some(op) = node.op_as::<GatherNd>() {
            return Ok(Step::GatherNdByIndex { batch_dims: op.batch_dims });
        }
        if let Some((axis, reduction)) = scatter_of(node) {
            return Ok(Step::ScatterByIndex { axis, reduction });
        }
    }
    // A scatter that reduces computes, whatever its indices; one that does not only moves.
    if let Some((axis, reduction)) = scatter_of(node) {
        if reduction != ScatterReduction::None {
            return Ok(Step::ScatterByIndex { axis, reduction });
        }
    }
    if let Some(data) = movement_data_inputs(node, origin)? {
        for (i, &input) in node.inputs.iter().enumerate() {
            if !data.contains(&i) && !is_const(input) {
                return Err(origin.unsupported(format!("operand {i} must be a constant")));
            }
        }
        return Ok(Step::Move { data });
    }
    if let Some(op) = node.op_as::<EinSum>() {
        return plan_einsum(node, op, origin, is_const);
    }
    // Both tract's core Resize and the ONNX one keep that name; every mode is a linear
    // resampling (the probe refuses the extrapolating one).
    let additive = if node.op_is::<Deconv>() {
        Some(Some(2))
    } else if node.op.name() == "Resize" {
        Some(None)
    } else {
        None
    };
    if let Some(additive) = additive {
        if let Some(i) = (1..node.inputs.len()).find(|&i| !is_const(node.inputs[i])) {
            return Err(origin.unsupported(format!("operand {i} must be a constant")));
        }
        return Ok(Step::Probe { data: 0, additive });
    }
    if let Some(op) = node.op_as::<Conv>() {
        return plan_conv(node, op, origin, is_const);
    }
    if let Some(op) = node.op_as::<SumPool>() {
        return Ok(Step::SumPool(Box::new(op.clone())));
    }
    if let Some(op) = node.op_as::<MaxPool>() {
        if op.with_index_outputs.is_some() {
            return Err(origin.unsupported("max pooling with index outputs"));
        }
        return Ok(Step::MaxPool(Box::new(op.clone())));
    }
    if let Some(op) = node.op_as::<Reduce>() {
        return match op.reducer {
            Reducer::Sum | Reducer::Max | Reducer::Min | Reducer::MeanOfSquares => {
                Ok(Step::Reduce(Box::new(op.clone())))
            }
            Reducer::ArgMax(last) | Reducer::ArgMin(last) => match op.axes.as_slice() {
                [axis] => {
                    let min = matches!(op.reducer, Reducer::ArgMin(_));
                    Ok(Step::ArgMax { axis: *axis, last, min })
                }
                axes => Err(origin.unsupported(format!("ArgMax over the axes {axes:?} at once"))),
            },
            other => Err(origin.unsupported(format!("reduction {other:?}"))),
        };
    }
    if let Some(op) = node.op_as::<TypedBinOp>() {
        return plan_binary(model, node, op, origin, is_const);
    }
    if let Some(op) = node.op_as::<RmsNorm>() {
        let eps = op.eps.cast_to_scalar::<f32>().map_err(|e| origin.failed(e))?;
        return Ok(Step::RmsNorm { axis: op.axis, eps: f64::from(eps) });
    }
    if let Some(op) = node.op_as::<Softmax>() {
        if op.quant_output_dt.is_some() {
            return Err(origin.unsupported("quantized softmax"));
        }
        let log = matches!(op.kind, SoftmaxKind::LogSoftmax);
        return Ok(Step::Softmax { axes: op.axes.to_vec(), log, x: None });
    }
    if let Some(op) = node.op_as::<Cast>() {
        return plan_cast(model, node, op, origin);
    }
    if let Some(op) = node.op_as::<ElementWiseOp>() {
        if op.0.is::<Not>() {
            return Ok(Step::Logic(LogicKind::Not));
        }
        if let Some(x) = match_softplus(model, node, is_const) {
            return Ok(Step::ActOf { act: Activation::Softplus, x, op: "Softplus" });
        }
        if let Some((x, axes)) = match_log_softmax(model, node) {
            return Ok(Step::Softmax { axes, log: true, x: Some(x) });
        }
        return plan_element_wise(op, origin);
    }
    if node.op_is::<Iff>() {
        if node.inputs.first().is_some_and(|c| is_const(*c)) {
            return Ok(Step::Select);
        }
        if let Some(m) = match_prelu(model, node, is_const) {
            return Ok(Step::Prelu { x: m.x, slope: m.slope });
        }
        if let Some((x, alpha)) = match_elu(model, node, is_const) {
            return Ok(Step::ActOf { act: Activation::Elu { alpha }, x, op: "Elu" });
        }
        return Ok(Step::Where);
    }
    Err(origin.unsupported("zkattest has no lowering for this op"))
}

/// For a scatter, its axis (`None` for `ScatterND`) and its reduction; `None` for other ops.
fn scatter_of(node: &TypedNode) -> Option<(Option<usize>, ScatterReduction)> {
    node.op_as::<ScatterElements>()
        .map(|op| (Some(op.axis), op.reduction))
        .or_else(|| node.op_as::<ScatterNd>().map(|op| (None, op.reduction)))
}

/// The data inputs of a whitelisted data-movement op, `None` for other ops.
fn movement_data_inputs(node: &TypedNode, origin: &Origin) -> Result<Option<Vec<usize>>> {
    if node.op_is::<TypedConcat>() {
        return Ok(Some((0..node.inputs.len()).collect()));
    }
    // A scatter without a reduction writes each update over the data: pure movement.
    if scatter_of(node).is_some_and(|(_, r)| r == ScatterReduction::None) {
        return Ok(Some(vec![0, 2]));
    }
    if let Some(pad) = node.op_as::<Pad>() {
        check_pad(pad, origin)?;
        if constant_fill(pad).is_some() {
            return Ok(None);
        }
        return Ok(Some(vec![0]));
    }
    let single = node.op_is::<AxisOp>()
        || node.op_is::<Slice>()
        || node.op_is::<StridedSlice>()
        || node.op_is::<Downsample>()
        || node.op_is::<Tile>()
        || node.op_is::<MultiBroadcastTo>()
        || node.op_is::<FiniteReshape>()
        || node.op_is::<Identity>()
        || node.op_is::<Gather>()
        || node.op_is::<GatherElements>()
        || node.op_is::<GatherNd>()
        || node.op_is::<Trilu>()
        || node.op_is::<NearestUpsample>();
    Ok(single.then(|| vec![0]))
}

/// Zero padding and the pure copies of reflect and edge padding move data exactly; a
/// non-zero constant is a linear node (see [`constant_fill`]); a constant of any other
/// shape than one value is refused.
fn check_pad(pad: &Pad, origin: &Origin) -> Result<()> {
    if let PadMode::Constant(value) = &pad.mode {
        if all_zero(value) != Some(true) && constant_fill(pad).is_none() {
            return Err(origin.unsupported(format!("constant padding with value {value:?}")));
        }
    }
    Ok(())
}

/// The non-zero constant a `Pad` fills with, if it is one.
pub(super) fn constant_fill(pad: &Pad) -> Option<f64> {
    let PadMode::Constant(value) = &pad.mode else { return None };
    let v = value.cast_to_scalar::<f32>().ok()?;
    (v != 0.0 && v.is_finite()).then_some(f64::from(v))
}

fn plan_einsum(
    node: &TypedNode,
    op: &EinSum,
    origin: &Origin,
    is_const: &dyn Fn(OutletId) -> bool,
) -> Result<Step> {
    if op.q_params.is_some() || node.inputs.len() != 2 {
        return Err(origin.unsupported("quantized or multi-operand EinSum"));
    }
    if op.axes.iter_all_axes().any(|a| a.inputs.iter().chain(&a.outputs).any(|p| p.len() > 1)) {
        return Err(origin.unsupported(format!("EinSum {} repeats an axis (diagonal)", op.axes)));
    }
    match (is_const(node.inputs[0]), is_const(node.inputs[1])) {
        (false, true) => Ok(Step::EinSum { op: Box::new(op.clone()), sym: 0 }),
        (true, false) => Ok(Step::EinSum { op: Box::new(op.clone()), sym: 1 }),
        (false, false) => Ok(Step::EinSumProducts(Box::new(op.clone()))),
        (true, true) => Err(origin.failed("a constant EinSum was not folded")),
    }
}

fn plan_conv(
    node: &TypedNode,
    op: &Conv,
    origin: &Origin,
    is_const: &dyn Fn(OutletId) -> bool,
) -> Result<Step> {
    if op.q_params.is_some() || node.inputs.len() != 3 {
        return Err(origin.unsupported("quantized convolution"));
    }
    if !is_const(node.inputs[1]) || !is_const(node.inputs[2]) {
        return Err(origin.unsupported("convolution kernel and bias must be constants"));
    }
    Ok(Step::Conv(Box::new(op.clone())))
}

fn plan_binary(
    model: &TypedModel,
    node: &TypedNode,
    op: &TypedBinOp,
    origin: &Origin,
    is_const: &dyn Fn(OutletId) -> bool,
) -> Result<Step> {
    if op.1.is_some() {
        return Err(origin.unsupported("binary op with a forced output type"));
    }
    if let Some(kind) = comparison(op.0.as_ref()) {
        return Ok(plan_comparison(model, node, kind, is_const));
    }
    if let Some(kind) = logic_kind(op.0.as_ref()) {
        return Ok(Step::Logic(kind));
    }
    if op.0.is::<Pow>() {
        return match (is_const(node.inputs[0]), is_const(node.inputs[1])) {
            (_, true) => Err(origin
                .unsupported("a power whose constant exponent differs from element to element")),
            (base_const, false) => Ok(Step::Pow { base_const }),
        };
    }
    let kind = bin_kind(op.0.as_ref())
        .ok_or_else(|| origin.unsupported("zkattest has no lowering for this op"))?;
    if kind == BinKind::ShiftLeft && (is_const(node.inputs[0]) || !is_const(node.inputs[1])) {
        return Err(origin.unsupported("a shift by an amount that depends on the input"));
    }
    match (is_const(node.inputs[0]), is_const(node.inputs[1])) {
        (false, true) => Ok(Step::ConstBin { kind, sym: 0 }),
        (true, false) => Ok(Step::ConstBin { kind, sym: 1 }),
        _ => Ok(Step::SymBin(kind)),
    }
}

fn bin_kind(op: &dyn BinMiniOp) -> Option<BinKind> {
    Some(if op.is::<Add>() {
        BinKind::Add
    } else if op.is::<Sub>() {
        BinKind::Sub
    } else if op.is::<SubF>() {
        BinKind::SubF
    } else if op.is::<Mul>() {
        BinKind::Mul
    } else if op.is::<Div>() {
        BinKind::Div
    } else if op.is::<Max>() {
        BinKind::Max
    } else if op.is::<Min>() {
        BinKind::Min
    } else if op.is::<ShiftLeft>() {
        BinKind::ShiftLeft
    } else {
        return None;
    })
}

fn comparison(op: &dyn BinMiniOp) -> Option<CmpKind> {
    Some(if op.is::<CompLT>() {
        CmpKind::Lt
    } else if op.is::<CompLTE>() {
        CmpKind::Le
    } else if op.is::<CompGT>() {
        CmpKind::Gt
    } else if op.is::<CompGTE>() {
        CmpKind::Ge
    } else if op.is::<CompEq>() {
        CmpKind::Eq
    } else if op.is::<CompNE>() {
        CmpKind::Ne
    } else {
        return None;
    })
}

fn logic_kind(op: &dyn BinMiniOp) -> Option<LogicKind> {
    Some(if op.is::<And>() {
        LogicKind::And
    } else if op.is::<Or>() {
        LogicKind::Or
    } else if op.is::<Xor>() {
        LogicKind::Xor
    } else {
        return None;
    })
}

/// A comparison read only by the PReLU or Elu patterns it gates costs nothing (the pattern
/// is lowered as a whole); any other is a step function of a difference.
fn plan_comparison(
    model: &TypedModel,
    node: &TypedNode,
    kind: CmpKind,
    is_const: &dyn Fn(OutletId) -> bool,
) -> Step {
    let out = OutletId::new(node.id, 0);
    let consumers = &node.outputs[0].successors;
    let all_gates = !consumers.is_empty()
        && consumers.iter().all(|inlet| {
            let iff = &model.nodes[inlet.node];
            match_prelu(model, iff, is_const).is_some_and(|m| m.test == out)
                || (match_elu(model, iff, is_const).is_some() && iff.inputs[0] == out)
        });
    if all_gates {
        Step::PreluTest
    } else {
        Step::Compare(kind)
    }
}

/// TopK by a sorting network; its indices are tracked only where that output is read.
fn plan_top_k(model: &TypedModel, node: &TypedNode, op: &Topk, origin: &Origin) -> Result<Step> {
    let outlet = OutletId::new(node.id, 1);
    let indices = node.outputs.get(1).is_some_and(|o| !o.successors.is_empty())
        || model.output_outlets().is_ok_and(|outs| outs.contains(&outlet));
    let k = node
        .inputs
        .get(1)
        .and_then(|k| model.outlet_fact(*k).ok())
        .and_then(|f| f.konst.clone())
        .and_then(|k| k.cast_to_scalar::<i64>().ok())
        .and_then(|k| usize::try_from(k).ok())
        .ok_or_else(|| origin.unsupported("TopK's k must be a constant"))?;
    Ok(Step::TopK(super::logic::Order { axis: op.axis, k, smallest: !op.largest, indices }))
}

/// A cast is free when it keeps every value: booleans and integers to numbers (at least as
/// wide), floats to floats. Casts that round, truncate or wrap are refused.
fn plan_cast(model: &TypedModel, node: &TypedNode, op: &Cast, origin: &Origin) -> Result<Step> {
    let from = node
        .inputs
        .first()
        .and_then(|i| model.outlet_fact(*i).ok())
        .map(|f| f.datum_type)
        .ok_or_else(|| origin.failed("cast without an input"))?;
    let to = op.to;
    if from.is_quantized() || to.is_quantized() {
        return Err(origin.unsupported("casts of quantized types"));
    }
    // tract types integer indices as TDim (its dimension type): an i64 for concrete values.
    let index = |dt: DatumType| if dt == TDim::datum_type() { i64::datum_type() } else { dt };
    let (from, to) = (index(from), index(to));
    let keeps = from == to
        || (from.is_float() && to.is_float())
        || (from == bool::datum_type() && (to.is_float() || to.is_integer()))
        || (from.is_integer() && to.is_float())
        || (to.is_signed() && from.is_signed() && to.size_of() >= from.size_of())
        // Every value the circuit holds is range-checked below 2^20 in magnitude: a 32-bit
        // integer keeps any of them.
        || (to.is_signed() && from.is_integer() && to.size_of() >= 4)
        || (to.is_signed() && from.is_unsigned() && to.size_of() > from.size_of());
    if keeps {
        Ok(Step::Cast)
    } else {
        Err(origin.unsupported(format!(
            "a cast from {from:?} to {to:?} changes values (rounds, truncates or wraps)"
        )))
    }
}

fn plan_element_wise(op: &ElementWiseOp, origin: &Origin) -> Result<Step> {
    if op.1.is_some() {
        return Err(origin.unsupported("elementwise op with a forced output type"));
    }
    let mini = op.0.as_ref();
    let act = if mini.is::<Sigmoid>() {
        Activation::Sigmoid
    } else if let Some(l) = mini.downcast_ref::<LeakyRelu>() {
        Activation::LeakyRelu { alpha: l.alpha }
    } else if mini.is::<Tanh>() {
        Activation::Tanh
    } else if mini.is::<Exp>() {
        Activation::Exp
    } else if mini.is::<Ln>() {
        Activation::Ln
    } else if mini.is::<Sqrt>() {
        Activation::Sqrt
    } else if mini.is::<Erf>() {
        Activation::Erf
    } else if mini.is::<GeluExact>() {
        Activation::Gelu
    } else if mini.downcast_ref::<GeluApproximate>().is_some_and(|g| !g.fast_impl) {
        Activation::GeluTanh
    } else if mini.is::<Silu>() {
        Activation::Silu
    } else if mini.is::<Floor>() {
        Activation::Floor
    } else if mini.is::<Ceil>() {
        Activation::Ceil
    } else if mini.is::<RoundHalfToEven>() {
        Activation::Round
    } else if mini.is::<Sign>() {
        Activation::Sign
    } else if mini.is::<Sin>() {
        Activation::Sin
    } else if mini.is::<Cos>() {
        Activation::Cos
    } else if mini.is::<Tan>() {
        Activation::Tan
    } else if mini.is::<Asin>() {
        Activation::Asin
    } else if mini.is::<Acos>() {
        Activation::Acos
    } else if mini.is::<Atan>() {
        Activation::Atan
    } else if mini.is::<Sinh>() {
        Activation::Sinh
    } else if mini.is::<Cosh>() {
        Activation::Cosh
    } else if mini.is::<Asinh>() {
        Activation::Asinh
    } else if mini.is::<Acosh>() {
        Activation::Acosh
    } else if mini.is::<Atanh>() {
        Activation::Atanh
    } else if mini.is::<HardSwish>() {
        Activation::HardSwish
    } else if let Some(p) = mini.downcast_ref::<PowConst>() {
        Activation::Pow { p: p.exponent }
    } else if mini.is::<Square>() {
        return Ok(Step::Square);
    } else if mini.is::<Abs>() {
        return Ok(Step::Abs);
    } else if mini.is::<Neg>() {
        return Ok(Step::Neg);
    } else if mini.is::<Recip>() {
        return Ok(Step::Recip);
    } else if mini.is::<Rsqrt>() {
        return Ok(Step::Rsqrt);
    } else {
        return Err(origin.unsupported("zkattest has no lowering for this op"));
    };
    Ok(Step::Act(act))
}

/// An integer type (tract types integer indices as TDim, an i64 for concrete values).
pub(super) fn is_integer(dt: DatumType) -> bool {
    dt == TDim::datum_type() || (dt.is_integer() && !dt.is_quantized())
}

/// Values depending on the input are floats, or booleans and integers out of steps whose
/// integer semantics are their float ones (exact sums, products, comparisons, selections,
/// data movement), or that have a lowering of their own (an integer divided by a constant
/// or by a tensor truncates: `NodeKind::IntDiv`, `NodeKind::IntDivBy`). Any op not listed
/// is refused.
fn check_output_types(node: &TypedNode, step: &Step, origin: &Origin) -> Result<()> {
    // Unsigned integers wrap below zero: only read, moved, cast to a wider type, or
    // selected (each output one of the operands' values, so never a new value to wrap).
    let read = matches!(
        step,
        Step::Input(_)
            | Step::Move { .. }
            | Step::Cast
            | Step::Where
            | Step::Select
            | Step::GatherByIndex { .. }
            | Step::GatherElementsByIndex { .. }
            | Step::GatherNdByIndex { .. }
            | Step::ScatterByIndex { .. }
            | Step::OneHot(_)
            | Step::TopK(_)
            | Step::PadConstant(_)
    );
    let exact = read
        || match step {
            Step::ConstBin { kind, sym } => !matches!(kind, BinKind::Div) || *sym == 0,
            Step::SymBin(_) => true,
            // Integer sums of products: exact (a wrap on overflow is not modelled, see ops.md).
            Step::Reduce(op) => matches!(op.reducer, Reducer::Sum | Reducer::Max | Reducer::Min),
            Step::EinSum { .. }
            | Step::EinSumProducts(_)
            | Step::Compare(_)
            | Step::PreluTest
            | Step::Logic(_)
            | Step::ArgMax { .. }
            | Step::Abs
            | Step::Neg
            | Step::Square => true,
            _ => false,
        };
    for o in &node.outputs {
        let dt = o.fact.datum_type;
        let dt = if dt == TDim::datum_type() { i64::datum_type() } else { dt };
        let integer = !dt.is_quantized();
        // Every float width is computed as a real number (and proven quantized).
        let number = dt.is_float()
            || (exact && (dt == bool::datum_type() || (integer && dt.is_signed())))
            || (read && integer && dt.is_unsigned());
        if !number {
            return Err(origin.unsupported(format!(
                "output of type {dt:?} depends on the input; only floats, and booleans and \
                 signed integers through exact ops, are supported"
            )));
        }
    }
    Ok(())
}

/// The parts of `Iff(test(x, 0), x, x * slope)`, the form tract gives ONNX PRelu.
pub(super) struct PreluMatch {
    /// The comparison.
    pub test: OutletId,
    /// The activation.
    pub x: OutletId,
    /// The constant slope.
    pub slope: OutletId,
}

/// Matches an `Iff` node against the PReLU pattern (either comparison orientation).
pub(super) fn match_prelu(
    model: &TypedModel,
    iff: &TypedNode,
    is_const: &dyn Fn(OutletId) -> bool,
) -> Option<PreluMatch> {
    if !iff.op_is::<Iff>() || iff.inputs.len() != 3 {
        return None;
    }
    let (x, positive, negative) = gated_by_sign(model, iff, is_const)?;
    if positive != x {
        return None;
    }
    let slope = scaled_by_const(model, negative, x, is_const)?;
    Some(PreluMatch { test: iff.inputs[0], x, slope })
}

/// For `Iff(test, t, f)` whose test compares a symbolic `x` with zero, returns `x` and the
/// branches taken for `x > 0` and for `x < 0` (at 0 the gates zkattest lowers agree).
fn gated_by_sign(
    model: &TypedModel,
    iff: &TypedNode,
    is_const: &dyn Fn(OutletId) -> bool,
) -> Option<(OutletId, OutletId, OutletId)> {
    let (test, t, f) = (*iff.inputs.first()?, *iff.inputs.get(1)?, *iff.inputs.get(2)?);
    let cmp_node = &model.nodes[test.node];
    let cmp = cmp_node.op_as::<TypedBinOp>()?;
    // Only an ordering splits the line at zero (`x == 0` does not).
    if !matches!(
        comparison(cmp.0.as_ref()),
        Some(CmpKind::Lt | CmpKind::Le | CmpKind::Gt | CmpKind::Ge)
    ) {
        return None;
    }
    let [a, b] = [*cmp_node.inputs.first()?, *cmp_node.inputs.get(1)?];
    let zero = |o: OutletId| is_const(o) && known_zero(model, o) == Some(true);
    // `true_if_positive`: the test holds exactly when x > 0 (x >= 0 agrees: both branches are 0 at 0).
    let (x, true_if_positive) = if zero(b) && !is_const(a) {
        (a, cmp.0.is::<CompGT>() || cmp.0.is::<CompGTE>())
    } else if zero(a) && !is_const(b) {
        (b, cmp.0.is::<CompLT>() || cmp.0.is::<CompLTE>())
    } else {
        return None;
    };
    Some(if true_if_positive { (x, t, f) } else { (x, f, t) })
}

/// Matches `ln(e^x + 1)` (tract's Softplus) at the `Ln` node; returns `x`.
fn match_softplus(
    model: &TypedModel,
    ln: &TypedNode,
    is_const: &dyn Fn(OutletId) -> bool,
) -> Option<OutletId> {
    if !is_mini::<Ln>(ln) {
        return None;
    }
    let (scale, offset, exp) = affine_of(model, *ln.inputs.first()?, is_const)?;
    let exp_node = &model.nodes[exp.node];
    (is_mini::<Exp>(exp_node) && scale == 1.0 && offset == 1.0).then(|| exp_node.inputs[0])
}

/// Matches `ln(softmax(x))` at the `Ln` node; returns `x` and the softmax axes.
fn match_log_softmax(model: &TypedModel, ln: &TypedNode) -> Option<(OutletId, Vec<usize>)> {
    if !is_mini::<Ln>(ln) {
        return None;
    }
    let softmax = &model.nodes[ln.inputs.first()?.node];
    let op = softmax.op_as::<Softmax>()?;
    let plain = matches!(op.kind, SoftmaxKind::Softmax) && op.quant_output_dt.is_none();
    plain.then(|| (softmax.inputs[0], op.axes.to_vec()))
}

/// Matches `Iff(x > 0, x, alpha * (e^x - 1))` (tract's Elu); returns `x` and `alpha`.
fn match_elu(
    model: &TypedModel,
    iff: &TypedNode,
    is_const: &dyn Fn(OutletId) -> bool,
) -> Option<(OutletId, f32)> {
    if !iff.op_is::<Iff>() || iff.inputs.len() != 3 {
        return None;
    }
    let (x, positive, negative) = gated_by_sign(model, iff, is_const)?;
    if positive != x {
        return None;
    }
    let (alpha, offset, exp) = affine_of(model, negative, is_const)?;
    let exp_node = &model.nodes[exp.node];
    let tight = (alpha + offset).abs() <= 1e-6 * alpha.abs().max(1.0);
    (is_mini::<Exp>(exp_node) && exp_node.inputs[0] == x && tight).then_some((x, alpha as f32))
}

/// If `outlet` is `a * y + c` through a chain of binary ops with scalar constants, returns
/// `(a, c, y)` (`(1, 0, outlet)` for no such op).
fn affine_of(
    model: &TypedModel,
    outlet: OutletId,
    is_const: &dyn Fn(OutletId) -> bool,
) -> Option<(f64, f64, OutletId)> {
    let node = &model.nodes[outlet.node];
    let Some(op) = node.op_as::<TypedBinOp>() else { return Some((1.0, 0.0, outlet)) };
    let (a, b) = (*node.inputs.first()?, *node.inputs.get(1)?);
    let (y, c, const_first) = match (is_const(a), is_const(b)) {
        (false, true) => (a, scalar(model, b)?, false),
        (true, false) => (b, scalar(model, a)?, true),
        _ => return Some((1.0, 0.0, outlet)),
    };
    let (inner_a, inner_c, y) = affine_of(model, y, is_const)?;
    let op = op.0.as_ref();
    // `a * y + c` composed with this node's `op(y, c)` (or `op(c, y)`).
    let (m, k) = if op.is::<Add>() {
        (1.0, c)
    } else if op.is::<Mul>() {
        (c, 0.0)
    } else if op.is::<Sub>() {
        if const_first {
            (-1.0, c)
        } else {
            (1.0, -c)
        }
    } else if op.is::<SubF>() {
        if const_first {
            (1.0, -c)
        } else {
            (-1.0, c)
        }
    } else {
        return Some((1.0, 0.0, outlet));
    };
    Some((m * inner_a, m * inner_c + k, y))
}

/// The value of a constant outlet holding one number (or the same number everywhere).
fn scalar(model: &TypedModel, outlet: OutletId) -> Option<f64> {
    let t = model.outlet_fact(outlet).ok()?.konst.clone()?;
    let t = t.cast_to::<f32>().ok()?;
    let view = t.to_plain_array_view::<f32>().ok()?;
    let first = *view.iter().next()?;
    view.iter().all(|v| *v == first).then_some(f64::from(first))
}

/// Whether a node is the elementwise op `T`.
fn is_mini<T: tract_onnx::tract_core::ops::element_wise::ElementWiseMiniOp>(
    node: &TypedNode,
) -> bool {
    node.op_as::<ElementWiseOp>().is_some_and(|e| e.0.is::<T>())
}

/// If `outlet` is `x * c` (either order) with a constant `c`, returns `c`.
fn scaled_by_const(
    model: &TypedModel,
    outlet: OutletId,
    x: OutletId,
    is_const: &dyn Fn(OutletId) -> bool,
) -> Option<OutletId> {
    let node = &model.nodes[outlet.node];
    let op = node.op_as::<TypedBinOp>()?;
    if !op.0.is::<Mul>() || node.inputs.len() != 2 {
        return None;
    }
    let (a, b) = (node.inputs[0], node.inputs[1]);
    if a == x && is_const(b) {
        Some(b)
    } else if b == x && is_const(a) {
        Some(a)
    } else {
        None
    }
}

/// Whether every element of `t` is zero (`None` when `t` is not numeric).
fn all_zero(t: &Tensor) -> Option<bool> {
    let v = t.cast_to::<f32>().ok()?;
    let view = v.to_plain_array_view::<f32>().ok()?;
    Some(view.iter().all(|&x| x == 0.0))
}

/// Whether a constant outlet is known (tract's fact carries its value) to be all zeros.
fn known_zero(model: &TypedModel, outlet: OutletId) -> Option<bool> {
    let fact = model.outlet_fact(outlet).ok()?;
    all_zero(fact.konst.as_ref()?)
}
