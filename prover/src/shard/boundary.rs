//! Native computation of boundary commitments, identical to what the circuit computes.
//!
//! A commitment packs range-checked values, `per_element` to a field element, as
//! `sum 2^(L*i) * (v_i + 2^(L-1))`, then hashes `[salt?] ++ packed` with the Poseidon
//! sponge of [`crate::circuit::poseidon`] under a domain tag (input, link or outputs).
//!
//! Every commitment that only links two shards is salted, each link with its own salt: where
//! a cut passes raw inputs on, an unsalted link would be a hash of the input that a
//! dictionary recovers, whatever the input's own salt. Link salts are derived from a seed
//! the job maker keeps, so a shard's task carries its two link salts and nothing else
//! secret. The last output commitment stays unsalted: outputs are public, and anyone
//! holding them must be able to check it.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::Field;

use crate::circuit::layout::{cost::per_element, DOMAIN_BOUNDARY, DOMAIN_INPUT, DOMAIN_LINK};
use crate::circuit::{fe, poseidon, pow2};

/// Packs values (each of `value_bits` bits, see `QuantSettings::value_bits`) into field
/// elements.
pub fn pack(values: &[i64], value_bits: u32) -> Vec<Fr> {
    let half = 1i64 << (value_bits - 1);
    values
        .chunks(per_element(value_bits))
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(Fr::ZERO, |acc, (i, v)| acc + pow2(value_bits * i as u32) * fe(v + half))
        })
        .collect()
}

/// Commitment to a model input: salted, so a private input stays hidden (salt 0 in
/// public-input mode, where anyone can recompute it from the input file).
pub fn input_commitment(values: &[i64], value_bits: u32, salt: Fr) -> Fr {
    let mut message = vec![salt];
    message.extend(pack(values, value_bits));
    poseidon::hash(DOMAIN_INPUT, &message)
}

/// Commitment to the model's outputs (the last shard's output commitment).
pub fn boundary_commitment(values: &[i64], value_bits: u32) -> Fr {
    poseidon::hash(DOMAIN_BOUNDARY, &pack(values, value_bits))
}

/// Commitment to values passed from one shard to the next, under that link's salt.
pub fn link_commitment(values: &[i64], value_bits: u32, salt: Fr) -> Fr {
    let mut message = vec![salt];
    message.extend(pack(values, value_bits));
    poseidon::hash(DOMAIN_LINK, &message)
}

/// Domain of the link-salt derivation (never a commitment's domain).
const DOMAIN_LINK_SALT: u8 = 4;

/// The salt of the link into shard `shard` (`shard >= 1`), derived from the job maker's
/// seed: distinct per link, and no link's salt reveals the seed or another link's.
pub fn link_salt(seed: Fr, shard: usize) -> Fr {
    poseidon::hash(DOMAIN_LINK_SALT, &[seed, Fr::from(shard as u64)])
}

/// The salts one shard's two commitments absorb first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Salts {
    /// Of the input commitment: the model input's salt for shard 0, else its incoming link's.
    pub input: Fr,
    /// Of the output commitment: its outgoing link's; unused by the last shard.
    pub output: Fr,
}

impl Salts {
    /// The salts of shard `shard` of `shards`, for model-input salt `input` and link seed
    /// `seed`.
    pub fn of_shard(shard: usize, shards: usize, input: Fr, seed: Fr) -> Self {
        Self {
            input: if shard == 0 { input } else { link_salt(seed, shard) },
            output: if shard + 1 < shards { link_salt(seed, shard + 1) } else { Fr::ZERO },
        }
    }
}
