//! Writes and reads at input-dependent indices beyond one `Gather`: `ScatterElements`,
//! `ScatterND` (also with a reduction, at any indices) and `GatherND` (also with batch
//! axes).
//!
//! All build on the steps `g_t = [idx >= t]` of [`index_steps`]: an index hits entry `j`
//! exactly when `e_j = g_j - g_(j+1)` is 1. A tuple of indices (the last axis of an ND
//! operand) becomes one row-major index whose components are first clamped into their own
//! axes: witness generation refuses a component out of range, and the clamp keeps a prover
//! who skips that check from reaching another row with it.

use tract_onnx::prelude::tract_ndarray::{ArrayD, Axis, IxDyn};
use tract_onnx::tract_core::ops::array::ScatterReduction;

use super::builder::{GraphBuilder, Origin, SymTensor};
use super::logic::{
    differences, gather_elements, index_steps, products, sum, Elem, IndexSteps, Row,
};
use super::window::kernel_positions;
use crate::error::Result;
use crate::model::graph::{NodeKind, Src};

/// What a scatter writes: its updates, and how each combines with the value it lands on.
#[derive(Clone, Copy)]
pub(super) struct Write<'a> {
    pub updates: &'a ArrayD<Elem>,
    pub reduction: ScatterReduction,
}

/// `ScatterElements(data, idx, updates)` along `axis`. Each update `u_p` lands on the entry
/// its index picks: `out_j += e_(p,j) (w(out_j, u_p) - out_j)` at every entry `j` the index
/// can reach (one product each), where `w` is the reduction: `u` (none), `out + u`, `out u`,
/// `max(out, u)` or `min(out, u)` (one maximum lookup each). The writes go in index order,
/// each over what the earlier ones left, as onnxruntime applies them, so a repeated index
/// keeps the last update without a reduction (ONNX leaves that case undefined) and folds
/// every update with one. A constant index reaches its one entry and costs no step; one
/// outside its axis is an import error.
pub(super) fn scatter_elements(
    b: &mut GraphBuilder,
    origin: &Origin,
    data: &ArrayD<Elem>,
    idx: &ArrayD<Elem>,
    write: Write<'_>,
    axis: usize,
) -> Result<SymTensor> {
    let updates = write.updates;
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
    let steps = steps_of(b, origin, idx, k)?;
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
                pairs.push((out[&q], u));
                targets.push(q);
            }
        }
        let hits = elems(b, origin, ".hits", hits)?;
        let gaps = gaps(b, origin, write.reduction, pairs)?;
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

/// `w(old, u) - old` for each `(old, u)`: what a write adds to the value it lands on.
fn gaps(
    b: &mut GraphBuilder,
    origin: &Origin,
    reduction: ScatterReduction,
    pairs: Vec<(Elem, Elem)>,
) -> Result<Vec<Elem>> {
    match reduction {
        ScatterReduction::None => {
            differences(b, origin, ".gaps", pairs.into_iter().map(|(o, u)| (u, o)))
        }
        ScatterReduction::Add => Ok(pairs.into_iter().map(|(_, u)| u).collect()),
        ScatterReduction::Mul => {
            let (olds, us): (Vec<Elem>, Vec<Elem>) = pairs.into_iter().unzip();
            let times = products(b, origin, ".times", &olds, &us)?;
            let rows = times.into_iter().zip(&olds).map(|(t, &o)| sum([t, o.scaled(-1.0)]));
            elems(b, origin, ".gaps", rows.collect())
        }
        ScatterReduction::Max | ScatterReduction::Min => {
            let (olds, us): (Vec<Elem>, Vec<Elem>) = pairs.into_iter().unzip();
            let hi = maxima(b, origin, &olds, &us)?;
            // max(o, u) - o, or min(o, u) - o = u - max(o, u).
            let rows = hi.iter().zip(olds.iter().zip(&us)).map(|(&m, (&o, &u))| {
                if reduction == ScatterReduction::Max {
                    sum([m.scaled(1.0), o.scaled(-1.0)])
                } else {
                    sum([u.scaled(1.0), m.scaled(-1.0)])
                }
            });
            elems(b, origin, ".gaps", rows.collect())
        }
    }
}

