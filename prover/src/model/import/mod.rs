//! ONNX -> float [`Graph`] import, through tract.
//!
//! tract loads the model, fixes the input shapes, types it and declutters it (this folds
//! much of the ONNX zoo into a few core ops: `EinSum`, `Conv`, pools, `Reduce`, elementwise
//! binary ops). The import then runs in two passes over tract's evaluation order:
//!
//! 1. [`plan`] decides how every node is lowered, so an unsupported op is reported, naming
//!    the op and the node, before any work is done;
//! 2. each node is lowered on tensors of [`Src`](crate::model::graph::Src) (which scalar of
//!    the graph each element is): data movement only rearranges them ([`movement`]), linear
//!    ops emit sparse rows ([`linear`]), the rest emits activations, products and maxima
//!    ([`nonlinear`]); constant subgraphs are evaluated by tract.
//!
//! A final pass ([`fold`]) substitutes linear nodes into the linear node reading them (batch
//! norm into the preceding conv, Gemm bias into its matmul) and drops dead nodes.

mod bounds;
mod builder;
mod celu;
mod doubles;
mod fold;
mod indexed;
mod legacy;
mod linear;
mod load;
mod logic;
mod ml;
mod movement;
mod nonlinear;
mod plan;
mod probe;
mod proto;
mod recurrent;
mod reverse;
mod scan;
mod window;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;

use tract_onnx::prelude::tract_ndarray::{ArrayD, IxDyn};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::nn::Reducer;

use self::builder::{broadcast, concrete_shape, GraphBuilder, Origin, SymTensor, Wire};
use self::load::{input_infos, input_tensors, load, onnx_err, typed_model};
use self::logic::Elem;
use self::plan::{BinKind, LogicKind, Step};
use crate::error::{ProverError, Result};
use crate::model::graph::{Activation, Graph, OutputTensor, TensorInfo};
use crate::model::input::InputData;

/// Imports an ONNX model as a float [`Graph`].
///
/// `input_shapes` fixes the input shapes (EZKL-style shapes without the batch axis are
/// accepted); without it, a symbolic batch axis is set to 1 and other dims must be concrete.
pub fn import_onnx(path: &Path, input_shapes: Option<&[Vec<usize>]>) -> Result<Graph> {
    import_model(load(path)?, input_shapes, path)
}

/// Runs the ONNX model in f32 with tract: the float reference for the imported graph.
pub fn tract_float_outputs(path: &Path, inputs: &InputData) -> Result<Vec<Vec<f32>>> {
    run_float(load(path)?, inputs, path)
}

/// [`import_onnx`] on an already parsed model; `path` only labels errors.
pub(crate) fn import_model(
    model: InferenceModel,
    input_shapes: Option<&[Vec<usize>]>,
    path: &Path,
) -> Result<Graph> {
    let classes = class_names(&model);
    let model = decluttered(typed_model(model, input_shapes, path)?);
    let mut graph = lower(&model, path)?;
    for o in &mut graph.outputs {
        if let Some(names) = classes.get(&o.info.name) {
            o.info.classes = names.clone();
        }
    }
    Ok(graph)
}

/// The model decluttered, or as typed where one of tract's declutter rewrites fails on it
/// (EZKL's `large_mlp`: a `Tile` of an `Expand` feeding a `Gemm`, which a rewrite tries to
/// replace with the untiled input). Decluttering only simplifies: the typed model computes
/// the same values with more, plainer nodes, which lower the same way.
fn decluttered(typed: TypedModel) -> TypedModel {
    typed.clone().into_decluttered().unwrap_or(typed)
}

/// The class names the scikit-learn rewrite left for label outputs, by output name.
fn class_names(model: &InferenceModel) -> HashMap<String, Vec<String>> {
    let prefix = format!("onnx.metadata_props.{}", ml::CLASSES_KEY);
    model
        .properties
        .iter()
        .filter_map(|(key, value)| {
            let output = key.strip_prefix(&prefix)?;
            let json = value.to_plain_array_view::<String>().ok()?.iter().next()?.clone();
            Some((output.to_string(), serde_json::from_str(&json).ok()?))
        })
        .collect()
}

