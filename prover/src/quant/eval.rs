//! The quantized reference evaluator: the plain-Rust meaning of a [`QModel`].

use super::scales::check_shapes;
use super::semantics::{
    apply, divide, integer_divisor_scale, interpolate, max_step, requant, Reject,
};
use super::{QKind, QModel, QNode, QuantSettings};
use crate::circuit::instance;
use crate::error::{ProverError, Result};
use crate::model::graph::Activation;
use crate::model::graph::{Src, ValueId};

/// Every value of one quantized inference, indexed by value id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Value `i` at the model's scale.
    pub values: Vec<i64>,
}

impl Trace {
    /// The value behind a source.
    pub fn get(&self, s: Src) -> i64 {
        match s {
            Src::Zero => 0,
            Src::Value(v) => self.values[v as usize],
        }
    }
}

/// Per-node statistics of the largest lookup input seen, for calibration.
#[derive(Clone, Debug, Default)]
pub struct RangeStats {
    /// Largest |lookup input| per node, as a multiple of the bound (may exceed 1).
    pub max_abs: Vec<i128>,
}

impl QModel {
    /// Quantizes flat float inputs (one list per input tensor) and checks their range.
    pub fn quantize_inputs(&self, inputs: &[Vec<f64>]) -> Result<Vec<i64>> {
        check_shapes(&self.inputs, inputs)?;
        let mut out = Vec::with_capacity(self.num_input_values());
        for (info, data) in self.inputs.iter().zip(inputs) {
            for &x in data {
                let scale = self.input_scale(out.len());
                if !x.is_finite() {
                    return Err(ProverError::InputShape(format!(
                        "input {:?} holds {x}",
                        info.name
                    )));
                }
                if let Some(what) = info.elem.reject(x) {
                    return Err(ProverError::InputShape(format!(
                        "input {:?} holds {x}, not {what}",
                        info.name
                    )));
                }
                let q = (x * (1u64 << scale) as f64).round() as i64;
                if !self.settings.in_value_range(q as i128) {
                    return Err(ProverError::OutOfRange {
                        node: format!("input {}", info.name),
                        op: "input".into(),
                        value: q as i128,
                        bound: self.settings.value_bound() as i128,
                        scale_bits: scale,
                    });
                }
                out.push(q);
            }
        }
        Ok(out)
    }

    /// Runs the model on quantized inputs.
    pub fn eval(&self, inputs_q: &[i64]) -> Result<Trace> {
        self.eval_inner(inputs_q, None).map_err(|e| self.name_integer_divisor(e))
    }

    /// With narrow values an integer division's divisor, brought to `2^m` by its own linear
    /// node, meets that node's lookup before the division's check: the range error then
    /// names the divisor, not the lookup bits (which cannot help: `m` grows with them).
    fn name_integer_divisor(&self, e: ProverError) -> ProverError {
        let ProverError::OutOfRange { node, value, .. } = &e else { return e };
        let Some(i) = self.nodes.iter().position(|n| &n.name == node) else { return e };
        let feeds_division = match self.nodes.get(i + 1).map(|n| &n.kind) {
            Some(QKind::Div { b, act: Activation::Trunc, .. }) => {
                b.first() == Some(&Src::Value(self.nodes[i].first))
            }
            _ => false,
        };
        match (feeds_division, i64::try_from(*value)) {
            (true, Ok(v)) => divisor_error(&self.nodes[i + 1], v.abs(), &self.settings),
            _ => e,
        }
    }

    /// Runs the model and records, per node, the largest |lookup input| instead of failing.
    pub fn eval_stats(&self, inputs_q: &[i64]) -> Result<(Trace, RangeStats)> {
        let mut stats = RangeStats { max_abs: vec![0; self.nodes.len()] };
        let t = self.eval_inner(inputs_q, Some(&mut stats))?;
        Ok((t, stats))
    }

