//! Calldata of the generated verifier: every public instance as a 32-byte big-endian word,
//! then the proof bytes. The verifier's fallback reads exactly this.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;

use crate::{Result, VerifierGenError};

/// A field element as the 32-byte big-endian word the EVM reads.
pub fn word(x: &Fr) -> [u8; 32] {
    let mut be = [0u8; 32];
    be.copy_from_slice(x.to_repr().as_ref());
    be.reverse();
    be
}

/// Encodes instances and proof for the verifier.
pub fn encode(instances: &[Fr], proof: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(instances.len() * 32 + proof.len());
    for x in instances {
        out.extend_from_slice(&word(x));
    }
    out.extend_from_slice(proof);
    out
}

/// Splits calldata back into `num_instances` field elements and the proof, rejecting
/// non-canonical field elements.
pub fn decode(calldata: &[u8], num_instances: usize) -> Result<(Vec<Fr>, Vec<u8>)> {
    if calldata.len() < num_instances * 32 {
        return Err(VerifierGenError::Calldata(format!(
            "{} bytes cannot hold {num_instances} instances",
            calldata.len()
        )));
    }
    let (words, proof) = calldata.split_at(num_instances * 32);
    let instances = words
        .chunks(32)
        .enumerate()
        .map(|(i, w)| {
            let mut le = [0u8; 32];
            le.copy_from_slice(w);
            le.reverse();
            Option::<Fr>::from(Fr::from_repr(le)).ok_or_else(|| {
                VerifierGenError::Calldata(format!("instance {i} is not a canonical field element"))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((instances, proof.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_big_endian_words() {
        let inst = vec![Fr::from(1u64), -Fr::from(2u64), Fr::from(0x1234u64)];
        let proof = vec![9u8, 8, 7];
        let c = encode(&inst, &proof);
        assert_eq!(c.len(), 3 * 32 + 3);
        assert_eq!(&c[30..32], &[0, 1]);
        assert_eq!(&c[94..96], &[0x12, 0x34]);
        assert_eq!(decode(&c, 3).expect("decode"), (inst, proof));
    }

    #[test]
    fn rejects_short_and_noncanonical() {
        assert!(decode(&[0u8; 40], 2).is_err());
        assert!(decode(&[0xffu8; 32], 1).is_err());
    }

    #[test]
    fn matches_snark_verifier_encoding() {
        let inst = vec![Fr::from(5u64), -Fr::from(3u64)];
        let proof = vec![1u8, 2, 3, 4];
        let reference =
            snark_verifier_sdk::evm::encode_calldata(std::slice::from_ref(&inst), &proof);
        assert_eq!(encode(&inst, &proof), reference);
    }
}