/// `max(a_j, c_j)`: a constant where both are, else one two-element maximum (one lookup),
/// a constant operand first made a value.
fn maxima(b: &mut GraphBuilder, origin: &Origin, a: &[Elem], c: &[Elem]) -> Result<Vec<Elem>> {
    let live: Vec<(Elem, Elem)> = a
        .iter()
        .zip(c)
        .filter(|(x, y)| !matches!((x, y), (Elem::Const(_), Elem::Const(_))))
        .map(|(&x, &y)| (x, y))
        .collect();
    let mut hi = if live.is_empty() {
        Vec::new()
    } else {
        let constants: Vec<f64> = live
            .iter()
            .flat_map(|&(x, y)| [x, y])
            .filter_map(|e| match e {
                Elem::Const(v) => Some(v),
                Elem::Src(_) => None,
            })
            .collect();
        let made: Vec<Src> = if constants.is_empty() {
            Vec::new()
        } else {
            let rows = constants.iter().map(|&v| (Vec::new(), v)).collect::<Vec<Row>>();
            b.linear(origin, ".constants", rows, &[constants.len()])?.iter().copied().collect()
        };
        let mut made = made.into_iter();
        let mut value = |e: Elem| match e {
            Elem::Src(s) => Ok(s),
            Elem::Const(_) => made.next().ok_or_else(|| origin.failed("a constant went missing")),
        };
        let windows = live
            .iter()
            .map(|&(x, y)| Ok(vec![value(x)?, value(y)?]))
            .collect::<Result<Vec<_>>>()?;
        let lanes = windows.len();
        b.push(origin, ".max", NodeKind::Max { windows }, &[lanes])?.iter().copied().collect()
    }
    .into_iter();
    a.iter()
        .zip(c)
        .map(|(&x, &y)| match (x, y) {
            (Elem::Const(u), Elem::Const(v)) => Ok(Elem::Const(u.max(v))),
            _ => hi.next().map(Elem::Src).ok_or_else(|| origin.failed("a maximum went missing")),
        })
        .collect()
}

/// The steps of each index: [`index_steps`] for indices from the input; for constant ones,
/// the one entry each picks (counted from the end when negative), no step, and an import
/// error for one outside `[-k, k)` (onnxruntime: an error too).
fn steps_of(
    b: &mut GraphBuilder,
    origin: &Origin,
    idx: &ArrayD<Elem>,
    k: usize,
) -> Result<Vec<IndexSteps>> {
    let mut inputs = Vec::new();
    let mut constants = Vec::new();
    for e in idx {
        match *e {
            Elem::Src(s) => inputs.push(s),
            Elem::Const(c) => constants.push(c),
        }
    }
    match (inputs.is_empty(), constants.is_empty()) {
        (false, true) => index_steps(b, origin, &inputs, k),
        (true, _) => constants
            .into_iter()
            .map(|c| {
                let j = constant_index(origin, c, k)?;
                Ok(IndexSteps { lo: j, hi: j, steps: Vec::new() })
            })
            .collect(),
        (false, false) => Err(origin.failed("indices both constant and from the input")),
    }
}

/// A constant index into an axis of `k`, counted from the end when negative.
fn constant_index(origin: &Origin, c: f64, k: usize) -> Result<usize> {
    let n = k as f64;
    if c.fract() != 0.0 || c < -n || c >= n {
        return Err(origin.unsupported(format!("constant index {c} outside an axis of {k}")));
    }
    Ok(if c < 0.0 { (c + n) as usize } else { c as usize })
}

