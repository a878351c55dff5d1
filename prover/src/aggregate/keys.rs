//! Keys of the universal aggregation circuit, cached on disk, and aggregation proofs.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk, verify_proof, ProvingKey, VerifyingKey,
};
use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_base::halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_base::halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_base::halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_base::halo2_proofs::transcript::{
    EncodedChallenge, TranscriptRead, TranscriptReadBuffer, TranscriptWrite, TranscriptWriterBuffer,
};
use halo2_base::halo2_proofs::SerdeFormat;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams};
use snark_verifier_sdk::halo2::{gen_dummy_snark_from_protocol, PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::{CircuitExt, NativeLoader, Snark, SHPLONK};

use super::circuit::{build, num_instances, AggregationInstances};
use crate::circuit::instance;
use crate::circuit::layout::build_for_keygen;
use crate::error::{ProverError, Result};
use crate::model::graph::{Activation, Graph, Node, NodeKind, OutputTensor, Src, TensorInfo};
use crate::proof::keys::write_atomic;
use crate::proof::{ShardKeys, ShardProof, Srs};
use crate::quant::{quantize, QuantSettings};
use crate::shard::plan::plan;

/// Shape of the universal aggregation circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregationSettings {
    /// Shard proofs per aggregation (models with fewer shards are padded).
    pub shards: usize,
    /// Rows of the aggregation circuit: 2^k.
    pub k: u32,
}

impl Default for AggregationSettings {
    fn default() -> Self {
        Self { shards: 2, k: 21 }
    }
}

/// Aggregation proving key with the circuit configuration it was made for.
pub struct AggregationKeys {
    /// The settings.
    pub settings: AggregationSettings,
    /// Column counts etc. found at keygen.
    pub config: AggregationConfigParams,
    /// Witness layout found at keygen, reused when proving.
    pub break_points: MultiPhaseThreadBreakPoints,
    /// Proving key (holds the verifying key).
    pub pk: ProvingKey<G1Affine>,
}

/// What a key folder records beside its proving key. Shared by the wide aggregation keys and
/// the thin compression keys (`S` is their settings).
#[derive(Serialize, Deserialize)]
pub(crate) struct Meta<S> {
    pub(crate) settings: S,
    pub(crate) config: AggregationConfigParams,
    pub(crate) break_points: MultiPhaseThreadBreakPoints,
    /// Digest of the SRS the keys were made with (`proof::srs::digest`); empty in older files.
    #[serde(default)]
    pub(crate) srs_digest: String,
    /// For compression keys: digest of the wide verifying key they verify, so keys made for
    /// another wide key are stale rather than silently wrong.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) inner_vk: String,
}

