//! The thin layer (issue 18): compressing the wide aggregation proof into a one-column proof,
//! per compression size k, against the wide proof sent to the EVM directly.
//!
//! For each k: the compression circuit's columns and cells, keygen and prove time, the peak
//! memory of the compression proof alone, the verifier's deployed size and the gas of one
//! verification transaction in revm, with a real proof of the bundled digits MLP.
//!
//! `cargo bench -p zkattest-verifier-gen --bench thin -- [K ...]` (default: the default k).
//! The wide proof (Poseidon transcript, ≈ 200 s and 9 GB) is made once and cached in
//! `$ZKATTEST_CACHE/bench/`; each k's SRS and keys are cached beside the wide keys. Run one
//! k per process for its peak memory: the peak is reset before the compression proof, but
//! the process keeps what it already holds (the wide proving key is dropped first).
//! `ZKATTEST_BENCH_SMOKE=1`: the circuit layout at the default k only (cells, columns).

use std::path::{Path, PathBuf};
use std::time::Instant;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkattest_prover::aggregate::circuit::num_instances;
use zkattest_prover::aggregate::compress::{self, wide_snark};
use zkattest_prover::aggregate::{CompressionKeys, CompressionSettings};
use zkattest_prover::proof::shard_proof::{fr_from_hex, fr_to_hex};
use zkattest_prover::proof::srs::default_cache_dir;
use zkattest_prover::proof::Srs;
use zkattest_verifier_gen::fixture::{self, Prover, MODEL_A, SETTINGS};
use zkattest_verifier_gen::{calldata, evm, forge, solidity};

fn smoke() -> bool {
    std::env::var_os("ZKATTEST_BENCH_SMOKE").is_some()
}

/// Peak resident memory of this process since the last reset, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM in /proc/self/status");
    kb * 1024
}

/// Resets the peak (`VmHWM`) to the current resident size.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CachedWide {
    instances: Vec<String>,
    proof: String,
}

/// The wide proof of the digits MLP with a Poseidon transcript, made once per wide key.
fn wide_proof(root: &Path, cache: &Path, p: &Prover) -> (Vec<Fr>, Vec<u8>) {
    let vk = p.keys.pk.get_vk();
    let path = cache.join("bench").join(format!("wide-{}.json", &compress::vk_digest(vk)[..16]));
    if let Ok(text) = std::fs::read_to_string(&path) {
        let c: CachedWide = serde_json::from_str(&text).expect("cached wide proof");
        let instances = c.instances.iter().map(|s| fr_from_hex(s).expect("instance")).collect();
        return (instances, hex::decode(c.proof).expect("proof hex"));
    }
    eprintln!("making the wide proof of {MODEL_A} (Poseidon transcript, ~200 s, ~9 GB)");
    let shards = fixture::prove_shards(root, &p.srs, MODEL_A).expect("shard proofs");
    let snarks = shards.snarks(&p.srs, &[0, 1]).expect("snarks");
    let mut wide = p.keys.prove_for_compression(&p.agg_srs, snarks).expect("wide proof");
    let c = CachedWide {
        instances: wide.instances[0].iter().map(fr_to_hex).collect(),
        proof: hex::encode(&wide.proof),
    };
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir bench cache");
    std::fs::write(&path, serde_json::to_string(&c).expect("json")).expect("write wide proof");
    (wide.instances.swap_remove(0), wide.proof)
}

struct Row {
    what: String,
    columns: String,
    cells: String,
    keygen_s: String,
    prove_s: String,
    peak_gb: String,
    runtime_bytes: usize,
    calldata_bytes: usize,
    gas: Option<u64>,
}

fn verifier_row(
    root: &Path,
    code: &str,
    instances: &[Fr],
    proof: &[u8],
) -> (usize, usize, Option<u64>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (bytecode, runtime) = forge::compile_scratch(root, dir.path(), code).expect("forge build");
    let data = calldata::encode(instances, proof);
    let len = data.len();
    let gas = (runtime <= solidity::EIP170_LIMIT)
        .then(|| evm::deploy_and_call(bytecode, data).expect("a valid proof verifies in the EVM"));
    (runtime, len, gas)
}

