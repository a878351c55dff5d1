//! Real shard proofs aggregated into one KZG proof, checked natively and by the generated
//! Solidity verifier in a local EVM; every tampering is rejected both ways. Slow (minutes):
//! the universal aggregation circuit is large. Also writes the fixture the forge
//! integration test (contracts/test/RealProof.t.sol) uses.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use zkattest_prover::aggregate::circuit::{
    num_instances, pack_outputs, AggregationInstances, INPUT_COMMITMENT, MODEL_ID, OUTPUTS,
};
use zkattest_prover::aggregate::{AggregationKeys, AggregationSettings, NUM_ACC_LIMBS};
use zkattest_prover::artifacts::compiled::CompileOptions;
use zkattest_prover::artifacts::{AggregatedProof, CompiledModel, SetupInfo};
use zkattest_prover::circuit::instance::MAX_OUTPUTS;
use zkattest_prover::model::input::InputData;
use zkattest_prover::pipeline::{aggregate, model_id, prove};
use zkattest_prover::proof::srs::default_cache_dir;
use zkattest_prover::proof::Srs;
use zkattest_prover::Fr;
use zkattest_verifier_gen::calldata::encode;
use zkattest_verifier_gen::evm::{deploy_and_call, forge_bytecode, forge_runtime_size};
use zkattest_verifier_gen::forge::{build, verifier_artifact, VERIFIER_SOURCE};
use zkattest_verifier_gen::solidity::{generate, EIP170_LIMIT};

const SHARD_K: u32 = 14;
const SETTINGS: AggregationSettings = AggregationSettings { shards: 2, k: 21 };

/// With `ZKATTEST_REGENERATE=1` the test rewrites the committed verifier and forge fixture
/// instead of checking them.
fn regenerate() -> bool {
    std::env::var_os("ZKATTEST_REGENERATE").is_some()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Setup {
    srs: Srs,
    agg_srs: Srs,
    keys: AggregationKeys,
    bytecode: Vec<u8>,
}

fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let srs = Srs::dev(&default_cache_dir(), SHARD_K).expect("srs");
        let agg_srs = Srs::dev(&default_cache_dir(), SETTINGS.k).expect("aggregation srs");
        let t = Instant::now();
        let keys = AggregationKeys::load_or_generate(&default_cache_dir(), SETTINGS, &agg_srs, &srs)
            .expect("aggregation keys");
        eprintln!("aggregation keys: {:.1} s", t.elapsed().as_secs_f64());
        // The committed verifier must be exactly what the current keys generate.
        let code = generate(&agg_srs.params, keys.pk.get_vk());
        let committed = std::fs::read_to_string(root().join(VERIFIER_SOURCE)).unwrap_or_default();
        if regenerate() {
            std::fs::write(root().join(VERIFIER_SOURCE), &code).expect("write verifier");
        } else {
            assert!(
                committed == code,
                "{VERIFIER_SOURCE} is stale: regenerate it with `zkattest gen-verifier` (or ZKATTEST_REGENERATE=1)"
            );
        }
        build(&root()).expect("forge build");
        let artifact = verifier_artifact(&root());
        let runtime = forge_runtime_size(&artifact).expect("runtime size");
        eprintln!("verifier runtime: {runtime} bytes (EIP-170 limit {EIP170_LIMIT})");
        assert!(runtime <= EIP170_LIMIT, "verifier runtime {runtime} bytes exceeds EIP-170");
        let bytecode = forge_bytecode(&artifact).expect("bytecode");
        Setup { srs, agg_srs, keys, bytecode }
    })
}

struct Inference {
    compiled: CompiledModel,
    dir: tempfile::TempDir,
    shards: zkattest_prover::artifacts::InferenceProof,
    model_id: Fr,
    proof: AggregatedProof,
    instances: Vec<Fr>,
    bytes: Vec<u8>,
}

/// One aggregation at a time: each takes ~9 GB.
fn heavy() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(|p| p.into_inner())
}

