//! The aggregated proof and the generated verifier, natively and in a local EVM.
//!
//! Fast tier: the committed real-proof fixtures (`scripts/regen-fixtures.sh`) against today's
//! aggregation verifying key and today's committed verifier, with today's shard circuits
//! recomputing the model ids and the evaluator the outputs, so a changed circuit fails here
//! as "stale" instead of passing. Every tampering is rejected natively and in the EVM.
//! Full tier (`#[ignore]`d, `scripts/test.sh --full`): the same proofs made fresh, four
//! aggregations (~15 min, 9 GB).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use halo2_base::halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use zkattest_prover::aggregate::circuit::{
    num_instances, pack_outputs, AggregationInstances, INPUT_COMMITMENT, MODEL_ID, OUTPUTS,
    OUTPUT_COMMITMENT,
};
use zkattest_prover::aggregate::keys::check_chain;
use zkattest_prover::aggregate::{verify_aggregated, AggregationKeys};
use zkattest_prover::proof::srs::default_cache_dir;
use zkattest_prover::proof::Srs;
use zkattest_prover::{Fr, ProverError};
use zkattest_verifier_gen::calldata::{encode, word};
use zkattest_verifier_gen::evm::{deploy_and_execute, forge_bytecode, forge_runtime_size};
use zkattest_verifier_gen::evm::{CallStatus, EvmOutcome};
use zkattest_verifier_gen::fixture::{
    self, forge, prove_shards, prove_shards_with, read_cases, read_valid, ProofCase, ProofCases,
    Prover, Shards, MODEL_A, MODEL_B, SETTINGS, SHARD_K,
};
use zkattest_verifier_gen::forge::{build, verifier_artifact, VERIFIER_SOURCE};
use zkattest_verifier_gen::solidity::{generate, EIP170_LIMIT};

/// A rejection must revert well before this (the hardened verifier bounds its work).
const REJECTION_GAS_BOUND: u64 = 2_000_000;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Setup {
    srs: Srs,
    agg_srs: Srs,
    vk: VerifyingKey<G1Affine>,
    bytecode: Vec<u8>,
}

/// Dev SRS, the aggregation verifying key (from the key cache; keygen on a cold cache) and
/// the committed verifier, checked to be what that key generates, compiled by forge.
fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let cache = default_cache_dir();
        let srs = Srs::dev(&cache, SHARD_K).expect("shard srs");
        let agg_srs = Srs::dev(&cache, SETTINGS.k).expect("aggregation srs");
        let vk = match AggregationKeys::load_vk(&cache, SETTINGS, &agg_srs)
            .expect("cached aggregation vk")
        {
            Some(vk) => vk,
            None => AggregationKeys::load_or_generate(&cache, SETTINGS, &agg_srs, &srs)
                .expect("aggregation keys")
                .pk
                .get_vk()
                .clone(),
        };
        let committed = std::fs::read_to_string(root().join(VERIFIER_SOURCE)).unwrap_or_default();
        assert!(
            committed == generate(&agg_srs.params, &vk),
            "{VERIFIER_SOURCE} is stale: regenerate it with `{}`",
            fixture::REGENERATE
        );
        build(&root()).expect("forge build");
        let artifact = verifier_artifact(&root());
        let runtime = forge_runtime_size(&artifact).expect("runtime size");
        eprintln!("verifier runtime: {runtime} bytes (EIP-170 limit {EIP170_LIMIT})");
        assert!(runtime <= EIP170_LIMIT, "verifier runtime {runtime} bytes exceeds EIP-170");
        let bytecode = forge_bytecode(&artifact).expect("bytecode");
        Setup { srs, agg_srs, vk, bytecode }
    })
}

/// Today's shard proofs of a bundled model (seconds: shard circuits of 2^14 rows).
fn shards(model: &'static str) -> &'static Shards {
    static A: OnceLock<Shards> = OnceLock::new();
    static B: OnceLock<Shards> = OnceLock::new();
    let cell = if model == MODEL_A { &A } else { &B };
    cell.get_or_init(|| prove_shards(&root(), &setup().srs, model).expect("shard proofs"))
}

fn valid() -> (Vec<Fr>, Vec<u8>) {
    read_valid(&root(), &setup().vk).unwrap_or_else(|e| panic!("{e}")).split().expect("calldata")
}

fn cases() -> &'static ProofCases {
    static C: OnceLock<ProofCases> = OnceLock::new();
    C.get_or_init(|| read_cases(&root(), &setup().vk).unwrap_or_else(|e| panic!("{e}")))
}

