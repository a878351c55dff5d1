//! The one configuration shape shared by every shard circuit of every model.
//!
//! Six advice columns `x0..x4, z`, one instance column, fixed coefficient columns and
//! one tagged lookup table. Only fixed values (weights, tables, round constants) and
//! copy constraints differ between shards, which is what lets one aggregation circuit
//! verify any shard of any model.
//!
//! Gates (every gate is multiplied by a fixed selector, zero on blinding rows):
//! - linear, `q_lin * (q_z*z + chain*z[-1] + sum c_i*x_i + m*x0*x1 + k) = 0`: dot
//!   products with weights in fixed columns (5 multiply-accumulates a row), rescaling,
//!   products of activations, constants.
//! - Poseidon full / partial round with the S-box squares stored in cells (degree 4),
//!   absorb, and initial-state gates.
//!
//! Lookups, both into the table `(tag, tag*in, tag*out)`: `(tag_a, tag_a*x1, tag_a*x1)` and
//! `(tag_b, tag_b*x0, tag_b*x3)`. Multiplying the inputs by the tag makes a row with tag 0
//! look up `(0, 0, 0)`, present in every table, so no extra selector column is needed, and
//! keeps the lookup degree at 5, the ceiling halo2-axiom uses anyway.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Expression, Fixed, Instance,
};
use halo2_base::halo2_proofs::poly::Rotation;

use super::poseidon;

/// Multiply-accumulates per row of the linear gate.
pub const WIDTH: usize = 5;
/// Advice columns: `x0..x4` then `z`.
pub const NUM_ADVICE: usize = WIDTH + 1;
/// Index of `z` among the advice columns.
pub const Z: usize = WIDTH;

/// Fixed columns by role, in column order.
#[allow(missing_docs)]
pub mod fixed {
    pub const Q_LIN: usize = 0;
    pub const Q_Z: usize = 1;
    pub const CHAIN: usize = 2;
    /// `C0 + i` is the coefficient of `x_i` (and the round constant `i` in Poseidon rows).
    pub const C0: usize = 3;
    pub const M: usize = C0 + super::WIDTH;
    pub const K: usize = M + 1;
    pub const Q_FULL: usize = K + 1;
    pub const Q_PART: usize = Q_FULL + 1;
    pub const Q_ABSORB: usize = Q_PART + 1;
    pub const Q_INIT: usize = Q_ABSORB + 1;
    pub const TAG_A: usize = Q_INIT + 1;
    pub const TAG_B: usize = TAG_A + 1;
    pub const T_TAG: usize = TAG_B + 1;
    pub const T_IN: usize = T_TAG + 1;
    pub const T_OUT: usize = T_IN + 1;
    pub const COUNT: usize = T_OUT + 1;
}

/// Column handles of the shard configuration.
#[derive(Clone, Debug)]
pub struct ShardConfig {
    /// `x0..x4, z`.
    pub advice: [Column<Advice>; NUM_ADVICE],
    /// See [`fixed`] for roles.
    pub fixed: [Column<Fixed>; fixed::COUNT],
    /// Public instances (see `crate::circuit::instance`).
    pub instance: Column<Instance>,
}

impl ShardConfig {
    /// Declares columns, gates and lookups.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let advice = [(); NUM_ADVICE].map(|_| meta.advice_column());
        let fixed = [(); fixed::COUNT].map(|_| meta.fixed_column());
        let instance = meta.instance_column();
        for a in advice {
            meta.enable_equality(a);
        }
        meta.enable_equality(instance);

        meta.create_gate("linear", |m| {
            let f = |m: &mut halo2_base::halo2_proofs::plonk::VirtualCells<Fr>, i| {
                m.query_fixed(fixed[i], Rotation::cur())
            };
            let x: Vec<_> =
                (0..WIDTH).map(|i| m.query_advice(advice[i], Rotation::cur())).collect();
            let z = m.query_advice(advice[Z], Rotation::cur());
            let z_prev = m.query_advice(advice[Z], Rotation::prev());
            let mut e = f(m, fixed::Q_Z) * z + f(m, fixed::CHAIN) * z_prev + f(m, fixed::K);
            for (i, xi) in x.iter().enumerate() {
                e = e + f(m, fixed::C0 + i) * xi.clone();
            }
            e = e + f(m, fixed::M) * x[0].clone() * x[1].clone();
            vec![f(m, fixed::Q_LIN) * e]
        });

