//! Generating the insecure dev SRS fast.
//!
//! halo2's `ParamsKZG::setup` makes `2^(k+1)` variable-base multiplications of the G1
//! generator (the powers `[s^i] G1` and the Lagrange basis), about 10 minutes at k = 21 on
//! two cores, the largest single piece of a cold CI run. Every one of those points is a
//! multiple of the same generator, so a fixed-base table turns each multiplication into 32
//! additions; the scalars come from field arithmetic and one batch inversion. The result
//! is the same parameters, point for point (a test compares the serialized bytes).

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine, G1};
use halo2_base::halo2_proofs::halo2curves::ff::{BatchInvert, Field, PrimeField};
use halo2_base::halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_base::halo2_proofs::halo2curves::group::Curve;
use halo2_base::halo2_proofs::halo2curves::group::Group;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

/// Bits per window of the fixed-base table: 32 windows of 256 points for a 254-bit scalar.
const WINDOW: usize = 8;
const WINDOWS: usize = 256 / WINDOW;

/// `ParamsKZG::<Bn256>::setup(k, rng)`, computed with a fixed-base table.
pub fn setup(k: u32, mut rng: ChaCha20Rng) -> ParamsKZG<Bn256> {
    assert!(k <= Fr::S, "k = {k} above the field's two-adicity");
    let n = 1usize << k;
    // The secret drawn exactly as `setup` draws it.
    let s = Fr::random(&mut rng);

    let powers = geometric(s, n);
    // Lagrange basis at the n-th roots of unity: L_i(s) = (s^n - 1)/n * w^i / (s - w^i).
    // Constants of the field: their inverses exist.
    let mut root = Fr::ROOT_OF_UNITY_INV.invert().unwrap();
    for _ in k..Fr::S {
        root = root.square();
    }
    let roots = geometric(root, n);
    let n_inv = Fr::from(n as u64).invert().unwrap();
    let multiplier = (s.pow_vartime([n as u64]) - Fr::ONE) * n_inv;
    let mut lagrange: Vec<Fr> = roots.par_iter().map(|w| s - w).collect();
    lagrange.par_chunks_mut(1 << 12).for_each(|c| {
        c.iter_mut().batch_invert();
    });
    lagrange.par_iter_mut().zip(&roots).for_each(|(l, w)| *l *= multiplier * w);

    let table = Table::new(G1Affine::generator());
    let g = table.mul_all(&powers);
    let g_lagrange = table.mul_all(&lagrange);
    let g2 = G2Affine::generator();
    let s_g2 = (g2 * s).to_affine();
    // `from_parts` is a method; the k = 1 instance it is called on is discarded.
    ParamsKZG::<Bn256>::setup(1, ChaCha20Rng::from_seed([0; 32])).from_parts(
        k,
        g,
        Some(g_lagrange),
        g2,
        s_g2,
    )
}

/// `[1, x, x^2, ..., x^(n-1)]`, in parallel chunks.
fn geometric(x: Fr, n: usize) -> Vec<Fr> {
    let mut out = vec![Fr::ONE; n];
    let chunk = n.div_ceil(rayon::current_num_threads().max(1) * 4).max(1);
    out.par_chunks_mut(chunk).enumerate().for_each(|(i, c)| {
        let mut cur = x.pow_vartime([(i * chunk) as u64]);
        for v in c {
            *v = cur;
            cur *= x;
        }
    });
    out
}

/// `d * 2^(WINDOW j) * base` for every window `j` and digit `d`.
struct Table {
    points: Vec<[G1Affine; 1 << WINDOW]>,
}

impl Table {
    fn new(base: G1Affine) -> Self {
        let mut start: G1 = base.into();
        let mut points = Vec::with_capacity(WINDOWS);
        for _ in 0..WINDOWS {
            let mut row = vec![G1::identity(); 1 << WINDOW];
            for d in 1..row.len() {
                row[d] = row[d - 1] + start;
            }
            let mut affine = [G1Affine::identity(); 1 << WINDOW];
            G1::batch_normalize(&row, &mut affine);
            points.push(affine);
            start = row[row.len() - 1] + start;
        }
        Self { points }
    }

    fn mul(&self, scalar: &Fr) -> G1 {
        let bytes = scalar.to_repr();
        let mut acc = G1::identity();
        for (window, &digit) in self.points.iter().zip(bytes.as_ref()) {
            if digit != 0 {
                acc += window[digit as usize];
            }
        }
        acc
    }

    fn mul_all(&self, scalars: &[Fr]) -> Vec<G1Affine> {
        let projective: Vec<G1> = scalars.par_iter().map(|x| self.mul(x)).collect();
        let mut affine = vec![G1Affine::identity(); projective.len()];
        affine.par_chunks_mut(1 << 12).zip(projective.par_chunks(1 << 12)).for_each(|(a, p)| {
            G1::batch_normalize(p, a);
        });
        affine
    }
}

#[cfg(test)]
mod tests {
    use halo2_base::halo2_proofs::poly::commitment::Params;

    use super::*;

    fn bytes(p: &ParamsKZG<Bn256>) -> Vec<u8> {
        let mut out = Vec::new();
        p.write(&mut out).expect("write");
        out
    }

    #[test]
    fn same_parameters_as_halo2_setup() {
        for k in [1, 4, 9] {
            let seed = [k as u8; 32];
            let fast = setup(k, ChaCha20Rng::from_seed(seed));
            let slow = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::from_seed(seed));
            assert!(bytes(&fast) == bytes(&slow), "k = {k}");
        }
    }
}
