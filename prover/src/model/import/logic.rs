//! Comparisons, boolean logic, input-dependent selection and ArgMax.
//!
//! A boolean is the number 0 or 1, exact at any scale. A comparison is one table lookup of a
//! difference (`Positive` for the strict ones, `NonNegative` for the others); logic is
//! polynomial in 0/1 values (`and = ab`, `or = a + b - ab`, `xor = a + b - 2ab`,
//! `not = 1 - a`); `Where(c, t, f) = f + c (t - f)`. Operands may be constants: a product
//! with a constant is a linear term, so only products of two input-dependent values cost a
//! multiplication.

use std::collections::HashMap;

use tract_onnx::prelude::tract_ndarray::{ArrayD, Axis, IxDyn};
use tract_onnx::prelude::Tensor;
use tract_onnx::tract_core::ops::array::OneHot;

use super::builder::{broadcast, const_f32, GraphBuilder, Origin, SymTensor, Wire};
use super::plan::{CmpKind, LogicKind};
use crate::error::Result;
use crate::model::graph::{Activation, NodeKind, Src};

/// One element of an operand that may be constant.
#[derive(Clone, Copy, Debug)]
pub(super) enum Elem {
    /// A value of the graph.
    Src(Src),
    /// A constant.
    Const(f64),
}

/// A linear combination of graph values plus a constant.
pub(super) type Row = (Vec<(Src, f64)>, f64);

impl Elem {
    /// `w * self` as linear terms and a constant.
    pub(super) fn scaled(self, w: f64) -> Row {
        match self {
            Elem::Src(s) => (vec![(s, w)], 0.0),
            Elem::Const(c) => (Vec::new(), w * c),
        }
    }
}

/// Sums rows.
pub(super) fn sum(rows: impl IntoIterator<Item = Row>) -> Row {
    rows.into_iter().fold((Vec::new(), 0.0), |(mut terms, c), (t, d)| {
        terms.extend(t);
        (terms, c + d)
    })
}

/// An operand (input-dependent or constant) in its own shape.
pub(super) fn own_operand(origin: &Origin, w: Option<&Wire>) -> Result<ArrayD<Elem>> {
    let shape = match w {
        Some(Wire::Sym(t)) => t.shape().to_vec(),
        Some(Wire::Const(t)) => t.shape().to_vec(),
        _ => return Err(origin.failed("expected a tensor operand")),
    };
    operand(origin, w, &shape)
}

/// An operand (input-dependent or constant) broadcast to `shape`.
pub(super) fn operand(origin: &Origin, w: Option<&Wire>, shape: &[usize]) -> Result<ArrayD<Elem>> {
    match w {
        Some(Wire::Sym(t)) => Ok(broadcast(origin, t, shape)?.mapv(Elem::Src)),
        Some(Wire::Const(c)) => {
            let c = const_f32(origin, c)?;
            Ok(broadcast(origin, &c, shape)?.mapv(|v| Elem::Const(f64::from(v))))
        }
        _ => Err(origin.failed("expected a tensor operand")),
    }
}

/// The elementwise products `a_j c_j` as linear rows: the products of two graph values go
/// through one `Mul` node, a product with a constant is a term.
pub(super) fn products(
    b: &mut GraphBuilder,
    origin: &Origin,
    suffix: &str,
    x: &[Elem],
    y: &[Elem],
) -> Result<Vec<Row>> {
    let (a, c): (Vec<Src>, Vec<Src>) = x
        .iter()
        .zip(y)
        .filter_map(|(p, q)| match (*p, *q) {
            (Elem::Src(s), Elem::Src(t)) => Some((s, t)),
            _ => None,
        })
        .unzip();
    let mut product = if a.is_empty() {
        Vec::new()
    } else {
        let len = a.len();
        b.push(origin, suffix, NodeKind::Mul { a, b: c }, &[len])?.into_iter().collect()
    }
    .into_iter();
    x.iter()
        .zip(y)
        .map(|(p, q)| match (*p, *q) {
            (Elem::Src(_), Elem::Src(_)) => {
                let s = product.next().ok_or_else(|| origin.failed("a product went missing"))?;
                Ok(Elem::Src(s).scaled(1.0))
            }
            (Elem::Src(s), Elem::Const(v)) | (Elem::Const(v), Elem::Src(s)) => {
                Ok(Elem::Src(s).scaled(v))
            }
            (Elem::Const(u), Elem::Const(v)) => Ok((Vec::new(), u * v)),
        })
        .collect()
}

