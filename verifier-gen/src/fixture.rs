//! The committed real-proof fixtures, and how they are made.
//!
//! One aggregation key makes them all (`scripts/regen-fixtures.sh`): a real aggregated proof
//! of the bundled digits MLP ([`VALID`], also read by forge, chain and relayer tests), a real
//! proof of a second model on the same verifier, and proofs forced through the aggregation
//! circuit with a broken shard chain ([`CASES`]). The fast test tier checks every rejection
//! on them natively and in the EVM without aggregating; each file names the aggregation
//! verifying key it was made with, so a changed circuit fails as "stale" instead of passing.

use std::path::Path;

use halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use serde::{Deserialize, Serialize};
use zkattest_prover::aggregate::{AggregationKeys, AggregationSettings, NUM_ACC_LIMBS};
use zkattest_prover::artifacts::compiled::{CalibrationMode, CompileOptions};
use zkattest_prover::artifacts::{AggregatedProof, CompiledModel, InferenceProof, SetupInfo};
use zkattest_prover::circuit::instance::MAX_OUTPUTS;
use zkattest_prover::model::input::InputData;
use zkattest_prover::pipeline::{aggregate, model_id, prove};
use zkattest_prover::proof::Srs;
use zkattest_prover::Snark;

use crate::calldata::{decode, encode};
use crate::{Result, VerifierGenError};

/// The valid proof, relative to the repository root.
pub const VALID: &str = zkattest_chain::attestation::FIXTURE;
/// The second model's proof and the forged proofs, relative to the repository root.
pub const CASES: &str = "contracts/test/fixtures/proof_cases.json";
/// The command that rewrites the fixtures (and the committed verifier).
pub const REGENERATE: &str = "scripts/regen-fixtures.sh";
/// Rows of the fixtures' shard circuits.
pub const SHARD_K: u32 = 14;
/// The aggregation the fixtures are made for (the default 2-slot circuit).
pub const SETTINGS: AggregationSettings = AggregationSettings { shards: 2, k: 21 };
/// The model of the valid proof.
pub const MODEL_A: &str = "digits_mlp";
/// The second model on the same verifier.
pub const MODEL_B: &str = "digits_cnn";

/// A proof as the verifier's calldata, with what it is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProofCase {
    /// What the proof is (a test's name for it).
    pub what: String,
    /// The model (folder under `models/`) whose shards went in.
    pub model: String,
    /// Public instances then proof, hex with `0x`.
    pub calldata: String,
}

impl ProofCase {
    /// Instances and proof bytes.
    pub fn split(&self) -> Result<(Vec<Fr>, Vec<u8>)> {
        let bytes = hex::decode(self.calldata.trim_start_matches("0x"))
            .map_err(|e| VerifierGenError::Calldata(format!("{}: {e}", self.what)))?;
        decode(&bytes, zkattest_prover::aggregate::circuit::num_instances())
    }

    fn new(what: &str, model: &str, instances: &[Fr], proof: &[u8]) -> Self {
        Self {
            what: what.into(),
            model: model.into(),
            calldata: format!("0x{}", hex::encode(encode(instances, proof))),
        }
    }
}

/// The contents of [`CASES`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProofCases {
    /// Digest of the aggregation verifying key the proofs were made with.
    pub aggregation_vk: String,
    /// A valid proof of [`MODEL_B`].
    pub second_model: ProofCase,
    /// Proofs forced through the circuit over a broken shard chain: each must be rejected.
    pub broken_chain: Vec<ProofCase>,
}

/// The digest a fixture records of the aggregation verifying key.
pub fn vk_digest(vk: &VerifyingKey<G1Affine>) -> String {
    zkattest_prover::aggregate::compress::vk_digest(vk)
}

fn json_err(path: &Path, e: impl std::fmt::Display) -> VerifierGenError {
    VerifierGenError::Calldata(format!("{}: {e}", path.display()))
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| VerifierGenError::Io { path: path.into(), source })?;
    serde_json::from_str(&text).map_err(|e| json_err(path, e))
}

/// Fails with the regeneration command when a fixture was made with another key.
fn check_key(path: &Path, recorded: Option<&str>, vk: &VerifyingKey<G1Affine>) -> Result<()> {
    let current = vk_digest(vk);
    if recorded == Some(current.as_str()) {
        return Ok(());
    }
    Err(VerifierGenError::StaleFixture {
        path: path.into(),
        recorded: recorded.unwrap_or("none").into(),
        current,
        command: REGENERATE,
    })
}

/// The valid proof of [`VALID`] as a case, checked to belong to `vk`.
pub fn read_valid(root: &Path, vk: &VerifyingKey<G1Affine>) -> Result<ProofCase> {
    let path = root.join(VALID);
    let json = read_json(&path)?;
    check_key(&path, json["aggregation_vk"].as_str(), vk)?;
    let calldata = json["proof"].as_str().ok_or_else(|| json_err(&path, "no proof"))?;
    Ok(ProofCase { what: "valid proof".into(), model: MODEL_A.into(), calldata: calldata.into() })
}

