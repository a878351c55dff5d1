//! A Powers of Tau file of any size from a known τ, in snarkjs's `.ptau` layout (sections 1-3:
//! header, `[τ^i]G1`, `[τ^i]G2`; with `lagrange`, section 12 as `snarkjs powersoftau prepare
//! phase2` writes it: the Lagrange basis over snarkjs's root of unity `5^t`), for tests that need a non-dev SRS larger than a snarkjs
//! ceremony can make on two cores (its contributions take minutes at 2^13, hours at 2^21).
//! Whoever holds τ can forge proofs: this is test material, never a setup.

use std::io::Write;
use std::path::Path;

use halo2_base::halo2_proofs::arithmetic::best_fft;
use halo2_base::halo2_proofs::fft::recursive::FFTData;
use halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G2Affine, G1, G2};
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_base::halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_base::halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_base::halo2_proofs::halo2curves::serde::SerdeObject;
use rayon::prelude::*;

/// `d * 2^(8 j) * base` for every byte position `j` and byte `d`.
fn table<G: Group>(base: G) -> Vec<Vec<G>> {
    let mut start = base;
    (0..32)
        .map(|_| {
            let mut row = vec![G::identity(); 256];
            for d in 1..256 {
                row[d] = row[d - 1] + start;
            }
            start = row[255] + start;
            row
        })
        .collect()
}

fn mul_all<G: Group + Send + Sync>(t: &[Vec<G>], scalars: &[Fr]) -> Vec<G> {
    scalars
        .par_iter()
        .map(|s| {
            let repr = s.to_repr();
            repr.as_ref()
                .iter()
                .enumerate()
                .fold(G::identity(), |acc, (j, b)| acc + t[j][*b as usize])
        })
        .collect()
}

/// `L_j(τ)` over snarkjs's domain of size `2^p` for `p = 0..=power+1`, block after block: the
/// inverse FFT of the powers (the last block's top power is zero, as in snarkjs, which has
/// only `2^(power+1) - 1` of them).
fn snarkjs_lagrange(powers: &[Fr], power: u32) -> Vec<Fr> {
    // 5^t, t = (r - 1) / 2^28: snarkjs's primitive 2^28-th root of unity.
    let t = [0x9b97_0914_3e1f_593f, 0x1815_85d2_833e_8487, 0x131a_029b_8504_5b68, 0x3_0644_e72e];
    let root = Fr::from(5).pow_vartime(t);
    let mut out = Vec::with_capacity(4 << power);
    for p in 0..=power + 1 {
        let n = 1usize << p;
        let mut v: Vec<Fr> = (0..n).map(|i| powers.get(i).copied().unwrap_or(Fr::ZERO)).collect();
        if n > 1 {
            let mut omega = root;
            for _ in p..Fr::S {
                omega = omega.square();
            }
            let omega_inv = omega.invert().unwrap_or(Fr::ONE);
            best_fft(&mut v, omega_inv, p, &FFTData::new(n, omega, omega_inv), true);
            let n_inv = Fr::from(n as u64).invert().unwrap_or(Fr::ONE);
            v.iter_mut().for_each(|x| *x *= n_inv);
        }
        out.extend(v);
    }
    out
}

/// Writes `[τ^i]G1` for `i < 2^(power+1) - 1` and `[τ^i]G2` for `i < 2^power` to `path`, and
/// with `lagrange` the phase-2 Lagrange section 12.
pub fn write_ptau(path: &Path, power: u32, tau: Fr, lagrange: bool) -> std::io::Result<()> {
    let (n1, n2) = ((2usize << power) - 1, 1usize << power);
    let mut powers = Vec::with_capacity(n1);
    let mut x = Fr::ONE;
    for _ in 0..n1 {
        powers.push(x);
        x *= tau;
    }
    let g1_table = table(G1::generator());
    let g1 = mul_all(&g1_table, &powers);
    let mut g1_affine = vec![G1Affine::identity(); n1];
    G1::batch_normalize(&g1, &mut g1_affine);
    drop(g1);
    let g2 = mul_all(&table(G2::generator()), &powers[..n2]);
    let mut g2_affine = vec![G2Affine::identity(); n2];
    G2::batch_normalize(&g2, &mut g2_affine);

    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    w.write_all(b"ptau")?;
    w.write_all(&1u32.to_le_bytes())?;
    w.write_all(&(if lagrange { 4u32 } else { 3 }).to_le_bytes())?;
    // Header: n8, q (little-endian), power, ceremony power.
    w.write_all(&1u32.to_le_bytes())?;
    w.write_all(&44u64.to_le_bytes())?;
    w.write_all(&32u32.to_le_bytes())?;
    let mut q = hex_be("30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47");
    q.reverse();
    w.write_all(&q)?;
    w.write_all(&power.to_le_bytes())?;
    w.write_all(&power.to_le_bytes())?;
    w.write_all(&2u32.to_le_bytes())?;
    w.write_all(&(n1 as u64 * 64).to_le_bytes())?;
    for p in &g1_affine {
        w.write_all(&p.to_raw_bytes())?;
    }
    w.write_all(&3u32.to_le_bytes())?;
    w.write_all(&(n2 as u64 * 128).to_le_bytes())?;
    for p in &g2_affine {
        w.write_all(&p.to_raw_bytes())?;
    }
    if lagrange {
        let scalars = snarkjs_lagrange(&powers, power);
        drop(powers);
        w.write_all(&12u32.to_le_bytes())?;
        w.write_all(&(scalars.len() as u64 * 64).to_le_bytes())?;
        // In chunks, so the projective points never all sit in memory at once.
        for chunk in scalars.chunks(1 << 20) {
            let points = mul_all(&g1_table, chunk);
            let mut affine = vec![G1Affine::identity(); points.len()];
            G1::batch_normalize(&points, &mut affine);
            for p in &affine {
                w.write_all(&p.to_raw_bytes())?;
            }
        }
    }
    w.flush()
}

fn hex_be(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0)).collect()
}
