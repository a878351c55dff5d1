//! Cluster proving with real worker processes, the real PostgreSQL queue
//! (`ZKATTEST_TEST_POSTGRES_URL`, a fresh schema per test), a file object store and real
//! halo2 proofs: 2 shards over 3 workers then aggregation with the 2-slot keys (4 shards and
//! the 4-slot aggregation in the full tier); a worker SIGKILLed mid-job; the coordinator
//! killed and restarted; a corrupted artifact; in the full tier, 4 shards through an
//! aggregation tree with the worker on the root killed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use zkattest_cluster::{JobRow, JobStatus, Queue};
use zkattest_prover::aggregate::{verify_aggregated, AggregationKeys, AggregationSettings};
use zkattest_prover::artifacts::{AggregatedProof, CompiledModel};
use zkattest_prover::pipeline;
use zkattest_prover::proof::srs::default_cache_dir;
use zkattest_prover::proof::Srs;
use zkattest_testkit::PgSchema;

/// Shards of the fault tests' model.
const SHARDS: usize = 4;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn input() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/wide_mlp/input.json")
}

/// The bundled digits MLP compiled into `shards` shards of 2^14 rows, set up once per test
/// binary. Two shards is exactly what `demo` proves.
fn artifacts_of(shards: usize) -> &'static Path {
    static TWO: OnceLock<PathBuf> = OnceLock::new();
    static FOUR: OnceLock<PathBuf> = OnceLock::new();
    let cell = match shards {
        2 => &TWO,
        4 => &FOUR,
        n => panic!("no artifacts for {n} shards"),
    };
    cell.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("zkattest-cluster-art").tempdir().expect("dir");
        let art = dir.keep().join("art");
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/wide_mlp");
        let n = shards.to_string();
        let out = run(&[
            "compile",
            "--model",
            s(&model),
            "--out",
            s(&art),
            "--max-k",
            "14",
            "--shards",
            &n,
        ]);
        assert!(out.status.success(), "compile: {}", text(&out));
        let out = run(&["setup", "--artifacts", s(&art)]);
        assert!(out.status.success(), "setup: {}", text(&out));
        art
    })
}

/// The fault tests' artifacts.
fn artifacts() -> &'static Path {
    artifacts_of(SHARDS)
}

fn zkattest() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zkattest"));
    c.stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    zkattest().args(args).arg("--json").output().expect("run zkattest")
}

fn text(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {}", text(o)))
}

/// A child process killed when the test lets go of it.
struct Proc(Option<Child>);

impl Proc {
    fn kill(&mut self) {
        if let Some(c) = self.0.as_mut() {
            c.kill().expect("SIGKILL");
            let _ = c.wait();
        }
    }