impl<S: serde::de::DeserializeOwned> Meta<S> {
    fn read(path: &Path, srs: &Srs) -> Result<Self> {
        let meta: Meta<S> =
            serde_json::from_slice(&fs::read(path).map_err(|e| ProverError::io(path, e))?)
                .map_err(|e| ProverError::Json {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?;
        srs.check_made_with(&meta.srs_digest)?;
        Ok(meta)
    }
}

/// The proving key file in a key folder.
pub(crate) const PK_FILE: &str = "agg.pk";

/// Cached keys in `dir` (metadata and proving key), if both files are there.
pub(crate) fn load_cached<S: serde::de::DeserializeOwned>(
    dir: &Path,
    srs: &Srs,
) -> Result<Option<(Meta<S>, ProvingKey<G1Affine>)>> {
    let Some((meta, f, pk_path)) = open_cached::<S>(dir, srs)? else { return Ok(None) };
    let pk = ProvingKey::read::<_, AggregationCircuit>(
        &mut BufReader::with_capacity(1 << 20, f),
        SerdeFormat::RawBytesUnchecked,
        meta.config,
    )
    .map_err(|e| ProverError::Artifact { path: pk_path, reason: e.to_string() })?;
    Ok(Some((meta, pk)))
}

/// The verifying key of cached keys in `dir`, read without the (much larger) rest of the
/// proving key, with the metadata.
pub(crate) fn load_cached_vk<S: serde::de::DeserializeOwned>(
    dir: &Path,
    srs: &Srs,
) -> Result<Option<(Meta<S>, VerifyingKey<G1Affine>)>> {
    let Some((meta, f, pk_path)) = open_cached::<S>(dir, srs)? else { return Ok(None) };
    // A proving key file starts with its verifying key.
    let vk = VerifyingKey::read::<_, AggregationCircuit>(
        &mut BufReader::new(f),
        SerdeFormat::RawBytesUnchecked,
        meta.config,
    )
    .map_err(|e| ProverError::Artifact { path: pk_path, reason: e.to_string() })?;
    Ok(Some((meta, vk)))
}

/// The metadata of cached keys in `dir` (checked against `srs`) and their key file, opened;
/// none when either file is missing.
fn open_cached<S: serde::de::DeserializeOwned>(
    dir: &Path,
    srs: &Srs,
) -> Result<Option<(Meta<S>, fs::File, PathBuf)>> {
    let (meta_path, pk_path) = (dir.join("meta.json"), dir.join(PK_FILE));
    if !(meta_path.is_file() && pk_path.is_file()) {
        return Ok(None);
    }
    let meta = Meta::<S>::read(&meta_path, srs)?;
    let f = fs::File::open(&pk_path).map_err(|e| ProverError::io(&pk_path, e))?;
    Ok(Some((meta, f, pk_path)))
}

/// Writes keys and their metadata to `dir` (each file written aside and renamed).
pub(crate) fn store<S: Serialize>(
    dir: &Path,
    meta: &Meta<S>,
    pk: &ProvingKey<G1Affine>,
) -> Result<()> {
    let (meta_path, pk_path) = (dir.join("meta.json"), dir.join(PK_FILE));
    write_atomic(&pk_path, |w| pk.write(w, SerdeFormat::RawBytesUnchecked))?;
    let json = serde_json::to_vec_pretty(meta)
        .map_err(|e| ProverError::Json { path: meta_path.clone(), reason: e.to_string() })?;
    write_atomic(&meta_path, |w| std::io::Write::write_all(w, &json))
}

/// Keygen of an aggregation-type circuit built in keygen mode: sizes it, makes the keys and
/// returns them with the configuration and break points that proving must reuse.
pub(crate) fn keygen(
    srs: &Srs,
    mut circuit: AggregationCircuit,
    what: &str,
) -> Result<(AggregationConfigParams, MultiPhaseThreadBreakPoints, ProvingKey<G1Affine>)> {
    let config = circuit.calculate_params(Some(MINIMUM_ROWS));
    let (break_points, pk) = keygen_as_configured(srs, &circuit, what)?;
    Ok((config, break_points, pk))
}

/// Rows at the end of an aggregation-type circuit that hold no witness (blinding rows).
pub(crate) const MINIMUM_ROWS: usize = 20;

/// Keygen of an aggregation-type circuit built in keygen mode with the configuration it
/// already has (a tree node keeps its leaf's): the keys and the break points proving reuses.
pub(crate) fn keygen_as_configured(
    srs: &Srs,
    circuit: &AggregationCircuit,
    what: &str,
) -> Result<(MultiPhaseThreadBreakPoints, ProvingKey<G1Affine>)> {
    let vk = keygen_vk(&srs.params, circuit)
        .map_err(|e| ProverError::Halo2(format!("{what} keygen_vk: {e:?}")))?;
    let pk = keygen_pk(&srs.params, vk, circuit)
        .map_err(|e| ProverError::Halo2(format!("{what} keygen_pk: {e:?}")))?;
    Ok((circuit.break_points(), pk))
}

/// One SHPLONK proof of an aggregation-type circuit, with any transcript: Keccak for the EVM,
/// Poseidon for a proof that a further circuit verifies.
pub(crate) fn create<E, T>(
    srs: &Srs,
    pk: &ProvingKey<G1Affine>,
    circuit: AggregationCircuit,
    instances: &[Fr],
    transcript: &mut T,
    what: &str,
) -> Result<()>
where
    E: EncodedChallenge<G1Affine>,
    T: TranscriptWrite<G1Affine, E>,
{
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, E, _, T, _>(
        &srs.params,
        pk,
        &[circuit],
        &[&[instances]],
        OsRng,
        transcript,
    )
    .map_err(|e| ProverError::Halo2(format!("{what} create_proof: {e:?}")))
}

/// Proves an aggregation-type circuit for the EVM (Keccak transcript): its instances and the
/// proof bytes, unchecked.
pub(crate) fn prove_evm(
    srs: &Srs,
    pk: &ProvingKey<G1Affine>,
    circuit: AggregationCircuit,
    what: &str,
) -> Result<(AggregationInstances, Vec<u8>)> {
    let instances = circuit.instances().swap_remove(0);
    let mut transcript = TranscriptWriterBuffer::<_, G1Affine, _>::init(Vec::new());
    create::<_, EvmTranscript<G1Affine, NativeLoader, _, _>>(
        srs,
        pk,
        circuit,
        &instances,
        &mut transcript,
        what,
    )?;
    Ok((AggregationInstances { all: instances }, transcript.finalize()))
}

/// Proves an aggregation-type circuit for a further circuit to verify (Poseidon transcript),
/// checked natively (proof and accumulator): a snark with the aggregation protocol, its
/// accumulator limbs declared (`super::compress::wide_protocol`).
pub(crate) fn prove_for_circuit(
    srs: &Srs,
    pk: &ProvingKey<G1Affine>,
    circuit: AggregationCircuit,
    what: &str,
) -> Result<Snark> {
    let instances = circuit.instances().swap_remove(0);
    let mut transcript =
        PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
    create(srs, pk, circuit, &instances, &mut transcript, what)?;
    let proof = transcript.finalize();
    let mut read =
        PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(&proof[..], POSEIDON_SPEC.clone());
    check(pk.get_vk(), srs, &instances, &mut read)?;
    let protocol = super::compress::wide_protocol(srs, pk.get_vk());
    Ok(Snark::new(protocol, vec![instances], proof))
}

/// Verifies a proof of an aggregation-type circuit read from `transcript`, then the KZG
/// accumulator its first instances carry (the pairing the EVM verifier performs too).
pub(crate) fn check<E, T>(
    vk: &VerifyingKey<G1Affine>,
    srs: &Srs,
    instances: &[Fr],
    transcript: &mut T,
) -> Result<()>
where
    E: EncodedChallenge<G1Affine>,
    T: TranscriptRead<G1Affine, E>,
{
    if instances.len() != num_instances() {
        return Err(ProverError::Rejected(format!(
            "{} instances, expected {}",
            instances.len(),
            num_instances()
        )));
    }
    let strategy = SingleStrategy::new(&srs.params);
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, E, T, _>(
        srs.params.verifier_params(),
        vk,
        strategy,
        &[&[instances]],
        transcript,
    )
    .map_err(|e| ProverError::Rejected(format!("aggregated proof: {e:?}")))?;
    super::circuit::check_accumulator(srs, instances)
}

/// Version of the aggregation circuit and of the shard shape it verifies: bump it when
/// either changes, so stale cached keys are never used.
pub const CIRCUIT_VERSION: u32 = 4;

/// Folder of cached aggregation keys for some settings and SRS: keys made with one SRS are
/// useless (and, for the dev SRS, dangerous) with another, so each SRS has its own folder.
pub fn cache_dir(root: &Path, s: &AggregationSettings, srs: &Srs) -> PathBuf {
    let name = format!("v{CIRCUIT_VERSION}-n{}-k{}", s.shards, s.k);
    let name = if srs.is_insecure() { name } else { format!("{name}-srs{}", &srs.digest()[..16]) };
    root.join("aggregation").join(name)
}

/// `n` placeholder shard snarks (a one-node model's real protocol, dummy proofs) for keygen:
/// any shard works, since keys and `k` are witnesses. Also what cell-budget measurements use.
pub fn reference_snarks(srs_small: &Srs, n: usize) -> Result<Vec<Snark>> {
    let graph = Graph {
        inputs: vec![TensorInfo { name: "x".into(), shape: vec![2], ..Default::default() }],
        nodes: vec![Node {
            name: "relu".into(),
            op: "Max".into(),
            first: 2,
            kind: NodeKind::Act {
                input: vec![Src::Value(0), Src::Value(1)],
                act: Activation::Relu,
            },
        }],
        outputs: vec![OutputTensor {
            info: TensorInfo { name: "y".into(), shape: vec![2], ..Default::default() },
            srcs: vec![Src::Value(2), Src::Value(3)],
        }],
        index_checks: Vec::new(),
    };
    let q = quantize(&graph, QuantSettings::narrow(4, 8))?;
    let p = plan(&q, srs_small.params.k())?;
    let layout = Arc::new(build_for_keygen(&q, &p.shards[0])?);
    let keys = ShardKeys::generate(srs_small, layout)?;
    let protocol = compile(
        &srs_small.params,
        keys.vk(),
        Config::kzg().with_num_instance(vec![instance::count()]),
    );
    Ok((0..n).map(|_| gen_dummy_snark_from_protocol::<SHPLONK>(protocol.clone())).collect())
}

/// A shard proof as snark-verifier's `Snark`.
pub fn snark_of(
    srs: &Srs,
    vk: &halo2_base::halo2_proofs::plonk::VerifyingKey<G1Affine>,
    proof: &ShardProof,
) -> Snark {
    let protocol =
        compile(&srs.params, vk, Config::kzg().with_num_instance(vec![instance::count()]));
    Snark::new(protocol, vec![proof.instances.clone()], proof.proof.clone())
}

impl AggregationKeys {
    /// Loads cached keys for `settings`, or runs keygen and caches them.
    ///
    /// `srs` must have size `settings.k`; `srs_small` is any small SRS from the same
    /// setup (used to make a reference shard for keygen).
    pub fn load_or_generate(
        root: &Path,
        settings: AggregationSettings,
        srs: &Srs,
        srs_small: &Srs,
    ) -> Result<Self> {
        let dir = cache_dir(root, &settings, srs);
        if let Some((meta, pk)) = load_cached::<AggregationSettings>(&dir, srs)? {
            return Ok(Self { settings, config: meta.config, break_points: meta.break_points, pk });
        }
        let snarks = reference_snarks(srs_small, settings.shards)?;
        let config = AggregationConfigParams {
            degree: settings.k,
            lookup_bits: settings.k as usize - 1,
            ..Default::default()
        };
        let circuit = build(CircuitBuilderStage::Keygen, config, &srs.params, snarks)?;
        let (config, break_points, pk) = keygen(srs, circuit, "aggregation")?;
        let meta = Meta {
            settings,
            config,
            break_points: break_points.clone(),
            srs_digest: srs.digest(),
            inner_vk: String::new(),
        };
        store(&dir, &meta, &pk)?;
        Ok(Self { settings, config, break_points, pk })
    }

    /// Aggregates one inference's shard snarks (exactly `settings.shards`, in order) into an
    /// EVM proof (Keccak transcript). Returns the public instances and the proof bytes.
    pub fn prove(&self, srs: &Srs, snarks: Vec<Snark>) -> Result<(AggregationInstances, Vec<u8>)> {
        // Fail fast with a clear reason; the circuit enforces the same chain.
        check_chain(&snarks)?;
        let (instances, proof) = self.prove_unchecked(srs, snarks)?;
        self.verify(srs, &instances.all, &proof)?;
        Ok((instances, proof))
    }

    /// [`AggregationKeys::prove`] without the native chain pre-check: what a dishonest
    /// prover would run. Tests use it to show that the circuit itself rejects a broken chain.
    pub fn prove_unchecked(
        &self,
        srs: &Srs,
        snarks: Vec<Snark>,
    ) -> Result<(AggregationInstances, Vec<u8>)> {
        prove_evm(srs, &self.pk, self.circuit(srs, snarks)?, "aggregation")
    }

    /// The circuit over `snarks` (exactly `settings.shards`) with the keygen layout; a
    /// shard proof that does not verify is an error (snark-verifier would panic).
    pub(crate) fn circuit(&self, srs: &Srs, snarks: Vec<Snark>) -> Result<AggregationCircuit> {
        if snarks.len() != self.settings.shards {
            return Err(ProverError::Planning(format!(
                "{} shard proofs for an aggregation circuit of {} slots",
                snarks.len(),
                self.settings.shards
            )));
        }
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            build(CircuitBuilderStage::Prover, self.config, &srs.params, snarks)
        }))
        .map_err(|_| {
            ProverError::Rejected("aggregation failed: a shard proof does not verify".into())
        })??;
        Ok(built.use_break_points(self.break_points.clone()))
    }

    /// Aggregates like [`AggregationKeys::prove`], but with a Poseidon transcript: the wide
    /// proof that the thin compression circuit (`super::compress`) verifies in-circuit.
    /// Checked natively (proof and accumulator) before it is returned.
    pub fn prove_for_compression(&self, srs: &Srs, snarks: Vec<Snark>) -> Result<Snark> {
        check_chain(&snarks)?;
        prove_for_circuit(srs, &self.pk, self.circuit(srs, snarks)?, "aggregation")
    }

    /// Verifies an aggregated proof natively (the same check the EVM verifier does).
    pub fn verify(&self, srs: &Srs, instances: &[Fr], proof: &[u8]) -> Result<()> {
        verify_aggregated(self.pk.get_vk(), srs, instances, proof)
    }

    /// The verifying key of cached keys, read without the (much larger) proving key: what a
    /// verifier needs. `None` when no keys are cached for `settings`.
    pub fn load_vk(
        root: &Path,
        settings: AggregationSettings,
        srs: &Srs,
    ) -> Result<Option<VerifyingKey<G1Affine>>> {
        Ok(Self::load_vk_and_config(root, settings, srs)?.map(|(_, vk)| vk))
    }

    /// [`AggregationKeys::load_vk`] with the configuration the keys were made with (what
    /// tree node keys are made from, `super::tree::LeafKey`).
    pub fn load_vk_and_config(
        root: &Path,
        settings: AggregationSettings,
        srs: &Srs,
    ) -> Result<Option<(AggregationConfigParams, VerifyingKey<G1Affine>)>> {
        let dir = cache_dir(root, &settings, srs);
        Ok(load_cached_vk::<AggregationSettings>(&dir, srs)?.map(|(meta, vk)| (meta.config, vk)))
    }

    /// [`AggregationKeys::load_vk_and_config`], or keygen (cached) when nothing is cached:
    /// what a verifier or a tree node needs of the keys, without keeping the proving key.
    pub fn vk_and_config(
        root: &Path,
        settings: AggregationSettings,
        srs: &Srs,
        srs_small: &Srs,
    ) -> Result<(AggregationConfigParams, VerifyingKey<G1Affine>)> {
        if let Some(found) = Self::load_vk_and_config(root, settings, srs)? {
            return Ok(found);
        }
        let keys = Self::load_or_generate(root, settings, srs, srs_small)?;
        Ok((keys.config, keys.pk.get_vk().clone()))
    }
}

/// The honest prover's check that consecutive shard snarks chain (output commitment of one =
/// input commitment of the next); the aggregation circuit enforces the same.
pub fn check_chain(snarks: &[Snark]) -> Result<()> {
    for (after, w) in snarks.windows(2).enumerate() {
        if w[0].instances[0][instance::OUT_COMMIT] != w[1].instances[0][instance::IN_COMMIT] {
            return Err(ProverError::BoundaryMismatch { after });
        }
    }
    Ok(())
}

/// Verifies an aggregated proof natively with the aggregation verifying key.
pub fn verify_aggregated(
    vk: &VerifyingKey<G1Affine>,
    srs: &Srs,
    instances: &[Fr],
    proof: &[u8],
) -> Result<()> {
    let mut transcript = TranscriptReadBuffer::<_, G1Affine, _>::init(proof);
    check::<_, EvmTranscript<G1Affine, NativeLoader, _, _>>(vk, srs, instances, &mut transcript)
}
