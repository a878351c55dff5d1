//! The coordinator: plans an inference into shard jobs, uploads what workers need, enqueues,
//! waits, checks the shard proofs exactly as local mode does, and enqueues the aggregation.
//!
//! Everything it writes is keyed by the inference id (a digest of the model, the quantized
//! input and the commitment mode) and written create-only or enqueued idempotently, so a
//! coordinator killed at any point and started again with the same arguments resumes the
//! same inference without re-proving finished shards.

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};
use zkattest_prover::aggregate::tree::check_tree_shards;
use zkattest_prover::aggregate::{AggregationKeys, AggregationSettings};
use zkattest_prover::artifacts::inference::INFERENCE_VERSION;
use zkattest_prover::artifacts::setup::{pk_path, vk_path};
use zkattest_prover::artifacts::{AggregatedProof, CompiledModel, InferenceProof};
use zkattest_prover::pipeline;
use zkattest_prover::proof::shard_proof::{fr_from_hex, fr_to_hex};
use zkattest_prover::proof::srs::default_cache_dir;
use zkattest_prover::proof::{ShardProof, Srs};
use zkattest_prover::shard::boundary::input_commitment;
use zkattest_prover::Fr;

use crate::error::{ClusterError, Result};
use crate::queue::{JobRow, JobStatus, NewJob, Queue};
use crate::store::ArtifactStore;
use crate::store::Blob;
use crate::task::{
    aggregate_mem_mb, blocking, shard_mem_mb, tree_nodes, AggregateTask, ChildRef, Keys, LeafTask,
    Manifest, NodeTask, ShardTask, SrsRef, KIND_AGGREGATE, KIND_LEAF, KIND_NODE, KIND_SHARD,
    TASK_VERSION,
};

/// An inference to prove on the cluster.
pub struct Request<'a> {
    pub compiled: &'a CompiledModel,
    /// Artifact folder holding `compiled.bin` and the keys.
    pub artifacts: &'a Path,
    pub inputs: &'a [Vec<f64>],
    /// Unsalted input commitment (anyone with the input can recompute it).
    pub public_input: bool,
    pub srs: SrsRef,
    pub max_attempts: i32,
}

/// The coordinator's handles.
pub struct Coordinator {
    pub queue: Queue,
    pub store: ArtifactStore,
    /// Status poll interval.
    pub poll: Duration,
}

