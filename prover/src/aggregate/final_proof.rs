//! Which proof of an aggregation reaches the EVM: the wide aggregation proof itself, or its
//! compression by the thin layer (`super::compress`). Both expose the same statement in the
//! same instance layout; they differ in their verifying key, SRS size and verifier gas.

use halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use snark_verifier_sdk::Snark;

use super::circuit::AggregationInstances;
use super::{AggregationKeys, CompressionKeys};
use crate::error::Result;
use crate::proof::Srs;

/// The final proof's path, with what its step needs.
#[derive(Clone, Copy)]
pub enum FinalProof<'a> {
    /// The wide aggregation proof, made with the EVM's transcript.
    Wide,
    /// The wide proof made for compression, then compressed with these keys and this SRS.
    Thin(&'a CompressionKeys, &'a Srs),
}

impl<'a> FinalProof<'a> {
    /// The verifying key of the proof that reaches the EVM.
    pub fn vk<'b>(&self, wide: &'b AggregationKeys) -> &'b VerifyingKey<G1Affine>
    where
        'a: 'b,
    {
        match self {
            FinalProof::Wide => wide.pk.get_vk(),
            FinalProof::Thin(keys, _) => keys.pk.get_vk(),
        }
    }

    /// The SRS the final proof is checked with.
    pub fn srs<'b>(&self, wide_srs: &'b Srs) -> &'b Srs
    where
        'a: 'b,
    {
        match self {
            FinalProof::Wide => wide_srs,
            FinalProof::Thin(_, srs) => srs,
        }
    }

    /// Proves the final proof of one inference's shard snarks (in chain order), checked
    /// natively before it is returned.
    pub fn prove(
        &self,
        wide: &AggregationKeys,
        wide_srs: &Srs,
        snarks: Vec<Snark>,
    ) -> Result<(AggregationInstances, Vec<u8>)> {
        match self {
            FinalProof::Wide => wide.prove(wide_srs, snarks),
            FinalProof::Thin(keys, srs) => {
                let inner = wide.prove_for_compression(wide_srs, snarks)?;
                keys.prove(srs, inner)
            }
        }
    }

    /// Verifies a final proof natively (proof and accumulator, as the EVM verifier does).
    pub fn verify(
        &self,
        wide: &AggregationKeys,
        wide_srs: &Srs,
        instances: &[Fr],
        proof: &[u8],
    ) -> Result<()> {
        super::verify_aggregated(self.vk(wide), self.srs(wide_srs), instances, proof)
    }
}
