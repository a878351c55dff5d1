//! Cluster mode: `prove --cluster … --store …` (the coordinator), `worker` and
//! `cluster status`. The queue URL may come from `ZKATTEST_CLUSTER` so a database password
//! stays out of the process list.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use zkattest_cluster::task::SrsRef;
use zkattest_cluster::worker::{self, JobReport};
use zkattest_cluster::{
    ArtifactStore, Coordinator, JobRow, JobStatus, Queue, Request, WorkerOptions,
};
use zkattest_prover::artifacts::CompiledModel;
use zkattest_prover::proof::shard_proof::fr_from_hex;
use zkattest_prover::proof::srs::default_cache_dir;

use super::aggregation::{write_aggregated, AggArgs};
use super::chain::block_on;
use crate::progress::bar;
use zkattest_prover::aggregate::tree::tree_jobs;

/// Where the cluster is: the PostgreSQL queue and the object store.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// PostgreSQL URL of the job queue (or set ZKATTEST_CLUSTER).
    #[arg(long = "cluster", env = "ZKATTEST_CLUSTER", hide_env_values = true)]
    pub url: String,
    /// Object store for artifacts: file:///abs/dir, s3://bucket/prefix, gs://…, az://…
    /// (credentials from the usual AWS_*, GOOGLE_*, AZURE_* variables).
    #[arg(long, env = "ZKATTEST_STORE")]
    pub store: String,
}

impl Target {
    async fn open(&self) -> anyhow::Result<(Queue, ArtifactStore)> {
        let queue = Queue::open(&self.url).await.context("opening the cluster queue")?;
        Ok((queue, ArtifactStore::open(&self.store)?))
    }
}

/// Cluster options of `prove`.
#[derive(clap::Args, Debug, Clone)]
pub struct ProveClusterArgs {
    /// Prove on a cluster: PostgreSQL URL of the job queue (needs --store).
    #[arg(long = "cluster", requires = "store")]
    pub url: Option<String>,
    /// Object store of the cluster (see `zkattest worker --help`).
    #[arg(long)]
    pub store: Option<String>,
    /// Also aggregate on the cluster once every shard proof verified.
    #[arg(long, requires = "url")]
    pub aggregate: bool,
    /// Attempts per job before it is failed with its reason.
    #[arg(long, default_value_t = 3)]
    pub max_attempts: i32,
    #[command(flatten)]
    pub agg: AggArgs,
}

#[derive(Serialize)]
struct ProveReport {
    inference: String,
    #[serde(flatten)]
    proven: super::prove::Proven,
    /// Per job: worker, attempts, start and finish.
    jobs: Vec<JobRow>,
    aggregated: Option<PathBuf>,
    attestation: Option<PathBuf>,
    model_id: Option<String>,
    aggregate_s: Option<f64>,
    /// The verifier the aggregated proof is for: `wide`, or `tree` when the inference has
    /// more shards than one aggregation takes (`gen-verifier --evm tree`).
    verifier: Option<&'static str>,
}

