//! What the coordinator writes to the object store for workers, and where results go.
//!
//! ```text
//! blobs/sha256/<digest>                      compiled model, proving/verifying keys, SRS files
//! inferences/<id>/manifest.json              Manifest (written first, create-only)
//! inferences/<id>/shard-<i>.task.json        ShardTask (the witness slice: shard inputs, salts)
//! inferences/<id>/shard-<i>.proof.json       ShardProof (create-only: first result stands)
//! inferences/<id>/proof.json                 InferenceProof, once every shard verified
//! inferences/<id>/aggregate.task.json        AggregateTask
//! inferences/<id>/aggregated.json            AggregatedProof (create-only; a tree's root)
//! inferences/<id>/leaf-<j>.task.json         LeafTask (a tree's leaf: consecutive shards)
//! inferences/<id>/node-<i>.task.json         NodeTask (a tree's inner node or root)
//! inferences/<id>/leaf-<j>.proof.json        SubtreeProof (create-only)
//! inferences/<id>/node-<i>.proof.json        SubtreeProof (create-only; not the root's)
//! ```
//! Queue rows carry these keys, never the bytes. The store holds witness slices, the input
//! salt and the link seed: it is as private as the proving machines themselves.

use std::path::Path;

use serde::{Deserialize, Serialize};
use zkattest_prover::aggregate::tree::fold_tree;
use zkattest_prover::aggregate::AggregationSettings;
use zkattest_prover::pipeline::ShardJob;
use zkattest_prover::proof::shard_proof::{fr_from_hex, fr_to_hex};
use zkattest_prover::proof::Srs;
use zkattest_prover::{Fr, Snark};

use crate::error::{ClusterError, Result};
use crate::store::{ArtifactStore, Blob};

/// Format version of tasks and manifests.
pub const TASK_VERSION: u32 = 2;

/// Job kinds in the queue.
pub const KIND_SHARD: &str = "shard";
/// The aggregation job of an inference.
pub const KIND_AGGREGATE: &str = "aggregate";
/// A leaf of an aggregation tree.
pub const KIND_LEAF: &str = "tree-leaf";
/// An inner node of an aggregation tree, the root included.
pub const KIND_NODE: &str = "tree-node";

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

/// A leaf of an aggregation tree: the universal aggregation over consecutive shard proofs,
/// proven for a parent node to verify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafTask {
    pub version: u32,
    pub inference: String,
    /// Position among the leaves, left to right.
    pub index: usize,
    /// Verifying keys of the leaf's shards, in chain order.
    pub vks: Vec<Blob>,
    /// Store keys of the leaf's shard proofs, in the same order.
    pub shard_proofs: Vec<String>,
    /// The leaf aggregator (its `shards` slots are this leaf's width).
    pub settings: AggregationSettings,
    pub shard_k: u32,
    pub srs: SrsRef,
    /// Where the [`SubtreeProof`] goes.
    pub result: String,
}

/// Which key a subtree proof is under: the worker rebuilds the child's protocol from its own
/// keys, never from anything stored beside the proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubtreeKind {
    Leaf,
    Node,
}

/// A child of a tree node: what it is and where its proof is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildRef {
    pub kind: SubtreeKind,
    pub proof: String,
}

/// An inner node of an aggregation tree: two subtree proofs, in chain order, aggregated for
/// a parent or, at the root, for the EVM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeTask {
    pub version: u32,
    pub inference: String,
    /// Model name recorded in the root's aggregated proof.
    pub model: String,
    /// Position among the nodes, in the order they are joined.
    pub index: usize,
    pub children: Vec<ChildRef>,
    /// The root proves for the EVM and writes an `AggregatedProof`.
    pub root: bool,
    /// The verified outputs and their scale, recorded in the root's aggregated proof.
    pub outputs_q: Vec<i64>,
    pub scale_bits: u32,
    /// The leaves' aggregator (a node has the leaf's configuration).
    pub leaf_settings: AggregationSettings,
    pub shard_k: u32,
    pub srs: SrsRef,
    /// Where the result goes: a [`SubtreeProof`], or the root's `AggregatedProof`.
    pub result: String,
}

/// A leaf's or inner node's proof (Poseidon transcript), for its parent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtreeProof {
    pub version: u32,
    /// Public instances, hex.
    pub instances: Vec<String>,
    /// Proof bytes, hex.
    pub proof: String,
}

impl SubtreeProof {
    /// The stored form of a proven subtree.
    pub fn of(snark: &Snark) -> Self {
        Self {
            version: TASK_VERSION,
            instances: snark
                .instances
                .first()
                .map(|i| i.iter().map(fr_to_hex).collect())
                .unwrap_or_default(),
            proof: hex::encode(&snark.proof),
        }
    }

