//! Writes and reads at input-dependent indices beyond one `Gather`: `ScatterElements`,
//! `ScatterND` and `GatherND` (without batch dimensions).
//!
//! All build on the steps `g_t = [idx >= t]` of [`index_steps`]: an index hits entry `j`
//! exactly when `e_j = g_j - g_(j+1)` is 1. A tuple of indices (the last axis of an ND
//! operand) becomes one row-major index whose components are first clamped into their own
//! axes: witness generation refuses a component out of range, and the clamp keeps a prover
//! who skips that check from reaching another row with it.

use tract_onnx::prelude::tract_ndarray::{ArrayD, IxDyn};

use super::builder::{GraphBuilder, Origin, SymTensor};
use super::logic::{differences, gather_elements, index_steps, products, sum, Elem, Row};
use super::window::kernel_positions;
use crate::error::Result;
use crate::model::graph::Src;

/// `ScatterElements(data, idx, updates)` along `axis`, no reduction, with indices that depend
/// on the input: each update is written as `out_q += e_(p,j) (u_p - out_q)` at every entry
/// `j` its index can reach (one product each). The writes go in index order, each over
/// what the earlier ones left, as onnxruntime applies them, so a repeated index keeps the
/// last update (ONNX leaves that case undefined) and every output is a data or update value.
pub(super) fn scatter_elements(
    b: &mut GraphBuilder,
    origin: &Origin,
    data: &ArrayD<Elem>,
    idx: &SymTensor,
    updates: &ArrayD<Elem>,
    axis: usize,
) -> Result<SymTensor> {
    let k = *data.shape().get(axis).ok_or_else(|| origin.failed("scatter axis out of range"))?;
    let within = idx.ndim() == data.ndim()
        && idx.shape() == updates.shape()
        && idx.shape().iter().zip(data.shape()).enumerate().all(|(d, (i, n))| d == axis || i <= n);
    if k == 0 || !within {
        return Err(origin.unsupported(
            "a scatter needs indices and updates of one shape, within the data's other axes",
        ));
    }
    let positions = kernel_positions(idx.shape());
    let indices: Vec<Src> = idx.iter().copied().collect();
    let steps = index_steps(b, origin, &indices, k)?;
    let mut out = data.clone();
    for s in 0..idx.shape()[axis] {
        let (mut hits, mut pairs, mut targets) = (Vec::new(), Vec::new(), Vec::new());
        let writes = positions.iter().zip(&steps).zip(updates.iter());
        for ((pos, st), &u) in writes.filter(|((p, _), _)| p[axis] == s) {
            for j in st.lo..=st.hi {
                let mut q = pos.clone();
                q[axis] = j;
                let q = IxDyn(&q);
                hits.push(sum([st.at_least(j), scaled(st.at_least(j + 1), -1.0)]));
                pairs.push((u, out[&q]));
                targets.push(q);
            }
        }
        let hits = elems(b, origin, ".hits", hits)?;
        let gaps = differences(b, origin, ".gaps", pairs)?;
        let changes = products(b, origin, ".product", &hits, &gaps)?;
        let rows: Vec<Row> =
            targets.iter().zip(changes).map(|(q, c)| sum([out[q].scaled(1.0), c])).collect();
        let len = rows.len();
        let written = b.linear(origin, ".write", rows, &[len])?;
        for (q, &v) in targets.iter().zip(written.iter()) {
            out[q] = Elem::Src(v);
        }
    }
    b.linear(origin, "", out.iter().map(|e| e.scaled(1.0)), data.shape())
}

/// `GatherND(data, idx)` with `batch_dims = 0`: the index tuples (the last axis of `idx`)
/// become row-major indices into the leading axes of `data`, and whole rows are gathered
/// as [`gather_elements`] gathers them.
pub(super) fn gather_nd(
    b: &mut GraphBuilder,
    origin: &Origin,
    data: &ArrayD<Elem>,
    idx: &SymTensor,
    shape: &[usize],
) -> Result<SymTensor> {
    let (rows, width) = leading_rows(origin, data, idx)?;
    let flat = flat_indices(b, origin, idx, data.shape())?;
    let data = reshape(origin, data.clone(), &[rows, width])?;
    let idx = ArrayD::from_shape_fn(IxDyn(&[flat.len(), width]), |i| flat[i[0]]);
    let gathered = gather_elements(b, origin, &data, &idx, 0)?;
    reshape(origin, gathered, shape)
}