/// `k_a a + k_b b + k_ab a b + k` elementwise.
fn bilinear(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &ArrayD<Elem>,
    y: &ArrayD<Elem>,
    (k_a, k_b, k_ab, k): (f64, f64, f64, f64),
    shape: &[usize],
) -> Result<SymTensor> {
    let (xs, ys): (Vec<Elem>, Vec<Elem>) =
        (x.iter().copied().collect(), y.iter().copied().collect());
    let cross = if k_ab == 0.0 {
        vec![(Vec::new(), 0.0); xs.len()]
    } else {
        products(b, origin, ".product", &xs, &ys)?
    };
    let rows = xs.iter().zip(&ys).zip(cross).map(|((a, c), (terms, v))| {
        let cross = (terms.into_iter().map(|(s, w)| (s, w * k_ab)).collect(), v * k_ab);
        sum([a.scaled(k_a), c.scaled(k_b), cross, (Vec::new(), k)])
    });
    b.linear(origin, "", rows, shape)
}

/// `a op b` as 0/1 values: one lookup of a difference (two for `==` and `!=`).
pub(super) fn compare(
    b: &mut GraphBuilder,
    origin: &Origin,
    kind: CmpKind,
    x: &ArrayD<Elem>,
    y: &ArrayD<Elem>,
    shape: &[usize],
) -> Result<SymTensor> {
    // `sign (a - b)` through the step function `act`.
    let step = |b: &mut GraphBuilder, sign: f64, act: Activation| -> Result<SymTensor> {
        let rows = x.iter().zip(y.iter()).map(|(a, c)| sum([a.scaled(sign), c.scaled(-sign)]));
        let d = b.linear(origin, ".diff", rows, shape)?;
        let input = d.iter().copied().collect();
        b.push(origin, "", NodeKind::Act { input, act }, shape)
    };
    match kind {
        CmpKind::Lt => step(b, -1.0, Activation::Positive),
        CmpKind::Gt => step(b, 1.0, Activation::Positive),
        CmpKind::Le => step(b, -1.0, Activation::NonNegative),
        CmpKind::Ge => step(b, 1.0, Activation::NonNegative),
        CmpKind::Eq | CmpKind::Ne => {
            // a == b iff a - b >= 0 and b - a >= 0: the two steps sum to 2 exactly then.
            let ge = step(b, 1.0, Activation::NonNegative)?;
            let le = step(b, -1.0, Activation::NonNegative)?;
            let (w, k) = if kind == CmpKind::Eq { (1.0, -1.0) } else { (-1.0, 2.0) };
            let rows = ge.iter().zip(le.iter()).map(|(&g, &l)| (vec![(g, w), (l, w)], k));
            b.linear(origin, ".eq", rows, shape)
        }
    }
}

/// Boolean logic on 0/1 operands (`y` is unused for `Not`).
pub(super) fn logic(
    b: &mut GraphBuilder,
    origin: &Origin,
    kind: LogicKind,
    x: &ArrayD<Elem>,
    y: Option<&ArrayD<Elem>>,
    shape: &[usize],
) -> Result<SymTensor> {
    let coefficients = match kind {
        LogicKind::Not => {
            let rows = x.iter().map(|a| sum([a.scaled(-1.0), (Vec::new(), 1.0)]));
            return b.linear(origin, "", rows, shape);
        }
        LogicKind::And => (0.0, 0.0, 1.0, 0.0),
        LogicKind::Or => (1.0, 1.0, -1.0, 0.0),
        LogicKind::Xor => (1.0, 1.0, -2.0, 0.0),
    };
    let y = y.ok_or_else(|| origin.failed("a binary logic op needs two operands"))?;
    bilinear(b, origin, x, y, coefficients, shape)
}

