//! Reusing an aggregated proof of the same statement (`ZKATTEST_AGGREGATION_CACHE`).
//!
//! An aggregated proof proves a statement: this model id, this input commitment, these
//! outputs. Any valid proof of it is as good as another (the accumulator is part of the
//! proof, not of the claim). When [`ENV`] names a folder, aggregation first looks there for a
//! proof made under the same final key (wide or thin) from shard proofs with the same verifying keys
//! and public instances, verifies it natively and checks that it exposes exactly the
//! statement this aggregation would, and only then returns it instead of proving again; a
//! fresh proof is stored there. The test suite sets it for one run so the demo and the
//! cluster suite, which prove the same inference, pay for one aggregation. Unset (the
//! default), nothing is read or written.

use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use sha2::{Digest, Sha256};

use super::circuit::{pack_outputs, INPUT_COMMITMENT, MODEL_ID};
use super::keys::{verify_aggregated, CIRCUIT_VERSION};
use crate::artifacts::InferenceProof;
use crate::circuit::instance;
use crate::error::{ProverError, Result};
use crate::proof::keys::write_atomic;
use crate::proof::shard_proof::{fr_from_hex, fr_to_hex};
use crate::proof::Srs;

/// The variable naming the folder of reusable aggregated proofs.
pub const ENV: &str = "ZKATTEST_AGGREGATION_CACHE";

/// A folder of aggregated proofs keyed by statement.
pub struct ProofReuse {
    dir: PathBuf,
}

/// The statement one aggregation proves, and its key in the folder.
pub struct Statement {
    key: String,
    expected: Vec<Fr>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    instances: Vec<String>,
    proof: String,
}

impl Statement {
    /// The statement of aggregating `proof`'s shards (verifying keys `vks`) into a final
    /// proof under `final_vk` (the wide key, or the thin key in front of it):
    /// model id, input commitment, packed outputs (with their scale) and output commitment,
    /// keyed by the key, the shard verifying keys and the statement itself. Not by the shard
    /// proofs' other instances: the links between shards are salted afresh for every proof,
    /// and no link appears in the aggregated statement.
    pub fn of(
        final_vk: &VerifyingKey<G1Affine>,
        srs: &Srs,
        vks: &[VerifyingKey<G1Affine>],
        proof: &InferenceProof,
    ) -> Self {
        let mut h = Sha256::new();
        h.update(CIRCUIT_VERSION.to_le_bytes());
        h.update(final_vk.transcript_repr().to_repr());
        for vk in vks {
            h.update(vk.transcript_repr().to_repr());
        }
        let witnesses: Vec<Vec<Fr>> =
            vks.iter().map(|vk| super::model_id::vk_witness(&srs.params, vk)).collect();
        let mut expected = vec![
            super::model_id::model_id(&witnesses),
            proof
                .shards
                .first()
                .and_then(|s| s.instances.get(instance::IN_COMMIT).copied())
                .unwrap_or_default(),
        ];
        // A scale the descriptor cannot hold has no proof to reuse: nothing matches.
        expected.extend(pack_outputs(&proof.outputs_q, proof.scale_bits).unwrap_or_default());
        expected.push(
            proof
                .shards
                .last()
                .and_then(|s| s.instances.get(instance::OUT_COMMIT).copied())
                .unwrap_or_default(),
        );
        h.update((expected.len() as u64).to_le_bytes());
        for x in &expected {
            h.update(x.to_repr());
        }
        Self { key: hex::encode(h.finalize()), expected }
    }
}

impl ProofReuse {
    /// The folder named by [`ENV`], if any.
    pub fn from_env() -> Option<Self> {
        std::env::var_os(ENV).filter(|v| !v.is_empty()).map(|d| Self { dir: d.into() })
    }

    fn path(&self, s: &Statement) -> PathBuf {
        self.dir.join(format!("{}.json", s.key))
    }

    /// A stored proof of `s` that verifies under `final_vk` and exposes exactly `s`; anything
    /// else stored under its key is ignored (and then overwritten by a fresh proof).
    pub fn find(
        &self,
        final_vk: &VerifyingKey<G1Affine>,
        final_srs: &Srs,
        s: &Statement,
    ) -> Option<(Vec<Fr>, Vec<u8>)> {
        let text = std::fs::read(self.path(s)).ok()?;
        let stored: Stored = serde_json::from_slice(&text).ok()?;
        let instances = stored
            .instances
            .iter()
            .map(|x| fr_from_hex(x))
            .collect::<std::result::Result<Vec<_>, _>>()
            .ok()?;
        let proof = hex::decode(&stored.proof).ok()?;
        let exposes = instances.get(MODEL_ID..).is_some_and(|tail| tail == s.expected.as_slice())
            && instances.len() > INPUT_COMMITMENT;
        (exposes && verify_aggregated(final_vk, final_srs, &instances, &proof).is_ok())
            .then_some((instances, proof))
    }

    /// Stores a fresh proof of `s`.
    pub fn store(&self, s: &Statement, instances: &[Fr], proof: &[u8]) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| ProverError::io(&self.dir, e))?;
        let stored = Stored {
            instances: instances.iter().map(fr_to_hex).collect(),
            proof: hex::encode(proof),
        };
        let json = serde_json::to_vec(&stored)
            .map_err(|e| ProverError::Json { path: self.path(s), reason: e.to_string() })?;
        write_atomic(&self.path(s), |w| std::io::Write::write_all(w, &json))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
