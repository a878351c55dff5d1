//! Native computation of boundary commitments, identical to what the circuit computes.
//!
//! A commitment packs range-checked values, `per_element` to a field element, as
//! `sum 2^(L*i) * (v_i + 2^(L-1))`, then hashes `[salt?] ++ packed` with the Poseidon
//! sponge of [`crate::circuit::poseidon`] under a domain tag (input or boundary).

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::Field;

use crate::circuit::layout::{cost::per_element, DOMAIN_BOUNDARY, DOMAIN_INPUT};
use crate::circuit::{fe, poseidon, pow2};

/// Packs values (each in the lookup domain) into field elements.
pub fn pack(values: &[i64], lookup_bits: u32) -> Vec<Fr> {
    let half = 1i64 << (lookup_bits - 1);
    values
        .chunks(per_element(lookup_bits))
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(Fr::ZERO, |acc, (i, v)| acc + pow2(lookup_bits * i as u32) * fe(v + half))
        })
        .collect()
}

/// Commitment to a model input: salted, so a private input stays hidden (salt 0 in
/// public-input mode, where anyone can recompute it from the input file).
pub fn input_commitment(values: &[i64], lookup_bits: u32, salt: Fr) -> Fr {
    let mut message = vec![salt];
    message.extend(pack(values, lookup_bits));
    poseidon::hash(DOMAIN_INPUT, &message)
}

/// Commitment to values passed between shards, or to the final outputs.
pub fn boundary_commitment(values: &[i64], lookup_bits: u32) -> Fr {
    poseidon::hash(DOMAIN_BOUNDARY, &pack(values, lookup_bits))
}