/// [`CASES`], checked to belong to `vk`.
pub fn read_cases(root: &Path, vk: &VerifyingKey<G1Affine>) -> Result<ProofCases> {
    let path = root.join(CASES);
    let json = read_json(&path)?;
    check_key(&path, json["aggregation_vk"].as_str(), vk)?;
    serde_json::from_value(json).map_err(|e| json_err(&path, e))
}

/// What proving the fixtures needs: the shard and aggregation SRS and the aggregation keys.
pub struct Prover {
    /// SRS of the shard circuits (2^[`SHARD_K`]).
    pub srs: Srs,
    /// SRS of the aggregation circuit.
    pub agg_srs: Srs,
    /// The aggregation keys (generated once, cached under `cache`).
    pub keys: AggregationKeys,
}

impl Prover {
    /// Dev SRS and aggregation keys from (or into) the cache folder.
    pub fn dev(cache: &Path) -> Result<Self> {
        let srs = Srs::dev(cache, SHARD_K)?;
        let agg_srs = Srs::dev(cache, SETTINGS.k)?;
        let keys = AggregationKeys::load_or_generate(cache, SETTINGS, &agg_srs, &srs)?;
        Ok(Self { srs, agg_srs, keys })
    }
}

/// A bundled model compiled into the fixtures' shards, set up, and its proven inference.
pub struct Shards {
    /// The model folder name.
    pub model: String,
    /// The compiled model.
    pub compiled: CompiledModel,
    /// Its keys' folder (deleted on drop).
    pub dir: tempfile::TempDir,
    /// The model's `input.json`.
    pub input: InputData,
    /// Shard proofs of `input`.
    pub proof: InferenceProof,
    /// The model id the aggregation exposes.
    pub model_id: Fr,
}

/// Compiles `models/<model>` into [`SETTINGS`]`.shards` shards of 2^[`SHARD_K`] rows, sets it
/// up and proves its `input.json` (shard proofs only: seconds).
pub fn prove_shards(root: &Path, srs: &Srs, model: &str) -> Result<Shards> {
    prove_shards_with(root, srs, model, None)
}

/// [`prove_shards`] with wide values on or off (`None`: the resources mode's choice, narrow).
pub fn prove_shards_with(
    root: &Path,
    srs: &Srs,
    model: &str,
    wide: Option<bool>,
) -> Result<Shards> {
    prove_padded_shards(root, srs, model, wide, SETTINGS.shards)
}

/// [`prove_shards_with`] padded to `shards` shards (a tree's worth, for more than
/// [`SETTINGS`]`.shards`).
pub fn prove_padded_shards(
    root: &Path,
    srs: &Srs,
    model: &str,
    wide: Option<bool>,
    shards: usize,
) -> Result<Shards> {
    let m = root.join("models").join(model);
    let input = InputData::from_file(m.join("input.json"))?;
    // The committed fixtures were compiled in the resources mode: the same mode keeps their
    // model ids today's until the circuits change.
    let opts = CompileOptions {
        k: Some(SHARD_K),
        pad_to: Some(shards),
        mode: CalibrationMode::Resources,
        wide,
        ..CompileOptions::default()
    };
    let compiled =
        CompiledModel::compile(&m.join("network.onnx"), std::slice::from_ref(&input), &opts)?;
    let dir = tempfile::tempdir()
        .map_err(|source| VerifierGenError::Io { path: std::env::temp_dir(), source })?;
    SetupInfo::run(&compiled, dir.path(), srs, &|_| ())?;
    let (proof, _) = prove(&compiled, dir.path(), srs, &input.values, Fr::from(11u64), 1, &|_| ())?;
    let model_id = model_id(&compiled, dir.path(), srs)?;
    Ok(Shards { model: model.into(), compiled, dir, input, proof, model_id })
}

impl Shards {
    /// The shard proofs as snarks, in `order`.
    pub fn snarks(&self, srs: &Srs, order: &[usize]) -> Result<Vec<Snark>> {
        snarks_of(self, &self.proof, srs, order)
    }

    /// Shard snarks of another inference of the same model (the input reversed), in `order`.
    pub fn other_inference(&self, srs: &Srs, order: &[usize]) -> Result<Vec<Snark>> {
        let reversed: Vec<Vec<f64>> =
            self.input.values.iter().map(|v| v.iter().rev().copied().collect()).collect();
        let (other, _) =
            prove(&self.compiled, self.dir.path(), srs, &reversed, Fr::from(12u64), 1, &|_| ())?;
        snarks_of(self, &other, srs, order)
    }

