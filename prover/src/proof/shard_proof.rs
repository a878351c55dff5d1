//! A shard proof: SHPLONK over KZG with a Poseidon transcript, so the aggregation
//! circuit can verify it in-circuit.

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use halo2_base::halo2_proofs::plonk::{create_proof, verify_proof, ProvingKey, VerifyingKey};
use halo2_base::halo2_proofs::poly::commitment::ParamsProver;
use halo2_base::halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_base::halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_base::halo2_proofs::poly::kzg::strategy::SingleStrategy;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::NativeLoader;

use super::Srs;
use crate::circuit::layout::Layout;
use crate::circuit::ShardCircuit;
use crate::error::{ProverError, Result};

/// Format version of [`ShardProof`] files.
pub const SHARD_PROOF_VERSION: u32 = 1;

/// One shard's proof and public instances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardProof {
    /// File format version.
    pub version: u32,
    /// Position of the shard in its model's chain.
    pub shard: usize,
    /// Public instances (see `crate::circuit::instance`), little-endian field element bytes in hex.
    #[serde(with = "fr_hex")]
    pub instances: Vec<Fr>,
    /// Proof bytes.
    #[serde(with = "hex_bytes")]
    pub proof: Vec<u8>,
}

impl ShardProof {
    /// Proves a shard from its layout (which carries the witness).
    pub fn create(
        srs: &Srs,
        pk: &ProvingKey<G1Affine>,
        shard: usize,
        layout: std::sync::Arc<Layout>,
    ) -> Result<Self> {
        let instances = layout.instances.clone();
        let circuit = ShardCircuit { layout, with_witness: true };
        let mut transcript =
            PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
        create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
            &srs.params,
            pk,
            &[circuit],
            &[&[&instances]],
            OsRng,
            &mut transcript,
        )
        .map_err(|e| ProverError::Halo2(format!("shard {shard}: create_proof: {e:?}")))?;
        Ok(Self { version: SHARD_PROOF_VERSION, shard, instances, proof: transcript.finalize() })
    }

    /// Verifies the proof against a verifying key.
    pub fn verify(&self, srs: &Srs, vk: &VerifyingKey<G1Affine>) -> Result<()> {
        let mut transcript = PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(
            &self.proof[..],
            POSEIDON_SPEC.clone(),
        );
        let verifier_params = srs.params.verifier_params();
        let strategy = SingleStrategy::new(&srs.params);
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            verifier_params,
            vk,
            strategy,
            &[&[&self.instances]],
            &mut transcript,
        )
        .map_err(|e| ProverError::Rejected(format!("shard {}: {e:?}", self.shard)))
    }
}

/// Little-endian hex of a field element.
pub fn fr_to_hex(x: &Fr) -> String {
    hex::encode(x.to_repr())
}

/// Parses [`fr_to_hex`] output, rejecting non-canonical encodings.
pub fn fr_from_hex(s: &str) -> std::result::Result<Fr, String> {
    let bytes = hex::decode(s.trim_start_matches("0x")).map_err(|e| e.to_string())?;
    let arr: [u8; 32] =
        bytes.try_into().map_err(|_| "field element must be 32 bytes".to_string())?;
    Option::from(Fr::from_repr(arr)).ok_or_else(|| "not a canonical field element".to_string())
}

mod fr_hex {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[Fr], s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(fr_to_hex))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<Fr>, D::Error> {
        let v: Vec<String> = Vec::deserialize(d)?;
        v.iter().map(|s| fr_from_hex(s).map_err(serde::de::Error::custom)).collect()
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s.trim_start_matches("0x")).map_err(serde::de::Error::custom)
    }
}
