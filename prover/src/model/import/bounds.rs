//! Integer ranges that the circuit itself enforces, known while the graph is built.
//!
//! A comparison's output is 0 or 1 because its table holds nothing else, and a linear row
//! with integer weights and bias over such values is exact at any scale: its range follows
//! by interval arithmetic, for every witness the circuit accepts, not only on the samples.
//! Hummingbird's tree traversals build their node indices this way (`2 i + [x < t]`), so a
//! `Gather` at such an index need only tell apart the entries its index can reach.
//!
//! Model inputs get no range here, even boolean ones: their type is checked when a proof
//! is made, but the circuit would accept any value.

use std::collections::HashMap;

use crate::model::graph::{Activation, NodeKind, Src, ValueId};

/// Inclusive integer bounds `(lo, hi)` of one value.
pub(super) type Range = (i64, i64);

/// The proven integer range of each value that has one.
#[derive(Debug, Default)]
pub(super) struct Ranges {
    known: HashMap<ValueId, Range>,
}

/// Beyond this magnitude interval arithmetic stops: such a value indexes nothing useful.
const LIMIT: i128 = 1 << 40;

impl Ranges {
    /// The proven range of `s`, if it has one.
    pub fn of(&self, s: Src) -> Option<Range> {
        match s {
            Src::Zero => Some((0, 0)),
            Src::Value(v) => self.known.get(&v).copied(),
        }
    }

    /// Records the ranges of a new node's outputs, `first..first + kind.len()`.
    pub fn add_node(&mut self, first: ValueId, kind: &NodeKind) {
        let found = self.node_ranges(kind);
        for (j, r) in found.into_iter().enumerate() {
            if let Some(r) = r {
                self.known.insert(first + j as ValueId, r);
            }
        }
    }

    fn node_ranges(&self, kind: &NodeKind) -> Vec<Option<Range>> {
        match kind {
            NodeKind::Act { input, act } => {
                input.iter().map(|&s| activation_range(*act, || self.of(s))).collect()
            }
            NodeKind::Linear { rows, bias } => {
                if !rows.weights.iter().chain(bias).all(|w| is_integer(*w)) {
                    return Vec::new();
                }
                (0..bias.len()).map(|j| self.row_range(rows.row(j), bias[j])).collect()
            }
            NodeKind::Mul { a, b } => a
                .iter()
                .zip(b)
                .map(|(&x, &y)| {
                    let ((a, b), (c, d)) = self.of(x).zip(self.of(y))?;
                    let p = [a, b].map(i128::from);
                    let q = [c, d].map(i128::from);
                    let products = [p[0] * q[0], p[0] * q[1], p[1] * q[0], p[1] * q[1]];
                    let lo = products.iter().min().copied()?;
                    let hi = products.iter().max().copied()?;
                    narrow((lo, hi))
                })
                .collect(),
            NodeKind::Max { windows } => windows
                .iter()
                .map(|w| {
                    w.iter().map(|&s| self.of(s)).try_fold(None, |acc: Option<Range>, r| {
                        let (a, b) = r?;
                        Some(Some(acc.map_or((a, b), |(lo, hi)| (a.max(lo), b.max(hi)))))
                    })?
                })
                .collect(),
            // Truncation toward zero is monotone in the numerator for a fixed divisor.
            NodeKind::IntDiv { a, c } => a
                .iter()
                .zip(c)
                .map(|(&x, &d)| {
                    let (lo, hi) = self.of(x).filter(|_| d != 0)?;
                    let (p, q) = (lo / d, hi / d);
                    Some((p.min(q), p.max(q)))
                })
                .collect(),
            // A positive integer divisor moves the quotient toward zero, never past it.
            NodeKind::IntDivBy { a, .. } => {
                a.iter().map(|&x| self.of(x).map(|(lo, hi)| (lo.min(0), hi.max(0)))).collect()
            }
            NodeKind::Div { .. } | NodeKind::Dot { .. } => Vec::new(),
        }
    }

    /// `bias + sum w x` by interval arithmetic, if every operand has a range.
    fn row_range(&self, terms: impl Iterator<Item = (Src, f64)>, bias: f64) -> Option<Range> {
        let mut acc = (bias as i128, bias as i128);
        for (s, w) in terms {
            let (a, c) = self.of(s)?;
            let (p, q) = (w as i128 * i128::from(a), w as i128 * i128::from(c));
            acc = (acc.0 + p.min(q), acc.1 + p.max(q));
            narrow(acc)?;
        }
        narrow(acc)
    }
}

