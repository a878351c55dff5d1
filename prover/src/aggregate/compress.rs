//! The thin layer: "wide, then thin".
//!
//! The wide aggregation circuit verifies shard proofs with several advice columns at k = 21;
//! its EVM verifier pays one multiplication and one opening per column. The compression
//! circuit verifies exactly one proof, the wide one (made with a Poseidon transcript), with
//! its verifying key a constant of the circuit, at a larger k where one advice column holds
//! it. Its EVM verifier is the cheaper one, and it is the only proof that reaches the chain.
//!
//! Public instances keep the wide layout exactly (`super::circuit::num_instances`): the wide
//! proof's KZG accumulator is folded into the new one (its limbs are declared as accumulator
//! indices of the inner protocol), and every other wide instance (model id, input commitment,
//! packed outputs, output commitment) is copied through in place. Calldata, the registry and
//! the verifier generator therefore do not change with the layer.

use std::path::{Path, PathBuf};

use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::{ProvingKey, VerifyingKey};
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::aggregation::{
    AggregationCircuit, AggregationConfigParams, VerifierUniversality,
};
use snark_verifier_sdk::halo2::gen_dummy_snark_from_protocol;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::{Snark, SHPLONK};

use super::circuit::{num_instances, AggregationInstances, NUM_ACC_LIMBS};
use super::keys::{self, AggregationSettings, Meta};
use crate::error::{ProverError, Result};
use crate::proof::shard_proof::fr_to_hex;
use crate::proof::Srs;

/// Shape of the compression circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompressionSettings {
    /// Rows of the compression circuit: 2^k. At k = 23 one advice column holds the
    /// verification of one wide proof (`benches/thin.rs` in verifier-gen measures it).
    pub k: u32,
}

impl Default for CompressionSettings {
    fn default() -> Self {
        Self { k: 23 }
    }
}

/// Folder of cached compression keys: inside the folder of the wide keys they verify.
pub fn cache_dir(
    root: &Path,
    wide: &AggregationSettings,
    thin: &CompressionSettings,
    srs: &Srs,
) -> PathBuf {
    keys::cache_dir(root, wide, srs).join(format!("thin-k{}", thin.k))
}

/// The digest of a verifying key that compression keys record of the wide key.
pub fn vk_digest(vk: &VerifyingKey<G1Affine>) -> String {
    fr_to_hex(&vk.transcript_repr())
}

/// The wide aggregation circuit as snark-verifier's protocol, its accumulator limbs declared
/// so that verifying it in-circuit folds that accumulator instead of trusting it.
pub fn wide_protocol(wide_srs: &Srs, wide_vk: &VerifyingKey<G1Affine>) -> PlonkProtocol<G1Affine> {
    compile(
        &wide_srs.params,
        wide_vk,
        Config::kzg()
            .with_num_instance(vec![num_instances()])
            .with_accumulator_indices(Some((0..NUM_ACC_LIMBS).map(|i| (0, i)).collect())),
    )
}

/// A placeholder proof under an aggregation-type key `vk` for keygen of a circuit that
/// verifies such proofs (keygen reads no witness values, but the placeholder accumulator
/// must decode to curve points: the generator for both).
pub fn placeholder_snark(srs: &Srs, vk: &VerifyingKey<G1Affine>) -> Snark {
    let mut dummy = gen_dummy_snark_from_protocol::<SHPLONK>(wide_protocol(srs, vk));
    let g = [Fr::one(), Fr::zero(), Fr::zero(), Fr::from(2), Fr::zero(), Fr::zero()];
    for (i, x) in g.iter().chain(&g).enumerate() {
        dummy.instances[0][i] = *x;
    }
    dummy
}

/// A wide proof (Poseidon transcript) with its instances, as the compression circuit's input.
pub fn wide_snark(
    wide_srs: &Srs,
    wide_vk: &VerifyingKey<G1Affine>,
    instances: Vec<Fr>,
    proof: Vec<u8>,
) -> Snark {
    Snark::new(wide_protocol(wide_srs, wide_vk), vec![instances], proof)
}

/// Builds the compression circuit over one wide snark.
pub fn build(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &ParamsKZG<Bn256>,
    wide: Snark,
) -> Result<AggregationCircuit> {
    if wide.instances.len() != 1 || wide.instances[0].len() != num_instances() {
        return Err(ProverError::Rejected("the wide proof has the wrong instance layout".into()));
    }
    // The wide key never changes (the wide circuit is universal over shard keys), so it is a
    // constant here: a proof under any other key cannot be compressed.
    let mut circuit = AggregationCircuit::new::<SHPLONK>(
        stage,
        config,
        params,
        [wide],
        VerifierUniversality::None,
    );
    // After the new accumulator: the wide instances past its own accumulator, in place.
    circuit.expose_previous_instances(true);
    debug_assert_eq!(circuit.builder.assigned_instances[0].len(), num_instances());
    Ok(circuit)
}

