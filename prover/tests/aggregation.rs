//! Real aggregation of real shard proofs: one KZG proof per inference, verified natively,
//! with every kind of tampering rejected. Slow (minutes): the aggregation circuit is large.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use zkattest_prover::aggregate::circuit::{num_instances, INPUT_COMMITMENT, MODEL_ID, OUTPUT0};
use zkattest_prover::aggregate::keys::snark_of;
use zkattest_prover::aggregate::model_id::{model_id, vk_witness};
use zkattest_prover::aggregate::{AggregationKeys, AggregationSettings};
use zkattest_prover::artifacts::compiled::CompileOptions;
use zkattest_prover::artifacts::setup::vk_path;
use zkattest_prover::artifacts::{CompiledModel, SetupInfo};
use zkattest_prover::model::input::InputData;
use zkattest_prover::pipeline::prove;
use zkattest_prover::proof::keys::read_vk;
use zkattest_prover::proof::srs::default_cache_dir;
use zkattest_prover::proof::Srs;
use zkattest_prover::Fr;

const SHARD_K: u32 = 14;

fn agg_settings() -> AggregationSettings {
    let k = std::env::var("ZKATTEST_AGG_K").ok().and_then(|v| v.parse().ok()).unwrap_or(21);
    AggregationSettings { shards: 2, k }
}

struct Fixture {
    compiled: CompiledModel,
    dir: tempfile::TempDir,
    srs: Srs,
    agg_srs: Srs,
    keys: AggregationKeys,
    input: InputData,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let m = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/digits_mlp");
        let input = InputData::from_file(m.join("input.json")).expect("input");
        let opts =
            CompileOptions { k: Some(SHARD_K), pad_to: Some(2), ..CompileOptions::default() };
        let compiled =
            CompiledModel::compile(&m.join("network.onnx"), std::slice::from_ref(&input), &opts)
                .expect("compile");
        assert_eq!(compiled.plan.shards.len(), 2);
        let srs = Srs::dev(&default_cache_dir(), SHARD_K).expect("srs");
        let dir = tempfile::tempdir().expect("tempdir");
        SetupInfo::run(&compiled, dir.path(), &srs, &|_| ()).expect("setup");
        let settings = agg_settings();
        let t = Instant::now();
        let agg_srs = Srs::dev(&default_cache_dir(), settings.k).expect("agg srs");
        eprintln!("aggregation SRS k={}: {:.1} s", settings.k, t.elapsed().as_secs_f64());
        let t = Instant::now();
        let keys =
            AggregationKeys::load_or_generate(&default_cache_dir(), settings, &agg_srs, &srs)
                .expect("aggregation keys");
        eprintln!("aggregation keys: {:.1} s, config {:?}", t.elapsed().as_secs_f64(), keys.config);
        Fixture { compiled, dir, srs, agg_srs, keys, input }
    })
}

#[test]
fn two_shards_aggregate_and_verify() {
    let f = fixture();
    let (proof, _) =
        prove(&f.compiled, f.dir.path(), &f.srs, &f.input.values, Fr::from(9u64), 1, &|_| ())
            .expect("prove");
    let vks: Vec<_> = (0..2).map(|i| read_vk(&vk_path(f.dir.path(), i)).expect("vk")).collect();
    let snarks: Vec<_> =
        proof.shards.iter().zip(&vks).map(|(p, vk)| snark_of(&f.srs, vk, p)).collect();
    let t = Instant::now();
    let (instances, agg_proof) = f.keys.prove(&f.agg_srs, snarks).expect("aggregate");
    eprintln!("aggregation proof: {:.1} s, {} bytes", t.elapsed().as_secs_f64(), agg_proof.len());
    assert_eq!(instances.all.len(), num_instances());
    f.keys.verify(&f.agg_srs, &instances.all, &agg_proof).expect("valid aggregated proof");

    // Public values are the model id, the input commitment and the outputs.
    let witnesses: Vec<Vec<Fr>> = vks.iter().map(|vk| vk_witness(&f.srs.params, vk)).collect();
    assert_eq!(instances.all[MODEL_ID], model_id(&witnesses));
    assert_eq!(instances.all[INPUT_COMMITMENT], proof.shards[0].instances[0]);
    let outs: Vec<Fr> = proof.outputs_q.iter().map(|v| zkattest_prover::circuit::fe(*v)).collect();
    assert_eq!(&instances.all[OUTPUT0..OUTPUT0 + outs.len()], &outs[..]);

    // Tampering with the proof or any public value is rejected.
    let mut bad = agg_proof.clone();
    bad[100] ^= 1;
    assert!(f.keys.verify(&f.agg_srs, &instances.all, &bad).is_err(), "flipped byte");
    for i in [0, MODEL_ID, INPUT_COMMITMENT, OUTPUT0] {
        let mut inst = instances.all.clone();
        inst[i] += Fr::from(1u64);
        assert!(f.keys.verify(&f.agg_srs, &inst, &agg_proof).is_err(), "instance {i} altered");
    }
}
