//! Ops that become [`NodeKind::Linear`] rows: contractions with constants, convolution,
//! sum pooling, sums over axes, and affine elementwise ops.
//!
//! [`NodeKind::Linear`]: crate::model::graph::NodeKind::Linear

use tract_onnx::prelude::tract_ndarray::{ArrayD, IxDyn};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, SumPool};
use tract_onnx::tract_core::ops::einsum::EinSum;

use super::builder::{broadcast, const_f32, GraphBuilder, Origin, SymTensor};
use super::plan::BinKind;
use super::window::{kernel_positions, Window};
use crate::error::Result;
use crate::model::graph::{NodeKind, Src};

/// One output row: its terms and bias.
type Row = (Vec<(Src, f64)>, f64);

/// `EinSum` of the symbolic operand `x` (input number `sym`) with the constant `w`.
pub(super) fn einsum(
    b: &mut GraphBuilder,
    origin: &Origin,
    op: &EinSum,
    sym: usize,
    x: &SymTensor,
    w: &Tensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let w = const_f32(origin, w)?;
    let axes = EinsumAxes::new(origin, op, sym, x.shape(), w.shape(), out_shape)?;
    let summed = kernel_positions(&axes.summed_sizes());
    let mut rows = Vec::new();
    for out in kernel_positions(out_shape) {
        let mut terms = Vec::with_capacity(summed.len());
        for s in &summed {
            let (ix, iw) = axes.operand_indices(&out, s, x.ndim(), w.ndim());
            terms.push((x[IxDyn(&ix)], f64::from(w[IxDyn(&iw)])));
        }
        rows.push((terms, 0.0));
    }
    b.linear(origin, "", rows, out_shape)
}

/// `EinSum` of two symbolic operands: each output a sum of products, accumulated in the
/// circuit one product a row before one rescale (an elementwise product when nothing is
/// summed).
pub(super) fn einsum_products(
    b: &mut GraphBuilder,
    origin: &Origin,
    op: &EinSum,
    x: &SymTensor,
    y: &SymTensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let axes = EinsumAxes::new(origin, op, 0, x.shape(), y.shape(), out_shape)?;
    let summed = kernel_positions(&axes.summed_sizes());
    let outputs = kernel_positions(out_shape);
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for out in &outputs {
        for s in &summed {
            let (ix, iy) = axes.operand_indices(out, s, x.ndim(), y.ndim());
            left.push(x[IxDyn(&ix)]);
            right.push(y[IxDyn(&iy)]);
        }
    }
    let kind = match u32::try_from(summed.len()) {
        Ok(1) => NodeKind::Mul { a: left, b: right },
        Ok(terms) if terms > 1 => NodeKind::Dot { a: left, b: right, terms },
        _ => return Err(origin.unsupported(format!("a contraction of {} terms", summed.len()))),
    };
    b.push(origin, "", kind, out_shape)
}

/// One einsum axis: its size and where it sits in the symbolic operand, the constant operand
/// and the output.
struct EinsumAxis {
    size: usize,
    /// Position and size in the symbolic operand.
    in_x: Option<(usize, usize)>,
    /// Position and size in the constant operand.
    in_w: Option<(usize, usize)>,
    out: Option<usize>,
}

/// The axes of an einsum, resolved against concrete shapes.
struct EinsumAxes(Vec<EinsumAxis>);

impl EinsumAxes {
    fn new(
        origin: &Origin,
        op: &EinSum,
        sym: usize,
        x_shape: &[usize],
        w_shape: &[usize],
        out_shape: &[usize],
    ) -> Result<Self> {
        let mut axes = Vec::new();
        for axis in op.axes.iter_all_axes() {
            let pos = |slot: usize| axis.inputs.get(slot).and_then(|p| p.first().copied());
            let in_x = pos(sym).map(|p| (p, x_shape[p]));
            let in_w = pos(1 - sym).map(|p| (p, w_shape[p]));
            let out = axis.outputs.first().and_then(|p| p.first().copied());
            let dims = [in_x.map(|p| p.1), in_w.map(|p| p.1)];
            let size = match out {
                Some(p) => out_shape[p],
                None => dims.iter().flatten().copied().max().unwrap_or(1),
            };
            // tract broadcasts size-1 operand axes; anything else is a malformed model.
            if dims.iter().flatten().any(|&d| d != size && d != 1) {
                return Err(origin.failed(format!(
                    "EinSum {}: inconsistent size of axis {}",
                    op.axes, axis.repr
                )));
            }
            axes.push(EinsumAxis { size, in_x, in_w, out });
        }
        Ok(EinsumAxes(axes))
    }

    /// Sizes of the axes summed over (absent from the output).
    fn summed_sizes(&self) -> Vec<usize> {
        self.0.iter().filter(|a| a.out.is_none()).map(|a| a.size).collect()
    }