fn infer(model: &str) -> Inference {
    let _one_at_a_time = heavy();
    let s = setup();
    let m = root().join("models").join(model);
    let input = InputData::from_file(m.join("input.json")).expect("input");
    let opts = CompileOptions {
        k: Some(SHARD_K),
        pad_to: Some(SETTINGS.shards),
        ..CompileOptions::default()
    };
    let compiled =
        CompiledModel::compile(&m.join("network.onnx"), std::slice::from_ref(&input), &opts)
            .expect("compile");
    let dir = tempfile::tempdir().expect("tempdir");
    SetupInfo::run(&compiled, dir.path(), &s.srs, &|_| ()).expect("setup");
    let (shards, _) =
        prove(&compiled, dir.path(), &s.srs, &input.values, Fr::from(11u64), 1, &|_| ())
            .expect("prove");
    let t = Instant::now();
    let proof =
        aggregate(&compiled, dir.path(), &s.srs, &s.keys, &s.agg_srs, &shards).expect("aggregate");
    eprintln!("{model}: aggregation proof {:.1} s", t.elapsed().as_secs_f64());
    let id = model_id(&compiled, dir.path(), &s.srs).expect("model id");
    let instances = proof.instances().expect("instances");
    let bytes = proof.proof_bytes().expect("proof");
    Inference { compiled, dir, shards, model_id: id, proof, instances, bytes }
}

fn digits_mlp() -> &'static Inference {
    static I: OnceLock<Inference> = OnceLock::new();
    I.get_or_init(|| infer("digits_mlp"))
}

fn evm(instances: &[Fr], proof: &[u8]) -> Result<u64, String> {
    deploy_and_call(setup().bytecode.clone(), encode(instances, proof)).map_err(|e| e.to_string())
}

/// Both verifiers must reject, and the EVM one must do so without burning all its gas.
fn assert_rejected_everywhere(instances: &[Fr], proof: &[u8], what: &str) {
    let s = setup();
    assert!(
        s.keys.verify(&s.agg_srs, instances, proof).is_err(),
        "{what}: native verifier accepted"
    );
    match evm(instances, proof) {
        Ok(gas) => panic!("{what}: EVM verifier accepted ({gas} gas)"),
        Err(e) => {
            let gas: u64 = e
                .split("gas_used ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .and_then(|g| g.parse().ok())
                .unwrap_or(0);
            assert!(gas < 2_000_000, "{what}: rejection burned {gas} gas: {e}");
        }
    }
}

#[test]
fn aggregated_proof_verifies_natively_and_in_evm() {
    let s = setup();
    let a = digits_mlp();
    assert_eq!(a.instances.len(), num_instances());
    s.keys.verify(&s.agg_srs, &a.instances, &a.bytes).expect("native");
    let gas = evm(&a.instances, &a.bytes).expect("EVM verifier accepts");
    eprintln!(
        "EVM verification: {gas} gas (transaction total), calldata {} bytes",
        encode(&a.instances, &a.bytes).len()
    );
    assert_eq!(a.instances[MODEL_ID], a.model_id);
    assert_eq!(&a.instances[OUTPUTS..], &pack_outputs(&a.proof.outputs_q)[..]);
    assert_eq!(AggregationInstances { all: a.instances.clone() }.outputs(), a.proof.outputs_q);
    if regenerate() {
        write_forge_fixture(a);
    } else {
        assert_fixture_matches(a);
    }
}

#[test]
fn flipped_proof_byte_is_rejected() {
    let a = digits_mlp();
    let mut bad = a.bytes.clone();
    bad[64] ^= 1;
    assert_rejected_everywhere(&a.instances, &bad, "flipped byte");
}

#[test]
fn altered_output_is_rejected() {
    let a = digits_mlp();
    let mut inst = a.instances.clone();
    inst[OUTPUTS] += Fr::from(1u64);
    assert_rejected_everywhere(&inst, &a.bytes, "altered output");
}

#[test]
fn altered_input_commitment_is_rejected() {
    let a = digits_mlp();
    let mut inst = a.instances.clone();
    inst[INPUT_COMMITMENT] += Fr::from(1u64);
    assert_rejected_everywhere(&inst, &a.bytes, "altered input commitment");
}

#[test]
fn altered_accumulator_is_rejected() {
    let a = digits_mlp();
    let mut inst = a.instances.clone();
    inst[0] += Fr::from(1u64);
    assert_rejected_everywhere(&inst, &a.bytes, "altered accumulator");
}

#[test]
fn second_model_verifies_against_the_same_verifier_and_cannot_pose_as_the_first() {
    let a = digits_mlp();
    let b = infer("digits_cnn");
    assert_ne!(a.model_id, b.model_id);
    evm(&b.instances, &b.bytes).expect("model B verifies against the same deployed verifier");
    // Model B's proof presented with model A's id.
    let mut inst = b.instances.clone();
    inst[MODEL_ID] = a.model_id;
    assert_rejected_everywhere(&inst, &b.bytes, "model B presented as model A");
    assert_eq!(b.compiled.plan.shards.len(), SETTINGS.shards);
}

/// The fixture of contracts/test/RealProof.t.sol.
fn write_forge_fixture(a: &Inference) {
    let att = zkattest_verifier_gen::attestation::attestation(&a.proof).expect("attestation");
    let mut fixture = serde_json::to_value(&att).expect("json");
    fixture["verifier_creation_code"] = format!("0x{}", hex::encode(&setup().bytecode)).into();
    fixture["acc_limbs"] = NUM_ACC_LIMBS.into();
    fixture["max_outputs"] = MAX_OUTPUTS.into();
    fixture["output_words"] = zkattest_prover::aggregate::circuit::OUTPUT_WORDS.into();
    let path = root().join("contracts/test/fixtures/aggregated_proof.json");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, serde_json::to_string_pretty(&fixture).expect("json"))
        .expect("write fixture");
}