/// `u - v` for each pair: a constant where both are, else a row of one linear node.
pub(super) fn differences(
    b: &mut GraphBuilder,
    origin: &Origin,
    suffix: &str,
    pairs: impl IntoIterator<Item = (Elem, Elem)>,
) -> Result<Vec<Elem>> {
    let mut gaps: Vec<Elem> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    for (u, v) in pairs {
        match (u, v) {
            (Elem::Const(u), Elem::Const(v)) => gaps.push(Elem::Const(u - v)),
            _ => {
                gaps.push(Elem::Src(Src::Zero)); // replaced by the node's output
                rows.push(sum([u.scaled(1.0), v.scaled(-1.0)]));
            }
        }
    }
    if !rows.is_empty() {
        let len = rows.len();
        let node = b.linear(origin, suffix, rows, &[len])?;
        let mut outs = node.iter().copied();
        for g in gaps.iter_mut().filter(|g| matches!(g, Elem::Src(_))) {
            *g = Elem::Src(outs.next().ok_or_else(|| origin.failed("a gap went missing"))?);
        }
    }
    Ok(gaps)
}

/// `Where(c, t, f) = f + c (t - f)` for a 0/1 condition that depends on the input.
pub(super) fn select(
    b: &mut GraphBuilder,
    origin: &Origin,
    c: &ArrayD<Elem>,
    t: &ArrayD<Elem>,
    f: &ArrayD<Elem>,
    shape: &[usize],
) -> Result<SymTensor> {
    let constant = |a: &ArrayD<Elem>| a.iter().all(|e| matches!(e, Elem::Const(_)));
    let gap: ArrayD<Elem> = if constant(t) && constant(f) {
        ArrayD::from_shape_fn(IxDyn(shape), |i| match (t[&i], f[&i]) {
            (Elem::Const(u), Elem::Const(v)) => Elem::Const(u - v),
            _ => Elem::Const(0.0),
        })
    } else {
        let rows = t.iter().zip(f.iter()).map(|(u, v)| sum([u.scaled(1.0), v.scaled(-1.0)]));
        b.linear(origin, ".gap", rows, shape)?.mapv(Elem::Src)
    };
    let (c, gap): (Vec<Elem>, Vec<Elem>) =
        (c.iter().copied().collect(), gap.iter().copied().collect());
    let chosen = products(b, origin, ".product", &c, &gap)?;
    let rows = chosen.into_iter().zip(f.iter()).map(|(p, v)| sum([p, v.scaled(1.0)]));
    b.linear(origin, "", rows, shape)
}

/// The index of the first (or, with `last`, the last) maximum of `x` along `axis`, which
/// the output keeps with length 1.
///
/// With `M_i` the running maximum of the first `i + 1` elements and `m` the maximum, the
/// first index of `m` is the number of prefixes whose maximum is below it:
/// `sum_i [m - M_i > 0]`. The running maxima are one chain of two-element maxima, so this
/// costs about three lookups per element. The last index counts suffixes the same way.
pub(super) fn arg_max(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &SymTensor,
    axis: usize,
    last: bool,
    shape: &[usize],
) -> Result<SymTensor> {
    let n = *x.shape().get(axis).ok_or_else(|| origin.failed("ArgMax axis out of range"))?;
    if n == 0 {
        return Err(origin.unsupported("ArgMax over an empty axis"));
    }
    let lane = |i: usize| x.index_axis(Axis(axis), if last { n - 1 - i } else { i }).to_owned();
    let lane_shape = lane(0).shape().to_vec();
    let mut running = vec![lane(0)];
    for i in 1..n {
        let (prev, next) = (&running[i - 1], lane(i));
        let windows = prev.iter().zip(next.iter()).map(|(&m, &v)| vec![m, v]).collect();
        let max = b.push(origin, &format!(".max{i}"), NodeKind::Max { windows }, &lane_shape)?;
        running.push(max);
    }
    let max = &running[n - 1];
    let below: Vec<Vec<Src>> = running[..n - 1]
        .iter()
        .enumerate()
        .map(|(i, m_i)| {
            let rows = max.iter().zip(m_i.iter()).map(|(&m, &p)| (vec![(m, 1.0), (p, -1.0)], 0.0));
            let gap = b.linear(origin, &format!(".gap{i}"), rows, &lane_shape)?;
            let input = gap.iter().copied().collect();
            let act = Activation::Positive;
            let below =
                b.push(origin, &format!(".below{i}"), NodeKind::Act { input, act }, &lane_shape)?;
            Ok(below.iter().copied().collect())
        })
        .collect::<Result<_>>()?;
    let (sign, offset) = if last { (-1.0, (n - 1) as f64) } else { (1.0, 0.0) };
    let rows = (0..lane_shape.iter().product::<usize>())
        .map(|j| (below.iter().map(|t| (t[j], sign)).collect(), offset));
    b.linear(origin, "", rows, shape)
}

