//! Shard-phase wall time on the cluster with 1 and 2 worker processes, and the queue's share
//! of it (the gap between a worker finishing one job and starting the next).
//!
//! `cargo bench -p zkattest --bench cluster_scaling [-- MODEL MAX_K]` (default: models/lenet5 at
//! max k 15). Needs PostgreSQL at ZKATTEST_TEST_POSTGRES_URL (default: the local server).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;
use zkattest_testkit::PgSchema;

fn zkattest(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_zkattest"))
        .args(args)
        .arg("--json")
        .stdin(Stdio::null())
        .output()
        .expect("run zkattest");
    assert!(
        out.status.success(),
        "zkattest {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

struct Row {
    label: String,
    wall_s: f64,
    mean_job_s: f64,
    gap_ms: f64,
}

fn measure(art: &Path, input: &Path, workers: usize, threads: usize, tmp: &Path) -> Row {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pg = rt.block_on(PgSchema::create("bench_scaling"));
    // A fresh store per run: a store that already holds the proofs would (rightly) let the
    // workers complete every job without proving.
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let store = format!("file://{}", tmp.join(format!("store-{run}")).display());
    let cache = tmp.join("cache");
    let threads_arg = threads.to_string();
    let mut children: Vec<_> = (0..workers)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_zkattest"))
                .args(["worker", "--cluster", &pg.url, "--store", &store, "--cache", s(&cache)])
                .args(["--id", &format!("w{i}"), "--threads", &threads_arg])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("worker")
        })
        .collect();
    let out = tmp.join(format!("proof-{run}.json"));
    let t = Instant::now();
    let report = zkattest(&[
        "prove",
        "--artifacts",
        s(art),
        "--input",
        s(input),
        "--public-input",
        "--cluster",
        &pg.url,
        "--store",
        &store,
        "--out",
        s(&out),
    ]);
    let wall_s = t.elapsed().as_secs_f64();
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    rt.block_on(pg.drop_schema());
    let jobs = report["jobs"].as_array().expect("jobs");
    let span = |j: &Value| {
        (j["started_ms"].as_i64().expect("start"), j["finished_ms"].as_i64().expect("end"))
    };
    let mean_job_s = jobs.iter().map(|j| (span(j).1 - span(j).0) as f64 / 1000.0).sum::<f64>()
        / jobs.len() as f64;
    let mut gaps = Vec::new();
    for w in 0..workers {
        let id = format!("w{w}");
        let mut mine: Vec<(i64, i64)> =
            jobs.iter().filter(|j| j["worker"].as_str() == Some(id.as_str())).map(span).collect();
        mine.sort();
        gaps.extend(mine.windows(2).map(|p| (p[1].0 - p[0].1) as f64));
    }
    let gap_ms = if gaps.is_empty() { 0.0 } else { gaps.iter().sum::<f64>() / gaps.len() as f64 };
    Row { label: format!("{workers} x {threads} thread(s)"), wall_s, mean_job_s, gap_ms }
}

/// `ZKATTEST_BENCH_SMOKE=1` (the full test tier): the smallest configuration only.
fn smoke() -> bool {
    std::env::var_os("ZKATTEST_BENCH_SMOKE").is_some()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (default_model, default_k) =
        if smoke() { ("models/digits_mlp", "14") } else { ("models/lenet5", "15") };
    let model: PathBuf =
        args.first().map(PathBuf::from).unwrap_or_else(|| root.join(default_model));
    let max_k = args.get(1).cloned().unwrap_or_else(|| default_k.into());
    let tmp = tempfile::tempdir().expect("tmp");
    let art = tmp.path().join("art");
    let c = zkattest(&["compile", "--model", s(&model), "--out", s(&art), "--max-k", &max_k]);
    zkattest(&["setup", "--artifacts", s(&art)]);
    let input = model.join("input.json");
    // Warm the worker cache (blobs, dev SRS) so every configuration measures proving only.
    measure(&art, &input, 1, 2, tmp.path());
    let configs: &[(usize, usize)] =
        if smoke() { &[(2, 1), (1, 1)] } else { &[(1, 2), (1, 1), (2, 1)] };
    let rows: Vec<_> =
        configs.iter().map(|&(w, t)| measure(&art, &input, w, t, tmp.path())).collect();
    println!("model {}: {} shards at k={}", model.display(), c["shards"], c["k"]);
    println!(
        "| workers | shard phase wall (s) | mean job (s) | queue gap per job (ms) | vs 1 x 1 |"
    );
    println!("|---|---:|---:|---:|---:|");
    let base = rows[1].wall_s;
    for r in &rows {
        println!(
            "| {} | {:.1} | {:.2} | {:.0} | {:.2}x |",
            r.label,
            r.wall_s,
            r.mean_job_s,
            r.gap_ms,
            base / r.wall_s
        );
    }
}