/// [`tract_float_outputs`] on an already parsed model; `path` only labels errors.
pub(crate) fn run_float(
    model: InferenceModel,
    inputs: &InputData,
    path: &Path,
) -> Result<Vec<Vec<f32>>> {
    let model = typed_model(model, inputs.shapes.as_deref(), path)?;
    let tensors = input_tensors(&model, inputs)?;
    let optimized = match model.clone().into_optimized() {
        Ok(m) => m,
        Err(_) => decluttered(model),
    };
    let runnable = optimized.into_runnable().map_err(onnx_err(path))?;
    let outputs = runnable.run(tensors).map_err(|e| ProverError::Onnx {
        path: path.to_path_buf(),
        reason: format!("running the float model: {e:#}"),
    })?;
    outputs
        .iter()
        .map(|t| {
            let t = t.cast_to::<f32>().map_err(onnx_err(path))?;
            let view = t.to_plain_array_view::<f32>().map_err(onnx_err(path))?;
            Ok(view.iter().copied().collect())
        })
        .collect()
}

/// Plans and lowers a decluttered model.
fn lower(model: &TypedModel, path: &Path) -> Result<Graph> {
    let mut builder = GraphBuilder::new(input_infos(model)?);
    let input_tensors = builder.input_tensors()?;
    let wires = lower_nodes(&mut builder, model, &input_tensors, path)?;
    let outputs = output_tensors(model, &wires)?;
    Ok(fold::simplify(builder.finish(outputs)))
}

/// Lowers every node of `model` (the whole model, or a loop body once) with its inputs
/// bound to `inputs`; returns what each outlet holds.
fn lower_nodes(
    builder: &mut GraphBuilder,
    model: &TypedModel,
    inputs: &[SymTensor],
    path: &Path,
) -> Result<HashMap<OutletId, Wire>> {
    let planned = Planned::new(model, path)?;
    lower_planned(builder, model, &planned, inputs, path)
}

/// A model's evaluation order and each node's step (a loop body is planned once and
/// lowered once per iteration).
struct Planned {
    order: Vec<usize>,
    steps: Vec<Option<Step>>,
}

impl Planned {
    fn new(model: &TypedModel, path: &Path) -> Result<Self> {
        let order = model.eval_order().map_err(onnx_err(path))?;
        let steps = plan::plan(model, &order)?;
        Ok(Self { order, steps })
    }
}

/// [`lower_nodes`] with the plan already made.
fn lower_planned(
    builder: &mut GraphBuilder,
    model: &TypedModel,
    Planned { order, steps }: &Planned,
    inputs: &[SymTensor],
    path: &Path,
) -> Result<HashMap<OutletId, Wire>> {
    let mut wires: HashMap<OutletId, Wire> = HashMap::new();
    for &id in order {
        let node = &model.nodes[id];
        let step = steps[id].as_ref().ok_or_else(|| ProverError::Onnx {
            path: path.to_path_buf(),
            reason: format!("node {} was not planned", node.name),
        })?;
        let outs = match step {
            Step::Scan(op) => {
                let op_name = node.op.name();
                let origin = Origin { name: &node.name, op: &op_name };
                let outer = node
                    .inputs
                    .iter()
                    .map(|o| wires.get(o).ok_or_else(|| origin.failed("input was not lowered")))
                    .collect::<Result<Vec<&Wire>>>()?;
                scan::unroll(builder, &origin, op, &outer, path)?
            }
            _ => lower_node(builder, node, step, &wires, inputs)?,
        };
        for (slot, wire) in outs.into_iter().enumerate() {
            wires.insert(OutletId::new(id, slot), wire);
        }
    }
    Ok(wires)
}