/// The entries an index can pick, `lo..=hi` within `0..k`: all of them, unless the circuit
/// bounds the index (see [`super::bounds`]). An index proven to lie wholly above or below
/// the axis picks the nearest entry, as an unbounded one out of range does.
fn reachable(b: &GraphBuilder, idx: Src, k: usize) -> (usize, usize) {
    let last = k as i64 - 1;
    match b.range(idx) {
        Some((lo, hi)) => (lo.clamp(0, last) as usize, hi.clamp(0, last) as usize),
        None => (0, k - 1),
    }
}

/// What one index selects from: entries `lo..=hi`, and `[idx >= t]` for `t` in `lo+1..=hi`.
pub(super) struct IndexSteps {
    pub lo: usize,
    pub hi: usize,
    pub steps: Vec<Src>,
}

impl IndexSteps {
    /// `[idx >= t]` as a row: 1 at or below `lo`, 0 above `hi`, a step between.
    pub fn at_least(&self, t: usize) -> Row {
        if t <= self.lo {
            (Vec::new(), 1.0)
        } else if t > self.hi {
            (Vec::new(), 0.0)
        } else {
            (vec![(self.steps[t - self.lo - 1], 1.0)], 0.0)
        }
    }

    /// The entry picked, `lo + sum_t [idx >= t]`, as a row: the index itself where it lies in
    /// `0..k`, the nearest entry where it does not.
    pub fn clamped(&self) -> Row {
        (self.steps.iter().map(|&g| (g, 1.0)).collect(), self.lo as f64)
    }
}

/// ONNX counts a negative index from the end of its axis: `idx + k [idx < 0]`, with
/// `[idx < 0] = 1 - [idx >= 0]` one lookup, for each index the circuit does not prove
/// non-negative (the bounded indices of a tree traversal pay nothing).
fn wrap_negative(
    b: &mut GraphBuilder,
    origin: &Origin,
    indices: &[Src],
    k: usize,
) -> Result<Vec<Src>> {
    let signed = |b: &GraphBuilder, i: Src| b.range(i).is_none_or(|(lo, _)| lo < 0);
    let mut negative: Vec<Src> = indices.iter().copied().filter(|&i| signed(b, i)).collect();
    negative.sort_unstable();
    negative.dedup();
    if negative.is_empty() {
        return Ok(indices.to_vec());
    }
    remember_steps(b, origin, negative.iter().map(|&i| (i, 0)).collect())?;
    let k = k as f64;
    let rows = negative
        .iter()
        .map(|&i| {
            let g = b.step((i, 0)).ok_or_else(|| origin.failed("a sign went missing"))?;
            Ok((vec![(i, 1.0), (g, -k)], k))
        })
        .collect::<Result<Vec<Row>>>()?;
    let wrapped = b.linear(origin, ".wrapped", rows, &[negative.len()])?;
    let of: HashMap<Src, Src> = negative.into_iter().zip(wrapped.iter().copied()).collect();
    Ok(indices.iter().map(|i| of.get(i).copied().unwrap_or(*i)).collect())
}

/// Makes `g = [idx >= t]` for each key `(idx, t)` no earlier gather made, one lookup each:
/// of `idx` itself where `t = 0`, of a threshold row `idx - t` otherwise.
fn remember_steps(
    b: &mut GraphBuilder,
    origin: &Origin,
    mut keys: Vec<(Src, usize)>,
) -> Result<()> {
    keys.retain(|&key| b.step(key).is_none());
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(());
    }
    let shifted: Vec<(Src, usize)> = keys.iter().copied().filter(|&(_, t)| t > 0).collect();
    let mut thresholds = if shifted.is_empty() {
        Vec::new()
    } else {
        let rows = shifted.iter().map(|&(i, t)| (vec![(i, 1.0)], -(t as f64)));
        b.linear(origin, ".thresholds", rows, &[shifted.len()])?.iter().copied().collect()
    }
    .into_iter();
    let input = keys
        .iter()
        .map(|&(i, t)| {
            if t == 0 {
                Ok(i)
            } else {
                thresholds.next().ok_or_else(|| origin.failed("a threshold went missing"))
            }
        })
        .collect::<Result<Vec<Src>>>()?;
    let act = Activation::NonNegative;
    let steps = b.push(origin, ".steps", NodeKind::Act { input, act }, &[keys.len()])?;
    for (key, &g) in keys.into_iter().zip(steps.iter()) {
        b.remember_step(key, g);
    }
    Ok(())
}