fn evm(instances: &[Fr], proof: &[u8]) -> EvmOutcome {
    deploy_and_execute(setup().bytecode.clone(), encode(instances, proof)).expect("EVM runs")
}

/// Accepted natively and in the EVM; returns the EVM gas.
fn assert_accepted_everywhere(instances: &[Fr], proof: &[u8], what: &str) -> u64 {
    let s = setup();
    assert_eq!(instances.len(), num_instances(), "{what}: instance count");
    verify_aggregated(&s.vk, &s.agg_srs, instances, proof)
        .unwrap_or_else(|e| panic!("{what}: native verifier rejected: {e}"));
    let outcome = evm(instances, proof);
    assert!(outcome.accepted(), "{what}: EVM verifier rejected: {outcome:?}");
    outcome.gas_used
}

/// Both verifiers reject, and the EVM one reverts without burning its gas.
fn assert_rejected_everywhere(instances: &[Fr], proof: &[u8], what: &str) {
    let s = setup();
    assert!(
        verify_aggregated(&s.vk, &s.agg_srs, instances, proof).is_err(),
        "{what}: native verifier accepted"
    );
    let outcome = evm(instances, proof);
    assert_eq!(outcome.status, CallStatus::Reverted, "{what}: {outcome:?}");
    assert!(
        outcome.gas_used < REJECTION_GAS_BOUND,
        "{what}: rejection burned {} gas",
        outcome.gas_used
    );
}

/// A valid proof of `model` whose public instances are what today's circuits and evaluator
/// give for the model's input.
fn assert_valid_proof_of(model: &'static str, instances: &[Fr], proof: &[u8]) -> u64 {
    let gas = assert_accepted_everywhere(instances, proof, model);
    let s = shards(model);
    assert_eq!(
        instances[MODEL_ID],
        s.model_id,
        "{model}: the proof's model id is not today's: the fixture is stale, run `{}`",
        fixture::REGENERATE
    );
    let packed = pack_outputs(&s.proof.outputs_q, s.proof.scale_bits).expect("scale fits");
    assert_eq!(&instances[OUTPUTS..OUTPUT_COMMITMENT], &packed[..], "{model}: outputs");
    let value_bits = s.compiled.model.settings.value_bits();
    assert_eq!(
        instances[OUTPUT_COMMITMENT],
        zkattest_prover::shard::boundary::boundary_commitment(&s.proof.outputs_q, value_bits),
        "{model}: output commitment"
    );
    let decoded = AggregationInstances { all: instances.to_vec() };
    assert_eq!(decoded.outputs(), s.proof.outputs_q);
    assert_eq!(decoded.scale_bits(), s.proof.scale_bits, "{model}: output scale");
    gas
}

fn case(c: &ProofCase) -> (Vec<Fr>, Vec<u8>) {
    c.split().unwrap_or_else(|e| panic!("{}: {e}", c.what))
}

fn forged(what: &str) -> (Vec<Fr>, Vec<u8>) {
    let c = cases()
        .broken_chain
        .iter()
        .find(|c| c.what == what)
        .unwrap_or_else(|| panic!("no forged proof \"{what}\" in {}", fixture::CASES));
    case(c)
}

#[test]
fn committed_proof_verifies_natively_and_in_evm() {
    let (instances, proof) = valid();
    let gas = assert_valid_proof_of(MODEL_A, &instances, &proof);
    eprintln!(
        "EVM verification: {gas} gas (transaction total), calldata {} bytes",
        encode(&instances, &proof).len()
    );
    // What the registry and forge read from the same file.
    let att =
        zkattest_chain::Attestation::from_file(&root().join(fixture::VALID)).expect("fixture");
    assert_eq!(att.vk_hash.0, word(&shards(MODEL_A).model_id));
    assert_eq!(att.input_commitment.0, word(&instances[INPUT_COMMITMENT]));
    assert_eq!(att.output_scale_bits as u32, shards(MODEL_A).proof.scale_bits);
}

