//! Aggregation latency, memory, proof size, verifier size and verify gas by shard slots N,
//! through the CLI as a user runs it: `compile --shards N`, `setup`, `prove`, then `aggregate`
//! under GNU time, then `gen-verifier --shards N` and `verify-evm` in a scratch root (the
//! committed verifier is the N = 2 one).
//!
//! `cargo bench -p zkattest --bench aggregation_latency [-- N...]` (default: 1 2). Models:
//! digits_mlp (one shard) for N = 1, wide_mlp at max k 14 (two shards, padded with no-op
//! shards) above. Aggregation keys are cached in ZKATTEST_CACHE; a run that had to generate
//! them says so (its wall time then includes keygen). Needs scripts/setup.sh's forge.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkattest"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run zkattest")
}

fn json(args: &[&str]) -> Result<Value, String> {
    let mut all = args.to_vec();
    all.push("--json");
    let out = run(&all);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

/// `aggregate` under GNU time: its JSON report and the peak RSS in MB.
fn timed_aggregate(args: &[&str]) -> (Value, f64, f64) {
    let t = std::time::Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_zkattest"))
        .args(args)
        .arg("--json")
        .stdin(Stdio::null())
        .output()
        .expect("run /usr/bin/time (Debian package `time`)");
    let wall = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "aggregate: {stderr}");
    let kb: f64 = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes): "))
        .and_then(|v| v.trim().parse().ok())
        .expect("GNU time's peak RSS");
    (serde_json::from_slice(&out.stdout).expect("aggregate json"), wall, kb / 1024.0)
}

/// A root holding only the project's forge configuration and tools, for `gen-verifier`.
fn scratch_root(dir: &Path) -> PathBuf {
    let r = dir.join("root");
    std::fs::create_dir_all(&r).expect("mkdir");
    std::fs::copy(root().join("foundry.toml"), r.join("foundry.toml")).expect("foundry.toml");
    let tools = std::fs::canonicalize(root().join(".tools")).expect("run scripts/setup.sh first");
    std::os::unix::fs::symlink(tools, r.join(".tools")).expect("symlink .tools");
    r
}

struct Row {
    n: usize,
    model: &'static str,
    keys_cached: bool,
    aggregate_s: f64,
    wall_s: f64,
    peak_mb: f64,
    proof_bytes: u64,
    runtime: String,
    gas: String,
}

fn measure(n: usize, tmp: &Path) -> Row {
    let (model, max_k) = if n == 1 { ("digits_mlp", "17") } else { ("wide_mlp", "14") };
    let art = tmp.join(format!("art-{n}"));
    let shards = n.to_string();
    let model_dir = root().join("models").join(model);
    json(&[
        "compile",
        "--model",
        s(&model_dir),
        "--out",
        s(&art),
        "--max-k",
        max_k,
        "--shards",
        &shards,
    ])
    .expect("compile");
    json(&["setup", "--artifacts", s(&art)]).expect("setup");
    let proof = art.join("proof.json");
    let input = model_dir.join("input.json");
    json(&["prove", "--artifacts", s(&art), "--input", s(&input), "--out", s(&proof)])
        .expect("prove");

    let cache = zkattest_prover::proof::srs::default_cache_dir();
    let keys_cached = cache.join("aggregation").read_dir().is_ok_and(|mut d| {
        d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().contains(&format!("-n{n}-k"))))
    });
    let (report, wall_s, peak_mb) = timed_aggregate(&[
        "aggregate",
        "--artifacts",
        s(&art),
        "--proof",
        s(&proof),
        "--shards",
        &shards,
    ]);

    let scratch = scratch_root(&tmp.join(format!("verifier-{n}")));
    let (runtime, gas) = match json(&["gen-verifier", "--root", s(&scratch), "--shards", &shards]) {
        Ok(v) => {
            let agg = art.join("proof.agg.json");
            let gas = json(&["verify-evm", "--proof", s(&agg), "--root", s(&scratch)])
                .map(|v| v["verify_gas"].to_string())
                .unwrap_or_else(|e| format!("— ({e})"));
            (v["verifier_runtime_bytes"].to_string(), gas)
        }
        // Over EIP-170: gen-verifier reports the size in its error.
        Err(e) => (format!("— ({e})"), "—".into()),
    };
    Row {
        n,
        model,
        keys_cached,
        aggregate_s: report["aggregate_s"].as_f64().expect("aggregate_s"),
        wall_s,
        peak_mb,
        proof_bytes: report["proof_bytes"].as_u64().expect("proof_bytes"),
        runtime,
        gas,
    }
}

/// `ZKATTEST_BENCH_SMOKE=1` (the full test tier): the smallest configuration only.
fn smoke() -> bool {
    std::env::var_os("ZKATTEST_BENCH_SMOKE").is_some()
}

fn main() {
    let ns: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| a.parse().expect("shard slot counts, e.g. 1 2 4"))
        .collect();
    let ns = match (ns.is_empty(), smoke()) {
        (false, _) => ns,
        (true, true) => vec![2],
        (true, false) => vec![1, 2],
    };
    let tmp = tempfile::Builder::new().prefix("zkattest-agg-bench").tempdir().expect("tempdir");
    let rows: Vec<Row> = ns
        .iter()
        .map(|&n| {
            let r = measure(n, tmp.path());
            eprintln!("N = {n}: aggregation proof {:.1} s", r.aggregate_s);
            r
        })
        .collect();
    println!("| slots N | model | keys were cached | aggregation proof s | aggregate wall s | peak RSS MB | proof B | verifier runtime B | verify gas (revm) |");
    println!("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.0} | {} | {} | {} |",
            r.n,
            r.model,
            if r.keys_cached { "yes" } else { "no (wall includes keygen)" },
            r.aggregate_s,
            r.wall_s,
            r.peak_mb,
            r.proof_bytes,
            r.runtime,
            r.gas
        );
    }
}