        let mds = poseidon::constants().mds;
        let constant = |v: Fr| Expression::Constant(v);
        meta.create_gate("poseidon full round", |m| {
            let q = m.query_fixed(fixed[fixed::Q_FULL], Rotation::cur());
            let s: Vec<_> = (0..3).map(|i| m.query_advice(advice[i], Rotation::cur())).collect();
            let next: Vec<_> =
                (0..3).map(|i| m.query_advice(advice[i], Rotation::next())).collect();
            let sq: Vec<_> =
                (0..3).map(|i| m.query_advice(advice[3 + i], Rotation::cur())).collect();
            let u: Vec<_> = (0..3)
                .map(|i| s[i].clone() + m.query_fixed(fixed[fixed::C0 + i], Rotation::cur()))
                .collect();
            let mut cs = Vec::new();
            for i in 0..3 {
                cs.push(q.clone() * (sq[i].clone() - u[i].clone() * u[i].clone()));
            }
            for (i, n) in next.iter().enumerate() {
                let mixed = (0..3).fold(constant(Fr::zero()), |acc, j| {
                    acc + constant(mds[i][j]) * sq[j].clone() * sq[j].clone() * u[j].clone()
                });
                cs.push(q.clone() * (n.clone() - mixed));
            }
            cs
        });
        meta.create_gate("poseidon partial round", |m| {
            let q = m.query_fixed(fixed[fixed::Q_PART], Rotation::cur());
            let s: Vec<_> = (0..3).map(|i| m.query_advice(advice[i], Rotation::cur())).collect();
            let next: Vec<_> =
                (0..3).map(|i| m.query_advice(advice[i], Rotation::next())).collect();
            let sq = m.query_advice(advice[3], Rotation::cur());
            let u: Vec<_> = (0..3)
                .map(|i| s[i].clone() + m.query_fixed(fixed[fixed::C0 + i], Rotation::cur()))
                .collect();
            let sboxed = [sq.clone() * sq.clone() * u[0].clone(), u[1].clone(), u[2].clone()];
            let mut cs = vec![q.clone() * (sq - u[0].clone() * u[0].clone())];
            for (i, n) in next.iter().enumerate() {
                let mixed = (0..3).fold(constant(Fr::zero()), |acc, j| {
                    acc + constant(mds[i][j]) * sboxed[j].clone()
                });
                cs.push(q.clone() * (n.clone() - mixed));
            }
            cs
        });
        meta.create_gate("poseidon absorb", |m| {
            let q = m.query_fixed(fixed[fixed::Q_ABSORB], Rotation::cur());
            let cur = |m: &mut halo2_base::halo2_proofs::plonk::VirtualCells<Fr>, i| {
                m.query_advice(advice[i], Rotation::cur())
            };
            let nxt = |m: &mut halo2_base::halo2_proofs::plonk::VirtualCells<Fr>, i| {
                m.query_advice(advice[i], Rotation::next())
            };
            let (s0, s1, s2, a, b) = (cur(m, 0), cur(m, 1), cur(m, 2), cur(m, 3), cur(m, 4));
            let (n0, n1, n2) = (nxt(m, 0), nxt(m, 1), nxt(m, 2));
            vec![q.clone() * (n0 - s0), q.clone() * (n1 - s1 - a), q * (n2 - s2 - b)]
        });
        meta.create_gate("poseidon initial state", |m| {
            let q = m.query_fixed(fixed[fixed::Q_INIT], Rotation::cur());
            (0..3)
                .map(|i| {
                    q.clone()
                        * (m.query_advice(advice[i], Rotation::cur())
                            - m.query_fixed(fixed[fixed::C0 + i], Rotation::cur()))
                })
                .collect::<Vec<_>>()
        });

        for (name, tag_col, a, b) in
            [("lookup a", fixed::TAG_A, 1usize, 1usize), ("lookup b", fixed::TAG_B, 0, 3)]
        {
            meta.lookup_any(name, |m| {
                let tag = m.query_fixed(fixed[tag_col], Rotation::cur());
                let xa = m.query_advice(advice[a], Rotation::cur());
                let xb = m.query_advice(advice[b], Rotation::cur());
                let t_tag = m.query_fixed(fixed[fixed::T_TAG], Rotation::cur());
                let t_in = m.query_fixed(fixed[fixed::T_IN], Rotation::cur());
                let t_out = m.query_fixed(fixed[fixed::T_OUT], Rotation::cur());
                vec![(tag.clone(), t_tag), (tag.clone() * xa, t_in), (tag * xb, t_out)]
            });
        }

        Self { advice, fixed, instance }
    }
}
