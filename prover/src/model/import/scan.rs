//! Loops (tract's `Scan`: recurrent nets over several time steps), unrolled.
//!
//! The body is lowered once per iteration, as tract evaluates it: scanned inputs sliced
//! along their axis (from the end for a negative chunk), state inputs carried from the
//! previous iteration's state outputs (in order), full inputs as they are; scanned outputs
//! concatenated, last-value outputs taken from the final iteration. The graph then holds
//! every step's cells, so its size grows with the sequence length.

use std::path::Path;

use tract_onnx::prelude::tract_ndarray::{concatenate, ArrayD, Axis, Slice};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::scan::{InputMapping, Scan};

use super::builder::{const_f32, GraphBuilder, Origin, SymTensor, Wire};
use crate::error::Result;
use crate::model::graph::Src;

/// Unrolls `op` on its outer inputs; returns its outputs in slot order.
pub(super) fn unroll(
    b: &mut GraphBuilder,
    origin: &Origin,
    op: &Scan,
    outer: &[&Wire],
    path: &Path,
) -> Result<TVec<Wire>> {
    if op.skip != 0 {
        return Err(origin.unsupported("a loop that skips its first iterations"));
    }
    let outer: Vec<SymTensor> =
        outer.iter().map(|w| as_values(b, origin, w)).collect::<Result<_>>()?;
    if outer.len() != op.input_mapping.len() {
        return Err(origin.failed("loop inputs do not match their mapping"));
    }
    let mut iterations = None;
    for (x, m) in outer.iter().zip(&op.input_mapping) {
        if let InputMapping::Scan(info) = m {
            let chunk = info.chunk.unsigned_abs();
            let len = *x.shape().get(info.axis).ok_or_else(|| origin.failed("scan axis"))?;
            if chunk == 0 || len % chunk != 0 {
                return Err(origin.unsupported(format!("scanning {len} by chunks of {chunk}")));
            }
            iterations = Some(len / chunk);
        }
    }
    let iterations =
        iterations.ok_or_else(|| origin.unsupported("a loop without a scanned input"))?;
    let mut state: Vec<SymTensor> = outer
        .iter()
        .zip(&op.input_mapping)
        .filter(|(_, m)| m.is_state())
        .map(|(x, _)| x.clone())
        .collect();
    let slots = op
        .output_mapping
        .iter()
        .flat_map(|m| m.scan.map(|(s, _)| s).into_iter().chain(m.last_value_slot))
        .max()
        .map_or(0, |s| s + 1);
    let mut scanned: Vec<Vec<SymTensor>> = vec![Vec::new(); slots];
    let mut last: Vec<Option<SymTensor>> = vec![None; slots];
    let body_outputs = op.body.output_outlets().map_err(|e| origin.failed(e))?.to_vec();
    let planned = super::Planned::new(&op.body, path)?;
    for i in 0..iterations {
        let mut states = state.iter();
        let inputs: Vec<SymTensor> = outer
            .iter()
            .zip(&op.input_mapping)
            .map(|(x, m)| match m {
                InputMapping::Full => Ok(x.clone()),
                InputMapping::State => {
                    states.next().cloned().ok_or_else(|| origin.failed("a loop state went missing"))
                }
                InputMapping::Scan(info) => {
                    let chunk = info.chunk.unsigned_abs();
                    let len = x.shape()[info.axis];
                    let start = if info.chunk < 0 { len - (i + 1) * chunk } else { i * chunk };
                    Ok(x.slice_axis(Axis(info.axis), Slice::from(start..start + chunk)).to_owned())
                }
            })
            .collect::<Result<_>>()?;
        let wires = super::lower_planned(b, &op.body, &planned, &inputs, path)?;
        let mut next_state = Vec::with_capacity(state.len());
        for (outlet, m) in body_outputs.iter().zip(&op.output_mapping) {
            let v = match wires.get(outlet) {
                Some(w) => as_values(b, origin, w)?,
                None => return Err(origin.failed("a loop output was not lowered")),
            };
            if let Some((slot, info)) = m.scan {
                if info.chunk < 0 {
                    scanned[slot].insert(0, v.clone());
                } else {
                    scanned[slot].push(v.clone());
                }
            }
            if let Some(slot) = m.last_value_slot {
                if i + 1 == iterations {
                    last[slot] = Some(v.clone());
                }
            }
            if m.state {
                next_state.push(v);
            }
        }
        state = next_state;
    }
    let axes: Vec<Option<usize>> = (0..slots)
        .map(|slot| {
            op.output_mapping
                .iter()
                .find_map(|m| m.scan.filter(|(s, _)| *s == slot).map(|(_, i)| i.axis))
        })
        .collect();
    (0..slots)
        .map(|slot| match (&last[slot], axes[slot]) {
            (Some(v), _) => Ok(Wire::Sym(v.clone())),
            (None, Some(axis)) => {
                let views: Vec<_> = scanned[slot].iter().map(|t| t.view()).collect();
                let joined = concatenate(Axis(axis), &views).map_err(|e| origin.failed(e))?;
                Ok(Wire::Sym(joined))
            }
            (None, None) => Err(origin.failed(format!("loop output {slot} is never written"))),
        })
        .collect()
}

/// A loop operand as graph values: a constant's zeros are [`Src::Zero`]; other constants
/// become one linear node of biases.
fn as_values(b: &mut GraphBuilder, origin: &Origin, w: &Wire) -> Result<SymTensor> {
    match w {
        Wire::Sym(t) => Ok(t.clone()),
        Wire::Const(t) => {
            let c = const_f32(origin, t)?;
            if c.iter().all(|&v| v == 0.0) {
                return Ok(ArrayD::from_elem(c.shape(), Src::Zero));
            }
            let rows = c.iter().map(|&v| (Vec::new(), f64::from(v)));
            b.linear(origin, ".constant", rows, c.shape())
        }
        Wire::PreluTest => Err(origin.unsupported("a comparison result carried by a loop")),
    }
}