/// The steps of each index: `g_t = [idx >= t]` for `t` in `lo+1..=hi` of its reachable
/// entries `(lo, hi)` (one lookup each; `g_t` is 1 below that and 0 above, by the bound).
/// A step an earlier gather made at the same index is reused (a tree traversal gathers the
/// feature and the threshold of each node at one index). Returns, per index, its reachable
/// entries and its steps.
pub(super) fn index_steps(
    b: &mut GraphBuilder,
    origin: &Origin,
    indices: &[Src],
    k: usize,
) -> Result<Vec<IndexSteps>> {
    for &i in indices {
        b.check_index(origin, i, k);
    }
    let indices = &wrap_negative(b, origin, indices, k)?[..];
    let reach: Vec<(usize, usize)> = indices.iter().map(|&i| reachable(b, i, k)).collect();
    let keys =
        indices.iter().zip(&reach).flat_map(|(&i, &(lo, hi))| (lo + 1..=hi).map(move |t| (i, t)));
    remember_steps(b, origin, keys.collect())?;
    indices
        .iter()
        .zip(reach)
        .map(|(&i, (lo, hi))| {
            let steps = (lo + 1..=hi)
                .map(|t| b.step((i, t)).ok_or_else(|| origin.failed("a step went missing")))
                .collect::<Result<_>>()?;
            Ok(IndexSteps { lo, hi, steps })
        })
        .collect()
}

/// `Gather(data, idx)` along `axis` for constant `data` and integer indices that depend on
/// the input: with `g_t = [idx >= t]` (one lookup each), element `t` of the gathered axis is
/// `data_lo + sum_t (data_t - data_(t-1)) g_t` over the entries `lo..=hi` the index can
/// reach (all of them unless the circuit bounds it). An index in `0..k` picks exactly its
/// entry, a negative one in `-k..0` counts from the end as ONNX specifies, and one outside
/// `-k..k` (onnxruntime: an error) stops witness generation (see [`IndexCheck`]).
///
/// [`IndexCheck`]: crate::model::graph::IndexCheck
pub(super) fn gather_by_index(
    b: &mut GraphBuilder,
    origin: &Origin,
    data: &ArrayD<f32>,
    idx: &SymTensor,
    axis: usize,
    shape: &[usize],
) -> Result<SymTensor> {
    let k = *data.shape().get(axis).ok_or_else(|| origin.failed("Gather axis out of range"))?;
    if k == 0 {
        return Err(origin.unsupported("Gather from an empty axis"));
    }
    let indices: Vec<Src> = idx.iter().copied().collect();
    let steps = index_steps(b, origin, &indices, k)?;
    let (pre, post) = (&data.shape()[..axis], &data.shape()[axis + 1..]);
    let (n_pre, n_post) = (pre.iter().product::<usize>(), post.iter().product::<usize>());
    let flat: Vec<f64> = data.iter().map(|&v| f64::from(v)).collect();
    let entry = |p: usize, j: usize, q: usize| flat[(p * k + j) * n_post + q];
    let mut rows = Vec::with_capacity(n_pre * indices.len() * n_post);
    for p in 0..n_pre {
        for IndexSteps { lo, steps: g, .. } in &steps {
            for q in 0..n_post {
                let terms = g
                    .iter()
                    .zip(lo + 1..)
                    .map(|(&g, j)| (g, entry(p, j, q) - entry(p, j - 1, q)))
                    .collect();
                rows.push((terms, entry(p, *lo, q)));
            }
        }
    }
    b.linear(origin, "", rows, shape)
}