/// `ScatterND(data, idx, updates)`, no reduction: each index tuple writes one row of the
/// leading axes of `data`, in order, as [`scatter_elements`] writes.
pub(super) fn scatter_nd(
    b: &mut GraphBuilder,
    origin: &Origin,
    data: &ArrayD<Elem>,
    idx: &SymTensor,
    updates: &ArrayD<Elem>,
) -> Result<SymTensor> {
    let (rows, width) = leading_rows(origin, data, idx)?;
    let flat = flat_indices(b, origin, idx, data.shape())?;
    if updates.len() != flat.len() * width {
        return Err(origin.unsupported("ScatterND updates do not match the indexed rows"));
    }
    let shaped = reshape(origin, data.clone(), &[rows, width])?;
    let updates = reshape(origin, updates.clone(), &[flat.len(), width])?;
    let idx = ArrayD::from_shape_fn(IxDyn(&[flat.len(), width]), |i| flat[i[0]]);
    let written = scatter_elements(b, origin, &shaped, &idx, &updates, 0)?;
    reshape(origin, written, data.shape())
}

/// The number of rows the index tuples address and the size of each row.
fn leading_rows(origin: &Origin, data: &ArrayD<Elem>, idx: &SymTensor) -> Result<(usize, usize)> {
    let r = idx.shape().last().copied().unwrap_or(0);
    if r == 0 || r > data.ndim() || data.shape()[..r].contains(&0) {
        return Err(origin.unsupported(format!(
            "index tuples of length {r} into data of shape {:?}",
            data.shape()
        )));
    }
    Ok((data.shape()[..r].iter().product(), data.shape()[r..].iter().product()))
}

/// One row-major index per tuple of `idx`'s last axis into the leading axes of `dims`: each
/// component clamped into its axis, `lo + sum_t [c >= t]` (negative ones counted from the
/// end first), times its stride. Its proven range is the rows, so gathers on it reach no
/// further.
fn flat_indices(
    b: &mut GraphBuilder,
    origin: &Origin,
    idx: &SymTensor,
    dims: &[usize],
) -> Result<Vec<Src>> {
    let r = idx.shape().last().copied().unwrap_or(0);
    let components: Vec<Src> = idx.iter().copied().collect();
    let tuples = components.len() / r.max(1);
    let mut rows: Vec<Row> = vec![(Vec::new(), 0.0); tuples];
    let mut stride = 1.0;
    for c in (0..r).rev() {
        let column: Vec<Src> = (0..tuples).map(|t| components[t * r + c]).collect();
        let steps = index_steps(b, origin, &column, dims[c])?;
        for (row, st) in rows.iter_mut().zip(&steps) {
            let clamped = scaled(st.clamped(), stride);
            *row = sum([std::mem::take(row), clamped]);
        }
        stride *= dims[c] as f64;
    }
    Ok(b.linear(origin, ".flat", rows, &[tuples])?.iter().copied().collect())
}

fn scaled((terms, c): Row, w: f64) -> Row {
    (terms.into_iter().map(|(s, v)| (s, v * w)).collect(), c * w)
}

/// Rows as elements: a constant where a row has no terms, else an output of one linear node.
fn elems(b: &mut GraphBuilder, origin: &Origin, suffix: &str, rows: Vec<Row>) -> Result<Vec<Elem>> {
    let live: Vec<Row> = rows.iter().filter(|(t, _)| !t.is_empty()).cloned().collect();
    let mut outs = if live.is_empty() {
        Vec::new()
    } else {
        let len = live.len();
        b.linear(origin, suffix, live, &[len])?.iter().copied().collect()
    }
    .into_iter();
    rows.into_iter()
        .map(|(terms, c)| {
            if terms.is_empty() {
                Ok(Elem::Const(c))
            } else {
                outs.next().map(Elem::Src).ok_or_else(|| origin.failed("a hit went missing"))
            }
        })
        .collect()
}

fn reshape<T: Clone>(origin: &Origin, a: ArrayD<T>, shape: &[usize]) -> Result<ArrayD<T>> {
    let values: Vec<T> = a.iter().cloned().collect();
    ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| origin.failed(e))
}
