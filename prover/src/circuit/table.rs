//! The tagged lookup table of a shard: `(tag, tag*in, tag*out)` rows.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;

use crate::model::graph::Activation;
use crate::quant::semantics::{apply, grid};
use crate::quant::QuantSettings;

use super::fe;

/// Tag of the rescale remainder table `[0, 2^scale)`.
pub const RANGE_TAG: u64 = 1;
/// Tag of the identity table over the lookup domain (a range check).
pub const IDENTITY_TAG: u64 = 2;

/// Which tags a shard's table holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Tables {
    /// Whether the identity table is present (always with narrow values, which it
    /// range-checks; with wide values only for lookups that read it, such as quotients).
    pub identity: bool,
    /// Activations other than identity, tagged `3, 4, ...` in this order.
    pub acts: Vec<Activation>,
}

impl Tables {
    /// Tag of an activation's table; identity is the range-check table.
    pub fn tag(&self, act: Activation) -> u64 {
        if act == Activation::Identity {
            return IDENTITY_TAG;
        }
        3 + self.acts.iter().position(|a| *a == act).expect("activation registered in tables")
            as u64
    }

    /// Adds an activation if missing.
    pub fn register(&mut self, act: Activation) {
        if act == Activation::Identity {
            self.identity = true;
        } else if !self.acts.contains(&act) {
            self.acts.push(act);
        }
    }

    /// Number of table rows, including the leading all-zero row.
    pub fn rows(&self, st: &QuantSettings) -> usize {
        let b = st.bound();
        let defined = |act: Activation| {
            if st.interpolates(act) {
                (-b..=b).filter(|h| grid(act, *h, st).is_some()).count()
            } else if act.is_piecewise_linear() {
                2 * b as usize
            } else {
                (-b..b).filter(|v| apply(act, *v, st.scale_bits).is_some()).count()
            }
        };
        1 + (1usize << st.scale_bits)
            + if self.identity { 2 * b as usize } else { 0 }
            + self.acts.iter().map(|a| defined(*a)).sum::<usize>()
    }

    /// The table rows `(tag, tag*in, tag*out)`; row 0 is all zero. A function has no row
    /// where it is undefined (see [`apply`]), so no lookup can claim a value there. An
    /// interpolated function holds its points (see [`grid`]) instead.
    pub fn entries(&self, st: &QuantSettings) -> Vec<[Fr; 3]> {
        // An upper bound: counting the defined rows first would evaluate every function twice.
        let mut out = Vec::with_capacity(
            1 + (1usize << st.scale_bits)
                + (1 + self.acts.len()) * ((1usize << st.lookup_bits) + 1),
        );
        out.push([Fr::zero(); 3]);
        let mut push = |tag: u64, v: i64, f: i64| {
            let t = Fr::from(tag);
            out.push([t, t * fe(v), t * fe(f)]);
        };
        for r in 0..(1i64 << st.scale_bits) {
            push(RANGE_TAG, r, r);
        }
        let b = st.bound();
        if self.identity {
            for v in -b..b {
                push(IDENTITY_TAG, v, v);
            }
        }
        for act in &self.acts {
            let tag = self.tag(*act);
            if st.interpolates(*act) {
                // Points `-b..=b`: a value's upper neighbour `h + 1` reaches `b`.
                for h in -b..=b {
                    if let Some(f) = grid(*act, h, st) {
                        push(tag, h, f);
                    }
                }
                continue;
            }
            for v in -b..b {
                if let Some(f) = apply(*act, v, st.scale_bits) {
                    push(tag, v, f);
                }
            }
        }
        out
    }
}
