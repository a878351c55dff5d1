//! Lowering a float [`Graph`] to a [`QModel`]: weights to integers, activations fused into
//! the node that feeds them, every node's outputs at their own scale.
//!
//! Where an op needs its operands at one scale (a max, an elementwise product, a
//! table-driven activation, the model's outputs) and they are not, a rescale node (a
//! linear node of single-term rows) brings them there; with one global scale none appears.

use std::collections::HashMap;

use super::scales::{ScalePolicy, ValueRanges};
use super::semantics::{integer_divisor_scale, scale_free};
use super::{integral, weight_scale, QKind, QModel, QNode, QuantSettings, MAX_RESCALE_LIMBS};
use crate::circuit::instance;
use crate::error::{ProverError, Result};
use crate::model::graph::{
    Activation, Graph, IndexCheck, Node, NodeKind, OutputTensor, SparseRows, Src, ValueId,
};

/// Integer weights and biases stay below this, so sums of products fit i128 with room.
const MAX_COEFFICIENT: f64 = (1u64 << 62) as f64;

pub(super) fn quantize(
    graph: &Graph,
    settings: QuantSettings,
    ranges: Option<(&ValueRanges, ScalePolicy)>,
) -> Result<QModel> {
    settings.validate().map_err(ProverError::Settings)?;
    let n_in = graph.num_input_values();
    let mut uses = vec![0u32; graph.num_values()];
    let operands = graph.nodes.iter().flat_map(|n| n.kind.operands());
    for s in operands.chain(graph.observed()) {
        if let Src::Value(v) = s {
            uses[v as usize] += 1;
        }
    }
    // When some input does not fit at the settings' scale with the headroom, every input
    // gets the largest scale it fits at (raw features of a scikit-learn pipeline: 2,500 beside
    // 0.005, each needing its own). When all fit, all stay at the settings' scale, so such
    // models quantize exactly as with one input scale. Wide inputs always take their own:
    // the settings' scale is the tables', far coarser than the value range allows.
    let input_scales: Vec<u32> = match ranges {
        Some((r, policy)) => {
            let scales: Vec<u32> = (0..n_in)
                .map(|v| {
                    policy.fitting(r.max_abs.get(v).copied().unwrap_or(0.0), settings.value_bound())
                })
                .collect();
            if !settings.wide && scales.iter().all(|&e| e >= settings.scale_bits) {
                Vec::new()
            } else {
                scales
            }
        }
        None => Vec::new(),
    };
    let mut q = Quantizer {
        settings,
        ranges,
        nodes: Vec::with_capacity(graph.nodes.len()),
        next: n_in as ValueId,
        n_in: n_in as ValueId,
        input_scales: input_scales.clone(),
    };
    // remap[old id] = where that value lives in the quantized model.
    let mut remap: Vec<Src> = (0..n_in as ValueId).map(Src::Value).collect();
    remap.resize(graph.num_values(), Src::Zero);
    let map = |remap: &Vec<Src>, s: Src| match s {
        Src::Zero => Src::Zero,
        Src::Value(v) => remap[v as usize],
    };
    let all =
        |remap: &Vec<Src>, xs: &[Src]| -> Vec<Src> { xs.iter().map(|x| map(remap, *x)).collect() };
    let mut i = 0;
    while i < graph.nodes.len() {
        let node = &graph.nodes[i];
        // An activation reading exactly this node's outputs, which nothing else reads, fuses.
        // (With wide values a leaky ReLU is lowered on its own, see `Quantizer::act`.)
        let fused = graph.nodes.get(i + 1).and_then(|nx| match &nx.kind {
            NodeKind::Act { input, act }
                if !(settings.wide && matches!(act, Activation::LeakyRelu { .. }))
                    && matches!(
                        node.kind,
                        NodeKind::Linear { .. } | NodeKind::Mul { .. } | NodeKind::Dot { .. }
                    )
                    && input.len() == node.kind.len()
                    && input.iter().enumerate().all(|(j, src)| {
                        *src == Src::Value(node.first + j as ValueId)
                            && uses[(node.first as usize) + j] == 1
                    }) =>
            {
                Some((nx, *act))
            }
            _ => None,
        });
        let act = fused.map(|(_, a)| a).unwrap_or(Activation::Identity);
        let (name, op, produced_by) = match fused {
            Some((nx, _)) => (node.name.clone(), format!("{}+{}", node.op, nx.op), nx),
            None => (node.name.clone(), node.op.clone(), node),
        };
        let outs = match &node.kind {
            NodeKind::Linear { rows, bias } => {
                let mut mapped = SparseRows::<f64>::new();
                for j in 0..rows.len() {
                    mapped.push_row(rows.row(j).map(|(s, w)| (map(&remap, s), w)));
                }
                let integral = integral(&rows.weights);
                q.linear(&name, &op, node, &mapped, bias, integral, act)?
            }
            NodeKind::Mul { a, b } => {
                q.mul(&name, &op, node, (all(&remap, a), all(&remap, b), None), act)?
            }
            NodeKind::Dot { a, b, terms } => {
                q.mul(&name, &op, node, (all(&remap, a), all(&remap, b), Some(*terms)), act)?
            }
            NodeKind::Act { input, act } => q.act(&name, &op, node, all(&remap, input), *act)?,
            NodeKind::Max { windows } => {
                let windows = windows.iter().map(|w| all(&remap, w)).collect();
                q.max(&name, &op, windows)?
            }
            NodeKind::Div { a, b } => {
                // The denominators' float range, for the scale that keeps 2b in the domain.
                let max_b = q.ranges.map(|(r, _)| r.of_srcs(b.iter().copied()));
                q.div(&name, &op, node, all(&remap, a), all(&remap, b), max_b)?
            }
            NodeKind::IntDiv { a, c } => q.int_div(&name, &op, all(&remap, a), c)?,
            NodeKind::IntDivBy { a, b } => {
                q.int_div_by(&name, &op, all(&remap, a), all(&remap, b))?
            }
        };
        for (j, out) in outs.into_iter().enumerate() {
            remap[produced_by.first as usize + j] = out;
        }
        i += if fused.is_some() { 2 } else { 1 };
    }
    let mut outputs: Vec<OutputTensor> = graph
        .outputs
        .iter()
        .map(|o| OutputTensor { info: o.info.clone(), srcs: all(&remap, &o.srcs) })
        .collect();
    // One output scale, so a verifier reads every output the same way.
    let flat: Vec<Src> = outputs.iter().flat_map(|o| o.srcs.iter().copied()).collect();
    // Shown outputs travel in slots of the aggregated proof (the fewer, the wider): their
    // scale keeps the calibrated outputs, with the headroom, inside them.
    let graph_outputs: Vec<Src> =
        graph.outputs.iter().flat_map(|o| o.srcs.iter().copied()).collect();
    let shown = instance::shown(&graph_outputs).len();
    let cap = match ranges {
        Some((r, policy)) if shown > 0 => {
            let peak = graph_outputs
                .iter()
                .filter_map(|s| match s {
                    Src::Value(v) => r.max_abs.get(*v as usize).copied(),
                    Src::Zero => None,
                })
                .fold(0.0f64, f64::max);
            Some(policy.fitting(peak, instance::public_output_bound(shown)))
        }
        _ => None,
    };
    let finest = flat.iter().filter_map(|s| q.scale_of(*s)).min();
    if let Some(target) = finest.map(|e| cap.map_or(e, |c| e.min(c))) {
        let aligned = q.rescale("outputs", &flat, target, Activation::Identity)?;
        let mut it = aligned.into_iter();
        for o in &mut outputs {
            for s in &mut o.srcs {
                *s = it.next().unwrap_or(*s);
            }
        }
    }
    let index_checks = graph
        .index_checks
        .iter()
        .map(|c| IndexCheck { index: map(&remap, c.index), ..c.clone() })
        .collect();
    let model = QModel {
        settings,
        inputs: graph.inputs.clone(),
        nodes: q.nodes,
        outputs,
        input_scales,
        index_checks,
    };
    // The evaluator and the layout rely on these shapes; a lowering that broke them is a bug
    // to name here, not an index out of bounds later.
    model.check_wellformed().map_err(ProverError::Planning)?;
    Ok(model)
}