/// Lowers one node according to its plan.
fn lower_node(
    b: &mut GraphBuilder,
    node: &TypedNode,
    step: &Step,
    wires: &HashMap<OutletId, Wire>,
    input_tensors: &[SymTensor],
) -> Result<TVec<Wire>> {
    let op_name = node.op.name();
    let origin = Origin { name: &node.name, op: &op_name };
    let wire = |o: &OutletId| wires.get(o).ok_or_else(|| origin.failed("input was not lowered"));
    let inputs = node.inputs.iter().map(wire).collect::<Result<Vec<&Wire>>>()?;
    let sym = |k: usize| as_sym(&origin, inputs.get(k).copied());
    let konst = |k: usize| as_const(&origin, inputs.get(k).copied());
    let shape = match node.outputs.first() {
        Some(o)
            if !matches!(step, Step::Fold | Step::Move { .. } | Step::PreluTest | Step::Cast) =>
        {
            concrete_shape(&origin, &o.fact)?
        }
        _ => Vec::new(),
    };
    let operand = |k: usize| logic::operand(&origin, inputs.get(k).copied(), &shape);
    let origin = &origin;
    let out = match step {
        Step::Input(k) => {
            input_tensors.get(*k).cloned().ok_or_else(|| origin.failed("unknown input"))?
        }
        Step::Fold => return movement::fold(origin, node, &inputs),
        Step::Move { data } => return movement::move_data(b, origin, node, data, &inputs),
        Step::PreluTest => return Ok(tvec![Wire::PreluTest]),
        // Booleans and integers are numbers like any other here: the cast keeps each value.
        Step::Cast => {
            return Ok(tvec![inputs
                .first()
                .map(|w| (*w).clone())
                .ok_or_else(|| { origin.failed("cast without an input") })?])
        }
        Step::EinSum { op, sym: s } => {
            linear::einsum(b, origin, op, *s, sym(*s)?, konst(1 - s)?, &shape)?
        }
        Step::EinSumProducts(op) => {
            linear::einsum_products(b, origin, op, sym(0)?, sym(1)?, &shape)?
        }
        Step::Conv(op) => linear::conv(b, origin, op, sym(0)?, konst(1)?, konst(2)?, &shape)?,
        Step::SumPool(op) => linear::sum_pool(b, origin, op, sym(0)?, &shape)?,
        Step::MaxPool(op) => nonlinear::max_pool(b, origin, op, sym(0)?, &shape)?,
        Step::Reduce(op) => match op.reducer {
            Reducer::Sum => linear::reduce_sum(b, origin, sym(0)?, &op.axes, &shape, false, 0.0)?,
            Reducer::Max => nonlinear::reduce_max(b, origin, sym(0)?, &op.axes, &shape, false)?,
            Reducer::Min => nonlinear::reduce_max(b, origin, sym(0)?, &op.axes, &shape, true)?,
            Reducer::MeanOfSquares => {
                // tract's fusion of `mean(x * x)` (variance, RMS norm): the squares, then the mean.
                let x = sym(0)?;
                let squares = nonlinear::mul(b, origin, x, x, x.shape())?;
                linear::reduce_sum(b, origin, &squares, &op.axes, &shape, true, 0.0)?
            }
            _ => return Err(origin.unsupported("reduction kind")),
        },
        Step::ConstBin { kind, sym: s } => {
            let (x, c) = (sym(*s)?, konst(1 - s)?);
            match kind {
                BinKind::Max | BinKind::Min => {
                    nonlinear::clamp(b, origin, x, c, &shape, *kind == BinKind::Min)?
                }
                // A constant divided by a tensor.
                BinKind::Div if *s == 1 => nonlinear::div_const_by(b, origin, c, x, &shape)?,
                // Integers divided by a constant: the quotient truncates.
                BinKind::Div
                    if node.outputs.iter().any(|o| plan::is_integer(o.fact.datum_type)) =>
                {
                    nonlinear::int_div(b, origin, x, c, &shape)?
                }
                _ => linear::affine(b, origin, *kind, *s == 0, x, c, &shape)?,
            }
        }
        Step::SymBin(kind) => match kind {
            BinKind::Mul => nonlinear::mul(b, origin, sym(0)?, sym(1)?, &shape)?,
            // Integers divided by integers: the quotient truncates.
            BinKind::Div if node.outputs.iter().any(|o| plan::is_integer(o.fact.datum_type)) => {
                nonlinear::int_div_by(b, origin, sym(0)?, sym(1)?, &shape)?
            }
            BinKind::Div => nonlinear::div(b, origin, sym(0)?, sym(1)?, &shape)?,
            BinKind::Max | BinKind::Min => {
                nonlinear::max_min(b, origin, sym(0)?, sym(1)?, &shape, *kind == BinKind::Min)?
            }
            _ => linear::add_sub(b, origin, *kind, sym(0)?, sym(1)?, &shape)?,
        },
        Step::Act(act) => nonlinear::act(b, origin, "", sym(0)?, *act)?,
        Step::ActOf { act, x, op } => {
            let origin = &Origin { name: origin.name, op };
            nonlinear::act(b, origin, "", as_sym(origin, Some(wire(x)?))?, *act)?
        }
        Step::Select => {
            let cond = konst(0)?.cast_to::<bool>().map_err(|e| origin.failed(e))?;
            let cond = cond.to_plain_array_view::<bool>().map_err(|e| origin.failed(e))?;
            let cond = broadcast(origin, &cond.to_owned(), &shape)?;
            let (t, f) = (operand(1)?, operand(2)?);
            let rows = cond.iter().zip(t.iter().zip(f.iter())).map(|(c, (t, f))| {
                match if *c { t } else { f } {
                    Elem::Src(s) => (vec![(*s, 1.0)], 0.0),
                    Elem::Const(v) => (Vec::new(), *v),
                }
            });
            b.linear(origin, "", rows, &shape)?
        }
        Step::Probe { data, additive } => {
            probe::linear_by_probing(b, origin, node, *data, *additive, &inputs, &shape)?
        }
        Step::OneHot(op) => logic::one_hot(b, origin, op, sym(0)?)?,
        Step::GatherByIndex { axis } => {
            let data = builder::const_f32(origin, konst(0)?)?;
            logic::gather_by_index(b, origin, &data, sym(1)?, *axis, &shape)?
        }
        Step::Scan(_) => return Err(origin.failed("a loop reached the node lowering")),
        Step::PadConstant(pad) => {
            let value = plan::constant_fill(pad).ok_or_else(|| origin.failed("no fill value"))?;
            movement::pad_with_constant(b, origin, pad, value, sym(0)?)?
        }
        Step::TopK(order) => {
            // The indices output has the values' shape.
            let (values, indices) = logic::top_k(b, origin, sym(0)?, *order, &shape)?;
            return Ok(match indices {
                Some(indices) => tvec![Wire::Sym(values), Wire::Sym(indices)],
                None => tvec![Wire::Sym(values)],
            });
        }
        Step::LstmCell { hidden } => {
            let c_prev = logic::own_operand(origin, inputs.get(1).copied())?;
            let (h, c) = recurrent::lstm_epilogue(b, origin, sym(0)?, &c_prev, *hidden)?;
            return Ok(tvec![Wire::Sym(h), Wire::Sym(c)]);
        }
        Step::GruCell { hidden } => {
            let own = |k: usize| logic::own_operand(origin, inputs.get(k).copied());
            recurrent::gru_epilogue(b, origin, &own(0)?, &own(1)?, &own(2)?, *hidden)?
        }
        Step::GatherElementsByIndex { axis } => {
            let idx = sym(1)?;
            let data = logic::own_operand(origin, inputs.first().copied())?;
            logic::gather_elements(b, origin, &data, idx, *axis)?
        }
        Step::GatherNdByIndex { batch_dims } => {
            let data = logic::own_operand(origin, inputs.first().copied())?;
            indexed::gather_nd(b, origin, &data, sym(1)?, &shape, *batch_dims)?
        }
        Step::ScatterByIndex { axis, reduction } => {
            let data = logic::own_operand(origin, inputs.first().copied())?;
            let idx = logic::own_operand(origin, inputs.get(1).copied())?;
            let updates = logic::own_operand(origin, inputs.get(2).copied())?;
            let write = indexed::Write { updates: &updates, reduction: *reduction };
            match axis {
                Some(axis) => indexed::scatter_elements(b, origin, &data, &idx, write, *axis)?,
                None => indexed::scatter_nd(b, origin, &data, &idx, write)?,
            }
        }
        Step::Where => logic::select(b, origin, &operand(0)?, &operand(1)?, &operand(2)?, &shape)?,
        Step::Compare(kind) => {
            logic::compare(b, origin, *kind, &operand(0)?, &operand(1)?, &shape)?
        }
        Step::Logic(kind) => {
            let y = if *kind == LogicKind::Not { None } else { Some(operand(1)?) };
            logic::logic(b, origin, *kind, &operand(0)?, y.as_ref(), &shape)?
        }
        Step::ArgMax { axis, last, min } => {
            let x = sym(0)?;
            let x = if *min {
                let zeros = ArrayD::zeros(IxDyn(x.shape()));
                linear::scale_shift(b, origin, ".neg", x, -1.0, &zeros)?
            } else {
                x.clone()
            };
            logic::arg_max(b, origin, &x, *axis, *last, &shape)?
        }
        Step::Abs => {
            // |x| = 2 relu(x) - x, the PReLU of slope -1: no table of its own.
            let minus_one = tensor0(-1f32);
            nonlinear::prelu(b, origin, sym(0)?, &minus_one, &shape)?
        }
        Step::Recip => {
            let one = tensor0(1f32);
            nonlinear::div_const_by(b, origin, &one, sym(0)?, &shape)?
        }
        Step::Rsqrt => {
            let root = nonlinear::act(b, origin, ".sqrt", sym(0)?, Activation::Sqrt)?;
            nonlinear::div_const_by(b, origin, &tensor0(1f32), &root, &shape)?
        }
        Step::RmsNorm { axis, eps } => nonlinear::rms_norm(b, origin, sym(0)?, *axis, *eps)?,
        Step::Softmax { axes, log, x } => {
            let x = match x {
                Some(x) => as_sym(origin, Some(wire(x)?))?,
                None => sym(0)?,
            };
            let origin =
                &Origin { name: origin.name, op: if *log { "LogSoftmax" } else { "Softmax" } };
            nonlinear::softmax(b, origin, x, axes, *log)?
        }
        Step::Neg => {
            let x = sym(0)?;
            let zeros = ArrayD::zeros(IxDyn(x.shape()));
            linear::scale_shift(b, origin, "", x, -1.0, &zeros)?
        }
        Step::Square => nonlinear::mul(b, origin, sym(0)?, sym(0)?, &shape)?,
        Step::Pow { base_const: true } => {
            nonlinear::pow_of_constant(b, origin, konst(0)?, sym(1)?, &shape)?
        }
        Step::Pow { base_const: false } => nonlinear::pow(b, origin, sym(0)?, sym(1)?, &shape)?,
        Step::Prelu { x, slope } => {
            // tract's node is an Iff; name the graph nodes for what they compute.
            let origin = &Origin { name: origin.name, op: "PRelu" };
            let x = as_sym(origin, Some(wire(x)?))?;
            let slope = as_const(origin, Some(wire(slope)?))?;
            nonlinear::prelu(b, origin, x, slope, &shape)?
        }
    };
    Ok(tvec![Wire::Sym(out)])
}