    fn eval_inner(&self, inputs_q: &[i64], mut stats: Option<&mut RangeStats>) -> Result<Trace> {
        let st = self.settings;
        let mut t = Trace { values: Vec::with_capacity(self.num_values()) };
        t.values.extend_from_slice(inputs_q);
        let lookup_stats_only = stats.is_some();
        for (ni, node) in self.nodes.iter().enumerate() {
            let bound = node.kind.input_bound(&st) as i128;
            // A lookup input out of range is an error, or, when collecting statistics,
            // recorded and replaced by the exact float-free fallback so evaluation goes on.
            let mut lookup = |raw: i128, ok: Option<i64>, fallback: i64| -> Result<i64> {
                if let Some(s) = stats.as_deref_mut() {
                    s.max_abs[ni] = s.max_abs[ni].max(raw.abs());
                }
                match (ok, stats.is_some()) {
                    (Some(v), _) => Ok(v),
                    (None, true) => Ok(fallback),
                    (None, false) => Err(ProverError::OutOfRange {
                        node: node.name.clone(),
                        op: node.op.clone(),
                        value: raw,
                        bound,
                        scale_bits: node.scale,
                    }),
                }
            };
            let mut requant_out = |acc: i128, shift: u32, act| -> Result<i64> {
                match requant(acc, shift, act, &st) {
                    Ok(q) => lookup(q.y as i128, Some(q.out), 0),
                    Err(Reject::Range(y)) => {
                        let clamped = y.clamp(-bound, bound - 1) as i64;
                        let fallback = if st.interpolates(act) {
                            interpolate(act, clamped, &st).map_or(0, |it| it.out)
                        } else {
                            apply(act, clamped, st.scale_bits).unwrap_or(0)
                        };
                        lookup(y, None, fallback)
                    }
                    // Calibration goes on past it (the strict run reports it), the way it
                    // goes on past a range error.
                    Err(Reject::Domain(_) | Reject::Denominator(_) | Reject::Divisor(_))
                        if lookup_stats_only =>
                    {
                        Ok(0)
                    }
                    Err(Reject::Domain(y) | Reject::Denominator(y) | Reject::Divisor(y)) => {
                        Err(domain_error(node, act, y, &st))
                    }
                }
            };
            match &node.kind {
                QKind::Linear { rows, bias, shift, act } => {
                    for (j, b) in bias.iter().enumerate() {
                        let acc = rows
                            .row(j)
                            .fold(*b as i128, |a, (s, w)| a + w as i128 * t.get(s) as i128);
                        let v = requant_out(acc, *shift, *act)?;
                        t.values.push(v);
                    }
                }
                QKind::Mul { a, b, shift, act } => {
                    for (x, y) in a.iter().zip(b) {
                        let acc = t.get(*x) as i128 * t.get(*y) as i128;
                        let v = requant_out(acc, *shift, *act)?;
                        t.values.push(v);
                    }
                }
                QKind::Dot { a, b, terms, shift, act } => {
                    // `terms >= 1`: see `QModel::check_wellformed`.
                    let n = *terms as usize;
                    for (x, y) in a.chunks(n).zip(b.chunks(n)) {
                        let acc = x
                            .iter()
                            .zip(y)
                            .map(|(p, q)| t.get(*p) as i128 * t.get(*q) as i128)
                            .sum();
                        let v = requant_out(acc, *shift, *act)?;
                        t.values.push(v);
                    }
                }
                QKind::Act { input, act } => {
                    for x in input {
                        let v = requant_out(t.get(*x) as i128, 0, *act)?;
                        t.values.push(v);
                    }
                }
                QKind::Div { a, b, shift, act } => {
                    for (x, y) in a.iter().zip(b) {
                        let v = match divide(t.get(*x), t.get(*y), *shift, *act, &st) {
                            Ok(d) => lookup(d.q as i128, Some(d.out), 0)?,
                            Err(Reject::Range(v)) => lookup(v, None, 0)?,
                            Err(Reject::Divisor(v)) if lookup_stats_only => {
                                lookup(2 * v as i128, None, 0)?
                            }
                            Err(_) if lookup_stats_only => 0,
                            Err(Reject::Divisor(v)) => return Err(divisor_error(node, v, &st)),
                            Err(Reject::Denominator(v)) => {
                                return Err(denominator_error(self, node, *y, v));
                            }
                            Err(Reject::Domain(v)) => return Err(domain_error(node, *act, v, &st)),
                        };
                        t.values.push(v);
                    }
                }
                QKind::Max { windows } => {
                    for w in windows {
                        let mut m = t.get(w[0]);
                        for s in &w[1..] {
                            let v = t.get(*s);
                            m = match max_step(m, v, &st) {
                                Ok((d, _, next)) => lookup(d as i128, Some(next), 0)?,
                                Err(d) => lookup(d, None, m.max(v))?,
                            };
                        }
                        t.values.push(m);
                    }
                }
            }
        }
        if !lookup_stats_only {
            self.check_indices(&t)?;
            self.check_public_outputs(&t)?;
        }
        Ok(t)
    }