/// `OneHot(idx)`: row `idx` of the `[dim, dim]` table with `on` on its diagonal and `off`
/// elsewhere, gathered as [`gather_by_index`] does (`dim - 1` steps per index at most, fewer
/// where the circuit bounds the index), the new axis then moved to `op.axis`. A negative
/// index counts from the end, as there; one outside `[-dim, dim)` (ONNX: all `off`) stops
/// witness generation, as for a gather.
pub(super) fn one_hot(
    b: &mut GraphBuilder,
    origin: &Origin,
    op: &OneHot,
    idx: &SymTensor,
) -> Result<SymTensor> {
    let value = |t: &Tensor| {
        t.cast_to_scalar::<f32>().map_err(|e| origin.failed(format!("OneHot value: {e}")))
    };
    let (off, on) = (value(&op.off)?, value(&op.on)?);
    let dim = op.dim;
    let table =
        ArrayD::from_shape_fn(IxDyn(&[dim, dim]), |ix| if ix[0] == ix[1] { on } else { off });
    let rank = idx.ndim();
    if op.axis > rank {
        return Err(origin.failed("OneHot axis out of range"));
    }
    let mut last: Vec<usize> = idx.shape().to_vec();
    last.push(dim);
    let rows = gather_by_index(b, origin, &table, idx, 0, &last)?;
    // The class axis is last; ONNX puts it at `axis`.
    let perm: Vec<usize> = (0..=rank)
        .map(|i| match i.cmp(&op.axis) {
            std::cmp::Ordering::Less => i,
            std::cmp::Ordering::Equal => rank,
            std::cmp::Ordering::Greater => i - 1,
        })
        .collect();
    Ok(rows.permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned())
}

/// `GatherElements(data, idx)` along `axis` with indices that depend on the input (data
/// constant or not): as in [`gather_by_index`], each output is
/// `data_lo + sum_t g_t (data_t - data_(t-1))` over the reachable part of its line of
/// `data`, `g_t = [idx >= t]`; a difference of input-dependent data times `g_t` is one
/// product.
pub(super) fn gather_elements(
    b: &mut GraphBuilder,
    origin: &Origin,
    data: &ArrayD<Elem>,
    idx: &SymTensor,
    axis: usize,
) -> Result<SymTensor> {
    let k = *data.shape().get(axis).ok_or_else(|| origin.failed("axis out of range"))?;
    if k == 0 || idx.ndim() != data.ndim() {
        return Err(origin.unsupported("GatherElements needs operands of one rank, data not empty"));
    }
    let shape = idx.shape().to_vec();
    let positions = super::window::kernel_positions(&shape);
    // The data line of each output position, checked to lie inside `data`.
    let line = |pos: &[usize], j: usize| -> Result<Elem> {
        let mut at = pos.to_vec();
        at[axis] = j;
        data.get(IxDyn(&at)).copied().ok_or_else(|| origin.unsupported("indices outside data"))
    };
    let indices: Vec<Src> = idx.iter().copied().collect();
    let steps = index_steps(b, origin, &indices, k)?;
    // Differences of consecutive reachable entries, as operands of `g_t`.
    let mut pairs = Vec::new();
    for (pos, IndexSteps { lo, hi, .. }) in positions.iter().zip(&steps) {
        for j in lo + 1..=*hi {
            pairs.push((line(pos, j)?, line(pos, j - 1)?));
        }
    }
    let gaps = differences(b, origin, ".gaps", pairs)?;
    let g: Vec<Elem> = steps.iter().flat_map(|s| s.steps.iter().copied().map(Elem::Src)).collect();
    let mut chosen = products(b, origin, ".product", &g, &gaps)?.into_iter();
    let mut rows = Vec::with_capacity(positions.len());
    for (pos, IndexSteps { lo, steps: g, .. }) in positions.iter().zip(&steps) {
        let terms: Vec<Row> = chosen.by_ref().take(g.len()).collect();
        rows.push(sum(std::iter::once(line(pos, *lo)?.scaled(1.0)).chain(terms)));
    }
    b.linear(origin, "", rows, &shape)
}