    /// Operand indices for output index `out` and summed index `s`.
    fn operand_indices(
        &self,
        out: &[usize],
        s: &[usize],
        x_rank: usize,
        w_rank: usize,
    ) -> (Vec<usize>, Vec<usize>) {
        let (mut ix, mut iw) = (vec![0; x_rank], vec![0; w_rank]);
        let mut next_summed = 0;
        for axis in &self.0 {
            let coord = match axis.out {
                Some(p) => out[p],
                None => {
                    next_summed += 1;
                    s[next_summed - 1]
                }
            };
            // A size-1 operand axis is broadcast: always coordinate 0 (the default).
            if let Some((p, d)) = axis.in_x.filter(|&(_, d)| d > 1) {
                debug_assert_eq!(d, axis.size);
                ix[p] = coord;
            }
            if let Some((p, d)) = axis.in_w.filter(|&(_, d)| d > 1) {
                debug_assert_eq!(d, axis.size);
                iw[p] = coord;
            }
        }
        (ix, iw)
    }
}

/// Convolution of `x` with a constant kernel and bias (any data/kernel format, groups,
/// strides, dilations and padding).
pub(super) fn conv(
    b: &mut GraphBuilder,
    origin: &Origin,
    op: &Conv,
    x: &SymTensor,
    kernel: &Tensor,
    bias: &Tensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let win = Window::new(origin, &op.pool_spec, x.shape(), out_shape)?;
    let w = grouped_kernel(origin, op, kernel)?;
    let (co_g, ci_g) = (w.shape()[1], w.shape()[2]);
    let consistent = w.shape()[0] == op.group
        && op.group * co_g == win.channels(out_shape)
        && op.group * ci_g == win.channels(x.shape())
        && w.shape()[3..] == op.pool_spec.kernel_shape[..];
    if !consistent {
        return Err(origin.failed(format!(
            "kernel {:?} does not fit {:?} -> {out_shape:?} in {} groups",
            kernel.shape(),
            x.shape(),
            op.group
        )));
    }
    let bias = conv_bias(origin, bias, win.channels(out_shape))?;
    let mut rows = Vec::new();
    for out in kernel_positions(out_shape) {
        let (n, oc, hw) = win.split(&out);
        let (g, og) = (oc / co_g, oc % co_g);
        let taps = win.taps(&hw);
        let mut terms = Vec::with_capacity(ci_g * taps.len());
        for icg in 0..ci_g {
            for tap in &taps {
                let mut kidx = vec![g, og, icg];
                kidx.extend_from_slice(&tap.kernel);
                let src = x[IxDyn(&win.input_index(n, g * ci_g + icg, &tap.input))];
                terms.push((src, f64::from(w[IxDyn(&kidx)])));
            }
        }
        rows.push((terms, bias[oc]));
    }
    b.linear(origin, "", rows, out_shape)
}

/// One bias per output channel from tract's scalar or per-channel bias.
fn conv_bias(origin: &Origin, bias: &Tensor, channels: usize) -> Result<Vec<f64>> {
    let values: Vec<f64> = const_f32(origin, bias)?.iter().map(|&b| f64::from(b)).collect();
    match values.len() {
        1 => Ok(vec![values[0]; channels]),
        n if n == channels => Ok(values),
        n => Err(origin.failed(format!("{n} biases for {channels} output channels"))),
    }
}

/// The kernel as `[group, out/group, in/group, spatial...]`, whatever tract's kernel format.
fn grouped_kernel(origin: &Origin, op: &Conv, kernel: &Tensor) -> Result<ArrayD<f32>> {
    let mut k = kernel.clone();
    for axis_op in op.kernel_fmt.kernel_as_group_o_i_h_w_ops(kernel.shape(), op.group) {
        axis_op.change_tensor(&mut k, false).map_err(|e| origin.failed(e))?;
    }
    let w = const_f32(origin, &k)?;
    if w.ndim() != op.pool_spec.rank() + 3 {
        return Err(origin.failed(format!("unexpected grouped kernel shape {:?}", w.shape())));
    }
    Ok(w)
}

/// Sum pooling, or average pooling when `normalize` (padding counted or not).
pub(super) fn sum_pool(
    b: &mut GraphBuilder,
    origin: &Origin,
    op: &SumPool,
    x: &SymTensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let win = Window::new(origin, &op.pool_spec, x.shape(), out_shape)?;
    win.check_same_channels(origin, x.shape(), out_shape)?;
    let mut rows = Vec::new();
    for out in kernel_positions(out_shape) {
        let (n, c, hw) = win.split(&out);
        let taps = win.taps(&hw);
        let count = if op.count_include_pad { win.padded_taps(&hw) } else { taps.len() };
        let weight = if op.normalize { 1.0 / count.max(1) as f64 } else { 1.0 };
        let terms =
            taps.iter().map(|t| (x[IxDyn(&win.input_index(n, c, &t.input))], weight)).collect();
        rows.push((terms, 0.0));
    }
    b.linear(origin, "", rows, out_shape)
}

