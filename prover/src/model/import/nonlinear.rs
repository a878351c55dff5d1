//! Ops that need more than linear rows: activations, products of activations, maxima.
//!
//! Everything is expressed with the three non-linear node kinds of the graph (`Act`, `Mul`,
//! `Max`) plus linear glue: minima are negated maxima, clamps against constants are shifted
//! ReLUs, and PReLU is `(1 - a) * relu(x) + a * x`.

use std::collections::HashMap;

use tract_onnx::prelude::tract_ndarray::{ArrayD, IxDyn};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::MaxPool;

use super::builder::{broadcast, const_f32, GraphBuilder, Origin, SymTensor};
use super::linear::{reduce_sum, reduction_windows, scale_shift};
use super::window::{kernel_positions, Window};
use crate::error::Result;
use crate::model::graph::{Activation, NodeKind, Src};

/// An elementwise activation.
pub(super) fn act(
    b: &mut GraphBuilder,
    origin: &Origin,
    suffix: &str,
    x: &SymTensor,
    act: Activation,
) -> Result<SymTensor> {
    let input = x.iter().copied().collect();
    b.push(origin, suffix, NodeKind::Act { input, act }, x.shape())
}

/// The elementwise product of two symbolic tensors (broadcast to `out_shape`).
pub(super) fn mul(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &SymTensor,
    y: &SymTensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let (a, c) = broadcast_pair(origin, x, y, out_shape)?;
    b.push(origin, "", NodeKind::Mul { a, b: c }, out_shape)
}

/// Two symbolic tensors broadcast to `out_shape`, flat.
fn broadcast_pair(
    origin: &Origin,
    x: &SymTensor,
    y: &SymTensor,
    out_shape: &[usize],
) -> Result<(Vec<Src>, Vec<Src>)> {
    let a = broadcast(origin, x, out_shape)?.iter().copied().collect();
    let c = broadcast(origin, y, out_shape)?.iter().copied().collect();
    Ok((a, c))
}

/// The elementwise quotient of two symbolic tensors (broadcast to `out_shape`); the
/// denominators must be positive (the circuit proves `0 <= r < 2b`).
pub(super) fn div(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &SymTensor,
    y: &SymTensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let (a, d) = broadcast_pair(origin, x, y, out_shape)?;
    b.push(origin, "", NodeKind::Div { a, b: d }, out_shape)
}

/// ONNX `Div` of integers `x` by a constant `c`: the quotient truncated toward zero.
pub(super) fn int_div(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &SymTensor,
    c: &Tensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let cast = c.cast_to::<i64>().map_err(|e| origin.failed(e))?;
    let c = cast.to_plain_array_view::<i64>().map_err(|e| origin.failed(e))?.to_owned();
    let c = broadcast(origin, &c, out_shape)?;
    if c.iter().any(|d| *d == 0) {
        return Err(origin.unsupported("integer division by zero"));
    }
    let a = broadcast(origin, x, out_shape)?.iter().copied().collect();
    b.push(origin, "", NodeKind::IntDiv { a, c: c.iter().copied().collect() }, out_shape)
}

/// ONNX `Div` of two integer tensors, truncating toward zero: the divisor's sign
/// `2 [b > 0] - 1` moved onto the numerator (`trunc(a / b) = trunc(sign(b) a / |b|)`), then
/// a division by `|b|`. A zero divisor gets the sign -1 and `|b| = 0`, which no division
/// proves.
pub(super) fn int_div_by(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &SymTensor,
    y: &SymTensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let (a, d) = broadcast_pair(origin, x, y, out_shape)?;
    let positive = NodeKind::Act { input: d.clone(), act: Activation::Positive };
    let positive = b.push(origin, ".positive", positive, out_shape)?;
    let rows = positive.iter().map(|&g| (vec![(g, 2.0)], -1.0));
    let sign: Vec<Src> = b.linear(origin, ".sign", rows, out_shape)?.iter().copied().collect();
    let a = b.push(origin, ".numerator", NodeKind::Mul { a, b: sign.clone() }, out_shape)?;
    let d = b.push(origin, ".divisor", NodeKind::Mul { a: d, b: sign }, out_shape)?;
    let (a, d) = (a.iter().copied().collect(), d.iter().copied().collect());
    b.push(origin, "", NodeKind::IntDivBy { a, b: d }, out_shape)
}

