//! Constant folding and data movement, both by running the tract op itself.
//!
//! Data movement (reshape, transpose, slice, concat, pad, gather, tile, broadcast...) is
//! handled once for all such ops: each symbolic element is replaced by a float *code*
//! (0 for [`Src::Zero`], `k` for the `k`-th entry of a lookup table), tract runs the op on
//! the code tensor, and the codes it returns are mapped back. An op that only moves data
//! returns codes it was given, so this is exact as long as every code is an integer f32
//! represents exactly. A constant among the data (zeros are padding, codes 0) other than
//! zeros becomes the biases of one linear node first, moved like any other value.

use tract_onnx::prelude::tract_ndarray::ArrayD;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::konst::Const;

use tract_onnx::tract_core::ops::array::{Pad, PadMode};
use tract_onnx::tract_core::ops::EvalOp;

use super::builder::{const_f32, GraphBuilder, Origin, SymTensor, Wire};
use crate::error::Result;
use crate::model::graph::Src;

/// Codes above this are not exact in f32 (24-bit significand).
const MAX_CODE: usize = 1 << 24;

/// Evaluates a node whose inputs are all constant.
pub(super) fn fold(origin: &Origin, node: &TypedNode, inputs: &[&Wire]) -> Result<TVec<Wire>> {
    if let Some(k) = node.op_as::<Const>() {
        return Ok(tvec![Wire::Const(k.val().clone())]);
    }
    let values = inputs
        .iter()
        .map(|w| match w {
            Wire::Const(t) => Ok(t.clone().into_tvalue()),
            _ => Err(origin.failed("constant folding reached a non-constant input")),
        })
        .collect::<Result<TVec<_>>>()?;
    let outputs = eval(origin, node, values)?;
    Ok(outputs.into_iter().map(|v| Wire::Const(v.into_arc_tensor())).collect())
}

/// Runs a data-movement node on code tensors; `data` lists the inputs that carry data
/// (the others, e.g. gather indices, are constant operands passed through unchanged).
pub(super) fn move_data(
    b: &mut GraphBuilder,
    origin: &Origin,
    node: &TypedNode,
    data: &[usize],
    inputs: &[&Wire],
) -> Result<TVec<Wire>> {
    let mut table = vec![Src::Zero];
    let mut values = TVec::new();
    for (i, wire) in inputs.iter().enumerate() {
        let value = match wire {
            Wire::Sym(t) => encode(origin, t, &mut table)?.into_tvalue(),
            Wire::Const(t) if data.contains(&i) => {
                let values = const_f32(origin, t)?;
                if values.iter().all(|&v| v == 0.0) {
                    values.into_tvalue()
                } else {
                    let rows = values.iter().map(|&v| (Vec::new(), f64::from(v)));
                    let constants = b.linear(origin, ".constant", rows, values.shape())?;
                    encode(origin, &constants, &mut table)?.into_tvalue()
                }
            }
            Wire::Const(t) => t.clone().into_tvalue(),
            Wire::PreluTest => return Err(origin.unsupported("a comparison result moved as data")),
        };
        values.push(value);
    }
    let outputs = eval(origin, node, values)?;
    outputs.iter().map(|v| Ok(Wire::Sym(decode(origin, v, &table)?))).collect()
}

/// Replaces each element by its code, appending the element to `table`.
fn encode(origin: &Origin, t: &SymTensor, table: &mut Vec<Src>) -> Result<ArrayD<f32>> {
    if table.len() + t.len() > MAX_CODE {
        return Err(origin.unsupported(format!(
            "data movement over more than {MAX_CODE} elements cannot be tracked exactly"
        )));
    }
    Ok(t.map(|&src| {
        if src == Src::Zero {
            return 0.0;
        }
        table.push(src);
        (table.len() - 1) as f32
    }))
}

/// Maps codes returned by tract back to sources.
fn decode(origin: &Origin, v: &Tensor, table: &[Src]) -> Result<SymTensor> {
    let codes = v.to_plain_array_view::<f32>().map_err(|e| origin.failed(e))?;
    let mut bad = None;
    let out = codes.map(|&c| {
        source(c, table).unwrap_or_else(|| {
            bad = Some(c);
            Src::Zero
        })
    });
    match bad {
        // Only ops that compute on values can produce a code that was never handed out.
        Some(c) => {
            Err(origin.unsupported(format!("op is not pure data movement (produced code {c})")))
        }
        None => Ok(out),
    }
}

/// The source a code stands for, if it was handed out.
fn source(c: f32, table: &[Src]) -> Option<Src> {
    (c.fract() == 0.0 && c >= 0.0).then(|| table.get(c as usize).copied()).flatten()
}

/// Evaluates a node with tract on concrete tensors.
fn eval(origin: &Origin, node: &TypedNode, values: TVec<TValue>) -> Result<TVec<TValue>> {
    node.op
        .eval_out_of_plan(values)
        .map_err(|e| origin.failed(format!("{e:#}")))?
        .ok_or_else(|| origin.unsupported("tract cannot evaluate this op outside a plan"))
}

/// Padding with a non-zero constant: the padding is located by padding the codes with a
/// code no element has (-1), then every output is its element (or the constant) through one
/// linear node, the constants as biases.
pub(super) fn pad_with_constant(
    b: &mut GraphBuilder,
    origin: &Origin,
    pad: &Pad,
    value: f64,
    x: &SymTensor,
) -> Result<SymTensor> {
    let mut table = vec![Src::Zero];
    let codes = encode(origin, x, &mut table)?;
    let marker =
        Pad { pads: pad.pads.clone(), mode: PadMode::Constant(tensor0(-1f32).into_arc_tensor()) };
    let out = marker
        .eval_out_of_plan(tvec![codes.into_tvalue()])
        .map_err(|e| origin.failed(format!("{e:#}")))?
        .ok_or_else(|| origin.unsupported("tract cannot evaluate padding outside a plan"))?;
    let out = out.first().ok_or_else(|| origin.failed("no output"))?;
    let codes = out.to_plain_array_view::<f32>().map_err(|e| origin.failed(e))?;
    let shape = codes.shape().to_vec();
    let rows = codes
        .iter()
        .map(|&c| {
            if c == -1.0 {
                return Ok((Vec::new(), value));
            }
            match source(c, &table) {
                Some(Src::Value(v)) => Ok((vec![(Src::Value(v), 1.0)], 0.0)),
                Some(Src::Zero) => Ok((Vec::new(), 0.0)),
                None => Err(origin.failed(format!("padding produced code {c}"))),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    b.linear(origin, "", rows, &shape)
}
