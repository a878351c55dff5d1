//! Aggregation trees (issue 19): the digits MLP in four shards (two of them padding) as two
//! leaves under a root node, natively and in a local EVM, and the broken trees a node must
//! not turn into a valid root: subtrees swapped, a subtree dropped, a subtree from another
//! inference, a leaf of another model.
//!
//! Full tier only (`#[ignore]`d, `scripts/test.sh --full`): four leaf aggregations, the node
//! keygen and four node proofs (≈ 35 min on 2 cores, ≈ 9 GB: the leaf key is dropped before
//! the node key is loaded). One test, sequential, so two heavy proofs never run at once.

use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkattest_prover::aggregate::circuit::{
    num_instances, AggregationInstances, INPUT_COMMITMENT, MODEL_ID, NUM_ACC_LIMBS, OUTPUTS,
    OUTPUT_COMMITMENT,
};
use zkattest_prover::aggregate::model_id::{model_id, vk_witness};
use zkattest_prover::aggregate::tree::{
    key_witness, prove_leaves, prove_nodes, tree_model_id, LeafKey, NodeKeys,
};
use zkattest_prover::aggregate::verify_aggregated;
use zkattest_prover::artifacts::setup::vk_path;
use zkattest_prover::circuit::instance;
use zkattest_prover::proof::keys::read_vk;
use zkattest_prover::proof::srs::default_cache_dir;
use zkattest_verifier_gen::calldata::encode;
use zkattest_verifier_gen::evm::forge_bytecode;
use zkattest_verifier_gen::evm::{deploy_and_execute, CallStatus};
use zkattest_verifier_gen::fixture::{
    prove_padded_shards, read_valid, Prover, Shards, MODEL_A, MODEL_B,
};
use zkattest_verifier_gen::forge::{build, compile_scratch, verifier_artifact};
use zkattest_verifier_gen::solidity::{generate, EIP170_LIMIT};

/// A rejection must revert well before this (the hardened verifier bounds its work).
const REJECTION_GAS_BOUND: u64 = 2_000_000;
/// Shards of the tree: two leaves of two.
const SHARDS: usize = 4;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The leaf model ids of a padded model: each pair of shard keys, as a leaf digests them.
fn leaf_ids(s: &Shards, srs: &zkattest_prover::proof::Srs) -> Vec<Fr> {
    let keys: Vec<Vec<Fr>> = (0..SHARDS)
        .map(|i| vk_witness(&srs.params, &read_vk(&vk_path(s.dir.path(), i)).expect("shard vk")))
        .collect();
    keys.chunks(2).map(model_id).collect()
}