#[test]
fn flipped_proof_byte_is_rejected() {
    let (instances, mut proof) = valid();
    proof[64] ^= 1;
    assert_rejected_everywhere(&instances, &proof, "flipped byte");
}

#[test]
fn flipped_bytes_all_over_the_proof_are_rejected() {
    let (instances, proof) = valid();
    for at in [0, proof.len() / 3, proof.len() / 2, proof.len() - 1] {
        let mut bad = proof.clone();
        bad[at] ^= 0x80;
        assert_rejected_everywhere(&instances, &bad, &format!("byte {at} flipped"));
    }
}

#[test]
fn altered_output_is_rejected() {
    let (mut instances, proof) = valid();
    instances[OUTPUTS] += Fr::from(1u64);
    assert_rejected_everywhere(&instances, &proof, "altered output");
}

/// The output scale is proven with the outputs: another scale (the same values read as ten
/// times smaller, say), or the count and the scale changed together, is rejected.
#[test]
fn altered_output_scale_is_rejected() {
    use halo2_base::halo2_proofs::halo2curves::ff::Field;
    use zkattest_prover::aggregate::circuit::SCALE_SHIFT;
    let (instances, proof) = valid();
    let one_scale = Fr::from(2u64).pow_vartime([SCALE_SHIFT as u64]);
    for (what, delta) in [
        ("scale + 1", one_scale),
        ("scale - 1", -one_scale),
        ("scale + 1 and count - 1", one_scale - Fr::from(2u64).pow_vartime([240u64])),
    ] {
        let mut bad = instances.clone();
        bad[OUTPUTS] += delta;
        assert_rejected_everywhere(&bad, &proof, what);
    }
}

/// The commitment to all the outputs is bound like the packed ones.
#[test]
fn altered_output_commitment_is_rejected() {
    let (instances, proof) = valid();
    for delta in [Fr::from(1u64), -Fr::from(1u64)] {
        let mut bad = instances.clone();
        bad[OUTPUT_COMMITMENT] += delta;
        assert_rejected_everywhere(&bad, &proof, "altered output commitment");
    }
}

#[test]
fn altered_input_commitment_is_rejected() {
    let (mut instances, proof) = valid();
    instances[INPUT_COMMITMENT] += Fr::from(1u64);
    assert_rejected_everywhere(&instances, &proof, "altered input commitment");
}

#[test]
fn altered_accumulator_is_rejected() {
    let (mut instances, proof) = valid();
    instances[0] += Fr::from(1u64);
    assert_rejected_everywhere(&instances, &proof, "altered accumulator");
}

#[test]
fn second_model_verifies_against_the_same_verifier_and_cannot_pose_as_the_first() {
    let (instances, proof) = case(&cases().second_model);
    assert_valid_proof_of(MODEL_B, &instances, &proof);
    let a = shards(MODEL_A).model_id;
    assert_ne!(instances[MODEL_ID], a);
    let mut as_a = instances.clone();
    as_a[MODEL_ID] = a;
    assert_rejected_everywhere(&as_a, &proof, "model B presented as model A");
}

/// The honest prover refuses a broken chain up front; the proof forced through the circuit
/// anyway (committed) is rejected natively and in the EVM. Returns its instances.
fn assert_chain_break_rejected(snarks: &[zkattest_prover::Snark], what: &str) -> Vec<Fr> {
    match check_chain(snarks) {
        Err(ProverError::BoundaryMismatch { after: 0 }) => {}
        other => panic!("{what}: the honest prover did not refuse: {other:?}"),
    }
    let (instances, proof) = forged(what);
    assert_rejected_everywhere(&instances, &proof, what);
    instances
}

#[test]
fn reordered_shards_are_rejected() {
    let chains = shards(MODEL_A).broken_chains(&setup().srs).expect("snarks");
    let (what, snarks) = &chains[0];
    assert_eq!(*what, "shards reordered");
    assert_chain_break_rejected(snarks, what);
}

#[test]
fn shard_from_another_inference_is_rejected() {
    let chains = shards(MODEL_A).broken_chains(&setup().srs).expect("snarks");
    let (what, snarks) = &chains[1];
    assert_eq!(*what, "shard from another inference");
    let instances = assert_chain_break_rejected(snarks, what);
    // The forgery claims this very model and input: only the broken chain gives it away.
    assert_eq!(instances[MODEL_ID], shards(MODEL_A).model_id);
}