/// The fixture, read back, is what the registry gets from this inference.
fn assert_fixture_matches(a: &Inference) {
    let path = root().join("contracts/test/fixtures/aggregated_proof.json");
    let committed = zkattest_chain::Attestation::from_file(&path).expect("fixture");
    assert_eq!(
        committed.vk_hash.0,
        zkattest_verifier_gen::calldata::word(&a.model_id),
        "the committed fixture is stale: rerun with ZKATTEST_REGENERATE=1"
    );
    assert_eq!(committed.output_scale_bits as u32, a.proof.scale_bits);
}

/// The shard snarks of an inference (optionally another input), in the given order.
fn snarks(a: &Inference, order: &[usize], other_input: bool) -> Vec<zkattest_prover::Snark> {
    use zkattest_prover::aggregate::keys::snark_of;
    use zkattest_prover::artifacts::setup::vk_path;
    use zkattest_prover::proof::keys::read_vk;
    let s = setup();
    let shards = if other_input {
        let input =
            InputData::from_file(root().join("models/digits_mlp/input.json")).expect("input");
        let reversed: Vec<Vec<f64>> =
            input.values.iter().map(|v| v.iter().rev().copied().collect()).collect();
        prove(&a.compiled, a.dir.path(), &s.srs, &reversed, Fr::from(12u64), 1, &|_| ())
            .expect("prove")
            .0
    } else {
        a.shards.clone()
    };
    order
        .iter()
        .map(|&i| {
            snark_of(&s.srs, &read_vk(&vk_path(a.dir.path(), i)).expect("vk"), &shards.shards[i])
        })
        .collect()
}

/// A broken chain is refused up front by the honest prover, and a proof forced through
/// the circuit anyway is rejected natively and in the EVM.
fn assert_chain_break_rejected(snarks: Vec<zkattest_prover::Snark>, what: &str) {
    let s = setup();
    match s.keys.prove(&s.agg_srs, snarks.clone()) {
        Err(zkattest_prover::ProverError::Rejected(r)) => {
            assert!(r.contains("boundary"), "{what}: {r}")
        }
        other => panic!("{what}: honest prover did not refuse: {:?}", other.map(|_| ())),
    }
    let _one_at_a_time = heavy();
    // halo2 produces a proof even for a broken copy constraint; both verifiers must reject it.
    let (instances, proof) = s.keys.prove_unchecked(&s.agg_srs, snarks).expect("a (forged) proof");
    assert_rejected_everywhere(&instances.all, &proof, what);
}

#[test]
fn reordered_shards_are_rejected() {
    let a = digits_mlp();
    assert_chain_break_rejected(snarks(a, &[1, 0], false), "shards reordered");
}

#[test]
fn shard_from_another_inference_is_rejected() {
    let a = digits_mlp();
    let mut mixed = snarks(a, &[0, 1], false);
    mixed[1] = snarks(a, &[0, 1], true).remove(1);
    assert_chain_break_rejected(mixed, "shard from another inference");
}