/// The coordinator: plan, upload, enqueue, wait, verify, write the same files as local mode.
pub fn prove(a: super::prove::Args, json: bool) -> anyhow::Result<()> {
    let c = a.cluster.clone();
    let (Some(url), Some(store)) = (c.url.clone(), c.store.clone()) else {
        anyhow::bail!("--cluster needs --store");
    };
    let target = Target { url, store };
    let compiled = CompiledModel::load(&a.artifacts)?;
    let input = zkattest_prover::model::input::InputData::from_file(&a.input)?;
    let srs = a.srs.load(compiled.plan.k, json)?;
    block_on(async {
        let (queue, store) = target.open().await?;
        let srs_ref = match &a.srs.srs {
            None => SrsRef::DevInsecure,
            Some(p) => SrsRef::File { blob: store.put_blob(p).await? },
        };
        let coord = Coordinator { queue: queue.clone(), store, poll: Duration::from_millis(250) };
        let req = Request {
            compiled: &compiled,
            artifacts: &a.artifacts,
            inputs: &input.values,
            public_input: a.public_input,
            srs: srs_ref,
            max_attempts: c.max_attempts,
        };
        let t = Instant::now();
        let manifest = coord.submit(&req).await?;
        let pb = bar(manifest.shards, "shards", json);
        let progress = |rows: &[JobRow]| {
            pb.set_position(rows.iter().filter(|r| r.status == JobStatus::Done).count() as u64)
        };
        let proof = coord.wait_shards(&req, &manifest, &srs, &progress).await?;
        pb.finish_and_clear();
        let prove_s = t.elapsed().as_secs_f64();
        let salt = fr_from_hex(&manifest.salt).map_err(anyhow::Error::msg)?;
        let mut report = ProveReport {
            inference: manifest.inference.clone(),
            proven: super::prove::Proven::write(&a, &compiled, &proof, &salt, prove_s)?,
            jobs: Vec::new(),
            aggregated: None,
            attestation: None,
            model_id: None,
            aggregate_s: None,
            verifier: None,
        };
        if c.aggregate {
            let settings = c.agg.settings();
            let tree = manifest.shards > settings.shards;
            let jobs = if tree {
                let (leaves, nodes) = tree_jobs(manifest.shards, settings.shards);
                leaves + nodes
            } else {
                1
            };
            let pb = bar(jobs, if tree { "tree" } else { "aggregating" }, json);
            let t = Instant::now();
            let progress = |rows: &[JobRow]| {
                pb.set_position(rows.iter().filter(|r| r.status == JobStatus::Done).count() as u64)
            };
            let agg = coord.aggregate(&req, &manifest, settings, &srs, &progress).await?;
            pb.finish_and_clear();
            report.verifier = Some(if tree { "tree" } else { "wide" });
            let (agg_path, attestation) = write_aggregated(&report.proven.proof, None, &agg)?;
            report.aggregate_s = Some(t.elapsed().as_secs_f64());
            report.model_id = Some(agg.model_id.clone());
            report.aggregated = Some(agg_path);
            report.attestation = Some(attestation);
        }
        report.jobs = queue.jobs(Some(&manifest.inference), i64::MAX).await?;
        crate::output::print(json, &report, || {
            let mut s =
                format!("inference {} on the cluster: {}", report.inference, report.proven.text());
            if let (Some(p), Some(at)) = (&report.aggregated, &report.attestation) {
                s += &format!("\n  aggregated -> {} (attestation {})", p.display(), at.display());
                if report.verifier == Some("tree") {
                    s += "\n  verify with the tree's verifier: gen-verifier --evm tree";
                }
            }
            s
        })
    })?
}

/// Arguments of `worker`.
#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub target: Target,
    /// Jobs proven at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Memory the jobs it runs at once may use together, MB [default: 90% of available].
    #[arg(long)]
    pub memory_budget_mb: Option<i64>,
    /// Prover threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Job lease; a worker silent this long loses its job to another.
    #[arg(long, default_value_t = 30_000)]
    pub lease_ms: i64,
    /// First retry delay of a failed job, doubled per attempt.
    #[arg(long, default_value_t = 2_000)]
    pub retry_delay_ms: i64,
    /// Worker id recorded on its jobs [default: <host>-<pid>].
    #[arg(long)]
    pub id: Option<String>,
    /// Exit after this many jobs.
    #[arg(long)]
    pub max_jobs: Option<usize>,
    /// Exit after this many seconds without work.
    #[arg(long)]
    pub idle_exit_s: Option<u64>,
    /// Local cache of blobs, dev SRS and aggregation keys [default: ZKATTEST_CACHE or
    /// ~/.cache/zkattest].
    #[arg(long)]
    pub cache: Option<PathBuf>,
}

fn available_mb() -> i64 {
    super::proc_kb("/proc/meminfo", "MemAvailable:").map(|kb| (kb / 1024.0) as i64).unwrap_or(4_096)
}

fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

/// Runs a worker until SIGINT/SIGTERM (it finishes the jobs it holds), `--max-jobs` or
/// `--idle-exit-s`.
pub fn worker(a: WorkerArgs, json: bool) -> anyhow::Result<()> {
    zkattest_relayer::init_logging();
    if let Some(n) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("setting the prover thread count")?;
    }
    let opts = WorkerOptions {
        id: a.id.clone().unwrap_or_else(default_worker_id),
        concurrency: a.concurrency,
        memory_budget_mb: a.memory_budget_mb.unwrap_or_else(|| available_mb() * 9 / 10),
        lease_ms: a.lease_ms,
        poll_ms: 200,
        retry_delay_ms: a.retry_delay_ms,
        cache: a.cache.clone().unwrap_or_else(default_cache_dir),
        max_jobs: a.max_jobs,
        idle_exit: a.idle_exit_s.map(Duration::from_secs),
    };
    let summary = block_on(async {
        let (queue, store) = a.target.open().await?;
        let stop = Arc::new(AtomicBool::new(false));
        {
            let stop = stop.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                stop.store(true, Ordering::SeqCst);
            });
        }
        tracing::info!(worker = %opts.id, budget_mb = opts.memory_budget_mb, "worker started");
        let summary = worker::run(queue, store, opts, stop, |r: &JobReport| match &r.error {
            None => tracing::info!(job = %r.job, attempt = r.attempt, seconds = r.seconds, "done"),
            Some(e) => tracing::warn!(job = %r.job, attempt = r.attempt, error = %e, "failed"),
        })
        .await?;
        anyhow::Ok(summary)
    })??;
    crate::output::print(json, &summary, || {
        format!(
            "worker {}: {} job(s) done, {} failed",
            summary.worker, summary.done, summary.failed
        )
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// `cluster` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ClusterCommand {
    /// Queue depth and the recent jobs (worker, attempts, time, error).
    #[command(
        after_help = "Example:\n  ZKATTEST_CLUSTER=postgres://prover@db/zk zkattest cluster status --store file:///srv/zk"
    )]
    Status {
        /// PostgreSQL URL of the job queue (or set ZKATTEST_CLUSTER).
        #[arg(long = "cluster", env = "ZKATTEST_CLUSTER", hide_env_values = true)]
        url: String,
        /// Only this inference's jobs.
        #[arg(long)]
        inference: Option<String>,
        /// Jobs listed.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Serialize)]
struct StatusReport {
    counts: zkattest_cluster::Counts,
    jobs: Vec<JobRow>,
}

pub fn run(c: ClusterCommand, json: bool) -> anyhow::Result<()> {
    match c {
        ClusterCommand::Status { url, inference, limit } => {
            let report = block_on(async {
                let queue = Queue::open(&url).await.context("opening the cluster queue")?;
                anyhow::Ok(StatusReport {
                    counts: queue.counts(inference.as_deref()).await?,
                    jobs: queue.jobs(inference.as_deref(), limit).await?,
                })
            })??;
            crate::output::print(json, &report, || {
                let c = report.counts;
                let mut s = format!(
                    "queued {}  running {}  done {}  failed {}",
                    c.queued, c.running, c.done, c.failed
                );
                for j in &report.jobs {
                    let secs = match (j.started_ms, j.finished_ms) {
                        (Some(a), Some(b)) => format!("{:.1} s", (b - a) as f64 / 1000.0),
                        _ => "-".into(),
                    };
                    s += &format!(
                        "\n  {:<48} {:<8} attempt {}/{}  {:<20} {}{}",
                        j.id,
                        j.status.as_str(),
                        j.attempts,
                        j.max_attempts,
                        j.worker.as_deref().unwrap_or("-"),
                        secs,
                        j.error.as_deref().map(|e| format!("  ({e})")).unwrap_or_default()
                    );
                }
                s
            })
        }
    }
}
