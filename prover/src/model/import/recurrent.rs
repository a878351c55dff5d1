//! The cells of recurrent nets: tract computes the gates' pre-activations with matrix
//! products (lowered as linear rows) and leaves the cell's update to one op, the epilogue,
//! lowered here with sigmoid and tanh tables and products of two values. The previous state
//! may be a constant (the usual zero initial state), so it is an [`Elem`] operand.

use tract_onnx::prelude::tract_ndarray::{ArrayD, IxDyn};

use super::builder::{GraphBuilder, Origin, SymTensor};
use super::logic::{products, sum, Elem, Row};
use crate::error::Result;
use crate::model::graph::{Activation, NodeKind, Src};

/// Columns `[from, from + width)` of every row of a `[rows, stride]` flat list.
fn columns<T: Copy>(flat: &[T], stride: usize, from: usize, width: usize) -> Vec<T> {
    flat.chunks(stride).flat_map(|row| row[from..from + width].iter().copied()).collect()
}

/// An activation over a flat list of values.
fn act(
    b: &mut GraphBuilder,
    origin: &Origin,
    suffix: &str,
    x: Vec<Src>,
    act: Activation,
) -> Result<Vec<Src>> {
    let len = x.len();
    let out = b.push(origin, suffix, NodeKind::Act { input: x, act }, &[len])?;
    Ok(out.iter().copied().collect())
}

/// One linear node of elementwise sums of rows.
fn combine(
    b: &mut GraphBuilder,
    origin: &Origin,
    suffix: &str,
    parts: &[&[Row]],
    len: usize,
) -> Result<Vec<Src>> {
    let rows = (0..len).map(|j| sum(parts.iter().map(|p| p[j].clone())));
    Ok(b.linear(origin, suffix, rows, &[len])?.iter().copied().collect())
}

fn elems(x: &[Src]) -> Vec<Elem> {
    x.iter().map(|&s| Elem::Src(s)).collect()
}

/// `w x` as rows.
fn rows(x: &[Elem], w: f64) -> Vec<Row> {
    x.iter().map(|e| e.scaled(w)).collect()
}

fn shaped(origin: &Origin, x: Vec<Src>, shape: &[usize]) -> Result<SymTensor> {
    ArrayD::from_shape_vec(IxDyn(shape), x).map_err(|e| origin.failed(e))
}

/// tract's `LstmEpilogue`: pre-activations `[rows, 4h]` in gate order i, o, f, c and the
/// previous cell state `[rows, h]`; returns `(h, c)` shaped like the state:
/// `c = f c_prev + i tanh(g)`, `h = o tanh(c)`.
pub(super) fn lstm_epilogue(
    b: &mut GraphBuilder,
    origin: &Origin,
    pre: &SymTensor,
    c_prev: &ArrayD<Elem>,
    hidden: usize,
) -> Result<(SymTensor, SymTensor)> {
    let shape = c_prev.shape().to_vec();
    let n = c_prev.len();
    if hidden == 0 || pre.len() != 4 * n {
        return Err(
            origin.failed(format!("LSTM cell of {} pre-activations for {n} states", pre.len()))
        );
    }
    let pre: Vec<Src> = pre.iter().copied().collect();
    let gates =
        act(b, origin, ".gates", columns(&pre, 4 * hidden, 0, 3 * hidden), Activation::Sigmoid)?;
    let (i, o, f) = (
        columns(&gates, 3 * hidden, 0, hidden),
        columns(&gates, 3 * hidden, hidden, hidden),
        columns(&gates, 3 * hidden, 2 * hidden, hidden),
    );
    let g = act(
        b,
        origin,
        ".candidate",
        columns(&pre, 4 * hidden, 3 * hidden, hidden),
        Activation::Tanh,
    )?;
    let c_prev: Vec<Elem> = c_prev.iter().copied().collect();
    let kept = products(b, origin, ".keep", &elems(&f), &c_prev)?;
    let added = products(b, origin, ".add", &elems(&i), &elems(&g))?;
    let c = combine(b, origin, ".c", &[&kept, &added], n)?;
    let tc = act(b, origin, ".tanh_c", c.clone(), Activation::Tanh)?;
    let h = products(b, origin, ".h", &elems(&o), &elems(&tc))?;
    let h = combine(b, origin, "", &[&h], n)?;
    Ok((shaped(origin, h, &shape)?, shaped(origin, c, &shape)?))
}

/// tract's `GruEpilogue`: input and recurrent pre-activations `[rows, 3h]` (gates z, r, n)
/// and the previous state `[rows, h]`: `z = sigmoid(x_z + r_z)`, `r = sigmoid(x_r + r_r)`,
/// `n = tanh(x_n + r * r_n)`, `h = n + z (h_prev - n)`.
pub(super) fn gru_epilogue(
    b: &mut GraphBuilder,
    origin: &Origin,
    xh: &ArrayD<Elem>,
    rh: &ArrayD<Elem>,
    h_prev: &ArrayD<Elem>,
    hidden: usize,
) -> Result<SymTensor> {
    let shape = h_prev.shape().to_vec();
    let n = h_prev.len();
    if hidden == 0 || xh.len() != 3 * n || rh.len() != 3 * n {
        return Err(
            origin.failed(format!("GRU cell of {} pre-activations for {n} states", xh.len()))
        );
    }
    let (xh, rh): (Vec<Elem>, Vec<Elem>) =
        (xh.iter().copied().collect(), rh.iter().copied().collect());
    let col = |v: &[Elem], k: usize| columns(v, 3 * hidden, k * hidden, hidden);
    let zr_x = columns(&xh, 3 * hidden, 0, 2 * hidden);
    let zr_r = columns(&rh, 3 * hidden, 0, 2 * hidden);
    let zr = combine(b, origin, ".zr_pre", &[&rows(&zr_x, 1.0), &rows(&zr_r, 1.0)], 2 * n)?;
    let zr = act(b, origin, ".zr", zr, Activation::Sigmoid)?;
    let (z, r) = (columns(&zr, 2 * hidden, 0, hidden), columns(&zr, 2 * hidden, hidden, hidden));
    let reset = products(b, origin, ".reset", &elems(&r), &col(&rh, 2))?;
    let cand = combine(b, origin, ".n_pre", &[&rows(&col(&xh, 2), 1.0), &reset], n)?;
    let cand = act(b, origin, ".n", cand, Activation::Tanh)?;
    let h_prev: Vec<Elem> = h_prev.iter().copied().collect();
    let gap = combine(b, origin, ".gap", &[&rows(&h_prev, 1.0), &rows(&elems(&cand), -1.0)], n)?;
    let moved = products(b, origin, ".update", &elems(&z), &elems(&gap))?;
    let h = combine(b, origin, "", &[&rows(&elems(&cand), 1.0), &moved], n)?;
    shaped(origin, h, &shape)
}