#[test]
fn every_committed_case_is_checked() {
    let names: Vec<&str> = cases().broken_chain.iter().map(|c| c.what.as_str()).collect();
    assert_eq!(names, ["shards reordered", "shard from another inference"]);
    assert_eq!(cases().second_model.model, MODEL_B);
}

/// Full tier: the fixtures' proofs made fresh with today's prover (the real aggregation of
/// two models and two forged aggregations), checked as the fast tier checks the committed ones.
#[test]
#[ignore = "full tier (scripts/test.sh --full): four fresh aggregations, ~15 min, 9 GB"]
fn fresh_aggregations_verify_and_forged_chains_are_rejected() {
    let p = Prover::dev(&default_cache_dir()).expect("dev SRS and aggregation keys");
    assert_eq!(p.keys.pk.get_vk().transcript_repr(), setup().vk.transcript_repr());
    for model in [MODEL_A, MODEL_B] {
        let agg = shards(model).aggregate(&p).expect("aggregate");
        let c = fixture::case_of(model, model, &agg).expect("case");
        let (instances, proof) = case(&c);
        assert_valid_proof_of(model, &instances, &proof);
    }
    for (what, snarks) in shards(MODEL_A).broken_chains(&p.srs).expect("snarks") {
        let c = forge(&p, what, MODEL_A, snarks).expect("a (forged) proof");
        let (instances, proof) = case(&c);
        assert_rejected_everywhere(&instances, &proof, what);
    }
}

/// Full tier: a model proven with wide values (sums, ReLUs and shard boundaries in split rows)
/// aggregates into a proof today's verifier accepts natively and in the EVM, under its own
/// model id; its outputs, commitments and model id altered, or a byte of the proof, are
/// rejected everywhere.
#[test]
#[ignore = "full tier (scripts/test.sh --full): one fresh aggregation, ~4 min, 9 GB"]
fn wide_values_aggregate_and_verify_in_the_evm() {
    let s = wide_model_verifies_and_tampering_is_rejected(MODEL_A, "wide values");
    assert_ne!(s.model_id, shards(MODEL_A).model_id, "wide and narrow circuits share an id");
}

/// Full tier: the same for a model whose sigmoid and tanh are interpolated between table
/// points (an LSTM: gates, cell state, hidden state).
#[test]
#[ignore = "full tier (scripts/test.sh --full): one fresh aggregation, ~4 min, 9 GB"]
fn interpolated_functions_aggregate_and_verify_in_the_evm() {
    let s = wide_model_verifies_and_tampering_is_rejected("lstm_seq", "interpolated functions");
    let st = s.compiled.model.settings;
    assert!(s.compiled.model.activations().into_iter().any(|a| st.interpolates(a)));
}

fn wide_model_verifies_and_tampering_is_rejected(model: &str, label: &str) -> Shards {
    let p = Prover::dev(&default_cache_dir()).expect("dev SRS and aggregation keys");
    let s = prove_shards_with(&root(), &setup().srs, model, Some(true)).expect("shard proofs");
    assert!(s.compiled.model.settings.wide);
    let agg = s.aggregate(&p).expect("aggregate");
    let (instances, proof) = case(&fixture::case_of("wide", model, &agg).expect("case"));
    assert_accepted_everywhere(&instances, &proof, label);
    assert_eq!(instances[MODEL_ID], s.model_id);
    let packed = pack_outputs(&s.proof.outputs_q, s.proof.scale_bits).expect("scale fits");
    assert_eq!(&instances[OUTPUTS..OUTPUT_COMMITMENT], &packed[..]);
    for (at, what) in [
        (OUTPUTS, "output"),
        (OUTPUT_COMMITMENT, "output commitment"),
        (INPUT_COMMITMENT, "input commitment"),
        (MODEL_ID, "model id"),
    ] {
        let mut bad = instances.clone();
        bad[at] += Fr::from(1u64);
        assert_rejected_everywhere(&bad, &proof, &format!("{label}: altered {what}"));
    }
    let mut bad = proof.clone();
    bad[proof.len() / 2] ^= 0x80;
    assert_rejected_everywhere(&instances, &bad, &format!("{label}: flipped proof byte"));
    s
}
