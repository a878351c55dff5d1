//! What the coordinator writes to the object store for workers, and where results go.
//!
//! ```text
//! blobs/sha256/<digest>                      compiled model, proving/verifying keys, SRS files
//! inferences/<id>/manifest.json              Manifest (written first, create-only)
//! inferences/<id>/shard-<i>.task.json        ShardTask (the witness slice: shard inputs, salts)
//! inferences/<id>/shard-<i>.proof.json       ShardProof (create-only: first result stands)
//! inferences/<id>/proof.json                 InferenceProof, once every shard verified
//! inferences/<id>/aggregate.task.json        AggregateTask
//! inferences/<id>/aggregated.json            AggregatedProof (create-only)
//! ```
//! Queue rows carry these keys, never the bytes. The store holds witness slices, the input
//! salt and the link seed: it is as private as the proving machines themselves.

use std::path::Path;

use serde::{Deserialize, Serialize};
use zkattest_prover::aggregate::AggregationSettings;
use zkattest_prover::pipeline::ShardJob;
use zkattest_prover::proof::Srs;

use crate::error::Result;
use crate::store::{ArtifactStore, Blob};

/// Format version of tasks and manifests.
pub const TASK_VERSION: u32 = 2;

/// Job kinds in the queue.
pub const KIND_SHARD: &str = "shard";
/// The aggregation job of an inference.
pub const KIND_AGGREGATE: &str = "aggregate";

/// The SRS every job of an inference must use (shard and aggregation proofs must share it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SrsRef {
    /// The public-seed dev SRS, regenerated or cached locally by each worker: INSECURE.
    DevInsecure,
    /// A trusted-setup params file, uploaded as a blob.
    File { blob: Blob },
}

impl SrsRef {
    /// Loads the SRS of size `k` (fetching the file once into `cache/blobs`).
    pub async fn load(&self, store: &ArtifactStore, cache: &Path, k: u32) -> Result<Srs> {
        match self {
            SrsRef::DevInsecure => {
                let cache = cache.to_path_buf();
                blocking(move || Ok(Srs::dev(&cache, k)?)).await
            }
            SrsRef::File { blob } => {
                let path = store.fetch_blob(blob, &cache.join("blobs")).await?;
                blocking(move || Ok(Srs::load(&path, k)?)).await
            }
        }
    }
}

/// Runs CPU-heavy work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| crate::error::ClusterError::Invalid(format!("a prover thread failed: {e}")))?
}

/// Proving one shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardTask {
    pub version: u32,
    pub inference: String,
    /// `compiled.bin` of the model.
    pub model: Blob,
    /// The shard's proving key.
    pub pk: Blob,
    pub srs: SrsRef,
    /// Circuit size of the shard.
    pub k: u32,
    pub job: ShardJob,
    /// Where the proof goes.
    pub result: String,
}

/// Aggregating every shard proof of an inference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregateTask {
    pub version: u32,
    pub inference: String,
    /// Model name recorded in the aggregated proof.
    pub model: String,
    /// Shard verifying keys, in chain order.
    pub vks: Vec<Blob>,
    /// The verified InferenceProof.
    pub proof: String,
    pub settings: AggregationSettings,
    pub shard_k: u32,
    pub srs: SrsRef,
    /// Where the aggregated proof goes.
    pub result: String,
}

/// One inference as the coordinator planned it: written before any task, so a restarted
/// coordinator finds the same salt and the same tasks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub inference: String,
    pub model: String,
    pub model_blob: Blob,
    pub salt: String,
    /// Seed of the link salts between shards (each task gets only its own two).
    pub link_seed: String,
    pub public_input: bool,
    pub input_commitment: String,
    pub outputs_q: Vec<i64>,
    pub outputs: Vec<f64>,
    pub scale_bits: u32,
    pub shards: usize,
}

/// Store keys of an inference.
pub struct Keys<'a>(pub &'a str);

impl Keys<'_> {
    pub fn manifest(&self) -> String {
        format!("inferences/{}/manifest.json", self.0)
    }
    pub fn shard_task(&self, i: usize) -> String {
        format!("inferences/{}/shard-{i}.task.json", self.0)
    }
    pub fn shard_proof(&self, i: usize) -> String {
        format!("inferences/{}/shard-{i}.proof.json", self.0)
    }
    pub fn proof(&self) -> String {
        format!("inferences/{}/proof.json", self.0)
    }
    pub fn aggregate_task(&self) -> String {
        format!("inferences/{}/aggregate.task.json", self.0)
    }
    pub fn aggregated(&self) -> String {
        format!("inferences/{}/aggregated.json", self.0)
    }
    /// Queue id of shard `i`'s job.
    pub fn shard_job(&self, i: usize) -> String {
        format!("{}/shard-{i}", self.0)
    }
    /// Queue id of the aggregation job.
    pub fn aggregate_job(&self) -> String {
        format!("{}/aggregate", self.0)
    }
}

/// Peak memory estimate of a shard proof: the proving key, its evaluation domain copies
/// and the witness, with headroom (measured: ~150 MB at k = 14 for a 40 MB key).
pub fn shard_mem_mb(pk_bytes: u64) -> i64 {
    (pk_bytes.saturating_mul(3) / (1 << 20)) as i64 + 256
}

/// Peak memory estimate of an aggregation, from the measured 6.4 / 8.9 / 14.2 GB for 1 / 2 / 4
/// shard slots at k = 21 (docs/benchmarks.md), scaled with the circuit size.
pub fn aggregate_mem_mb(s: &AggregationSettings) -> i64 {
    let at_21 = 4_000 + 2_600 * s.shards as i64;
    if s.k >= 21 {
        at_21 << (s.k - 21)
    } else {
        at_21 >> (21 - s.k)
    }
}
