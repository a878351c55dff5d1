//! Linear ops lowered by probing: the op's matrix read off its responses to unit inputs.
//!
//! Transposed convolution and interpolating resizes are linear in their data input once
//! the other inputs (kernel, scales) are constants, but their index arithmetic (padding,
//! output padding, groups, coordinate transforms, tie-breaking) has many ONNX variants.
//! Instead of re-deriving each, tract evaluates the op on a batch of one-hot inputs: row
//! `p` of the batch is the `p`-th unit vector, so row `p` of the output is column `p` of
//! the matrix. The additive constant (a bias) is probed apart from the matrix, with a zero
//! data input, and left out of the unit probes, so no weight is ever a difference of two
//! rounded floats.

use tract_onnx::prelude::tract_ndarray::{ArrayD, Axis, IxDyn};
use tract_onnx::prelude::*;

use super::builder::{const_f32, GraphBuilder, Origin, SymTensor, Wire};
use crate::error::Result;
use crate::model::graph::Src;

/// Most output floats one probe evaluation may hold (64 MB).
const MAX_PROBE_FLOATS: usize = 1 << 24;

/// Lowers a node linear in input `data` (all other inputs constant) by probing it; input
/// `additive`, if any, is a constant added to the output (zeroed in the unit probes).
pub(super) fn linear_by_probing(
    b: &mut GraphBuilder,
    origin: &Origin,
    node: &TypedNode,
    data: usize,
    additive: Option<usize>,
    inputs: &[&Wire],
    out_shape: &[usize],
) -> Result<SymTensor> {
    let x = match inputs.get(data) {
        Some(Wire::Sym(t)) => t,
        _ => return Err(origin.failed("the probed input does not depend on the input")),
    };
    let in_shape = x.shape().to_vec();
    if in_shape.first() != Some(&1) || out_shape.first() != Some(&1) {
        return Err(origin.unsupported("probing needs a batch axis of length 1 first"));
    }
    let n = x.len();
    let out_len: usize = out_shape.iter().product();
    let constants = |zero_additive: bool| -> Result<TVec<TValue>> {
        inputs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != data)
            .map(|(i, w)| match w {
                Wire::Const(t) if zero_additive && Some(i) == additive => {
                    Ok(Tensor::zero_dt(t.datum_type(), t.shape())
                        .map_err(|e| origin.failed(e))?
                        .into_tvalue())
                }
                Wire::Const(t) => Ok(t.clone().into_tvalue()),
                _ => Err(origin.unsupported(format!("operand {i} must be a constant"))),
            })
            .collect()
    };
    let run = |probe: ArrayD<f32>, zero_additive: bool| -> Result<ArrayD<f32>> {
        let mut values = constants(zero_additive)?;
        values.insert(data, probe.into_tvalue());
        let out = node
            .op
            .eval_out_of_plan(values)
            .map_err(|e| origin.failed(format!("{e:#}")))?
            .ok_or_else(|| origin.unsupported("tract cannot evaluate this op outside a plan"))?;
        let out = out.first().ok_or_else(|| origin.failed("no output"))?;
        let out = const_f32(origin, out)?;
        Ok(out)
    };

    // Linear, not merely affine, once the additive input is zeroed (an extrapolation
    // constant, say, would fail this).
    let homogeneous = run(ArrayD::zeros(IxDyn(&in_shape)), true)?;
    if homogeneous.iter().any(|&v| v != 0.0) {
        return Err(origin.unsupported("the op is not linear in its input (constant outputs)"));
    }
    let offset = run(ArrayD::zeros(IxDyn(&in_shape)), false)?;
    if offset.len() != out_len {
        return Err(
            origin.failed(format!("probe output {:?}, expected {out_shape:?}", offset.shape()))
        );
    }
    let mut rows: Vec<Vec<(Src, f64)>> = vec![Vec::new(); out_len];
    let chunk = (MAX_PROBE_FLOATS / out_len.max(1)).clamp(1, n);
    let flat: Vec<Src> = x.iter().copied().collect();
    for start in (0..n).step_by(chunk) {
        let count = chunk.min(n - start);
        let mut shape = in_shape.clone();
        shape[0] = count;
        let mut probe = ArrayD::<f32>::zeros(IxDyn(&shape));
        if let Some(cells) = probe.as_slice_mut() {
            for p in 0..count {
                cells[p * n + start + p] = 1.0;
            }
        }
        let response = run(probe, true)?;
        if response.shape().first() != Some(&count) || response.len() != count * out_len {
            return Err(origin.unsupported(format!(
                "the op does not keep the batch axis apart (probe output {:?})",
                response.shape()
            )));
        }
        for (p, column) in response.axis_iter(Axis(0)).enumerate() {
            let src = flat[start + p];
            if src == Src::Zero {
                continue;
            }
            for (row, &w) in rows.iter_mut().zip(column.iter()) {
                if w != 0.0 {
                    row.push((src, f64::from(w)));
                }
            }
        }
    }
    let rows = rows.into_iter().zip(offset.iter()).map(|(terms, &o)| (terms, f64::from(o)));
    b.linear(origin, "", rows, out_shape)
}