    /// The instances and proof bytes; `key` names the file in errors.
    pub fn parts(&self, key: &str) -> Result<(Vec<Fr>, Vec<u8>)> {
        let corrupt = |reason: String| ClusterError::Corrupt { key: key.to_string(), reason };
        let instances = self
            .instances
            .iter()
            .map(|h| fr_from_hex(h).map_err(|e| corrupt(format!("instance: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        let proof = hex::decode(&self.proof).map_err(|e| corrupt(format!("proof: {e}")))?;
        Ok((instances, proof))
    }
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
    pub fn leaf_task(&self, j: usize) -> String {
        format!("inferences/{}/leaf-{j}.task.json", self.0)
    }
    pub fn leaf_proof(&self, j: usize) -> String {
        format!("inferences/{}/leaf-{j}.proof.json", self.0)
    }
    pub fn node_task(&self, i: usize) -> String {
        format!("inferences/{}/node-{i}.task.json", self.0)
    }
    pub fn node_proof(&self, i: usize) -> String {
        format!("inferences/{}/node-{i}.proof.json", self.0)
    }
    /// Queue id of leaf `j`'s job.
    pub fn leaf_job(&self, j: usize) -> String {
        format!("{}/leaf-{j}", self.0)
    }
    /// Queue id of node `i`'s job.
    pub fn node_job(&self, i: usize) -> String {
        format!("{}/node-{i}", self.0)
    }
}

/// A tree node as the coordinator plans it: its children's jobs and proofs, in chain order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeNode {
    /// (queue id, proof) per child.
    pub children: Vec<(String, ChildRef)>,
    /// The root: it writes the aggregated proof.
    pub root: bool,
}

/// The nodes of the tree over `leaves` leaves of inference `keys`, in the order
/// `tree::fold_tree` joins them (node `i` is the `i`-th join, the root last): the shape local
/// mode proves and the model id digests, so a cluster root carries the same model id.
pub fn tree_nodes(keys: &Keys<'_>, leaves: usize) -> Vec<TreeNode> {
    let leaf = |j: usize| {
        (keys.leaf_job(j), ChildRef { kind: SubtreeKind::Leaf, proof: keys.leaf_proof(j) })
    };
    let mut nodes: Vec<TreeNode> = Vec::new();
    let joined = fold_tree((0..leaves).map(leaf).collect(), |left, right| {
        let i = nodes.len();
        nodes.push(TreeNode { children: vec![left, right], root: false });
        Ok::<_, std::convert::Infallible>((
            keys.node_job(i),
            ChildRef { kind: SubtreeKind::Node, proof: keys.node_proof(i) },
        ))
    });
    if joined.is_some() {
        if let Some(root) = nodes.last_mut() {
            root.root = true;
        }
    }
    nodes
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(leaves: usize) -> Vec<(Vec<String>, bool)> {
        tree_nodes(&Keys("inf"), leaves)
            .into_iter()
            .map(|n| (n.children.into_iter().map(|(job, _)| job).collect(), n.root))
            .collect()
    }

    fn node(children: [&str; 2], root: bool) -> (Vec<String>, bool) {
        (children.iter().map(|c| format!("inf/{c}")).collect(), root)
    }

    /// The cluster's tree is local mode's (`fold_tree`): pairs left to right, an odd subtree
    /// carried up, the root last; each node comes after exactly its children.
    #[test]
    fn cluster_tree_nodes_follow_fold_tree() {
        assert_eq!(shape(2), vec![node(["leaf-0", "leaf-1"], true)]);
        assert_eq!(
            shape(4),
            vec![
                node(["leaf-0", "leaf-1"], false),
                node(["leaf-2", "leaf-3"], false),
                node(["node-0", "node-1"], true)
            ]
        );
        assert_eq!(
            shape(5),
            vec![
                node(["leaf-0", "leaf-1"], false),
                node(["leaf-2", "leaf-3"], false),
                node(["node-0", "node-1"], false),
                node(["node-2", "leaf-4"], true)
            ]
        );
        assert_eq!(shape(8).len(), 7);
        assert!(shape(1).is_empty() && shape(0).is_empty());
        let kinds: Vec<_> =
            tree_nodes(&Keys("inf"), 4)[2].children.iter().map(|(_, c)| c.kind).collect();
        assert_eq!(kinds, [SubtreeKind::Node, SubtreeKind::Node]);
    }
}