fn as_sym<'a>(origin: &Origin, w: Option<&'a Wire>) -> Result<&'a SymTensor> {
    match w {
        Some(Wire::Sym(t)) => Ok(t),
        _ => Err(origin.failed("expected an operand that depends on the input")),
    }
}

fn as_const<'a>(origin: &Origin, w: Option<&'a Wire>) -> Result<&'a Tensor> {
    match w {
        Some(Wire::Const(t)) => Ok(t),
        _ => Err(origin.failed("expected a constant operand")),
    }
}

/// The model outputs; each must depend on the input.
fn output_tensors(
    model: &TypedModel,
    wires: &HashMap<OutletId, Wire>,
) -> Result<Vec<OutputTensor>> {
    let outlets = model.output_outlets().map_err(|e| ProverError::InputShape(e.to_string()))?;
    outlets
        .iter()
        .map(|outlet| {
            let node = model.node(outlet.node);
            let op_name = node.op.name();
            let origin = Origin { name: &node.name, op: &op_name };
            let name = model.outlet_label(*outlet).unwrap_or(&node.name).to_string();
            match wires.get(outlet) {
                Some(Wire::Sym(t)) => Ok(OutputTensor {
                    info: TensorInfo {
                        name,
                        shape: t.shape().to_vec(),
                        elem: model
                            .outlet_fact(*outlet)
                            .ok()
                            .and_then(|f| load::elem_type(f.datum_type))
                            .unwrap_or_default(),
                        classes: Vec::new(),
                    },
                    srcs: t.iter().copied().collect(),
                }),
                Some(Wire::Const(_)) => Err(origin.unsupported(format!(
                    "output {name} is a constant: it does not depend on the input"
                ))),
                _ => Err(origin.unsupported(format!("output {name} is not a tensor of values"))),
            }
        })
        .collect()
}