/// The elements of `x` reduced into each output element (reduced axes kept with size 1).
pub(super) fn reduction_windows(
    origin: &Origin,
    x: &SymTensor,
    axes: &[usize],
    out_shape: &[usize],
) -> Result<Vec<Vec<Src>>> {
    let fits = x.ndim() == out_shape.len()
        && (0..x.ndim()).all(|a| out_shape[a] == if axes.contains(&a) { 1 } else { x.shape()[a] });
    if !fits {
        return Err(origin
            .failed(format!("reducing {:?} over {axes:?} cannot give {out_shape:?}", x.shape())));
    }
    let reduced: Vec<usize> = axes.iter().map(|&a| x.shape()[a]).collect();
    let inner = kernel_positions(&reduced);
    let window = |out: Vec<usize>| {
        inner
            .iter()
            .map(|r| {
                let mut idx = out.clone();
                for (&a, &c) in axes.iter().zip(r) {
                    idx[a] = c;
                }
                x[IxDyn(&idx)]
            })
            .collect()
    };
    Ok(kernel_positions(out_shape).into_iter().map(window).collect())
}

/// Sum (or mean, plus `offset`) over `axes`.
pub(super) fn reduce_sum(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &SymTensor,
    axes: &[usize],
    out_shape: &[usize],
    mean: bool,
    offset: f64,
) -> Result<SymTensor> {
    let rows = reduction_windows(origin, x, axes, out_shape)?.into_iter().map(|w| {
        let weight = if mean { 1.0 / w.len() as f64 } else { 1.0 };
        (w.into_iter().map(|s| (s, weight)).collect(), offset)
    });
    b.linear(origin, "", rows, out_shape)
}

/// `x op c` (or `c op x` when `x_first` is false) for Add, Sub, SubF, Mul and Div: y = s*x + t.
pub(super) fn affine(
    b: &mut GraphBuilder,
    origin: &Origin,
    kind: BinKind,
    x_first: bool,
    x: &SymTensor,
    c: &Tensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let x = broadcast(origin, x, out_shape)?;
    let c = broadcast(origin, &const_f32(origin, c)?, out_shape)?;
    let mut rows: Vec<Row> = Vec::with_capacity(x.len());
    for (&src, &c) in x.iter().zip(c.iter()) {
        let c = f64::from(c);
        // SubF(a, b) = b - a: flip the operand order and treat it as Sub.
        let (kind, x_first) =
            if kind == BinKind::SubF { (BinKind::Sub, !x_first) } else { (kind, x_first) };
        let (scale, offset) = match (kind, x_first) {
            (BinKind::Add, _) => (1.0, c),
            (BinKind::Sub, true) => (1.0, -c),
            (BinKind::Sub, false) => (-1.0, c),
            (BinKind::Mul, _) => (c, 0.0),
            (BinKind::ShiftLeft, true) => (2f64.powf(c), 0.0),
            (BinKind::Div, true) if c != 0.0 => (1.0 / c, 0.0),
            (BinKind::Div, true) => return Err(origin.unsupported("division by a zero constant")),
            _ => return Err(origin.failed(format!("{kind:?} is not affine"))),
        };
        rows.push((vec![(src, scale)], offset));
    }
    b.linear(origin, "", rows, out_shape)
}

/// `a ± b` of two symbolic tensors (SubF computes b - a).
pub(super) fn add_sub(
    b: &mut GraphBuilder,
    origin: &Origin,
    kind: BinKind,
    x: &SymTensor,
    y: &SymTensor,
    out_shape: &[usize],
) -> Result<SymTensor> {
    let (wx, wy) = match kind {
        BinKind::Add => (1.0, 1.0),
        BinKind::Sub => (1.0, -1.0),
        BinKind::SubF => (-1.0, 1.0),
        _ => return Err(origin.failed(format!("{kind:?} is not a sum"))),
    };
    let x = broadcast(origin, x, out_shape)?;
    let y = broadcast(origin, y, out_shape)?;
    let rows = x.iter().zip(y.iter()).map(|(&s, &t)| (vec![(s, wx), (t, wy)], 0.0));
    b.linear(origin, "", rows, out_shape)
}

/// `scale * x + offset` elementwise (used to build non-linear lowerings).
pub(super) fn scale_shift(
    b: &mut GraphBuilder,
    origin: &Origin,
    suffix: &str,
    x: &SymTensor,
    scale: f64,
    offset: &ArrayD<f64>,
) -> Result<SymTensor> {
    let rows = x.iter().zip(offset.iter()).map(|(&s, &o)| (vec![(s, scale)], o));
    b.linear(origin, suffix, rows, x.shape())
}
