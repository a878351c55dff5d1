//! A worker: claims jobs it has the memory for, proves them with the same code as local
//! mode, writes results create-only and heartbeats its lease while it works.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;
use zkattest_prover::aggregate::compress::wide_snark;
use zkattest_prover::aggregate::keys::snark_of;
use zkattest_prover::aggregate::tree::LeafKey;
use zkattest_prover::aggregate::{AggregationKeys, NodeKeys};
use zkattest_prover::artifacts::{AggregatedProof, CompiledModel, InferenceProof};
use zkattest_prover::pipeline;
use zkattest_prover::proof::keys::read_vk;
use zkattest_prover::proof::ShardProof;

use crate::error::{ClusterError, Result};
use crate::queue::{ClaimedJob, Queue};
use crate::store::ArtifactStore;
use crate::task::{
    blocking, AggregateTask, LeafTask, NodeTask, ShardTask, SubtreeKind, SubtreeProof,
    KIND_AGGREGATE, KIND_LEAF, KIND_NODE, KIND_SHARD, TASK_VERSION,
};

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Recorded on every job it runs.
    pub id: String,
    /// Jobs at once.
    pub concurrency: usize,
    /// Sum of the memory estimates of the jobs it runs at once, MB.
    pub memory_budget_mb: i64,
    /// Lease per claim; renewed every third of it.
    pub lease_ms: i64,
    /// Idle wait between claims.
    pub poll_ms: u64,
    /// First retry delay of a failed job (doubles per attempt).
    pub retry_delay_ms: i64,
    /// Local cache: blobs by digest, dev SRS, aggregation keys.
    pub cache: PathBuf,
    /// Stop after this many jobs (tests, batch runs).
    pub max_jobs: Option<usize>,
    /// Stop after this long without work.
    pub idle_exit: Option<Duration>,
}

/// One finished attempt.
#[derive(Clone, Debug, Serialize)]
pub struct JobReport {
    pub job: String,
    pub kind: String,
    pub attempt: i32,
    /// Result key, when the attempt succeeded and was recorded.
    pub result: Option<String>,
    /// Why it failed, or why its result was not recorded.
    pub error: Option<String>,
    pub seconds: f64,
}

/// What a worker did before it stopped.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WorkerSummary {
    pub worker: String,
    pub done: usize,
    pub failed: usize,
    pub jobs: Vec<JobReport>,
}

struct Ctx {
    queue: Queue,
    store: ArtifactStore,
    opts: WorkerOptions,
}

/// Runs until `stop` is set, `max_jobs` are done or it has idled `idle_exit`; `on_job` sees
/// every finished attempt.
pub async fn run(
    queue: Queue,
    store: ArtifactStore,
    opts: WorkerOptions,
    stop: Arc<AtomicBool>,
    on_job: impl Fn(&JobReport),
) -> Result<WorkerSummary> {
    if opts.concurrency == 0 || opts.memory_budget_mb <= 0 {
        return Err(ClusterError::Invalid(
            "a worker needs a concurrency and a memory budget above zero".into(),
        ));
    }
    let ctx = Arc::new(Ctx { queue, store, opts });
    let mut summary = WorkerSummary { worker: ctx.opts.id.clone(), ..Default::default() };
    let mut running: JoinSet<(i64, JobReport)> = JoinSet::new();
    let (mut used_mb, mut claimed) = (0i64, 0usize);
    let mut idle_since = Instant::now();
    let limit = ctx.opts.max_jobs.unwrap_or(usize::MAX);
    loop {
        while !stop.load(Ordering::SeqCst)
            && running.len() < ctx.opts.concurrency
            && claimed < limit
        {
            let free = ctx.opts.memory_budget_mb - used_mb;
            // A database outage must not kill a worker that may hold running jobs: it waits
            // and claims again (its leases lapse meanwhile and the jobs are re-claimable).
            let job = match ctx.queue.claim_within(&ctx.opts.id, ctx.opts.lease_ms, free).await {
                Ok(Some(job)) => job,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "claim failed; retrying");
                    break;
                }
            };
            claimed += 1;
            used_mb += job.mem_mb;
            let ctx = ctx.clone();
            running.spawn(async move { (job.mem_mb, process(&ctx, job).await) });
        }
        if running.is_empty() {
            let idle_out = ctx.opts.idle_exit.is_some_and(|d| idle_since.elapsed() >= d);
            if stop.load(Ordering::SeqCst) || claimed >= limit || idle_out {
                return Ok(summary);
            }
        }
        tokio::select! {
            Some(done) = running.join_next() => {
                let (mem, report) = done.map_err(|e| ClusterError::Invalid(format!("job task: {e}")))?;
                used_mb -= mem;
                idle_since = Instant::now();
                if report.result.is_some() { summary.done += 1 } else { summary.failed += 1 }
                on_job(&report);
                summary.jobs.push(report);
            }
            _ = tokio::time::sleep(Duration::from_millis(ctx.opts.poll_ms)) => {}
        }
    }
}