/// `GatherND(data, idx)`: the index tuples (the last axis of `idx`) become row-major indices
/// into the leading axes of `data`, and whole rows are gathered as [`gather_elements`]
/// gathers them. With `batch_dims = b`, the first `b` axes of `data` and `idx` are batch
/// axes: each batch's tuples index only that batch's data, one gather per batch.
pub(super) fn gather_nd(
    b: &mut GraphBuilder,
    origin: &Origin,
    data: &ArrayD<Elem>,
    idx: &SymTensor,
    shape: &[usize],
    batch_dims: usize,
) -> Result<SymTensor> {
    if batch_dims == 0 {
        return gather_nd_rows(b, origin, data, idx, shape);
    }
    let bd = batch_dims;
    if idx.ndim() <= bd || data.ndim() <= bd || data.shape()[..bd] != idx.shape()[..bd] {
        return Err(origin.unsupported(format!(
            "GatherND with {bd} batch axes over data {:?} and indices {:?}",
            data.shape(),
            idx.shape()
        )));
    }
    let batches: usize = data.shape()[..bd].iter().product();
    let data_of = |d: &ArrayD<Elem>| {
        let mut s = vec![batches];
        s.extend_from_slice(&d.shape()[bd..]);
        reshape(origin, d.clone(), &s)
    };
    let mut idx_shape = vec![batches];
    idx_shape.extend_from_slice(&idx.shape()[bd..]);
    let (data, idx_all) = (data_of(data)?, reshape(origin, idx.clone(), &idx_shape)?);
    let r = idx.shape().last().copied().unwrap_or(0);
    let mut each: Vec<usize> = idx_shape[1..idx_shape.len() - 1].to_vec();
    each.extend(data.shape().get(1 + r..).unwrap_or(&[]));
    let mut values = Vec::with_capacity(shape.iter().product());
    for batch in 0..batches {
        let d = data.index_axis(Axis(0), batch).to_owned();
        let i = idx_all.index_axis(Axis(0), batch).to_owned();
        values.extend(gather_nd_rows(b, origin, &d, &i, &each)?.iter().copied());
    }
    ArrayD::from_shape_vec(IxDyn(shape), values)
        .map_err(|_| origin.failed("GatherND batches do not fill the output"))
}

/// [`gather_nd`] without batch axes.
fn gather_nd_rows(
    b: &mut GraphBuilder,
    origin: &Origin,
    data: &ArrayD<Elem>,
    idx: &SymTensor,
    shape: &[usize],
) -> Result<SymTensor> {
    let (rows, width) = leading_rows(origin, data, idx.shape())?;
    let flat = flat_indices(b, origin, idx, data.shape())?;
    let data = reshape(origin, data.clone(), &[rows, width])?;
    let idx = ArrayD::from_shape_fn(IxDyn(&[flat.len(), width]), |i| flat[i[0]]);
    let gathered = gather_elements(b, origin, &data, &idx, 0)?;
    reshape(origin, gathered, shape)
}

/// `ScatterND(data, idx, updates)`: each index tuple writes one row of the leading axes of
/// `data`, in order and with the reduction, as [`scatter_elements`] writes.
pub(super) fn scatter_nd(
    b: &mut GraphBuilder,
    origin: &Origin,
    data: &ArrayD<Elem>,
    idx: &ArrayD<Elem>,
    write: Write<'_>,
) -> Result<SymTensor> {
    let r = idx.shape().last().copied().unwrap_or(0);
    let (rows, width) = leading_rows(origin, data, idx.shape())?;
    let flat: Vec<Elem> = match idx.iter().next() {
        Some(Elem::Src(_)) => {
            let components = idx.iter().filter_map(|e| match e {
                Elem::Src(s) => Some(*s),
                Elem::Const(_) => None,
            });
            let sym = ArrayD::from_shape_vec(idx.raw_dim(), components.collect())
                .map_err(|_| origin.failed("indices both constant and from the input"))?;
            flat_indices(b, origin, &sym, data.shape())?.into_iter().map(Elem::Src).collect()
        }
        _ => {
            let components: Vec<f64> = idx
                .iter()
                .map(|e| match e {
                    Elem::Const(c) => Ok(*c),
                    Elem::Src(_) => Err(origin.failed("indices both constant and from the input")),
                })
                .collect::<Result<_>>()?;
            let mut flat = Vec::with_capacity(components.len() / r.max(1));
            for tuple in components.chunks(r.max(1)) {
                let mut at = 0;
                for (c, &dim) in tuple.iter().zip(data.shape()) {
                    at = at * dim + constant_index(origin, *c, dim)?;
                }
                flat.push(Elem::Const(at as f64));
            }
            flat
        }
    };
    if write.updates.len() != flat.len() * width {
        return Err(origin.unsupported("ScatterND updates do not match the indexed rows"));
    }
    let shaped = reshape(origin, data.clone(), &[rows, width])?;
    let updates = reshape(origin, write.updates.clone(), &[flat.len(), width])?;
    let idx = ArrayD::from_shape_fn(IxDyn(&[flat.len(), width]), |i| flat[i[0]]);
    let write = Write { updates: &updates, ..write };
    let written = scatter_elements(b, origin, &shaped, &idx, write, 0)?;
    reshape(origin, written, data.shape())
}

/// The number of rows the index tuples address and the size of each row.
fn leading_rows(origin: &Origin, data: &ArrayD<Elem>, idx: &[usize]) -> Result<(usize, usize)> {
    let r = idx.last().copied().unwrap_or(0);
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