/// Inference id: the same model, input and commitment mode always give the same id.
pub fn inference_id(model_sha256: &str, inputs_q: &[i64], public_input: bool) -> String {
    let mut h = Sha256::new();
    h.update(b"zkattest-cluster-inference");
    h.update(TASK_VERSION.to_le_bytes());
    h.update(model_sha256.as_bytes());
    h.update([u8::from(public_input)]);
    for v in inputs_q {
        h.update(v.to_le_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

impl Coordinator {
    /// Uploads the model and keys (once per digest), writes the manifest and the shard tasks,
    /// and enqueues the shard jobs. Submitting an inference again resumes it.
    pub async fn submit(&self, r: &Request<'_>) -> Result<Manifest> {
        let st = &self.store;
        let model_blob = st.put_blob(&CompiledModel::path(r.artifacts)).await?;
        let q = &r.compiled.model;
        let inputs_q = q.quantize_inputs(r.inputs)?;
        let id = inference_id(&model_blob.sha256, &inputs_q, r.public_input);
        let keys = Keys(&id);
        let salt = if r.public_input { Fr::zero() } else { zkattest_prover::random_salt() };
        let shards = r.compiled.plan.shards.len();
        let trace = q.eval(&inputs_q)?;
        let outputs_q = q.outputs_q(&trace);
        let fresh = Manifest {
            version: TASK_VERSION,
            inference: id.clone(),
            model: r.compiled.name.clone(),
            model_blob: model_blob.clone(),
            salt: fr_to_hex(&salt),
            link_seed: fr_to_hex(&zkattest_prover::random_salt()),
            public_input: r.public_input,
            input_commitment: fr_to_hex(&input_commitment(
                &inputs_q,
                q.settings.value_bits(),
                salt,
            )),
            outputs: q.dequantize_outputs(&outputs_q),
            outputs_q,
            scale_bits: q.output_scale(),
            shards,
        };
        // The manifest is written first: a resumed inference keeps its original salts, so its
        // tasks (and any proofs already made from them) stay valid.
        let manifest = st.put_json_create(&keys.manifest(), &fresh).await?;
        if manifest.model_blob != model_blob || manifest.shards != shards {
            return Err(ClusterError::Corrupt {
                key: keys.manifest(),
                reason: "the stored manifest is for another model".into(),
            });
        }
        let salt = fr_from_hex(&manifest.salt).map_err(|e| ClusterError::Corrupt {
            key: keys.manifest(),
            reason: format!("salt: {e}"),
        })?;
        let link_seed = fr_from_hex(&manifest.link_seed).map_err(|e| ClusterError::Corrupt {
            key: keys.manifest(),
            reason: format!("link_seed: {e}"),
        })?;
        let jobs = pipeline::jobs_from_trace(r.compiled, &trace, salt, link_seed);
        let mut queued = Vec::new();
        for job in jobs {
            let i = job.shard;
            let pk = st.put_blob(&pk_path(r.artifacts, i)).await?;
            let task = ShardTask {
                version: TASK_VERSION,
                inference: id.clone(),
                model: model_blob.clone(),
                pk: pk.clone(),
                srs: r.srs.clone(),
                k: r.compiled.plan.k,
                job,
                result: keys.shard_proof(i),
            };
            st.put_json_create(&keys.shard_task(i), &task).await?;
            queued.push(NewJob {
                id: keys.shard_job(i),
                inference: id.clone(),
                kind: KIND_SHARD.into(),
                payload_key: keys.shard_task(i),
                max_attempts: r.max_attempts,
                mem_mb: shard_mem_mb(pk.bytes),
                after: Vec::new(),
            });
        }
        self.queue.enqueue(&queued).await?;
        Ok(manifest)
    }

    /// Waits for one job; `progress` sees the inference's jobs at every poll.
    async fn wait_for(
        &self,
        inference: &str,
        pick: impl Fn(&JobRow) -> bool,
        progress: &(dyn Fn(&[JobRow]) + Sync),
    ) -> Result<Vec<JobRow>> {
        loop {
            let rows: Vec<JobRow> = self
                .queue
                .jobs(Some(inference), i64::MAX)
                .await?
                .into_iter()
                .filter(|r| pick(r))
                .collect();
            progress(&rows);
            if let Some(f) = rows.iter().find(|r| r.status == JobStatus::Failed) {
                return Err(ClusterError::JobFailed {
                    job: f.id.clone(),
                    attempts: f.attempts,
                    reason: f.error.clone().unwrap_or_else(|| "no reason recorded".into()),
                });
            }
            if !rows.is_empty() && rows.iter().all(|r| r.status == JobStatus::Done) {
                return Ok(rows);
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// Waits for every shard, then checks the proofs as local mode does (`pipeline::verify`:
    /// each proof against its verifying key, the commitment chain, the input commitment and
    /// the outputs) before storing the assembled proof.
    pub async fn wait_shards(
        &self,
        r: &Request<'_>,
        manifest: &Manifest,
        srs: &Srs,
        progress: &(dyn Fn(&[JobRow]) + Sync),
    ) -> Result<InferenceProof> {
        let keys = Keys(&manifest.inference);
        let rows = self.wait_for(&manifest.inference, |j| j.kind == KIND_SHARD, progress).await?;
        if rows.len() != manifest.shards {
            return Err(ClusterError::Invalid(format!(
                "{} shard jobs in the queue for a {}-shard inference",
                rows.len(),
                manifest.shards
            )));
        }
        let mut shards = Vec::with_capacity(manifest.shards);
        for i in 0..manifest.shards {
            shards.push(self.store.get_json::<ShardProof>(&keys.shard_proof(i)).await?);
        }
        let proof = InferenceProof {
            version: INFERENCE_VERSION,
            model: manifest.model.clone(),
            input_commitment: manifest.input_commitment.clone(),
            outputs_q: manifest.outputs_q.clone(),
            outputs: manifest.outputs.clone(),
            scale_bits: manifest.scale_bits,
            shards,
        };
        let (compiled, dir, srs_c, checked) =
            (r.compiled.clone(), r.artifacts.to_path_buf(), srs.clone(), proof.clone());
        blocking(move || Ok(pipeline::verify(&compiled, &dir, &srs_c, &checked)?)).await?;
        self.store.put_json_create(&keys.proof(), &proof).await?;
        Ok(proof)
    }

    /// Aggregates a verified inference on the workers and checks the result
    /// (`pipeline::check_aggregated`) before returning it: a worker, or anything that wrote
    /// the store, could otherwise hand back a valid proof of another model or inference.
    ///
    /// An inference of exactly `settings.shards` shards is one aggregation job; one of more
    /// shards is an aggregation tree of `settings.shards`-slot leaves (`aggregate::tree`),
    /// every leaf and node a job of its own, all enqueued at once: a node is claimable as
    /// soon as both its children are done, so independent subtrees run on as many workers.
    pub async fn aggregate(
        &self,
        r: &Request<'_>,
        manifest: &Manifest,
        settings: AggregationSettings,
        shard_srs: &Srs,
        progress: &(dyn Fn(&[JobRow]) + Sync),
    ) -> Result<AggregatedProof> {
        let keys = Keys(&manifest.inference);
        let tree = manifest.shards > settings.shards;
        if tree {
            check_tree_shards(manifest.shards, settings.shards)?;
        } else if manifest.shards != settings.shards {
            return Err(ClusterError::Invalid(format!(
                "a {}-shard inference, but the aggregation circuit takes {}; compile with --shards {}",
                manifest.shards, settings.shards, settings.shards
            )));
        }
        let mut vks = Vec::new();
        for i in 0..manifest.shards {
            vks.push(self.store.put_blob(&vk_path(r.artifacts, i)).await?);
        }
        let (jobs, kinds): (Vec<NewJob>, &[&str]) = if tree {
            (self.plan_tree(r, manifest, settings, vks).await?, &[KIND_LEAF, KIND_NODE])
        } else {
            (self.plan_single(r, manifest, settings, vks).await?, &[KIND_AGGREGATE])
        };
        self.queue.enqueue(&jobs).await?;
        self.wait_for(&manifest.inference, |j| kinds.contains(&j.kind.as_str()), progress).await?;
        let agg: AggregatedProof = self.store.get_json(&keys.aggregated()).await?;
        let cache = default_cache_dir();
        let agg_srs = r.srs.load(&self.store, &cache, settings.k).await?;
        let input = fr_from_hex(&manifest.input_commitment).map_err(|e| ClusterError::Corrupt {
            key: keys.manifest(),
            reason: format!("input commitment: {e}"),
        })?;
        let result_key = keys.aggregated();
        let (compiled, dir, shard_srs, checked, outputs) = (
            r.compiled.clone(),
            r.artifacts.to_path_buf(),
            shard_srs.clone(),
            agg.clone(),
            manifest.outputs_q.clone(),
        );
        blocking(move || {
            // The verifying keys and the model id are the coordinator's own (cached, or made
            // once), never the worker's.
            let (vk, id) = if tree {
                pipeline::tree_root_key(&compiled, &dir, &cache, settings, &agg_srs, &shard_srs)?
            } else {
                let (_, vk) =
                    AggregationKeys::vk_and_config(&cache, settings, &agg_srs, &shard_srs)?;
                (vk, pipeline::model_id(&compiled, &dir, &shard_srs)?)
            };
            pipeline::check_aggregated(&compiled, &vk, &agg_srs, id, input, &outputs, &checked)
                .map_err(|source| ClusterError::UntrustedResult { key: result_key, source })
        })
        .await?;
        Ok(agg)
    }

    /// The one aggregation job of an inference of `settings.shards` shards.
    async fn plan_single(
        &self,
        r: &Request<'_>,
        manifest: &Manifest,
        settings: AggregationSettings,
        vks: Vec<Blob>,
    ) -> Result<Vec<NewJob>> {
        let keys = Keys(&manifest.inference);
        let task = AggregateTask {
            version: TASK_VERSION,
            inference: manifest.inference.clone(),
            model: manifest.model.clone(),
            vks,
            proof: keys.proof(),
            settings,
            shard_k: r.compiled.plan.k,
            srs: r.srs.clone(),
            result: keys.aggregated(),
        };
        self.store.put_json_create(&keys.aggregate_task(), &task).await?;
        let agg = AggregationJob { r, manifest, settings };
        Ok(vec![agg.job(keys.aggregate_job(), KIND_AGGREGATE, keys.aggregate_task(), Vec::new())])
    }

    /// The leaf and node jobs of an aggregation tree, shaped by `tree::fold_tree` like local
    /// mode's: each node comes after its two children, the root writes the aggregated proof.
    async fn plan_tree(
        &self,
        r: &Request<'_>,
        manifest: &Manifest,
        settings: AggregationSettings,
        vks: Vec<Blob>,
    ) -> Result<Vec<NewJob>> {
        let keys = Keys(&manifest.inference);
        let width = settings.shards;
        let agg = AggregationJob { r, manifest, settings };
        let job = |id, kind, payload_key, after| agg.job(id, kind, payload_key, after);
        let mut jobs = Vec::new();
        let leaves = vks.len() / width;
        for (j, chunk) in vks.chunks(width).enumerate() {
            let task = LeafTask {
                version: TASK_VERSION,
                inference: manifest.inference.clone(),
                index: j,
                vks: chunk.to_vec(),
                shard_proofs: (j * width..(j + 1) * width).map(|i| keys.shard_proof(i)).collect(),
                settings,
                shard_k: r.compiled.plan.k,
                srs: r.srs.clone(),
                result: keys.leaf_proof(j),
            };
            self.store.put_json_create(&keys.leaf_task(j), &task).await?;
            jobs.push(job(keys.leaf_job(j), KIND_LEAF, keys.leaf_task(j), Vec::new()));
        }
        for (i, node) in tree_nodes(&keys, leaves).into_iter().enumerate() {
            let is_root = node.root;
            let children: Vec<ChildRef> = node.children.iter().map(|(_, c)| c.clone()).collect();
            let task = NodeTask {
                version: TASK_VERSION,
                inference: manifest.inference.clone(),
                model: manifest.model.clone(),
                index: i,
                children,
                root: is_root,
                outputs_q: manifest.outputs_q.clone(),
                scale_bits: manifest.scale_bits,
                leaf_settings: settings,
                shard_k: r.compiled.plan.k,
                srs: r.srs.clone(),
                result: if is_root { keys.aggregated() } else { keys.node_proof(i) },
            };
            self.store.put_json_create(&keys.node_task(i), &task).await?;
            let after = node.children.into_iter().map(|(id, _)| id).collect();
            jobs.push(job(keys.node_job(i), KIND_NODE, keys.node_task(i), after));
        }
        Ok(jobs)
    }
}

/// What every aggregation-sized job of an inference shares (a single aggregation, a tree's
/// leaf or node): its inference, attempts and memory estimate.
struct AggregationJob<'a> {
    r: &'a Request<'a>,
    manifest: &'a Manifest,
    settings: AggregationSettings,
}

impl AggregationJob<'_> {
    fn job(&self, id: String, kind: &str, payload_key: String, after: Vec<String>) -> NewJob {
        NewJob {
            id,
            inference: self.manifest.inference.clone(),
            kind: kind.into(),
            payload_key,
            max_attempts: self.r.max_attempts,
            mem_mb: aggregate_mem_mb(&self.settings),
            after,
        }
    }
}