/// One attempt: heartbeat while executing, then record the outcome if still the owner.
async fn process(ctx: &Ctx, job: ClaimedJob) -> JobReport {
    let t = Instant::now();
    let lost = Arc::new(AtomicBool::new(false));
    let heartbeat = {
        let (queue, id, worker, lease, lost) = (
            ctx.queue.clone(),
            job.id.clone(),
            ctx.opts.id.clone(),
            ctx.opts.lease_ms,
            lost.clone(),
        );
        tokio::spawn(async move {
            let every = Duration::from_millis((lease / 3).max(50) as u64);
            loop {
                tokio::time::sleep(every).await;
                // A failed heartbeat is retried at the next tick; only a refusal means the
                // lease went to someone else.
                if let Ok(false) = queue.heartbeat(&id, &worker, lease).await {
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
            }
        })
    };
    let outcome = execute(ctx, &job).await;
    heartbeat.abort();
    let mut report = JobReport {
        job: job.id.clone(),
        kind: job.kind.clone(),
        attempt: job.attempt,
        result: None,
        error: None,
        seconds: 0.0,
    };
    match outcome {
        Ok(key) => match ctx.queue.complete(&job.id, &ctx.opts.id, &key).await {
            Ok(true) => report.result = Some(key),
            Ok(false) => {
                report.error =
                    Some("lease lost before completion; the job is someone else's".into())
            }
            Err(e) => report.error = Some(e.to_string()),
        },
        Err(e) => {
            let reason = e.to_string();
            if !lost.load(Ordering::SeqCst) {
                if let Err(qe) =
                    ctx.queue.fail(&job.id, &ctx.opts.id, &reason, ctx.opts.retry_delay_ms).await
                {
                    tracing::warn!(job = %job.id, error = %qe, "could not record a failure");
                }
            }
            report.error = Some(reason);
        }
    }
    report.seconds = t.elapsed().as_secs_f64();
    report
}

async fn execute(ctx: &Ctx, job: &ClaimedJob) -> Result<String> {
    match job.kind.as_str() {
        KIND_SHARD => prove_shard(ctx, job).await,
        KIND_AGGREGATE => aggregate(ctx, job).await,
        KIND_LEAF => tree_leaf(ctx, job).await,
        KIND_NODE => tree_node(ctx, job).await,
        other => Err(ClusterError::UnknownKind { job: job.id.clone(), kind: other.to_string() }),
    }
}

fn check_version(key: &str, version: u32) -> Result<()> {
    if version != TASK_VERSION {
        return Err(ClusterError::Corrupt {
            key: key.to_string(),
            reason: format!("task format {version}, this worker runs {TASK_VERSION}"),
        });
    }
    Ok(())
}

/// A result a previous attempt stored before dying: reused rather than proven again.
async fn existing<T: for<'de> serde::Deserialize<'de>>(ctx: &Ctx, key: &str) -> Result<bool> {
    if !ctx.store.exists(key).await? {
        return Ok(false);
    }
    ctx.store.get_json::<T>(key).await.map(|_| true)
}

async fn prove_shard(ctx: &Ctx, job: &ClaimedJob) -> Result<String> {
    let task: ShardTask = ctx.store.get_json(&job.payload_key).await?;
    check_version(&job.payload_key, task.version)?;
    if existing::<ShardProof>(ctx, &task.result).await? {
        return Ok(task.result);
    }
    let blobs = ctx.opts.cache.join("blobs");
    let model = ctx.store.fetch_blob(&task.model, &blobs).await?;
    let pk = ctx.store.fetch_blob(&task.pk, &blobs).await?;
    let srs = task.srs.load(&ctx.store, &ctx.opts.cache, task.k).await?;
    let shard_job = task.job.clone();
    let proof = blocking(move || {
        let compiled = CompiledModel::read(&model)?;
        if compiled.plan.k != task.k {
            return Err(ClusterError::Invalid(format!(
                "the task says k={} but the model is planned at k={}",
                task.k, compiled.plan.k
            )));
        }
        Ok(pipeline::prove_shard(&compiled, &pk, &srs, &shard_job)?.0)
    })
    .await?;
    ctx.store.put_json_create(&task.result, &proof).await?;
    Ok(task.result)
}

async fn aggregate(ctx: &Ctx, job: &ClaimedJob) -> Result<String> {
    let task: AggregateTask = ctx.store.get_json(&job.payload_key).await?;
    check_version(&job.payload_key, task.version)?;
    if existing::<AggregatedProof>(ctx, &task.result).await? {
        return Ok(task.result);
    }
    let blobs = ctx.opts.cache.join("blobs");
    let mut vk_files = Vec::new();
    for vk in &task.vks {
        vk_files.push(ctx.store.fetch_blob(vk, &blobs).await?);
    }
    let proof: InferenceProof = ctx.store.get_json(&task.proof).await?;
    let shard_srs = task.srs.load(&ctx.store, &ctx.opts.cache, task.shard_k).await?;
    let agg_srs = task.srs.load(&ctx.store, &ctx.opts.cache, task.settings.k).await?;
    let cache = ctx.opts.cache.clone();
    let (model, settings) = (task.model.clone(), task.settings);
    let agg = blocking(move || {
        let vks =
            vk_files.iter().map(|p| read_vk(p)).collect::<std::result::Result<Vec<_>, _>>()?;
        let keys = AggregationKeys::load_or_generate(&cache, settings, &agg_srs, &shard_srs)?;
        // Cluster proofs reach the EVM wide: compression is not a cluster job yet.
        let wide = zkattest_prover::aggregate::FinalProof::Wide;
        Ok(pipeline::aggregate_with_vks(&model, &vks, &shard_srs, &keys, &agg_srs, wide, &proof)?)
    })
    .await?;
    ctx.store.put_json_create(&task.result, &agg).await?;
    Ok(task.result)
}

/// A tree leaf: the leaf aggregator over its shards, proven for a parent
/// (`AggregationKeys::prove_for_compression`, as local mode's `tree::prove_leaves`).
async fn tree_leaf(ctx: &Ctx, job: &ClaimedJob) -> Result<String> {
    let task: LeafTask = ctx.store.get_json(&job.payload_key).await?;
    check_version(&job.payload_key, task.version)?;
    if existing::<SubtreeProof>(ctx, &task.result).await? {
        return Ok(task.result);
    }
    if task.vks.len() != task.settings.shards || task.shard_proofs.len() != task.vks.len() {
        return Err(ClusterError::Corrupt {
            key: job.payload_key.clone(),
            reason: format!(
                "{} verifying keys and {} shard proofs for a leaf of {} slots",
                task.vks.len(),
                task.shard_proofs.len(),
                task.settings.shards
            ),
        });
    }
    let blobs = ctx.opts.cache.join("blobs");
    let mut vk_files = Vec::new();
    for vk in &task.vks {
        vk_files.push(ctx.store.fetch_blob(vk, &blobs).await?);
    }
    let mut shards = Vec::new();
    for key in &task.shard_proofs {
        shards.push(ctx.store.get_json::<ShardProof>(key).await?);
    }
    let shard_srs = task.srs.load(&ctx.store, &ctx.opts.cache, task.shard_k).await?;
    let agg_srs = task.srs.load(&ctx.store, &ctx.opts.cache, task.settings.k).await?;
    let (cache, settings) = (ctx.opts.cache.clone(), task.settings);
    let proof = blocking(move || {
        let keys = AggregationKeys::load_or_generate(&cache, settings, &agg_srs, &shard_srs)?;
        let mut snarks = Vec::with_capacity(shards.len());
        for (sp, vk) in shards.iter().zip(&vk_files) {
            snarks.push(snark_of(&shard_srs, &read_vk(vk)?, sp));
        }
        Ok(SubtreeProof::of(&keys.prove_for_compression(&agg_srs, snarks)?))
    })
    .await?;
    ctx.store.put_json_create(&task.result, &proof).await?;
    Ok(task.result)
}

enum NodeResult {
    Root(AggregatedProof),
    Parent(SubtreeProof),
}

/// A tree node: its children's proofs under this worker's own leaf and node keys, proven for
/// a parent or, at the root, for the EVM (`NodeKeys`, as local mode's `tree::prove_nodes`).
async fn tree_node(ctx: &Ctx, job: &ClaimedJob) -> Result<String> {
    let task: NodeTask = ctx.store.get_json(&job.payload_key).await?;
    check_version(&job.payload_key, task.version)?;
    let done = if task.root {
        existing::<AggregatedProof>(ctx, &task.result).await?
    } else {
        existing::<SubtreeProof>(ctx, &task.result).await?
    };
    if done {
        return Ok(task.result);
    }
    let mut children = Vec::new();
    for c in &task.children {
        let stored: SubtreeProof = ctx.store.get_json(&c.proof).await?;
        children.push((c.kind, stored.parts(&c.proof)?));
    }
    let shard_srs = task.srs.load(&ctx.store, &ctx.opts.cache, task.shard_k).await?;
    let agg_srs = task.srs.load(&ctx.store, &ctx.opts.cache, task.leaf_settings.k).await?;
    let cache = ctx.opts.cache.clone();
    let result_key = task.result.clone();
    let written = blocking(move || {
        let settings = task.leaf_settings;
        // Node keys are made from the leaf's configuration and verifying key; a worker that
        // never proved a leaf makes the leaf keys first (once, cached).
        let (config, leaf_vk) =
            AggregationKeys::vk_and_config(&cache, settings, &agg_srs, &shard_srs)?;
        let leaf = LeafKey { settings, config, vk: &leaf_vk };
        let node = NodeKeys::load_or_generate(&cache, leaf, &agg_srs)?;
        let snarks = children
            .into_iter()
            .map(|(kind, (instances, proof))| {
                let vk = match kind {
                    SubtreeKind::Leaf => &leaf_vk,
                    SubtreeKind::Node => node.pk.get_vk(),
                };
                wide_snark(&agg_srs, vk, instances, proof)
            })
            .collect();
        if task.root {
            let (instances, bytes) = node.prove(&agg_srs, snarks)?;
            let agg = AggregatedProof::new(
                &task.model,
                &instances.all,
                &bytes,
                task.outputs_q,
                task.scale_bits,
            );
            Ok(NodeResult::Root(agg))
        } else {
            Ok(NodeResult::Parent(SubtreeProof::of(&node.prove_for_parent(&agg_srs, snarks)?)))
        }
    })
    .await?;
    match written {
        NodeResult::Root(agg) => ctx.store.put_json_create(&result_key, &agg).await.map(drop)?,
        NodeResult::Parent(p) => ctx.store.put_json_create(&result_key, &p).await.map(drop)?,
    }
    Ok(result_key)
}