#[test]
#[ignore = "full tier: four leaf aggregations, node keygen and four node proofs"]
fn four_shard_tree_verifies_natively_and_in_evm_and_broken_trees_do_not() {
    let cache = default_cache_dir();
    let p = Prover::dev(&cache).expect("dev SRS and aggregation keys");
    let log = |m: &str| eprintln!("{m}");

    // Leaves: this inference's two, the right one of another inference, and the right one of
    // another model (both models padded to four shards).
    let a = prove_padded_shards(&root(), &p.srs, MODEL_A, None, SHARDS).expect("shards of A");
    let b = prove_padded_shards(&root(), &p.srs, MODEL_B, None, SHARDS).expect("shards of B");
    assert_eq!(a.proof.shards.len(), SHARDS);
    let all = a.snarks(&p.srs, &[0, 1, 2, 3]).expect("snarks");
    let leaves = prove_leaves(&p.keys, &p.agg_srs, all.clone(), &log).expect("leaves");
    assert_eq!(leaves.len(), 2);
    let other_inference = p
        .keys
        .prove_for_compression(&p.agg_srs, a.other_inference(&p.srs, &[2, 3]).expect("snarks"))
        .expect("leaf of another inference");
    let other_model = p
        .keys
        .prove_for_compression(&p.agg_srs, b.snarks(&p.srs, &[2, 3]).expect("snarks"))
        .expect("leaf of another model");
    let leaf_vk = p.keys.pk.get_vk().clone();
    let leaf = LeafKey { settings: p.keys.settings, config: p.keys.config, vk: &leaf_vk };
    let agg_srs = p.agg_srs;
    let srs = p.srs;
    drop(p.keys);

    let node = NodeKeys::load_or_generate(&cache, leaf, &agg_srs).expect("node keys");
    let vk = node.pk.get_vk().clone();

    // The honest root: the leaves' statement, under the tree's model id.
    let (root_instances, proof) =
        prove_nodes(&node, &agg_srs, leaves.clone(), &log).expect("root proof");
    let got = &root_instances.all;
    assert_eq!(got.len(), num_instances());
    let ids = leaf_ids(&a, &srs);
    let expected_id =
        tree_model_id(&ids, &key_witness(&agg_srs, &leaf_vk), &key_witness(&agg_srs, &vk))
            .expect("tree id");
    assert_eq!(got[MODEL_ID], expected_id, "the root's model id is the tree's");
    assert_ne!(got[MODEL_ID], a.model_id);
    assert_eq!(got[INPUT_COMMITMENT], all[0].instances[0][instance::IN_COMMIT]);
    assert_eq!(got[OUTPUT_COMMITMENT], all[3].instances[0][instance::OUT_COMMIT]);
    assert_eq!(
        &got[OUTPUTS..OUTPUT_COMMITMENT],
        &leaves[1].instances[0][OUTPUTS..OUTPUT_COMMITMENT]
    );
    assert_eq!(
        AggregationInstances { all: got.clone() }.outputs(),
        instance::shown(&a.proof.outputs_q).to_vec(),
        "the root shows the model's outputs"
    );

    // The EVM: the node's verifier accepts the root at the leaf verifier's gas.
    let code = generate(&agg_srs.params, &vk);
    let dir = tempfile::tempdir().expect("tempdir");
    let (bytecode, runtime) = compile_scratch(&root(), dir.path(), &code).expect("forge build");
    assert!(runtime <= EIP170_LIMIT, "node verifier runtime {runtime} bytes exceeds EIP-170");
    let evm = |instances: &[Fr], proof: &[u8]| {
        deploy_and_execute(bytecode.clone(), encode(instances, proof)).expect("EVM runs")
    };
    let outcome = evm(got, &proof);
    assert!(outcome.accepted(), "EVM rejected the root: {outcome:?}");
    build(&root()).expect("forge build");
    let leaf_bytecode = forge_bytecode(&verifier_artifact(&root())).expect("leaf verifier");
    let (valid_instances, valid_proof) =
        read_valid(&root(), &leaf_vk).expect("committed proof").split().expect("calldata");
    let leaf_outcome = deploy_and_execute(leaf_bytecode, encode(&valid_instances, &valid_proof))
        .expect("EVM runs");
    assert!(leaf_outcome.accepted(), "{leaf_outcome:?}");
    eprintln!(
        "root of a 4-shard tree: {} gas (node verifier {runtime} bytes); 2-shard proof: {} gas",
        outcome.gas_used, leaf_outcome.gas_used
    );
    let (g, l) = (outcome.gas_used as f64, leaf_outcome.gas_used as f64);
    assert!((g - l).abs() / l < 0.02, "tree root gas {g} vs 2-shard gas {l}");

    let rejected_everywhere = |instances: &[Fr], proof: &[u8], what: &str| {
        assert!(
            verify_aggregated(&vk, &agg_srs, instances, proof).is_err(),
            "{what}: native verifier accepted"
        );
        let outcome = evm(instances, proof);
        assert_eq!(outcome.status, CallStatus::Reverted, "{what}: {outcome:?}");
        assert!(outcome.gas_used < REJECTION_GAS_BOUND, "{what}: {outcome:?}");
    };

    // Tampered root and statement.
    for at in [0, proof.len() / 2, proof.len() - 1] {
        let mut bad = proof.clone();
        bad[at] ^= 0x80;
        rejected_everywhere(got, &bad, &format!("root proof byte {at} flipped"));
    }
    for (i, what) in [
        (MODEL_ID, "model id"),
        (INPUT_COMMITMENT, "input commitment"),
        (OUTPUTS, "outputs"),
        (OUTPUT_COMMITMENT, "output commitment"),
        (3, "accumulator"),
    ] {
        let mut bad = got.clone();
        bad[i] += Fr::one();
        rejected_everywhere(&bad, &proof, &format!("root statement: {what} changed"));
    }

    // A subtree dropped: the model's first two shards aggregated alone (the committed 2-shard
    // proof) are no root of the node's verifier.
    rejected_everywhere(&valid_instances, &valid_proof, "2-shard proof under the node verifier");

    // Broken trees, forced through the node circuit without the honest prover's checks. A
    // subtree of another inference of the same model keeps the model id (it is the model's,
    // not the inference's): the chain is what refuses it. The others change the id as well.
    let broken = [
        ("subtrees swapped", vec![leaves[1].clone(), leaves[0].clone()], true),
        ("right subtree from another inference", vec![leaves[0].clone(), other_inference], false),
        ("right leaf of another model", vec![leaves[0].clone(), other_model], true),
    ];
    for (what, children, other_id) in broken {
        assert!(
            zkattest_prover::aggregate::tree::check_children(&children).is_err(),
            "{what}: the honest prover's check passed"
        );
        match node.prove_unchecked(&agg_srs, children) {
            Err(e) => eprintln!("{what}: node refused: {e}"),
            Ok((instances, proof)) => {
                assert_eq!(instances.all[MODEL_ID] != expected_id, other_id, "{what}: model id");
                rejected_everywhere(&instances.all, &proof, what)
            }
        }
    }
    // The accumulator the root carries is its own, not a leaf's.
    assert_ne!(&got[..NUM_ACC_LIMBS], &leaves[1].instances[0][..NUM_ACC_LIMBS]);
}
