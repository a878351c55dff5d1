//! Poseidon over BN254 (width 3, rate 2, x^5, 8 full + 57 partial rounds): the hash of
//! shard boundary commitments, natively and as the constants the circuit gates use.
//!
//! Constants come from the reference Grain LFSR generation (`poseidon-primitives`), the
//! same parameters as halo2's and snark-verifier's P128Pow5T3.

use std::sync::OnceLock;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use poseidon_primitives::poseidon::primitives::Spec;

/// State width.
pub const T: usize = 3;
/// Elements absorbed per permutation.
pub const RATE: usize = 2;
/// Full rounds (half before, half after the partial rounds).
pub const R_F: usize = 8;
/// Partial rounds.
pub const R_P: usize = 57;
/// Rows one permutation takes in the circuit: one per round.
pub const ROUNDS: usize = R_F + R_P;

#[derive(Debug)]
struct P128Pow5T3;

impl Spec<Fr, T, RATE> for P128Pow5T3 {
    fn full_rounds() -> usize {
        R_F
    }
    fn partial_rounds() -> usize {
        R_P
    }
    fn sbox(val: Fr) -> Fr {
        val.pow_vartime([5])
    }
    fn secure_mds() -> usize {
        0
    }
}

/// Round constants (one triple per round) and the MDS matrix.
#[derive(Debug)]
pub struct Constants {
    /// `rc[r]` is added to the state before round `r`'s S-boxes.
    pub rc: Vec<[Fr; T]>,
    /// Mixing matrix applied after the S-boxes.
    pub mds: [[Fr; T]; T],
}

/// The permutation's constants, generated once.
pub fn constants() -> &'static Constants {
    static C: OnceLock<Constants> = OnceLock::new();
    C.get_or_init(|| {
        let (rc, mds, _) = P128Pow5T3::constants();
        Constants { rc, mds }
    })
}

/// True when round `r` applies the S-box to the whole state.
pub fn is_full_round(r: usize) -> bool {
    !(R_F / 2..R_F / 2 + R_P).contains(&r)
}

/// Applies round `r` to `state`, returning the squares of the S-box inputs (the circuit
/// stores them to keep its gates at degree 4).
pub fn round(state: &mut [Fr; T], r: usize) -> [Fr; T] {
    let c = constants();
    let mut squares = [Fr::ZERO; T];
    let mut after = *state;
    for i in 0..T {
        let u = state[i] + c.rc[r][i];
        if i == 0 || is_full_round(r) {
            squares[i] = u.square();
            after[i] = squares[i].square() * u;
        } else {
            after[i] = u;
        }
    }
    for (i, out) in state.iter_mut().enumerate() {
        *out = (0..T).fold(Fr::ZERO, |acc, j| acc + c.mds[i][j] * after[j]);
    }
    squares
}

/// The full permutation.
pub fn permute(state: &mut [Fr; T]) {
    for r in 0..ROUNDS {
        round(state, r);
    }
}

/// Initial sponge state: the capacity element binds the domain and the message length.
pub fn initial_state(domain: u8, len: usize) -> [Fr; T] {
    [Fr::from_u128(((len as u128) << 8) | domain as u128), Fr::ZERO, Fr::ZERO]
}

/// Sponge hash of a message, zero-padded to a multiple of the rate.
pub fn hash(domain: u8, message: &[Fr]) -> Fr {
    let mut state = initial_state(domain, message.len());
    for pair in message.chunks(RATE) {
        state[1] += pair[0];
        state[2] += pair.get(1).copied().unwrap_or(Fr::ZERO);
        permute(&mut state);
    }
    state[1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;

    #[test]
    fn matches_reference_permutation() {
        // The reference P128Pow5T3 test vector input [0, 1, 2] through the same constants,
        // compared with poseidon-primitives' own permutation.
        let mut ours = [Fr::from(0u64), Fr::from(1u64), Fr::from(2u64)];
        permute(&mut ours);
        let mut reference = [Fr::from(0u64), Fr::from(1u64), Fr::from(2u64)];
        use poseidon_primitives::poseidon::primitives::{ConstantLength, Hash};
        Hash::<Fr, P128Pow5T3, ConstantLength<2>, T, RATE>::init().permute(&mut reference);
        assert_eq!(ours, reference);
        assert_ne!(ours[0], Fr::from(0u64));
    }

    #[test]
    fn hash_binds_domain_length_and_content() {
        let m = [Fr::from(7u64), Fr::from(9u64), Fr::from(11u64)];
        let h = hash(2, &m);
        assert_ne!(h, hash(1, &m));
        assert_ne!(h, hash(2, &m[..2]));
        assert_ne!(h, hash(2, &[m[0], m[1], m[2], Fr::ZERO]));
        assert_ne!(h, hash(2, &[m[1], m[0], m[2]]));
        assert_eq!(h, hash(2, &m));
        assert!(h.to_repr().as_ref().iter().any(|b| *b != 0));
    }
}