struct Quantizer<'a> {
    settings: QuantSettings,
    ranges: Option<(&'a ValueRanges, ScalePolicy)>,
    nodes: Vec<QNode>,
    next: ValueId,
    n_in: ValueId,
    input_scales: Vec<u32>,
}

impl Quantizer<'_> {
    /// The scale of a quantized value; none for the constant zero, which has every scale.
    fn scale_of(&self, s: Src) -> Option<u32> {
        let Src::Value(v) = s else { return None };
        if v < self.n_in {
            return Some(
                self.input_scales.get(v as usize).copied().unwrap_or(self.settings.scale_bits),
            );
        }
        let i = self.nodes.partition_point(|n| n.first <= v);
        i.checked_sub(1).map(|i| self.nodes[i].scale)
    }

    /// The scale a float node's values fit at under `bound` (the settings' scale without
    /// ranges).
    fn fitting(&self, node: &Node, bound: i64) -> u32 {
        match self.ranges {
            Some((ranges, policy)) => policy.fitting(ranges.of_node(node.first, &node.kind), bound),
            None => self.settings.scale_bits,
        }
    }

    fn max_shift(&self) -> u32 {
        MAX_RESCALE_LIMBS * self.settings.scale_bits
    }

    fn push(&mut self, name: String, op: String, kind: QKind, scale: u32) -> Vec<Src> {
        let first = self.next;
        let len = kind.len() as ValueId;
        self.nodes.push(QNode { name, op, first, kind, scale });
        self.next += len;
        (first..first + len).map(Src::Value).collect()
    }

    /// `act` of `srcs` brought to scale `target`: one single-term linear row per distinct
    /// value not already there (all of them when `act` is not the identity).
    fn rescale(
        &mut self,
        name: &str,
        srcs: &[Src],
        target: u32,
        act: Activation,
    ) -> Result<Vec<Src>> {
        let identity = act == Activation::Identity;
        let mut todo: Vec<Src> = Vec::new();
        let mut index: HashMap<Src, usize> = HashMap::new();
        for s in srcs {
            let moves = self.scale_of(*s).is_some_and(|e| e != target);
            if (moves || !identity) && !index.contains_key(s) {
                index.insert(*s, todo.len());
                todo.push(*s);
            }
        }
        if todo.is_empty() {
            return Ok(srcs.to_vec());
        }
        let scales: Vec<u32> = todo.iter().map(|s| self.scale_of(*s).unwrap_or(target)).collect();
        let shift = scales.iter().map(|e| e.saturating_sub(target)).max().unwrap_or(0);
        if shift > self.max_shift() {
            return Err(ProverError::Settings(format!(
                "node {name:?}: bringing values from scale 2^{} to 2^{target} takes a rescale by \
                 2^{shift}, more than the {} bits a rescale holds; lower the lookup bits",
                target + shift,
                self.max_shift()
            )));
        }
        let mut rows = SparseRows::<i64>::new();
        for (s, e) in todo.iter().zip(&scales) {
            // target + shift >= e by the choice of shift: the weight is an exact power of two.
            rows.push_row([(*s, 1i64 << (target + shift - e))]);
        }
        let bias = vec![0; todo.len()];
        let kind = QKind::Linear { rows, bias, shift, act };
        let op = if identity { "Rescale".to_string() } else { format!("Rescale+{act:?}") };
        let outs = self.push(format!("{name}/rescale"), op, kind, target);
        Ok(srcs.iter().map(|s| index.get(s).map(|&i| outs[i]).unwrap_or(*s)).collect())
    }

    /// `srcs` at one scale (their smallest, so nothing grows out of range), and that scale.
    fn uniform(&mut self, name: &str, srcs: Vec<Src>) -> Result<(Vec<Src>, u32)> {
        let Some(target) = srcs.iter().filter_map(|s| self.scale_of(*s)).min() else {
            return Ok((srcs, self.settings.scale_bits));
        };
        Ok((self.rescale(name, &srcs, target, Activation::Identity)?, target))
    }

    #[allow(clippy::too_many_arguments)]
    fn linear(
        &mut self,
        name: &str,
        op: &str,
        node: &Node,
        rows: &SparseRows<f64>,
        bias: &[f64],
        integral: bool,
        act: Activation,
    ) -> Result<Vec<Src>> {
        let out = if scale_free(act) {
            self.fitting(node, self.settings.bound_for(act))
        } else {
            self.settings.act_scale(act)
        };
        let in_scales: Vec<i64> =
            rows.srcs.iter().map(|s| self.scale_of(*s).unwrap_or(out) as i64).collect();
        // Small integer weights on operands no finer than the output are exact without a
        // rescale (sums, differences, pooling sums).
        let exact = integral && in_scales.iter().all(|e| *e <= out as i64);
        let mut shift = if exact { 0 } else { weight_scale(rows, &self.settings) };
        loop {
            let at = |e: i64| 2f64.powi((out + shift) as i32 - e as i32);
            let weights: Vec<f64> =
                rows.weights.iter().zip(&in_scales).map(|(w, e)| (w * at(*e)).round()).collect();
            let biases: Vec<f64> = bias.iter().map(|b| (b * at(0)).round()).collect();
            let fits = weights.iter().chain(&biases).all(|v| v.abs() < MAX_COEFFICIENT);
            if fits {
                let rows = SparseRows {
                    offsets: rows.offsets.clone(),
                    srcs: rows.srcs.clone(),
                    weights: weights.iter().map(|w| *w as i64).collect(),
                };
                let bias = biases.iter().map(|b| *b as i64).collect();
                let kind = QKind::Linear { rows, bias, shift, act };
                return Ok(self.push(name.to_string(), op.to_string(), kind, out));
            }
            if shift == 0 {
                return Err(ProverError::Settings(format!(
                    "node {name:?} ({op}): a weight or bias does not fit 62 bits at output scale \
                     2^{out}; lower the scale"
                )));
            }
            shift -= 1;
        }
    }

    /// Elementwise products (`terms: None`) or sums of `terms` products each.
    fn mul(
        &mut self,
        name: &str,
        op: &str,
        node: &Node,
        (a, b, terms): (Vec<Src>, Vec<Src>, Option<u32>),
        act: Activation,
    ) -> Result<Vec<Src>> {
        let (a, sa) = self.uniform(name, a)?;
        let (b, sb) = self.uniform(name, b)?;
        let product = sa + sb;
        // The products are exact at 2^(sa+sb), and so is their sum; the output may only be
        // coarser, by at most what the rescale's limbs hold.
        // A tabulated activation reads a rescale of this product: the product itself is a sum.
        let summed = if scale_free(act) { act } else { Activation::Identity };
        let fit = self.fitting(node, self.settings.bound_for(summed));
        let out = fit.min(product).max(product.saturating_sub(self.max_shift()));
        let kind = |a, b, act| match terms {
            None => QKind::Mul { a, b, shift: product - out, act },
            Some(terms) => QKind::Dot { a, b, terms, shift: product - out, act },
        };
        if scale_free(act) || out == self.settings.act_scale(act) {
            return Ok(self.push(name.to_string(), op.to_string(), kind(a, b, act), out));
        }
        // A tabulated activation reads its own scale, which this product cannot reach in
        // one rescale: compute it at its own scale, then rescale into the table.
        let kind = kind(a, b, Activation::Identity);
        let outs = self.push(name.to_string(), op.to_string(), kind, out);
        self.rescale(name, &outs, self.settings.act_scale(act), act)
    }

    fn act(
        &mut self,
        name: &str,
        op: &str,
        node: &Node,
        input: Vec<Src>,
        act: Activation,
    ) -> Result<Vec<Src>> {
        if let (Activation::LeakyRelu { alpha }, true) = (act, self.settings.wide) {
            // `alpha x + (1 - alpha) relu(x)`: the ReLU by the value's sign, exact, then one
            // linear row, so the operand keeps its wide scale instead of a table's.
            let (input, scale) = self.uniform(name, input)?;
            let relu = QKind::Act { input: input.clone(), act: Activation::Relu };
            let relu = self.push(format!("{name}/relu"), op.to_string(), relu, scale);
            let mut rows = SparseRows::<f64>::new();
            for (x, r) in input.iter().zip(&relu) {
                rows.push_row([(*x, f64::from(alpha)), (*r, 1.0 - f64::from(alpha))]);
            }
            let bias = vec![0.0; input.len()];
            let integral = integral(&rows.weights);
            return self.linear(name, op, node, &rows, &bias, integral, Activation::Identity);
        }
        if scale_free(act) {
            let (input, scale) = self.uniform(name, input)?;
            return Ok(self.push(
                name.to_string(),
                op.to_string(),
                QKind::Act { input, act },
                scale,
            ));
        }
        let s = self.settings.act_scale(act);
        if input.iter().all(|x| self.scale_of(*x).is_none_or(|e| e == s)) {
            return Ok(self.push(name.to_string(), op.to_string(), QKind::Act { input, act }, s));
        }
        self.rescale(name, &input, s, act)
    }

    /// `a / b`: the denominators at the finest scale where twice their largest sample value
    /// fits (their checks cover `[0, 2b)`), the quotient at its own fitting scale.
    fn div(
        &mut self,
        name: &str,
        op: &str,
        node: &Node,
        a: Vec<Src>,
        b: Vec<Src>,
        max_b: Option<f64>,
    ) -> Result<Vec<Src>> {
        let (b, eb) = self.uniform(name, b)?;
        let eb = match (max_b, self.ranges) {
            (Some(m), Some((_, policy))) => eb.min(policy.fitting(2.0 * m, self.settings.bound())),
            _ => eb,
        };
        let b = self.rescale(&format!("{name}/denominator"), &b, eb, Activation::Identity)?;
        let (mut a, mut ea) = self.uniform(name, a)?;
        // shift = e + eb - ea in [0, max_shift]: the output no finer than that allows, the
        // numerator brought down to e + eb when the output is coarser still.
        let e_max = (ea + self.max_shift()).checked_sub(eb).ok_or_else(|| {
            ProverError::Settings(format!(
                "node {name:?} ({op}): the denominators' scale 2^{eb} is too fine for the \
                 numerators' 2^{ea}; lower the lookup bits"
            ))
        })?;
        // The quotient is a lookup input: in the lookup domain even when values are wide.
        let e = self.fitting(node, self.settings.bound()).min(e_max);
        if e + eb < ea {
            a = self.rescale(&format!("{name}/numerator"), &a, e + eb, Activation::Identity)?;
            ea = e + eb;
        }
        let kind = QKind::Div { a, b, shift: e + eb - ea, act: Activation::Identity };
        Ok(self.push(name.to_string(), op.to_string(), kind, e))
    }

    /// `trunc(a / c)`, exactly: the division gadget rounds `a·2^s / |c|` (exact for an
    /// integer `a`), then the truncation table at `2^s` drops the fraction. That is the
    /// integer quotient as long as `|c| < 2^(s+1)` (see [`integer_divisor_scale`]); constants
    /// up to `2^s` are accepted, as for tensors. A negative divisor negates the numerator
    /// first (`trunc(a / -c) = trunc(-a / c)`).
    fn int_div(&mut self, name: &str, op: &str, a: Vec<Src>, c: &[i64]) -> Result<Vec<Src>> {
        let s = self.settings.scale_bits;
        if let Some(j) = c.iter().position(|v| *v == 0) {
            return Err(ProverError::Settings(format!(
                "node {name:?} ({op}): element {j} divides by zero"
            )));
        }
        let m = self.integer_divisor_scale(name, op)?;
        let largest = c.iter().map(|v| v.unsigned_abs()).max().unwrap_or(1);
        if largest > 1u64 << s {
            let need = 64 - (largest - 1).leading_zeros();
            return Err(ProverError::Settings(format!(
                "node {name:?} ({op}): an integer division by {largest} is exact only with \
                 divisors up to 2^scale_bits = {}; raise --scale-bits to at least {need}",
                1u64 << s
            )));
        }
        let (mut a, ea) = self.integer_numerators(name, a)?;
        if c.iter().any(|v| *v < 0) {
            let mut rows = SparseRows::<i64>::new();
            for (x, v) in a.iter().zip(c) {
                rows.push_row([(*x, v.signum())]);
            }
            let n = a.len();
            let kind =
                QKind::Linear { rows, bias: vec![0; n], shift: 0, act: Activation::Identity };
            a = self.push(format!("{name}/sign"), op.to_string(), kind, ea);
        }
        let mut rows = SparseRows::<i64>::new();
        for _ in c {
            rows.push_row(std::iter::empty());
        }
        let bias = c.iter().map(|v| v.abs() << m).collect();
        let divisors = QKind::Linear { rows, bias, shift: 0, act: Activation::Identity };
        let b = self.push(format!("{name}/divisor"), op.to_string(), divisors, m);
        let kind = QKind::Div { a, b, shift: s - ea + m, act: Activation::Trunc };
        Ok(self.push(name.to_string(), op.to_string(), kind, s))
    }

    /// `trunc(a / b)` for positive integer divisors `b` (the import moved their signs onto
    /// the numerators): as [`Self::int_div`], the divisors brought to `2^m` so the division's
    /// own range check holds them where truncation is exact.
    fn int_div_by(&mut self, name: &str, op: &str, a: Vec<Src>, b: Vec<Src>) -> Result<Vec<Src>> {
        let s = self.settings.scale_bits;
        let m = self.integer_divisor_scale(name, op)?;
        let (a, ea) = self.integer_numerators(name, a)?;
        // Exact from any scale: an integer at 2^e > 2^m is a multiple of 2^(e - m).
        let b = self.rescale(&format!("{name}/divisor"), &b, m, Activation::Identity)?;
        let kind = QKind::Div { a, b, shift: s - ea + m, act: Activation::Trunc };
        Ok(self.push(name.to_string(), op.to_string(), kind, s))
    }

    /// Integer numerators at a scale no finer than the settings' (exact: an integer at
    /// `2^e` is a multiple of `2^(e - s)`).
    fn integer_numerators(&mut self, name: &str, a: Vec<Src>) -> Result<(Vec<Src>, u32)> {
        let s = self.settings.scale_bits;
        let (a, ea) = self.uniform(name, a)?;
        if ea <= s {
            return Ok((a, ea));
        }
        Ok((self.rescale(&format!("{name}/numerator"), &a, s, Activation::Identity)?, s))
    }

    fn integer_divisor_scale(&self, name: &str, op: &str) -> Result<u32> {
        integer_divisor_scale(&self.settings).ok_or_else(|| {
            ProverError::Settings(format!(
                "node {name:?} ({op}): an integer division needs --lookup-bits at least \
                 --scale-bits + 2 (have {} and {})",
                self.settings.lookup_bits, self.settings.scale_bits
            ))
        })
    }

    fn max(&mut self, name: &str, op: &str, windows: Vec<Vec<Src>>) -> Result<Vec<Src>> {
        let sizes: Vec<usize> = windows.iter().map(Vec::len).collect();
        let (flat, scale) = self.uniform(name, windows.into_iter().flatten().collect())?;
        let mut it = flat.into_iter();
        let windows = sizes.iter().map(|n| it.by_ref().take(*n).collect::<Vec<Src>>()).collect();
        Ok(self.push(name.to_string(), op.to_string(), QKind::Max { windows }, scale))
    }
}