    /// Every unbounded index of a gather or scatter within its axis (see [`IndexCheck`]).
    ///
    /// [`IndexCheck`]: crate::model::graph::IndexCheck
    fn check_indices(&self, t: &Trace) -> Result<()> {
        for c in &self.index_checks {
            let index = t.get(c.index) as f64 / 2f64.powi(self.scale_of_src(c.index) as i32);
            let len = c.len as f64;
            if !(-len..len).contains(&index) {
                return Err(ProverError::IndexOutOfRange {
                    node: c.node.clone(),
                    op: c.op.clone(),
                    index,
                    len: c.len,
                });
            }
        }
        Ok(())
    }

    /// Outputs a proof shows travel in slots of the aggregated proof
    /// ([`instance::slot_bits`]), whose circuit range-checks them: one outside is an error
    /// here rather than an aggregation that cannot be proven.
    fn check_public_outputs(&self, t: &Trace) -> Result<()> {
        let srcs = self.output_srcs();
        let shown = instance::shown(&srcs);
        let bound = instance::public_output_bound(shown.len()) as i128;
        for s in shown {
            let Src::Value(v) = *s else { continue };
            let value = t.get(*s) as i128;
            if !(-bound..bound).contains(&value) {
                let node = self
                    .nodes
                    .iter()
                    .find(|n| (n.first..n.first + n.kind.len() as ValueId).contains(&v));
                return Err(ProverError::OutOfRange {
                    node: node.map_or_else(|| "outputs".to_string(), |n| n.name.clone()),
                    op: node.map_or_else(
                        || "output".to_string(),
                        |n| format!("{} (public output)", n.op),
                    ),
                    value,
                    bound,
                    scale_bits: self.scale_of(v),
                });
            }
        }
        Ok(())
    }

    /// Dequantized model outputs (one flat list per output tensor).
    pub fn outputs_f64(&self, trace: &Trace) -> Vec<Vec<f64>> {
        self.outputs
            .iter()
            .map(|o| {
                let q: Vec<i64> = o.srcs.iter().map(|s| trace.get(*s)).collect();
                self.dequantize_outputs(&q)
            })
            .collect()
    }
}

/// An activation input `y` outside the function's domain; `y` is at the function's scale
/// ([`QuantSettings::act_scale`]).
pub(crate) fn domain_error(
    node: &QNode,
    act: Activation,
    y: i64,
    settings: &QuantSettings,
) -> ProverError {
    let scale_bits = settings.act_scale(act);
    ProverError::OutOfDomain {
        node: node.name.clone(),
        op: node.op.clone(),
        function: format!("{act:?}"),
        value: y as f64 / (1u64 << scale_bits) as f64,
        scale_bits,
    }
}

/// A division of `node` whose denominator `v` is past its range check: an integer divisor
/// too large to truncate exactly, or a real one outside the lookup domain.
pub(crate) fn divisor_error(node: &QNode, v: i64, settings: &QuantSettings) -> ProverError {
    let s = settings.scale_bits;
    match (node.kind.activation(), integer_divisor_scale(settings)) {
        (Some(Activation::Trunc), Some(m)) => {
            let divisor = v >> m;
            ProverError::IntegerDivisor {
                node: node.name.clone(),
                op: node.op.clone(),
                divisor,
                scale_bits: s,
                need: (64 - (divisor - 1).leading_zeros()).max(s + 1),
            }
        }
        _ => ProverError::OutOfRange {
            node: node.name.clone(),
            op: node.op.clone(),
            value: 2 * v as i128,
            bound: settings.bound() as i128,
            scale_bits: node.scale,
        },
    }
}

/// A division of `node` by `b`, whose quantized value `v` is not positive.
pub(crate) fn denominator_error(model: &QModel, node: &QNode, b: Src, v: i64) -> ProverError {
    let scale_bits = model.scale_of_src(b);
    ProverError::OutOfDomain {
        node: node.name.clone(),
        op: node.op.clone(),
        function: "a division's denominator (must be positive)".into(),
        value: v as f64 / 2f64.powi(scale_bits as i32),
        scale_bits,
    }
}