    /// What a dishonest prover could feed the aggregation circuit instead of this inference's
    /// chain: (what, snarks).
    pub fn broken_chains(&self, srs: &Srs) -> Result<Vec<(&'static str, Vec<Snark>)>> {
        let reordered = self.snarks(srs, &[1, 0])?;
        let mut foreign = self.snarks(srs, &[0, 1])?;
        foreign[1] = self.other_inference(srs, &[1])?.remove(0);
        Ok(vec![("shards reordered", reordered), ("shard from another inference", foreign)])
    }

    /// Aggregates the shard proofs (minutes, ~9 GB).
    pub fn aggregate(&self, p: &Prover) -> Result<AggregatedProof> {
        let wide = zkattest_prover::aggregate::FinalProof::Wide;
        Ok(aggregate(
            &self.compiled,
            self.dir.path(),
            &p.srs,
            &p.keys,
            &p.agg_srs,
            wide,
            &self.proof,
        )?)
    }
}

fn snarks_of(s: &Shards, proof: &InferenceProof, srs: &Srs, order: &[usize]) -> Result<Vec<Snark>> {
    use zkattest_prover::aggregate::keys::snark_of;
    use zkattest_prover::artifacts::setup::vk_path;
    use zkattest_prover::proof::keys::read_vk;
    order
        .iter()
        .map(|&i| {
            let sp = proof.shards.get(i).ok_or_else(|| {
                VerifierGenError::Calldata(format!("no shard {i} in {}", s.model))
            })?;
            Ok(snark_of(srs, &read_vk(&vk_path(s.dir.path(), i))?, sp))
        })
        .collect()
}

/// A proof forced through the aggregation circuit over `snarks` without the honest
/// prover's chain pre-check (what a dishonest prover would run), as a case.
pub fn forge(p: &Prover, what: &str, model: &str, snarks: Vec<Snark>) -> Result<ProofCase> {
    let (instances, proof) = p.keys.prove_unchecked(&p.agg_srs, snarks)?;
    Ok(ProofCase::new(what, model, &instances.all, &proof))
}

/// An aggregated proof as a case.
pub fn case_of(what: &str, model: &str, agg: &AggregatedProof) -> Result<ProofCase> {
    let bad = |reason: String| VerifierGenError::Calldata(format!("{what}: {reason}"));
    let instances = agg.instances().map_err(bad)?;
    let proof = agg.proof_bytes().map_err(bad)?;
    Ok(ProofCase::new(what, model, &instances, &proof))
}

/// Rewrites the committed verifier (when the key changed) and every fixture: four
/// aggregations, about 15 minutes and 9 GB here. `log` hears each step.
pub fn regenerate(root: &Path, p: &Prover, log: &dyn Fn(&str)) -> Result<()> {
    use crate::forge::{build, verifier_artifact, VERIFIER_SOURCE};
    let vk = p.keys.pk.get_vk();
    let code = crate::solidity::generate(&p.agg_srs.params, vk);
    let source = root.join(VERIFIER_SOURCE);
    if std::fs::read_to_string(&source).ok().as_deref() != Some(code.as_str()) {
        log(&format!("rewriting {VERIFIER_SOURCE}"));
        write(&source, &code)?;
    }
    build(root)?;
    let bytecode = crate::evm::forge_bytecode(&verifier_artifact(root))?;

    log(&format!("{MODEL_A}: shard proofs and aggregation"));
    let a = prove_shards(root, &p.srs, MODEL_A)?;
    let agg = a.aggregate(p)?;
    let mut valid = serde_json::to_value(crate::attestation::attestation(&agg)?)
        .map_err(|e| json_err(&root.join(VALID), e))?;
    valid["verifier_creation_code"] = format!("0x{}", hex::encode(&bytecode)).into();
    valid["acc_limbs"] = NUM_ACC_LIMBS.into();
    valid["max_outputs"] = MAX_OUTPUTS.into();
    valid["output_words"] = zkattest_prover::aggregate::circuit::OUTPUT_WORDS.into();
    valid["aggregation_vk"] = vk_digest(vk).into();
    valid["srs_digest"] =
        format!("0x{}", zkattest_prover::proof::srs::digest(&p.agg_srs.params)).into();

    log(&format!("{MODEL_B}: shard proofs and aggregation"));
    let b = prove_shards(root, &p.srs, MODEL_B)?;
    let second_model = case_of("second model", MODEL_B, &b.aggregate(p)?)?;
    let mut broken_chain = Vec::new();
    for (what, snarks) in a.broken_chains(&p.srs)? {
        log(&format!("{MODEL_A}: forging an aggregation with {what}"));
        broken_chain.push(forge(p, what, MODEL_A, snarks)?);
    }
    let cases = ProofCases { aggregation_vk: vk_digest(vk), second_model, broken_chain };
    write_json(&root.join(VALID), &valid)?;
    write_json(&root.join(CASES), &cases)
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| json_err(path, e))?;
    write(path, &format!("{text}\n"))
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|source| VerifierGenError::Io { path: dir.into(), source })?;
    }
    std::fs::write(path, text).map_err(|source| VerifierGenError::Io { path: path.into(), source })
}