/// The `k` largest values along `axis` (or, with `smallest`, the `k` smallest), sorted as
/// onnxruntime returns them, and with `indices` the input position of each: `k` bubble
/// passes of compare-exchanges across every lane at once.
///
/// Values alone: a two-element maximum (one lookup) and the minimum as `a + b - max` (a
/// linear row). With indices: `g = [c > a]` (one lookup), then `a + g (c - a)` in front and
/// `c - g (c - a)` behind for the value and the index alike (one product each, free where
/// the indices are still constants). The exchange is strict, so the sort is stable: equal
/// values keep the earlier index in front, as ONNX specifies.
pub(super) fn top_k(
    b: &mut GraphBuilder,
    origin: &Origin,
    x: &SymTensor,
    order: Order,
    shape: &[usize],
) -> Result<(SymTensor, Option<SymTensor>)> {
    let Order { axis, k, smallest, indices } = order;
    let n = *x.shape().get(axis).ok_or_else(|| origin.failed("TopK axis out of range"))?;
    if k > n || shape.get(axis) != Some(&k) {
        return Err(origin.unsupported(format!("TopK of {k} out of {n}")));
    }
    let x = if smallest {
        let zeros = ArrayD::zeros(IxDyn(x.shape()));
        super::linear::scale_shift(b, origin, ".neg", x, -1.0, &zeros)?
    } else {
        x.clone()
    };
    // values[j] holds position j of every lane; index[j] the input position it came from.
    let mut values: Vec<Vec<Src>> =
        (0..n).map(|j| x.index_axis(Axis(axis), j).iter().copied().collect()).collect();
    let lanes = values.first().map_or(0, Vec::len);
    let mut index: Option<Vec<Vec<Elem>>> =
        indices.then(|| (0..n).map(|j| vec![Elem::Const(j as f64); lanes]).collect());
    for pass in 0..k {
        for j in (pass + 1..n).rev() {
            // The element behind is read by the next pass only.
            let behind = pass + 1 < k;
            let tag = format!("{pass}_{j}");
            let (front, back) = match index.as_mut() {
                None => max_exchange(b, origin, &tag, &values[j - 1], &values[j], behind)?,
                Some(index) => {
                    let (a, c) = (&values[j - 1], &values[j]);
                    let (ia, ic) = (&index[j - 1], &index[j]);
                    let (hi, lo, i_hi, i_lo) =
                        swap_exchange(b, origin, &tag, (a, c), (ia, ic), behind)?;
                    index[j - 1] = i_hi;
                    if let Some(i_lo) = i_lo {
                        index[j] = i_lo;
                    }
                    (hi, lo)
                }
            };
            if let Some(back) = back {
                values[j] = back;
            }
            values[j - 1] = front;
        }
    }
    let sign = if smallest { -1.0 } else { 1.0 };
    let values = place(b, origin, "", shape, axis, &values, |&s| (vec![(s, sign)], 0.0))?;
    let index = index
        .map(|i| place(b, origin, ".indices", shape, axis, &i, |e| e.scaled(1.0)))
        .transpose()?;
    Ok((values, index))
}

/// What a TopK sorts: along `axis`, the first `k` after sorting, ascending with `smallest`,
/// and whether the indices output is read.
#[derive(Clone, Copy, Debug)]
pub(super) struct Order {
    pub axis: usize,
    pub k: usize,
    pub smallest: bool,
    pub indices: bool,
}

/// `max(a, c)` by lookup and, with `behind`, `a + c - max(a, c)`, lane by lane.
fn max_exchange(
    b: &mut GraphBuilder,
    origin: &Origin,
    tag: &str,
    a: &[Src],
    c: &[Src],
    behind: bool,
) -> Result<(Vec<Src>, Option<Vec<Src>>)> {
    let lanes = a.len();
    let windows = a.iter().zip(c).map(|(&a, &c)| vec![a, c]).collect();
    let hi = b.push(origin, &format!(".max{tag}"), NodeKind::Max { windows }, &[lanes])?;
    let hi: Vec<Src> = hi.iter().copied().collect();
    if !behind {
        return Ok((hi, None));
    }
    let rows =
        a.iter().zip(c).zip(&hi).map(|((&a, &c), &m)| (vec![(a, 1.0), (c, 1.0), (m, -1.0)], 0.0));
    let lo = b.linear(origin, &format!(".min{tag}"), rows, &[lanes])?;
    Ok((hi, Some(lo.iter().copied().collect())))
}

