//! Real halo2 shard proofs of the project's own models: they verify, chain, and every
//! kind of tampering is rejected.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use zkattest_prover::artifacts::compiled::{CalibrationMode, CompileOptions};
use zkattest_prover::artifacts::{CompiledModel, InferenceProof, SetupInfo};
use zkattest_prover::circuit::instance;
use zkattest_prover::model::input::InputData;
use zkattest_prover::pipeline::{prove, verify};
use zkattest_prover::proof::srs::default_cache_dir;
use zkattest_prover::proof::Srs;
use zkattest_prover::{Fr, ProverError};

/// Small circuits keep these tests fast: 2^12 rows, 10-bit lookups.
const K: u32 = 12;
const OPTS: CompileOptions = CompileOptions {
    k: Some(K),
    max_k: K,
    lookup_bits: Some(10),
    scale_bits: None,
    headroom: 2.0,
    pad_to: None,
    mode: CalibrationMode::Accuracy,
    wide: None,
};

fn model_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models").join(name)
}

struct Fixture {
    compiled: CompiledModel,
    dir: tempfile::TempDir,
    srs: Srs,
    input: InputData,
}

fn fixture(name: &str) -> Fixture {
    let m = model_dir(name);
    let input = InputData::from_file(m.join("input.json")).expect("input");
    let compiled =
        CompiledModel::compile(&m.join("network.onnx"), std::slice::from_ref(&input), &OPTS)
            .expect("compile");
    let srs = Srs::dev(&default_cache_dir(), K).expect("dev srs");
    let dir = tempfile::tempdir().expect("tempdir");
    SetupInfo::run(&compiled, dir.path(), &srs, &|_| ()).expect("setup");
    Fixture { compiled, dir, srs, input }
}

fn digits() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| fixture("digits_mlp"))
}

fn wide() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| fixture("wide_mlp"))
}

fn proof_of(f: &Fixture, inputs: &[Vec<f64>]) -> InferenceProof {
    prove(&f.compiled, f.dir.path(), &f.srs, inputs, Fr::from(7u64), 2, &|_| ()).expect("prove").0
}

fn digits_proof() -> &'static InferenceProof {
    static P: OnceLock<InferenceProof> = OnceLock::new();
    P.get_or_init(|| proof_of(digits(), &digits().input.values))
}

fn assert_rejected(f: &Fixture, p: &InferenceProof, what: &str) {
    match verify(&f.compiled, f.dir.path(), &f.srs, p) {
        Err(ProverError::Rejected(_)) => {}
        other => panic!("{what}: expected rejection, got {other:?}"),
    }
}

#[test]
fn digits_mlp_proof_verifies_and_matches_reference() {
    let f = digits();
    let p = digits_proof();
    verify(&f.compiled, f.dir.path(), &f.srs, p).expect("valid proof");
    let q = &f.compiled.model;
    let trace = q.eval(&q.quantize_inputs(&f.input.values).expect("q")).expect("eval");
    let expect: Vec<i64> = q.outputs_q(&trace);
    assert_eq!(p.outputs_q, expect);
}

#[test]
fn flipped_proof_byte_is_rejected() {
    let f = digits();
    for at in [0usize, 100, 1000] {
        let mut p = digits_proof().clone();
        let len = p.shards[0].proof.len();
        p.shards[0].proof[at % len] ^= 1;
        assert_rejected(f, &p, &format!("byte {at} flipped"));
    }
}

#[test]
fn wrong_public_instance_is_rejected() {
    let f = digits();
    for i in [instance::IN_COMMIT, instance::OUT_COMMIT, instance::OUTPUT0] {
        let mut p = digits_proof().clone();
        p.shards[0].instances[i] += Fr::from(1u64);
        assert_rejected(f, &p, &format!("instance {i} altered"));
    }
}

#[test]
fn altered_claims_are_rejected() {
    let f = digits();
    let mut p = digits_proof().clone();
    p.outputs_q[0] += 1;
    assert_rejected(f, &p, "claimed output altered");
    let mut p = digits_proof().clone();
    p.input_commitment = zkattest_prover::proof::shard_proof::fr_to_hex(&Fr::from(5u64));
    assert_rejected(f, &p, "claimed input commitment altered");
    // The float outputs are what `verify` prints: editing one must not leave "valid".
    let mut p = digits_proof().clone();
    p.outputs[0] += 1.0;
    assert_rejected(f, &p, "claimed real-valued output altered");
    let mut p = digits_proof().clone();
    p.outputs.pop();
    assert_rejected(f, &p, "a real-valued output dropped");
    let mut p = digits_proof().clone();
    p.scale_bits += 1;
    assert_rejected(f, &p, "claimed output scale altered");
}

#[test]
fn wide_mlp_is_proven_as_chained_shards() {
    let f = wide();
    let n = f.compiled.plan.shards.len();
    assert!(n >= 2, "wide_mlp should need several 2^12-row shards, got {n}");
    let a = proof_of(f, &f.input.values);
    verify(&f.compiled, f.dir.path(), &f.srs, &a).expect("valid chain");
    // The input salt goes to shard 0's job only, the seed to none, and each link's salt to
    // the two jobs on either side of it (a cluster ships jobs to other machines).
    let (salt, seed) = (Fr::from(7u64), Fr::from(8u64));
    let jobs =
        zkattest_prover::pipeline::jobs(&f.compiled, &f.input.values, salt, seed).expect("jobs");
    let salts: Vec<_> = jobs.iter().map(|j| j.salts().expect("salts")).collect();
    assert_eq!(salts[0].input, salt);
    assert_eq!(salts[n - 1].output, Fr::zero(), "the last output commitment is unsalted");
    for b in 1..n {
        assert_eq!(salts[b - 1].output, salts[b].input, "link {b}");
        assert_eq!(salts[b].input, zkattest_prover::shard::boundary::link_salt(seed, b));
    }
    let secrets = [salt, seed, Fr::zero()];
    assert!(
        salts[1..].iter().all(|s| !secrets.contains(&s.input))
            && salts[..n - 1].iter().all(|s| !secrets.contains(&s.output)),
        "a later job sees the input salt or the seed, or a link is unsalted"
    );

    // A shard taken from another inference breaks the boundary chain.
    let other: Vec<Vec<f64>> =
        f.input.values.iter().map(|v| v.iter().rev().copied().collect()).collect();
    let b = proof_of(f, &other);
    assert_ne!(
        a.shards[1].instances[instance::IN_COMMIT],
        b.shards[1].instances[instance::IN_COMMIT]
    );
    let mut mixed = a.clone();
    mixed.shards[1] = b.shards[1].clone();
    match verify(&f.compiled, f.dir.path(), &f.srs, &mixed) {
        Err(ProverError::BoundaryMismatch { after: 0 }) => {}
        other => panic!("mixed chain accepted: {other:?}"),
    }

    // Reordered shards are rejected.
    let mut swapped = a.clone();
    swapped.shards.swap(0, 1);
    assert_rejected(f, &swapped, "shards reordered");
}