fn main() {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cache = default_cache_dir();
    let ks: Vec<u32> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| a.parse().expect("each argument is a compression k"))
        .collect();
    let ks = if ks.is_empty() { vec![CompressionSettings::default().k] } else { ks };
    let p = Prover::dev(&cache).expect("dev SRS and aggregation keys");
    let wide_vk = p.keys.pk.get_vk().clone();

    if smoke() {
        let settings = CompressionSettings::default();
        let mut circuit = compress::keygen_circuit(settings, &p.agg_srs, &p.agg_srs, &wide_vk)
            .expect("compression circuit");
        let config = circuit.calculate_params(Some(20));
        let s = circuit.builder.statistics();
        println!(
            "| compression k | advice columns | lookup advice | advice cells | lookup cells |"
        );
        println!("| ---: | ---: | ---: | ---: | ---: |");
        println!(
            "| {} | {} | {} | {} | {} |",
            settings.k,
            config.num_advice,
            config.num_lookup_advice,
            s.gate.total_advice_per_phase[0],
            s.total_lookup_advice_per_phase[0]
        );
        return;
    }

    let (instances, wide_proof) = wide_proof(&root, &cache, &p);
    let mut rows = Vec::new();
    {
        // The wide proof straight to the EVM (Keccak transcript): today's path, for comparison.
        let shards = fixture::prove_shards(&root, &p.srs, MODEL_A).expect("shard proofs");
        let agg = shards.aggregate(&p).expect("wide EVM proof");
        let (i, proof) = (agg.instances().expect("instances"), agg.proof_bytes().expect("proof"));
        let code = solidity::generate(&p.agg_srs.params, &wide_vk);
        let (runtime_bytes, calldata_bytes, gas) = verifier_row(&root, &code, &i, &proof);
        rows.push(Row {
            what: format!("wide (k = {}, no compression)", SETTINGS.k),
            columns: format!(
                "{} + {} lookup",
                p.keys.config.num_advice, p.keys.config.num_lookup_advice
            ),
            cells: "—".into(),
            keygen_s: "—".into(),
            prove_s: "—".into(),
            peak_gb: "—".into(),
            runtime_bytes,
            calldata_bytes,
            gas,
        });
    }
    let (shard_srs, agg_srs) = (p.srs, p.agg_srs);
    drop(p.keys);
    for k in ks {
        let settings = CompressionSettings { k };
        let srs = Srs::dev(&cache, k).expect("dev SRS");
        let t = Instant::now();
        let keys = CompressionKeys::load_or_generate(
            &cache, settings, &srs, &SETTINGS, &agg_srs, &wide_vk,
        )
        .expect("compression keys");
        let keygen_s = t.elapsed().as_secs_f64();
        let mut layout =
            compress::keygen_circuit(settings, &srs, &agg_srs, &wide_vk).expect("layout");
        layout.calculate_params(Some(20));
        let s = layout.builder.statistics();
        drop(layout);
        let wide = wide_snark(&agg_srs, &wide_vk, instances.clone(), wide_proof.clone());
        reset_peak();
        let t = Instant::now();
        let (thin, proof) = keys.prove(&srs, wide).expect("compression proof");
        let prove_s = t.elapsed().as_secs_f64();
        let peak = peak_rss();
        assert_eq!(thin.all.len(), num_instances());
        let code = solidity::generate(&srs.params, keys.pk.get_vk());
        let (runtime_bytes, calldata_bytes, gas) = verifier_row(&root, &code, &thin.all, &proof);
        eprintln!("k = {k}: prove {prove_s:.0} s, {gas:?} gas");
        rows.push(Row {
            what: format!("thin, k = {k}"),
            columns: format!(
                "{} + {} lookup",
                keys.config.num_advice, keys.config.num_lookup_advice
            ),
            cells: format!(
                "{} + {} lookup",
                s.gate.total_advice_per_phase[0], s.total_lookup_advice_per_phase[0]
            ),
            keygen_s: format!("{keygen_s:.0}"),
            prove_s: format!("{prove_s:.0}"),
            peak_gb: format!("{:.1}", peak as f64 / 1e9),
            runtime_bytes,
            calldata_bytes,
            gas,
        });
    }
    drop(shard_srs);

    println!("| final proof | advice columns | advice cells | keygen s | prove s | peak GB (prove) | verifier bytes | calldata bytes | verify gas (revm, whole tx) |");
    println!("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.what,
            r.columns,
            r.cells,
            r.keygen_s,
            r.prove_s,
            r.peak_gb,
            r.runtime_bytes,
            r.calldata_bytes,
            r.gas.map_or("over EIP-170, cannot be deployed".into(), |g| g.to_string())
        );
    }
}