    /// Waits for the process to exit and returns its output.
    fn finish(mut self) -> Output {
        self.0.take().expect("running").wait_with_output().expect("wait")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One test's cluster: a queue schema, a store folder, and a worker cache (its own by default,
/// so a corrupted blob in one test's store is never served from another's cache).
struct Cluster {
    pg: PgSchema,
    queue: Queue,
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

impl Cluster {
    fn new(name: &str) -> Self {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let pg = rt.block_on(PgSchema::create(&format!("cli_cluster_{name}")));
        let queue = rt.block_on(Queue::open(&pg.url)).expect("queue");
        Self { pg, queue, dir: tempfile::tempdir().expect("dir"), rt }
    }

    fn store(&self) -> String {
        format!("file://{}", self.dir.path().join("store").display())
    }

    fn proof_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A worker process; `cache` None gives it a private cache under the test folder.
    fn worker(&self, id: &str, extra: &[&str], cache: Option<&Path>) -> Proc {
        let private = self.dir.path().join(format!("cache-{id}"));
        let cache = cache.unwrap_or(&private);
        let child = zkattest()
            .args(["worker", "--cluster", &self.pg.url, "--store", &self.store(), "--id", id])
            .args(["--cache", s(cache), "--retry-delay-ms", "100"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("worker");
        Proc(Some(child))
    }

    /// `prove --cluster` arguments for the fault tests' artifacts and the input.
    fn prove_args(&self, out: &Path) -> Vec<String> {
        self.prove_args_for(artifacts(), out)
    }

    /// `prove --cluster` arguments for `art` and the input.
    fn prove_args_for(&self, art: &Path, out: &Path) -> Vec<String> {
        [
            "prove",
            "--artifacts",
            s(art),
            "--input",
            s(&input()),
            "--public-input",
            "--cluster",
            &self.pg.url,
            "--store",
            &self.store(),
            "--out",
            s(out),
            "--json",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    }

    fn coordinator(&self, args: &[String]) -> Proc {
        Proc(Some(
            zkattest()
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("prove"),
        ))
    }

    fn jobs(&self) -> Vec<JobRow> {
        self.rt.block_on(self.queue.jobs(None, 100)).expect("jobs")
    }

    /// Polls the queue until `pred` holds; fails the test after `secs` or if `watch` (the
    /// coordinator) exits first.
    fn wait_until(
        &self,
        secs: u64,
        what: &str,
        watch: &mut Proc,
        pred: impl Fn(&[JobRow]) -> bool,
    ) -> Vec<JobRow> {
        let t = Instant::now();
        loop {
            let rows = self.jobs();
            if pred(&rows) {
                return rows;
            }
            if let Some(status) = watch.0.as_mut().and_then(|c| c.try_wait().expect("try_wait")) {
                let out = watch.0.take().expect("child").wait_with_output().expect("output");
                panic!("exited ({status}) while waiting for {what}: {}", text(&out));
            }
            assert!(
                t.elapsed() < Duration::from_secs(secs),
                "timed out waiting for {what}: {rows:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.rt.block_on(self.pg.drop_schema());
    }
}

fn local_verify(proof: &Path) {
    local_verify_with(artifacts(), proof)
}

fn local_verify_with(art: &Path, proof: &Path) {
    let out = run(&["verify", "--artifacts", s(art), "--proof", s(proof)]);
    assert!(out.status.success(), "local mode rejects the cluster's proof: {}", text(&out));
    assert_eq!(json(&out)["valid"], true);
}

fn shard_jobs(rows: &[JobRow]) -> Vec<&JobRow> {
    rows.iter().filter(|r| r.kind == "shard").collect()
}

/// `shards` shards over 3 workers, then the aggregation job into as many slots: every shard
/// once, more than one worker, local mode accepts, the aggregated proof verifies and exposes
/// this model and input.
fn cluster_proves_and_aggregates(shards: usize) {
    let c = Cluster::new(&format!("agg{shards}"));
    let art = artifacts_of(shards);
    let cache = default_cache_dir();
    let workers: Vec<Proc> =
        ["w1", "w2", "w3"].iter().map(|id| c.worker(id, &[], Some(&cache))).collect();
    let out_path = c.proof_path("proof.json");
    let mut args = c.prove_args_for(art, &out_path);
    let n = shards.to_string();
    args.extend(["--aggregate".to_string(), "--shards".to_string(), n]);
    let out = c.coordinator(&args).finish();
    drop(workers);
    assert!(out.status.success(), "cluster prove: {}", text(&out));
    let report = json(&out);
    assert_eq!(report["shards"], shards);

    // Every shard job ran once; more than one worker took part.
    let rows = c.jobs();
    let shard_rows = shard_jobs(&rows);
    assert_eq!(shard_rows.len(), shards);
    assert!(shard_rows.iter().all(|r| r.status == JobStatus::Done && r.attempts == 1), "{rows:?}");
    let mut ids: Vec<_> = shard_rows.iter().filter_map(|r| r.worker.clone()).collect();
    ids.sort();
    ids.dedup();
    assert!(ids.len() >= 2, "one worker took every shard: {rows:?}");
    assert!(rows.iter().any(|r| r.kind == "aggregate" && r.status == JobStatus::Done));

    // Local mode accepts the shard proofs, and the claims match a local evaluation.
    local_verify_with(art, &out_path);
    let local = run(&[
        "prove",
        "--artifacts",
        s(art),
        "--input",
        s(&input()),
        "--public-input",
        "--out",
        s(&c.proof_path("local.json")),
    ]);
    assert!(local.status.success(), "{}", text(&local));
    let local = json(&local);
    assert_eq!(report["input_commitment"], local["input_commitment"]);
    assert_eq!(report["outputs"], local["outputs"]);

    // The aggregated proof verifies with the aggregation verifying key and exposes this
    // model's id and the input commitment; a flipped byte is rejected.
    let agg: AggregatedProof = serde_json::from_slice(
        &std::fs::read(report["aggregated"].as_str().expect("aggregated path")).expect("read"),
    )
    .expect("aggregated proof");
    let settings = AggregationSettings { shards, k: AggregationSettings::default().k };
    let vk =
        AggregationKeys::load_vk(&cache, settings, &Srs::dev(&cache, settings.k).expect("srs"))
            .expect("vk")
            .expect("keys cached by the worker");
    let agg_srs = Srs::dev(&cache, settings.k).expect("srs");
    let instances = agg.instances().expect("instances");
    let bytes = agg.proof_bytes().expect("bytes");
    verify_aggregated(&vk, &agg_srs, &instances, &bytes).expect("aggregated proof verifies");
    let compiled = CompiledModel::load(art).expect("compiled");
    let shard_srs = Srs::dev(&cache, compiled.plan.k).expect("srs");
    let model_id = pipeline::model_id(&compiled, art, &shard_srs).expect("model id");
    assert_eq!(agg.model_id, zkattest_prover::proof::shard_proof::fr_to_hex(&model_id));
    assert_eq!(Value::String(agg.input_commitment.clone()), report["input_commitment"]);
    assert_eq!(
        agg.outputs_q,
        zkattest_prover::aggregate::AggregationInstances { all: instances.clone() }.outputs()
    );
    let mut bad = bytes.clone();
    bad[100] ^= 1;
    assert!(verify_aggregated(&vk, &agg_srs, &instances, &bad).is_err(), "tampered proof accepted");
    assert!(Path::new(report["attestation"].as_str().expect("attestation")).is_file());
}

#[test]
fn cluster_two_shards_three_workers_aggregate_to_a_proof_local_mode_accepts() {
    cluster_proves_and_aggregates(2);
}

#[test]
#[ignore = "full tier (scripts/test.sh --full): 4-slot aggregation keys (4.2 GB) and proof, ~10 min, 14 GB"]
fn cluster_four_shards_three_workers_aggregate_to_a_proof_local_mode_accepts() {
    cluster_proves_and_aggregates(4);
}

#[test]
fn cluster_worker_killed_mid_job_loses_its_lease_and_the_job_runs_elsewhere() {
    let c = Cluster::new("sigkill");
    let mut a = c.worker("doomed", &["--lease-ms", "1500"], None);
    let out_path = c.proof_path("proof.json");
    let mut coord = c.coordinator(&c.prove_args(&out_path));
    let rows = c.wait_until(120, "a job running on the doomed worker", &mut coord, |rows| {
        rows.iter().any(|r| r.status == JobStatus::Running && r.worker.as_deref() == Some("doomed"))
    });
    let victim = rows
        .iter()
        .find(|r| r.status == JobStatus::Running && r.worker.as_deref() == Some("doomed"))
        .expect("running job")
        .id
        .clone();
    a.kill();
    let _b = c.worker("rescuer", &["--lease-ms", "1500"], None);
    let out = coord.finish();
    assert!(out.status.success(), "cluster prove: {}", text(&out));
    let rows = c.jobs();
    let job = rows.iter().find(|r| r.id == victim).expect("victim job");
    assert_eq!(job.status, JobStatus::Done);
    assert!(job.attempts >= 2, "the killed attempt was not counted: {job:?}");
    assert_eq!(job.worker.as_deref(), Some("rescuer"), "{job:?}");
    assert!(shard_jobs(&rows).iter().all(|r| r.status == JobStatus::Done));
    local_verify(&out_path);
}

#[test]
fn cluster_coordinator_restart_resumes_without_reproving_finished_shards() {
    let c = Cluster::new("restart");
    let out_path = c.proof_path("proof.json");
    let args = c.prove_args(&out_path);
    // The coordinator enqueues and waits; it is killed with nothing proven yet.
    let mut first = c.coordinator(&args);
    c.wait_until(120, "4 queued shard jobs", &mut first, |rows| shard_jobs(rows).len() == SHARDS);
    first.kill();
    // Half the shards are proven while no coordinator runs.
    let half = c.worker("early", &["--max-jobs", "2"], None);
    let out = half.finish();
    assert!(out.status.success(), "worker: {}", text(&out));
    let before: Vec<JobRow> =
        c.jobs().into_iter().filter(|r| r.status == JobStatus::Done).collect();
    assert_eq!(before.len(), 2, "{before:?}");

    let second = c.coordinator(&args);
    let _w = c.worker("late", &[], None);
    let out = second.finish();
    assert!(out.status.success(), "restarted coordinator: {}", text(&out));
    let rows = c.jobs();
    assert_eq!(shard_jobs(&rows).len(), SHARDS, "the restart enqueued duplicates: {rows:?}");
    for b in &before {
        let now = rows.iter().find(|r| r.id == b.id).expect("job");
        assert_eq!(
            (now.attempts, now.worker.as_deref(), now.finished_ms),
            (1, Some("early"), b.finished_ms),
            "a finished shard was proven again"
        );
    }
    assert!(rows.iter().all(|r| r.status == JobStatus::Done));
    local_verify(&out_path);
}

#[test]
fn cluster_corrupted_artifact_fails_clearly_after_bounded_retries() {
    let c = Cluster::new("corrupt");
    let out_path = c.proof_path("proof.json");
    let mut args = c.prove_args(&out_path);
    args.extend(["--max-attempts", "2"].map(String::from));
    let mut coord = c.coordinator(&args);
    c.wait_until(120, "4 queued shard jobs", &mut coord, |rows| shard_jobs(rows).len() == SHARDS);
    // Corrupt shard 1's proving key in the store (blobs are stored under their digest).
    let store = c.dir.path().join("store");
    let task_file = std::fs::read_dir(store.join("inferences"))
        .expect("inferences")
        .next()
        .expect("one inference")
        .expect("entry")
        .path()
        .join("shard-1.task.json");
    let task: Value =
        serde_json::from_slice(&std::fs::read(&task_file).expect("task")).expect("json");
    assert_tasks_carry_only_their_own_salts(task_file.parent().expect("inference dir"));
    let pk = store.join("blobs/sha256").join(task["pk"]["sha256"].as_str().expect("digest"));
    let mut bytes = std::fs::read(&pk).expect("pk");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&pk, bytes).expect("corrupt");

    let _w = c.worker("w", &[], None);
    let out = coord.finish();
    assert!(!out.status.success(), "an inference with a corrupted key succeeded: {}", text(&out));
    let err = json(&out)["error"].as_str().expect("error").to_string();
    assert!(err.contains("shard-1") && err.contains("corrupted artifact"), "{err}");
    assert!(err.contains("2 attempt"), "{err}");
    let rows = c.jobs();
    let job = rows.iter().find(|r| r.id.ends_with("/shard-1")).expect("job");
    assert_eq!((job.status, job.attempts), (JobStatus::Failed, 2), "{job:?}");

    // `cluster status` reports the dead letter.
    let status = run(&["cluster", "status", "--cluster", &c.pg.url]);
    assert!(status.status.success(), "{}", text(&status));
    assert_eq!(json(&status)["counts"]["failed"], 1);
}

/// Each shard task carries the salts of its own two links and nothing else secret: the
/// manifest's link seed is in no task, and each link's salt is in the two tasks beside it.
fn assert_tasks_carry_only_their_own_salts(inference: &Path) {
    let read = |name: &str| -> (String, Value) {
        let text = std::fs::read_to_string(inference.join(name)).expect(name);
        let v = serde_json::from_str(&text).expect(name);
        (text, v)
    };
    let (_, manifest) = read("manifest.json");
    let seed = manifest["link_seed"].as_str().expect("link seed").to_string();
    let zero = "0".repeat(64);
    assert_ne!(seed, zero);
    let tasks: Vec<(String, Value)> =
        (0..SHARDS).map(|i| read(&format!("shard-{i}.task.json"))).collect();
    for (i, (text, task)) in tasks.iter().enumerate() {
        assert!(!text.contains(&seed), "task {i} carries the link seed");
        let salt = |f: &str| task["job"][f].as_str().expect(f).to_string();
        if i > 0 {
            assert_eq!(salt("salt"), tasks[i - 1].1["job"]["out_salt"].as_str().expect("salt"));
            assert_ne!(salt("salt"), zero, "link {i} unsalted");
        }
        assert_eq!(salt("out_salt") == zero, i + 1 == SHARDS, "task {i}'s output salt");
    }
}

/// A valid aggregated proof of another model (the committed fixture), planted in the store
/// where this inference's aggregation result goes: the worker finds a result and reuses it,
/// and the coordinator must refuse it rather than hand it to the owner to register.
#[test]
fn cluster_refuses_an_aggregated_proof_of_another_model_planted_in_the_store() {
    let c = Cluster::new("planted");
    let art = artifacts_of(2);
    let cache = default_cache_dir();
    let settings = AggregationSettings::default();
    let agg_srs = Srs::dev(&cache, settings.k).expect("srs");
    let vk = AggregationKeys::load_vk(&cache, settings, &agg_srs)
        .expect("vk")
        .expect("aggregation keys cached (gen-verifier --check runs first)");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (instances, proof) = zkattest_verifier_gen::fixture::read_valid(&root, &vk)
        .expect("fixture")
        .split()
        .expect("calldata");
    verify_aggregated(&vk, &agg_srs, &instances, &proof).expect("the planted proof is valid");
    let planted = AggregatedProof::new(
        "wide_mlp",
        &instances,
        &proof,
        zkattest_prover::aggregate::AggregationInstances { all: instances.clone() }.outputs(),
        0,
    );

    let compiled = CompiledModel::load(art).expect("compiled");
    let model = zkattest_cluster::store::digest_file(&CompiledModel::path(art)).expect("digest");
    let data = zkattest_prover::model::input::InputData::from_file(input()).expect("input");
    let inputs_q = compiled.model.quantize_inputs(&data.values).expect("quantize");
    let id = zkattest_cluster::coordinator::inference_id(&model.sha256, &inputs_q, true);
    let store = zkattest_cluster::ArtifactStore::open(&c.store()).expect("store");
    let key = zkattest_cluster::task::Keys(&id).aggregated();
    c.rt.block_on(store.put_json_create(&key, &planted)).expect("plant");

    let worker = c.worker("w1", &[], Some(&cache));
    let mut args = c.prove_args_for(art, &c.proof_path("proof.json"));
    args.extend(["--aggregate".to_string(), "--shards".to_string(), "2".to_string()]);
    let out = c.coordinator(&args).finish();
    drop(worker);
    assert!(!out.status.success(), "the planted proof was accepted: {}", text(&out));
    let error = json(&out)["error"].as_str().expect("error").to_string();
    assert!(error.contains("untrusted result") && error.contains(&key), "{error}");
    assert!(error.contains("another model"), "{error}");
    assert!(!c.proof_path("proof.agg.json").exists(), "an aggregated file was written");
    assert!(!c.proof_path("proof.attestation.json").exists(), "an attestation was written");
}

/// Issue 19 on the cluster: four shards under `--shards 2` aggregate through a tree (two
/// leaves, one root node), each a job of its own. The worker holding the root is SIGKILLed
/// mid-job; another takes the node over once its lease lapses, the finished leaves are not
/// proven again, and the root verifies natively and in the EVM under the tree's verifier,
/// carrying the model id local mode's tree gives.
#[test]
#[ignore = "full tier (scripts/test.sh --full): two leaf and two root aggregations, ~20 min, 10 GB"]
fn cluster_four_shards_aggregate_through_a_tree_despite_a_worker_killed_on_the_root() {
    use zkattest_prover::aggregate::tree::load_cached_vks;
    let c = Cluster::new("tree");
    let art = artifacts_of(4);
    let cache = default_cache_dir();
    // The first worker proves the four shards and both leaves, then exits: the root, which
    // only becomes claimable once both leaves are done, is left to the doomed worker.
    let first = c.worker("first", &["--max-jobs", "6"], Some(&cache));
    let out_path = c.proof_path("proof.json");
    let mut args = c.prove_args_for(art, &out_path);
    args.extend(["--aggregate", "--shards", "2"].map(String::from));
    let mut coord = c.coordinator(&args);
    let leaves_done = |rows: &[JobRow]| {
        rows.iter().filter(|r| r.kind == "tree-leaf" && r.status == JobStatus::Done).count() == 2
    };
    let rows = c.wait_until(3_600, "both leaves", &mut coord, leaves_done);
    let node: Vec<&JobRow> = rows.iter().filter(|r| r.kind == "tree-node").collect();
    assert_eq!(node.len(), 1, "a 4-shard tree of 2-slot leaves has one node: {rows:?}");
    assert_ne!(node[0].status, JobStatus::Done, "{rows:?}");
    drop(first);
    let mut doomed = c.worker("doomed", &["--lease-ms", "3000"], Some(&cache));
    c.wait_until(600, "the root running on the doomed worker", &mut coord, |rows| {
        rows.iter().any(|r| {
            r.kind == "tree-node"
                && r.status == JobStatus::Running
                && r.worker.as_deref() == Some("doomed")
        })
    });
    std::thread::sleep(Duration::from_secs(20));
    doomed.kill();
    let rescuer = c.worker("rescuer", &["--lease-ms", "3000"], Some(&cache));
    let out = coord.finish();
    drop(rescuer);
    assert!(out.status.success(), "cluster prove: {}", text(&out));
    let report = json(&out);
    assert_eq!(report["verifier"], "tree");

    // Every job done; the leaves ran once, the root twice, finished by the rescuer.
    let rows = c.jobs();
    let kinds = |k: &str| rows.iter().filter(|r| r.kind == k).collect::<Vec<_>>();
    assert_eq!((kinds("shard").len(), kinds("tree-leaf").len()), (4, 2), "{rows:?}");
    assert!(rows.iter().all(|r| r.status == JobStatus::Done), "{rows:?}");
    assert!(kinds("tree-leaf").iter().all(|r| r.attempts == 1), "a leaf was proven again");
    let root = kinds("tree-node")[0];
    assert!(root.attempts >= 2, "the killed attempt was not counted: {root:?}");
    assert_eq!(root.worker.as_deref(), Some("rescuer"), "{root:?}");

    // The root verifies under the node key, carries the tree's model id for this model's
    // keys, this input and these outputs; the tree's EVM verifier accepts it and rejects a
    // flipped byte.
    let agg: AggregatedProof = serde_json::from_slice(
        &std::fs::read(report["aggregated"].as_str().expect("aggregated path")).expect("read"),
    )
    .expect("aggregated proof");
    let settings = AggregationSettings::default();
    let agg_srs = Srs::dev(&cache, settings.k).expect("srs");
    let (config, leaf_vk, node_vk) =
        load_cached_vks(&cache, settings, &agg_srs).expect("keys").expect("tree keys cached");
    let instances = agg.instances().expect("instances");
    let bytes = agg.proof_bytes().expect("bytes");
    verify_aggregated(&node_vk, &agg_srs, &instances, &bytes).expect("the root verifies");
    let compiled = CompiledModel::load(art).expect("compiled");
    let shard_srs = Srs::dev(&cache, compiled.plan.k).expect("srs");
    let vks: Vec<_> = (0..4)
        .map(|i| {
            zkattest_prover::proof::keys::read_vk(&zkattest_prover::artifacts::setup::vk_path(
                art, i,
            ))
            .expect("vk")
        })
        .collect();
    let leaf = zkattest_prover::aggregate::tree::LeafKey { settings, config, vk: &leaf_vk };
    let id = pipeline::tree_model_id(&vks, &shard_srs, leaf, &node_vk, &agg_srs).expect("id");
    assert_eq!(agg.model_id, zkattest_prover::proof::shard_proof::fr_to_hex(&id));
    assert_eq!(Value::String(agg.input_commitment.clone()), report["input_commitment"]);
    let local = run(&["verify", "--artifacts", s(art), "--proof", s(&out_path)]);
    assert!(local.status.success(), "{}", text(&local));
    assert_eq!(
        agg.outputs_q,
        zkattest_prover::aggregate::AggregationInstances { all: instances.clone() }.outputs()
    );
    let root_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let code = zkattest_verifier_gen::solidity::generate(&agg_srs.params, &node_vk);
    let scratch = tempfile::tempdir().expect("scratch");
    let (bytecode, _) =
        zkattest_verifier_gen::forge::compile_scratch(&root_dir, scratch.path(), &code)
            .expect("forge build of the tree verifier");
    let evm = |proof: &[u8]| {
        zkattest_verifier_gen::evm::deploy_and_execute(
            bytecode.clone(),
            zkattest_verifier_gen::calldata::encode(&instances, proof),
        )
        .expect("EVM runs")
    };
    let outcome = evm(&bytes);
    assert!(outcome.accepted(), "the tree verifier rejects the cluster's root: {outcome:?}");
    let mut bad = bytes.clone();
    bad[100] ^= 1;
    assert!(!evm(&bad).accepted(), "a tampered root was accepted in the EVM");
}