/// The range of `act(x)`: the step functions are 0/1 whatever `x` is; the others keep an
/// integer range where they map integers to integers monotonically.
fn activation_range(act: Activation, input: impl FnOnce() -> Option<Range>) -> Option<Range> {
    match act {
        Activation::Positive | Activation::NonNegative => Some((0, 1)),
        Activation::Sign => Some((-1, 1)),
        Activation::Identity
        | Activation::Floor
        | Activation::Ceil
        | Activation::Round
        | Activation::Trunc => input(),
        Activation::Relu => input().map(|(lo, hi)| (lo.max(0), hi.max(0))),
        _ => None,
    }
}

fn is_integer(w: f64) -> bool {
    w.fract() == 0.0 && (w.abs() as i128) < LIMIT
}

fn narrow((lo, hi): (i128, i128)) -> Option<Range> {
    (lo > -LIMIT && hi < LIMIT).then_some((lo as i64, hi as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::graph::SparseRows;

    fn linear(rows: &[&[(Src, f64)]], bias: &[f64]) -> NodeKind {
        let mut sparse = SparseRows::new();
        for r in rows {
            sparse.push_row(r.iter().copied());
        }
        NodeKind::Linear { rows: sparse, bias: bias.to_vec() }
    }

    #[test]
    fn ranges_follow_what_the_circuit_enforces() {
        let mut r = Ranges::default();
        let (x, v) = (Src::Value(0), |i: u32| Src::Value(i));
        // Values 1..=2: steps of the input (0/1 whatever the input is); the input has none.
        let steps = NodeKind::Act { input: vec![x, x], act: Activation::NonNegative };
        r.add_node(1, &steps);
        assert_eq!((r.of(x), r.of(v(1)), r.of(Src::Zero)), (None, Some((0, 1)), Some((0, 0))));
        // Value 3 = 2 g1 - 3 g2 + 4; value 4 reads the input; value 5 has a fractional weight.
        r.add_node(3, &linear(&[&[(v(1), 2.0), (v(2), -3.0)]], &[4.0]));
        r.add_node(4, &linear(&[&[(v(3), 1.0), (x, 1.0)]], &[0.0]));
        r.add_node(5, &linear(&[&[(v(3), 0.5)]], &[0.0]));
        assert_eq!((r.of(v(3)), r.of(v(4)), r.of(v(5))), (Some((1, 6)), None, None));
        // Value 6 = v3 * (g1 - 1) in [-6, 0]; 7 = max(v3, v6); 8 = trunc(v3 / -4); 9 = relu(v6).
        r.add_node(6, &NodeKind::Mul { a: vec![v(3)], b: vec![v(10)] });
        assert_eq!(r.of(v(6)), None, "an operand without a range");
        r.add_node(10, &linear(&[&[(v(1), 1.0)]], &[-1.0]));
        r.add_node(6, &NodeKind::Mul { a: vec![v(3)], b: vec![v(10)] });
        r.add_node(7, &NodeKind::Max { windows: vec![vec![v(3), v(6)]] });
        r.add_node(8, &NodeKind::IntDiv { a: vec![v(3)], c: vec![-4] });
        r.add_node(9, &NodeKind::Act { input: vec![v(6)], act: Activation::Relu });
        assert_eq!(r.of(v(6)), Some((-6, 0)));
        assert_eq!(r.of(v(7)), Some((1, 6)));
        assert_eq!(r.of(v(8)), Some((-1, 0)));
        assert_eq!(r.of(v(9)), Some((0, 0)));
        // Value 14 = trunc(v6 / v3): toward zero from [-6, 0].
        r.add_node(14, &NodeKind::IntDivBy { a: vec![v(6)], b: vec![v(3)] });
        assert_eq!(r.of(v(14)), Some((-6, 0)));
        // Tabulated functions and divisions give no integer range.
        r.add_node(11, &NodeKind::Act { input: vec![v(3)], act: Activation::Tanh });
        r.add_node(12, &NodeKind::Div { a: vec![v(3)], b: vec![v(3)] });
        assert_eq!((r.of(v(11)), r.of(v(12))), (None, None));
        // Past 2^40 the arithmetic stops.
        r.add_node(13, &linear(&[&[(v(3), (1u64 << 39) as f64)]], &[0.0]));
        assert_eq!(r.of(v(13)), None);
    }
}