/// `c^x` for a constant `c > 0`: `e^(x ln c)`, the logarithm a weight of one linear row.
pub(super) fn pow_of_constant(
    b: &mut GraphBuilder,
    origin: &Origin,
    c: &Tensor,
    x: &SymTensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let c = broadcast(origin, &const_f32(origin, c)?, out_shape)?;
    if let Some(bad) = c.iter().find(|v| **v <= 0.0) {
        return Err(
            origin.unsupported(format!("a power of the constant base {bad} (not positive)"))
        );
    }
    let x = broadcast(origin, x, out_shape)?;
    let rows = x.iter().zip(c.iter()).map(|(&s, &c)| (vec![(s, f64::from(c).ln())], 0.0));
    let exponent = b.linear(origin, ".exponent", rows, out_shape)?;
    act(b, origin, "", &exponent, Activation::Exp)
}

/// `a^b` of two tensors that depend on the input, for `a > 0`: `e^(b ln a)`, a product
/// between two tables (a base that is not positive has no row in the logarithm's table).
pub(super) fn pow(
    b: &mut GraphBuilder,
    origin: &Origin,
    base: &SymTensor,
    exponent: &SymTensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let base = broadcast(origin, base, out_shape)?;
    let ln = act(b, origin, ".ln", &base, Activation::Ln)?;
    let product = mul(b, origin, exponent, &ln, out_shape)?;
    act(b, origin, "", &product, Activation::Exp)
}

/// `c / x` for a constant `c`: the constants as a node of biases, then a division.
pub(super) fn div_const_by(
    b: &mut GraphBuilder,
    origin: &Origin,
    c: &Tensor,
    x: &SymTensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let c = broadcast(origin, &const_f32(origin, c)?, out_shape)?;
    let rows = c.iter().map(|v| (Vec::new(), f64::from(*v)));
    let numerators = b.linear(origin, ".numerator", rows, out_shape)?;
    div(b, origin, &numerators, x, out_shape)
}

/// Softmax (or log-softmax) over `axes`: `e = exp(x - max)`, then `e / sum(e)` (or
/// `x - max - ln(sum(e))`). The exponentials lie in `(0, 1]` and the sums in
/// `[1, n]`, which is what keeps every step inside the lookup domain.
pub(super) fn softmax(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &SymTensor,
    axes: &[usize],
    log: bool,
) -> Result<SymTensor> {
    let shape = x.shape().to_vec();
    let mut reduced = shape.clone();
    for &a in axes {
        reduced[a] = 1;
    }
    let windows = reduction_windows(origin, x, axes, &reduced)?;
    let max = max_windows(b, origin, windows, &reduced, false)?;
    let max = broadcast(origin, &max, &shape)?;
    let rows = x.iter().zip(max.iter()).map(|(&s, &m)| (vec![(s, 1.0), (m, -1.0)], 0.0));
    let shifted = b.linear(origin, ".shifted", rows, &shape)?;
    let e = act(b, origin, ".exp", &shifted, Activation::Exp)?;
    let sum = reduce_sum(b, origin, &e, axes, &reduced, false, 0.0)?;
    if !log {
        let sum = broadcast(origin, &sum, &shape)?;
        return div(b, origin, &e, &sum, &shape);
    }
    let ln = act(b, origin, ".ln", &sum, Activation::Ln)?;
    let ln = broadcast(origin, &ln, &shape)?;
    let rows = shifted.iter().zip(ln.iter()).map(|(&d, &l)| (vec![(d, 1.0), (l, -1.0)], 0.0));
    b.linear(origin, "", rows, &shape)
}

/// `x / sqrt(mean(x^2, axis) + eps)`: squares, their mean, `sqrt(. + eps)` by table (an
/// `eps` of 1e-5 is below one step of the mean at most scales), a division.
pub(super) fn rms_norm(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &SymTensor,
    axis: usize,
    eps: f64,
) -> Result<SymTensor> {
    let shape = x.shape().to_vec();
    let mut reduced = shape.clone();
    *reduced.get_mut(axis).ok_or_else(|| origin.failed("normalized axis out of range"))? = 1;
    let squares = mul(b, origin, x, x, &shape)?;
    let mean = reduce_sum(b, origin, &squares, &[axis], &reduced, true, 0.0)?;
    let root = act(b, origin, ".sqrt", &mean, Activation::SqrtEps { eps: eps as f32 })?;
    div(b, origin, x, &broadcast(origin, &root, &shape)?, &shape)
}