/// Compression proving key with the circuit configuration it was made for.
pub struct CompressionKeys {
    /// The settings.
    pub settings: CompressionSettings,
    /// Column counts etc. found at keygen.
    pub config: AggregationConfigParams,
    /// Witness layout found at keygen, reused when proving.
    pub break_points: MultiPhaseThreadBreakPoints,
    /// Proving key (holds the verifying key).
    pub pk: ProvingKey<G1Affine>,
}

/// The keygen circuit: a placeholder wide proof with the real wide protocol (keygen reads no
/// witness values). Also what cell-budget measurements lay out.
pub fn keygen_circuit(
    settings: CompressionSettings,
    srs: &Srs,
    wide_srs: &Srs,
    wide_vk: &VerifyingKey<G1Affine>,
) -> Result<AggregationCircuit> {
    let dummy = placeholder_snark(wide_srs, wide_vk);
    let config = AggregationConfigParams {
        degree: settings.k,
        lookup_bits: settings.k as usize - 1,
        ..Default::default()
    };
    build(CircuitBuilderStage::Keygen, config, &srs.params, dummy)
}

impl CompressionKeys {
    /// Loads cached keys for `settings` over the wide key `wide_vk`, or runs keygen and
    /// caches them. `srs` must have size `settings.k`, `wide_srs` the wide key's size.
    pub fn load_or_generate(
        root: &Path,
        settings: CompressionSettings,
        srs: &Srs,
        wide_settings: &AggregationSettings,
        wide_srs: &Srs,
        wide_vk: &VerifyingKey<G1Affine>,
    ) -> Result<Self> {
        check_size(srs, settings)?;
        let dir = cache_dir(root, wide_settings, &settings, srs);
        let inner = vk_digest(wide_vk);
        if let Some((meta, pk)) = keys::load_cached::<CompressionSettings>(&dir, srs)? {
            if meta.inner_vk == inner && meta.settings == settings {
                return Ok(Self {
                    settings,
                    config: meta.config,
                    break_points: meta.break_points,
                    pk,
                });
            }
        }
        let circuit = keygen_circuit(settings, srs, wide_srs, wide_vk)?;
        let (config, break_points, pk) = keys::keygen(srs, circuit, "compression")?;
        let meta = Meta {
            settings,
            config,
            break_points: break_points.clone(),
            srs_digest: srs.digest(),
            inner_vk: inner,
        };
        keys::store(&dir, &meta, &pk)?;
        Ok(Self { settings, config, break_points, pk })
    }

    /// Compresses a wide proof into the thin EVM proof (Keccak transcript). Checks that the
    /// statement passed through unchanged and verifies the result natively.
    pub fn prove(&self, srs: &Srs, wide: Snark) -> Result<(AggregationInstances, Vec<u8>)> {
        let statement = wide.instances.first().map(|i| i[NUM_ACC_LIMBS..].to_vec());
        let (instances, proof) = self.prove_unchecked(srs, wide)?;
        if statement.as_deref() != Some(&instances.all[NUM_ACC_LIMBS..]) {
            return Err(ProverError::Rejected(
                "compression changed the statement of the wide proof".into(),
            ));
        }
        self.verify(srs, &instances.all, &proof)?;
        Ok((instances, proof))
    }

    /// [`CompressionKeys::prove`] without its checks: what a dishonest prover would run
    /// (tests use it to show that the circuit itself refuses a bad wide proof).
    pub fn prove_unchecked(
        &self,
        srs: &Srs,
        wide: Snark,
    ) -> Result<(AggregationInstances, Vec<u8>)> {
        check_size(srs, self.settings)?;
        // snark-verifier panics when the inner proof does not verify; make that an error.
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            build(CircuitBuilderStage::Prover, self.config, &srs.params, wide)
        }))
        .map_err(|_| {
            ProverError::Rejected("compression failed: the wide proof does not verify".into())
        })??;
        let circuit = built.use_break_points(self.break_points.clone());
        keys::prove_evm(srs, &self.pk, circuit, "compression")
    }

    /// Verifies a thin proof natively (the same check the EVM verifier does).
    pub fn verify(&self, srs: &Srs, instances: &[Fr], proof: &[u8]) -> Result<()> {
        keys::verify_aggregated(self.pk.get_vk(), srs, instances, proof)
    }

    /// The verifying key of cached keys, read without the rest of the proving key; `None`
    /// when no keys are cached for `settings` over the wide key `wide_vk`.
    pub fn load_vk(
        root: &Path,
        settings: CompressionSettings,
        srs: &Srs,
        wide_settings: &AggregationSettings,
        wide_vk: &VerifyingKey<G1Affine>,
    ) -> Result<Option<VerifyingKey<G1Affine>>> {
        let dir = cache_dir(root, wide_settings, &settings, srs);
        Ok(keys::load_cached_vk::<CompressionSettings>(&dir, srs)?
            .filter(|(meta, _)| meta.inner_vk == vk_digest(wide_vk) && meta.settings == settings)
            .map(|(_, vk)| vk))
    }
}

fn check_size(srs: &Srs, settings: CompressionSettings) -> Result<()> {
    if srs.params.k() != settings.k {
        return Err(ProverError::Planning(format!(
            "compression at k = {} needs an SRS of that size, got k = {}",
            settings.k,
            srs.params.k()
        )));
    }
    Ok(())
}
