//! The thin layer (issue 18): a real wide aggregation proof of the digits MLP compressed into
//! the one-column proof, natively and in a local EVM, and what must not compress.
//!
//! Full tier only (`#[ignore]`d, `scripts/test.sh --full`): one wide aggregation and three
//! compressions (≈ 35 min on 2 cores, 20 GB peak at each compression). One test, sequential, so two heavy proofs
//! never run at once.

use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkattest_prover::aggregate::circuit::{num_instances, MODEL_ID, NUM_ACC_LIMBS, OUTPUTS};
use zkattest_prover::aggregate::compress::{wide_snark, CompressionKeys, CompressionSettings};
use zkattest_prover::aggregate::verify_aggregated;
use zkattest_prover::proof::srs::default_cache_dir;
use zkattest_prover::proof::Srs;
use zkattest_verifier_gen::calldata::encode;
use zkattest_verifier_gen::evm::{deploy_and_execute, CallStatus};
use zkattest_verifier_gen::fixture::{prove_shards, Prover, MODEL_A, SETTINGS};
use zkattest_verifier_gen::forge::compile_scratch;
use zkattest_verifier_gen::solidity::{generate, EIP170_LIMIT};

/// A rejection must revert well before this (the hardened verifier bounds its work).
const REJECTION_GAS_BOUND: u64 = 2_000_000;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
#[ignore = "full tier: one wide aggregation and three compressions"]
fn thin_proof_verifies_natively_and_in_evm_and_nothing_else_compresses() {
    let cache = default_cache_dir();
    let p = Prover::dev(&cache).expect("dev SRS and aggregation keys");
    let wide_vk = p.keys.pk.get_vk().clone();

    // The wide proof (Poseidon transcript) of the digits MLP.
    let a = prove_shards(&root(), &p.srs, MODEL_A).expect("shard proofs");
    let wide_a = p
        .keys
        .prove_for_compression(&p.agg_srs, a.snarks(&p.srs, &[0, 1]).expect("snarks"))
        .expect("wide proof");
    // A wide proof is not an EVM proof: its own verifier reads a Keccak transcript.
    assert!(verify_aggregated(&wide_vk, &p.agg_srs, &wide_a.instances[0], &wide_a.proof).is_err());
    let agg_srs = p.agg_srs;
    drop(p.keys);

    let settings = CompressionSettings::default();
    let srs = Srs::dev(&cache, settings.k).expect("compression SRS");
    let keys =
        CompressionKeys::load_or_generate(&cache, settings, &srs, &SETTINGS, &agg_srs, &wide_vk)
            .expect("compression keys");
    assert_eq!(
        (keys.config.num_advice, keys.config.num_lookup_advice),
        (1, 1),
        "the thin circuit at the default k = {} must fit one advice column",
        settings.k
    );
    let vk = keys.pk.get_vk().clone();
    let code = generate(&srs.params, &vk);
    let dir = tempfile::tempdir().expect("tempdir");
    let (bytecode, runtime) = compile_scratch(&root(), dir.path(), &code).expect("forge build");
    assert!(runtime <= EIP170_LIMIT, "thin verifier runtime {runtime} bytes exceeds EIP-170");
    let evm = |instances: &[Fr], proof: &[u8]| {
        deploy_and_execute(bytecode.clone(), encode(instances, proof)).expect("EVM runs")
    };
    let rejected_everywhere = |instances: &[Fr], proof: &[u8], what: &str| {
        assert!(
            verify_aggregated(&vk, &srs, instances, proof).is_err(),
            "{what}: native verifier accepted"
        );
        let outcome = evm(instances, proof);
        assert_eq!(outcome.status, CallStatus::Reverted, "{what}: {outcome:?}");
        assert!(outcome.gas_used < REJECTION_GAS_BOUND, "{what}: {outcome:?}");
    };

    // The honest path: the statement passes through, the accumulator is a new one.
    let wide_a_instances = wide_a.instances[0].clone();
    let (thin, proof) = keys.prove(&srs, wide_a.clone()).expect("compression");
    assert_eq!(thin.all.len(), num_instances());
    assert_eq!(&thin.all[NUM_ACC_LIMBS..], &wide_a_instances[NUM_ACC_LIMBS..]);
    assert_ne!(&thin.all[..NUM_ACC_LIMBS], &wide_a_instances[..NUM_ACC_LIMBS]);
    assert_eq!(thin.model_id(), a.model_id);
    verify_aggregated(&vk, &srs, &thin.all, &proof).expect("native");
    let outcome = evm(&thin.all, &proof);
    assert!(outcome.accepted(), "EVM rejected the thin proof: {outcome:?}");
    eprintln!("thin proof: {} gas, verifier {runtime} bytes", outcome.gas_used);
    // Under the wide key the thin proof means nothing.
    assert!(verify_aggregated(&wide_vk, &agg_srs, &thin.all, &proof).is_err());

    // Tampered thin proof and statement.
    for at in [0, 64, proof.len() / 2, proof.len() - 1] {
        let mut bad = proof.clone();
        bad[at] ^= 0x80;
        rejected_everywhere(&thin.all, &bad, &format!("thin proof byte {at} flipped"));
    }
    for (i, what) in
        [(MODEL_ID, "model id"), (MODEL_ID + 1, "input commitment"), (OUTPUTS, "outputs")]
    {
        let mut bad = thin.all.clone();
        bad[i] += Fr::one();
        rejected_everywhere(&bad, &proof, &format!("thin statement: {what} changed"));
    }
    let mut bad = thin.all.clone();
    bad[3] += Fr::one();
    rejected_everywhere(&bad, &proof, "thin accumulator changed");

    // What a dishonest prover feeds the compression circuit must not come out valid: a wide
    // proof with a flipped byte, and a wide statement restated under a real wide proof.
    let mut flipped = wide_a.clone();
    let at = flipped.proof.len() / 2;
    flipped.proof[at] ^= 1;
    let mut restated = wide_a_instances.clone();
    restated[OUTPUTS] += Fr::one();
    let cases = [
        ("wide proof with a flipped byte", flipped),
        ("wide statement restated", wide_snark(&agg_srs, &wide_vk, restated, wide_a.proof.clone())),
    ];
    for (what, wide) in cases {
        match keys.prove_unchecked(&srs, wide) {
            Err(e) => eprintln!("{what}: compression refused: {e}"),
            Ok((instances, proof)) => rejected_everywhere(&instances.all, &proof, what),
        }
    }
}