/// A max node over windows, or a min as `-max(-x)` when `min` is set.
fn max_windows(
    b: &mut GraphBuilder,
    origin: &Origin,
    windows: Vec<Vec<Src>>,
    out_shape: &[usize],
    min: bool,
) -> Result<SymTensor> {
    if windows.iter().any(Vec::is_empty) {
        return Err(origin.unsupported("a max window lies entirely in the padding"));
    }
    if !min {
        return b.push(origin, "", NodeKind::Max { windows }, out_shape);
    }
    // Negate every distinct operand once, then take the max of the negations.
    let mut operands: Vec<Src> = windows.iter().flatten().copied().collect();
    operands.sort_unstable();
    operands.dedup();
    let flat = ArrayD::from_shape_vec(IxDyn(&[operands.len()]), operands.clone())
        .map_err(|e| origin.failed(e))?;
    let zeros = ArrayD::zeros(IxDyn(&[operands.len()]));
    let negated = scale_shift(b, origin, ".neg", &flat, -1.0, &zeros)?;
    let lookup: HashMap<Src, Src> = operands.into_iter().zip(negated.iter().copied()).collect();
    let windows =
        windows.into_iter().map(|w| w.into_iter().map(|s| lookup[&s]).collect()).collect();
    let max = b.push(origin, ".max", NodeKind::Max { windows }, out_shape)?;
    scale_shift(b, origin, "", &max, -1.0, &ArrayD::zeros(IxDyn(out_shape)))
}

/// Elementwise max or min of two symbolic tensors.
pub(super) fn max_min(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &SymTensor,
    y: &SymTensor,
    out_shape: &[usize],
    min: bool,
) -> Result<SymTensor> {
    let x = broadcast(origin, x, out_shape)?;
    let y = broadcast(origin, y, out_shape)?;
    let windows =
        x.iter().zip(y.iter()).map(|(&s, &t)| if s == t { vec![s] } else { vec![s, t] }).collect();
    max_windows(b, origin, windows, out_shape, min)
}

/// Max or min against a constant: `max(x, c) = relu(x - c) + c`, `min(x, c) = c - relu(c - x)`.
pub(super) fn clamp(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &SymTensor,
    c: &Tensor,
    out_shape: &[usize],
    min: bool,
) -> Result<SymTensor> {
    let x = broadcast(origin, x, out_shape)?;
    let c = broadcast(origin, &const_f32(origin, c)?, out_shape)?.mapv(f64::from);
    if !min && c.iter().all(|&v| v == 0.0) {
        // Plain ReLU, the way tract expresses ONNX Relu.
        return act(b, origin, "", &x, Activation::Relu);
    }
    let sign = if min { -1.0 } else { 1.0 };
    let shifted = scale_shift(b, origin, ".shift", &x, sign, &c.mapv(|v| -sign * v))?;
    let relu = act(b, origin, ".relu", &shifted, Activation::Relu)?;
    scale_shift(b, origin, "", &relu, sign, &c)
}

/// Max pooling; padded positions are left out of the windows.
pub(super) fn max_pool(
    b: &mut GraphBuilder,
    origin: &Origin,
    op: &MaxPool,
    x: &SymTensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let win = Window::new(origin, &op.pool_spec, x.shape(), out_shape)?;
    win.check_same_channels(origin, x.shape(), out_shape)?;
    let windows = kernel_positions(out_shape)
        .into_iter()
        .map(|out| {
            let (n, c, hw) = win.split(&out);
            win.taps(&hw).iter().map(|t| x[IxDyn(&win.input_index(n, c, &t.input))]).collect()
        })
        .collect();
    max_windows(b, origin, windows, out_shape, false)
}

/// Max or min over `axes`.
pub(super) fn reduce_max(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &SymTensor,
    axes: &[usize],
    out_shape: &[usize],
    min: bool,
) -> Result<SymTensor> {
    let windows = reduction_windows(origin, x, axes, out_shape)?;
    max_windows(b, origin, windows, out_shape, min)
}

/// PReLU with a constant slope: `(1 - a) * relu(x) + a * x`.
pub(super) fn prelu(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &SymTensor,
    slope: &Tensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let x = broadcast(origin, x, out_shape)?;
    let a = broadcast(origin, &const_f32(origin, slope)?, out_shape)?;
    let relu = act(b, origin, ".relu", &x, Activation::Relu)?;
    let rows = relu.iter().zip(x.iter()).zip(a.iter()).map(|((&r, &s), &a)| {
        let a = f64::from(a);
        (vec![(r, 1.0 - a), (s, a)], 0.0)
    });
    b.linear(origin, "", rows, out_shape)
}