/// Values in front and behind, then indices in front and behind; nothing behind where the
/// next pass does not read it.
type Exchanged = (Vec<Src>, Option<Vec<Src>>, Vec<Elem>, Option<Vec<Elem>>);

/// The exchange that also moves indices: `g = [c > a]`, then the value and the index in
/// front are `a + g (c - a)`, with `behind` those behind `c - g (c - a)`.
fn swap_exchange(
    b: &mut GraphBuilder,
    origin: &Origin,
    tag: &str,
    (a, c): (&[Src], &[Src]),
    (ia, ic): (&[Elem], &[Elem]),
    behind: bool,
) -> Result<Exchanged> {
    let lanes = a.len();
    let rows = a.iter().zip(c).map(|(&a, &c)| (vec![(c, 1.0), (a, -1.0)], 0.0));
    let diff = b.linear(origin, &format!(".diff{tag}"), rows, &[lanes])?;
    let input: Vec<Src> = diff.iter().copied().collect();
    let act = Activation::Positive;
    let g = b.push(
        origin,
        &format!(".swap{tag}"),
        NodeKind::Act { input: input.clone(), act },
        &[lanes],
    )?;
    // The index gaps: constants until an exchange made them depend on the input.
    let pairs = ic.iter().copied().zip(ia.iter().copied());
    let gaps = differences(b, origin, &format!(".gap{tag}"), pairs)?;
    let g: Vec<Elem> = g.iter().copied().map(Elem::Src).collect();
    let both: Vec<Elem> = g.iter().chain(&g).copied().collect();
    let operands: Vec<Elem> = input.iter().copied().map(Elem::Src).chain(gaps).collect();
    let moved = products(b, origin, &format!(".move{tag}"), &both, &operands)?;
    let (dv, di) = moved.split_at(lanes);
    // `base + d` in front and `other - d` behind, over one linear node.
    let exchange =
        |b: &mut GraphBuilder, suffix: &str, front: &[Elem], back: &[Elem], d: &[Row]| {
            let neg = |(t, k): &Row| -> Row { (t.iter().map(|&(s, w)| (s, -w)).collect(), -k) };
            let mut rows: Vec<Row> =
                front.iter().zip(d).map(|(u, d)| sum([u.scaled(1.0), d.clone()])).collect();
            if behind {
                rows.extend(back.iter().zip(d).map(|(v, d)| sum([v.scaled(1.0), neg(d)])));
            }
            let len = rows.len();
            let out = b.linear(origin, &format!("{suffix}{tag}"), rows, &[len])?;
            let out: Vec<Src> = out.iter().copied().collect();
            let (front, back) = out.split_at(lanes);
            Ok::<_, crate::error::ProverError>((front.to_vec(), behind.then(|| back.to_vec())))
        };
    let (av, cv): (Vec<Elem>, Vec<Elem>) =
        (a.iter().copied().map(Elem::Src).collect(), c.iter().copied().map(Elem::Src).collect());
    let (hi, lo) = exchange(b, ".exchange", &av, &cv, dv)?;
    // Indices are one linear node per exchange, read by the next gap and by the output.
    let (i_hi, i_lo) = exchange(b, ".index", ia, ic, di)?;
    let as_elems = |v: Vec<Src>| v.into_iter().map(Elem::Src).collect::<Vec<Elem>>();
    Ok((hi, lo, as_elems(i_hi), i_lo.map(as_elems)))
}

/// The first `k` positions along `axis` as the output, in the input's lane order with `axis`
/// cut to `k`: one linear row per element.
fn place<T>(
    b: &mut GraphBuilder,
    origin: &Origin,
    suffix: &str,
    shape: &[usize],
    axis: usize,
    columns: &[Vec<T>],
    row: impl Fn(&T) -> Row,
) -> Result<SymTensor> {
    let mut out = ArrayD::from_elem(IxDyn(shape), (Vec::new(), 0.0));
    let k = shape.get(axis).copied().unwrap_or(0);
    for (j, column) in columns.iter().take(k).enumerate() {
        let mut slot = out.index_axis_mut(Axis(axis), j);
        for (cell, t) in slot.iter_mut().zip(column) {
            *cell = row(t);
        }
    }
    let rows: Vec<Row> = out.into_iter().collect();
    b.linear(origin, suffix, rows, shape)
}
