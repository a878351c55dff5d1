//! Aggregation trees: any number of shards with aggregators of a fixed size.
//!
//! Leaves are the universal aggregation (`super::circuit`) over consecutive shards, proven
//! with a Poseidon transcript so that a further circuit can verify them. An inner node is a
//! 2-slot aggregation of two aggregation proofs, leaves or nodes alike: it loads each child's
//! verifying key and size as witnesses (`VerifierUniversality::Full`), which works because a
//! node is laid out with the leaf's exact configuration and so has the leaf's protocol shape
//! (checked at keygen, [`check_same_shape`]). One node circuit therefore serves every level,
//! and the root of any tree is a proof under the same verifying key: one EVM verifier for
//! every tree, whatever its depth.
//!
//! A node enforces the chain across its children (the left child's output commitment is the
//! right child's input commitment) and exposes the wide layout unchanged
//! (`super::circuit::num_instances`): its own accumulator (the children's folded in), its
//! model id, the left child's input commitment, and the right child's packed outputs and
//! output commitment. Its model id is the Poseidon digest of a tag and, per child in order,
//! the child's verifying key, size and model id: subtrees cannot be swapped, dropped,
//! duplicated or taken from another model without changing it, and one from another
//! inference breaks the chain.

use std::path::{Path, PathBuf};

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::gates::{GateChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::{ProvingKey, VerifyingKey};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_base::poseidon::hasher::PoseidonSponge;
use halo2_base::QuantumCell::Witness;
use snark_verifier_sdk::halo2::aggregation::{
    AggregationCircuit, AggregationConfigParams, VerifierUniversality,
};
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::{Snark, SHPLONK};

use super::circuit::{
    num_instances, AggregationInstances, INPUT_COMMITMENT, MODEL_ID, NUM_ACC_LIMBS, OUTPUTS,
    OUTPUT_COMMITMENT,
};
use super::compress::{placeholder_snark, vk_digest, wide_protocol};
use super::keys::{self, AggregationKeys, AggregationSettings, Meta, MINIMUM_ROWS};
use super::model_id::protocol_witness;
use crate::circuit::poseidon::{RATE, R_F, R_P, T};
use crate::error::{ProverError, Result};
use crate::proof::Srs;

/// Children of an inner node.
pub const ARITY: usize = 2;

/// First value a node's model id absorbs, so a node's id never equals a leaf's (a leaf
/// absorbs shard keys only).
pub const NODE_TAG: u64 = 0x7a6b_6174_7465_7374; // "zkattest"

/// Advice cells of filler past `(columns - 1)` full columns, so that the last advice column
/// holds gates (see [`fill_columns`]).
const FILL_MARGIN: usize = 4096;

/// Shards a model of `shards` shards is padded to for aggregators of `width` slots: whole
/// leaves (pass-through shards fill the last one, as for a single aggregation).
pub fn padded_shards(shards: usize, width: usize) -> usize {
    let width = width.max(1);
    width * shards.div_ceil(width).max(1)
}

/// Shards a model of `shards` shards is padded to for a tree of `width`-slot leaves: whole
/// leaves, at least two.
pub fn tree_shards(shards: usize, width: usize) -> usize {
    padded_shards(shards, width).max(ARITY * width.max(1))
}

/// A tree of `width`-slot leaves takes `shards` shard proofs only if they fill whole leaves,
/// at least two: else a planning error naming the `--shards` to compile with.
pub fn check_tree_shards(shards: usize, width: usize) -> Result<()> {
    let need = tree_shards(shards, width);
    if need != shards {
        return Err(ProverError::Planning(format!(
            "{shards} shard proofs do not fill a tree of {width}-slot leaves; compile with \
             --shards {need}"
        )));
    }
    Ok(())
}

/// Aggregation proofs the aggregation of `shards` shards makes: `(leaves, nodes)` (one leaf
/// and no node when one aggregation takes them all). Every node joins two subtrees, so a
/// tree of `l` leaves has `l - 1` nodes whatever its shape.
pub fn tree_jobs(shards: usize, width: usize) -> (usize, usize) {
    let leaves = padded_shards(shards, width) / width.max(1);
    (leaves, leaves - 1)
}

/// The tree's shape, level by level: pairs of consecutive subtrees are joined, and an odd
/// last subtree is carried up to the next level unchanged, so no level is padded. Calls
/// `join(left, right)` for every node, bottom-up and left to right, and returns the root
/// (`None` for no leaves). The prover ([`prove_nodes`]) and the native model id
/// ([`tree_model_id`]) both walk this one shape.
pub fn fold_tree<T, E>(
    leaves: Vec<T>,
    mut join: impl FnMut(T, T) -> std::result::Result<T, E>,
) -> Option<std::result::Result<T, E>> {
    let mut top = match reduce_to_pair(leaves, &mut join) {
        Ok(top) => top,
        Err(e) => return Some(Err(e)),
    };
    let right = top.pop()?;
    Some(match top.pop() {
        Some(left) => join(left, right),
        None => Ok(right),
    })
}

/// [`fold_tree`] up to the last two subtrees, the root's children (fewer when there are
/// fewer leaves).
fn reduce_to_pair<T, E>(
    mut level: Vec<T>,
    join: &mut impl FnMut(T, T) -> std::result::Result<T, E>,
) -> std::result::Result<Vec<T>, E> {
    while level.len() > ARITY {
        let mut up = Vec::with_capacity(level.len().div_ceil(ARITY));
        let mut it = level.into_iter();
        while let Some(left) = it.next() {
            match it.next() {
                Some(right) => up.push(join(left, right)?),
                None => up.push(left),
            }
        }
        level = up;
    }
    Ok(level)
}

/// Folder of cached node keys: inside the folder of the leaf keys they verify.
pub fn cache_dir(root: &Path, leaf: &AggregationSettings, srs: &Srs) -> PathBuf {
    keys::cache_dir(root, leaf, srs).join("tree-node")
}

/// Builds a node circuit over two aggregation proofs (in chain order), laid out with
/// `config`, the leaf's configuration.
pub fn build(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &ParamsKZG<Bn256>,
    children: Vec<Snark>,
) -> Result<AggregationCircuit> {
    if children.len() != ARITY {
        return Err(ProverError::Planning(format!(
            "a tree node aggregates {ARITY} proofs, got {}",
            children.len()
        )));
    }
    for (i, s) in children.iter().enumerate() {
        if s.instances.len() != 1 || s.instances[0].len() != num_instances() {
            return Err(ProverError::Rejected(format!(
                "tree child {i} has the wrong instance layout"
            )));
        }
    }
    let mut circuit = AggregationCircuit::new::<SHPLONK>(
        stage,
        config,
        params,
        children,
        VerifierUniversality::Full,
    );
    let prev = circuit.previous_instances().clone();
    let preprocessed = circuit.preprocessed().clone();
    let range = circuit.builder.range_chip();
    let ctx = circuit.builder.main(0);

    ctx.constrain_equal(&prev[0][OUTPUT_COMMITMENT], &prev[1][INPUT_COMMITMENT]);
    let tag = ctx.load_constant(Fr::from(NODE_TAG));
    let mut sponge = PoseidonSponge::<Fr, T, RATE>::new::<R_F, R_P, 0>(ctx);
    sponge.update(&[tag]);
    for (p, child) in preprocessed.iter().zip(&prev) {
        sponge.update(&p.preprocessed);
        sponge.update(&[p.k, child[MODEL_ID]]);
    }
    let model_id = sponge.squeeze(ctx, range.gate());

    let mut public = circuit.builder.assigned_instances[0].clone();
    debug_assert_eq!(public.len(), NUM_ACC_LIMBS);
    public.push(model_id);
    public.push(prev[0][INPUT_COMMITMENT]);
    public.extend_from_slice(&prev[1][OUTPUTS..=OUTPUT_COMMITMENT]);
    circuit.builder.assigned_instances[0] = public;
    fill_columns(&mut circuit, &config)?;
    Ok(circuit)
}

/// Pads the node's witness with trivial gates (`0 + 0·0 = 0`) until every advice column of
/// the leaf's configuration holds gates. A column without any would have its selector
/// compressed away at keygen, leaving the node a different protocol shape from the leaf, and
/// a node could then not verify another node. The count depends on the layout alone, so
/// keygen and proving pad alike.
fn fill_columns(circuit: &mut AggregationCircuit, config: &AggregationConfigParams) -> Result<()> {
    let max_rows = (1usize << config.degree) - MINIMUM_ROWS;
    let stats = circuit.builder.statistics();
    let used = stats.gate.total_advice_per_phase.first().copied().unwrap_or(0);
    let lookups = stats.total_lookup_advice_per_phase.first().copied().unwrap_or(0);
    let target = (config.num_advice.max(1) - 1) * max_rows + FILL_MARGIN;
    if used > config.num_advice * max_rows - FILL_MARGIN
        || lookups > config.num_lookup_advice * max_rows
    {
        return Err(ProverError::Planning(format!(
            "a tree node needs {used} advice and {lookups} lookup cells, more than the leaf \
             layout's {} and {} columns of {max_rows} rows hold",
            config.num_advice, config.num_lookup_advice
        )));
    }
    let ctx = circuit.builder.main(0);
    for _ in 0..target.saturating_sub(used).div_ceil(4) {
        ctx.assign_region([Witness(Fr::zero()); 4], [0]);
    }
    Ok(())
}

/// The protocol of an aggregation-type verifying key without what a universal verifier loads
/// as witnesses (preprocessed commitments, transcript state): what must be equal for one
/// circuit to verify proofs under either key.
fn shape(protocol: &PlonkProtocol<G1Affine>) -> String {
    let mut p = protocol.clone();
    p.preprocessed = vec![G1Affine::default(); p.preprocessed.len()];
    p.transcript_initial_state = None;
    format!("{p:?}")
}

/// A node verifies leaves and nodes with one circuit only if their keys have one shape.
pub fn check_same_shape(
    srs: &Srs,
    leaf: &VerifyingKey<G1Affine>,
    node: &VerifyingKey<G1Affine>,
) -> Result<()> {
    if shape(&wide_protocol(srs, leaf)) != shape(&wide_protocol(srs, node)) {
        return Err(ProverError::Planning(
            "the tree node's verifying key has another protocol shape than the leaf's".into(),
        ));
    }
    Ok(())
}

/// The honest prover's check of what the node circuit enforces: the children chain.
pub fn check_children(children: &[Snark]) -> Result<()> {
    match children {
        [left, right]
            if left.instances[0][OUTPUT_COMMITMENT] == right.instances[0][INPUT_COMMITMENT] =>
        {
            Ok(())
        }
        [_, _] => Err(ProverError::Rejected(
            "tree: the left subtree's output commitment is not the right subtree's input \
             commitment"
                .into(),
        )),
        _ => Err(ProverError::Planning(format!(
            "a tree node aggregates {ARITY} proofs, got {}",
            children.len()
        ))),
    }
}

/// The model id a node computes from its children's keys (as [`protocol_witness`]es) and
/// model ids, natively.
pub fn node_model_id(children: &[(&[Fr], Fr)]) -> Fr {
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock);
    let gate = GateChip::<Fr>::default();
    let ctx = builder.main(0);
    let mut sponge = PoseidonSponge::<Fr, T, RATE>::new::<R_F, R_P, 0>(ctx);
    let tag = ctx.load_witness(Fr::from(NODE_TAG));
    sponge.update(&[tag]);
    for (key, id) in children {
        let loaded = ctx.assign_witnesses(key.iter().copied().chain([*id]));
        sponge.update(&loaded);
    }
    *sponge.squeeze(ctx, &gate).value()
}

/// The model id of the tree over leaves with model ids `leaf_ids` (in chain order, at least
/// two), shaped by [`fold_tree`]: what its root proof exposes. `leaf_key` and `node_key` are
/// the leaf's and the node's verifying keys as [`protocol_witness`]es ([`key_witness`]).
pub fn tree_model_id(leaf_ids: &[Fr], leaf_key: &[Fr], node_key: &[Fr]) -> Result<Fr> {
    if leaf_ids.len() < ARITY {
        return Err(ProverError::Planning(format!(
            "a tree has at least two leaves; got {}",
            leaf_ids.len()
        )));
    }
    let leaves = leaf_ids.iter().map(|id| (*id, leaf_key)).collect();
    let root = fold_tree(leaves, |(l, lk), (r, rk)| {
        Ok::<_, ProverError>((node_model_id(&[(lk, l), (rk, r)]), node_key))
    });
    Ok(root.ok_or_else(|| ProverError::Planning("a tree without leaves".into()))??.0)
}

/// An aggregation-type verifying key as the node circuit loads it.
pub fn key_witness(srs: &Srs, vk: &VerifyingKey<G1Affine>) -> Vec<Fr> {
    protocol_witness(&wide_protocol(srs, vk))
}

/// What node keys are made from: the leaf keys' settings, configuration and verifying key.
#[derive(Clone, Copy)]
pub struct LeafKey<'a> {
    /// The leaf settings.
    pub settings: AggregationSettings,
    /// The leaf configuration (a node is laid out with it).
    pub config: AggregationConfigParams,
    /// The leaf verifying key.
    pub vk: &'a VerifyingKey<G1Affine>,
}

impl<'a> LeafKey<'a> {
    /// The leaf key of loaded aggregation keys.
    pub fn of(keys: &'a AggregationKeys) -> Self {
        Self { settings: keys.settings, config: keys.config, vk: keys.pk.get_vk() }
    }
}

/// The leaf keys' configuration and verifying key, and the node's verifying key.
pub type CachedTreeKeys = (AggregationConfigParams, VerifyingKey<G1Affine>, VerifyingKey<G1Affine>);

/// The cached leaf keys' configuration and verifying key and the node's verifying key, read
/// without the proving keys: what a tree's verifier and its model ids need. `None` unless
/// both are cached.
pub fn load_cached_vks(
    root: &Path,
    settings: AggregationSettings,
    srs: &Srs,
) -> Result<Option<CachedTreeKeys>> {
    let Some((config, leaf)) = AggregationKeys::load_vk_and_config(root, settings, srs)? else {
        return Ok(None);
    };
    Ok(NodeKeys::load_vk(root, settings, srs, &leaf)?.map(|node| (config, leaf, node)))
}

/// Node proving key with the (leaf's) configuration it was made for.
pub struct NodeKeys {
    /// Settings of the leaves (the node has their size).
    pub leaf_settings: AggregationSettings,
    /// The leaf's configuration, which the node is laid out with.
    pub config: AggregationConfigParams,
    /// Witness layout found at keygen, reused when proving.
    pub break_points: MultiPhaseThreadBreakPoints,
    /// Proving key (holds the verifying key).
    pub pk: ProvingKey<G1Affine>,
}

impl NodeKeys {
    /// Loads cached node keys for the leaf keys (`leaf`: their settings, configuration and
    /// verifying key), or runs keygen and caches them. `srs` is the leaf's SRS. The leaf's
    /// proving key is not needed: a tree proves its leaves, drops their key, then its nodes,
    /// so only one key is in memory at a time.
    pub fn load_or_generate(root: &Path, leaf: LeafKey<'_>, srs: &Srs) -> Result<Self> {
        let dir = cache_dir(root, &leaf.settings, srs);
        let inner = vk_digest(leaf.vk);
        if let Some((meta, pk)) = keys::load_cached::<AggregationSettings>(&dir, srs)? {
            if meta.inner_vk == inner && meta.settings == leaf.settings {
                return Ok(Self {
                    leaf_settings: leaf.settings,
                    config: meta.config,
                    break_points: meta.break_points,
                    pk,
                });
            }
        }
        let circuit = build(
            CircuitBuilderStage::Keygen,
            leaf.config,
            &srs.params,
            vec![placeholder_snark(srs, leaf.vk); ARITY],
        )?;
        let (break_points, pk) = keys::keygen_as_configured(srs, &circuit, "tree node")?;
        check_same_shape(srs, leaf.vk, pk.get_vk())?;
        let meta = Meta {
            settings: leaf.settings,
            config: leaf.config,
            break_points: break_points.clone(),
            srs_digest: srs.digest(),
            inner_vk: inner,
        };
        keys::store(&dir, &meta, &pk)?;
        Ok(Self { leaf_settings: leaf.settings, config: leaf.config, break_points, pk })
    }

    /// The verifying key of cached node keys over the leaf key `leaf_vk`, read without the
    /// rest of the proving key; `None` when none are cached.
    pub fn load_vk(
        root: &Path,
        leaf_settings: AggregationSettings,
        srs: &Srs,
        leaf_vk: &VerifyingKey<G1Affine>,
    ) -> Result<Option<VerifyingKey<G1Affine>>> {
        let dir = cache_dir(root, &leaf_settings, srs);
        Ok(keys::load_cached_vk::<AggregationSettings>(&dir, srs)?
            .filter(|(meta, _)| {
                meta.inner_vk == vk_digest(leaf_vk) && meta.settings == leaf_settings
            })
            .map(|(_, vk)| vk))
    }

    /// The node circuit over `children` with the keygen layout; a child that does not verify
    /// is an error (snark-verifier would panic).
    fn circuit(&self, srs: &Srs, children: Vec<Snark>) -> Result<AggregationCircuit> {
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            build(CircuitBuilderStage::Prover, self.config, &srs.params, children)
        }))
        .map_err(|_| ProverError::Rejected("tree node: a child proof does not verify".into()))??;
        Ok(built.use_break_points(self.break_points.clone()))
    }

    /// A node proof for a parent node to verify (Poseidon transcript), checked natively.
    pub fn prove_for_parent(&self, srs: &Srs, children: Vec<Snark>) -> Result<Snark> {
        check_children(&children)?;
        keys::prove_for_circuit(srs, &self.pk, self.circuit(srs, children)?, "tree node")
    }

    /// The root proof for the EVM (Keccak transcript), checked natively.
    pub fn prove(
        &self,
        srs: &Srs,
        children: Vec<Snark>,
    ) -> Result<(AggregationInstances, Vec<u8>)> {
        check_children(&children)?;
        let (instances, proof) = self.prove_unchecked(srs, children)?;
        self.verify(srs, &instances.all, &proof)?;
        Ok((instances, proof))
    }

    /// [`NodeKeys::prove`] without its checks: what a dishonest prover would run (tests use
    /// it to show that the circuit itself refuses a broken tree).
    pub fn prove_unchecked(
        &self,
        srs: &Srs,
        children: Vec<Snark>,
    ) -> Result<(AggregationInstances, Vec<u8>)> {
        keys::prove_evm(srs, &self.pk, self.circuit(srs, children)?, "tree node")
    }

    /// Verifies a root proof natively (the same check the EVM verifier does).
    pub fn verify(&self, srs: &Srs, instances: &[Fr], proof: &[u8]) -> Result<()> {
        keys::verify_aggregated(self.pk.get_vk(), srs, instances, proof)
    }
}

/// Proves the leaves of the tree over one inference's shard snarks (in chain order; as many
/// as [`tree_shards`] gives), for [`prove_nodes`]. `log` hears
/// each finished proof.
pub fn prove_leaves(
    leaf: &AggregationKeys,
    srs: &Srs,
    shards: Vec<Snark>,
    log: &dyn Fn(&str),
) -> Result<Vec<Snark>> {
    let width = leaf.settings.shards;
    check_tree_shards(shards.len(), width)?;
    keys::check_chain(&shards)?;
    let mut leaves = Vec::with_capacity(shards.len() / width);
    for (i, chunk) in shards.chunks(width).enumerate() {
        leaves.push(leaf.prove_for_compression(srs, chunk.to_vec())?);
        log(&format!("leaf {} of {} proven", i + 1, shards.len() / width));
    }
    Ok(leaves)
}

/// Proves the nodes over `leaves` (at least two), shaped by [`fold_tree`], up to the root
/// for the EVM.
pub fn prove_nodes(
    node: &NodeKeys,
    srs: &Srs,
    leaves: Vec<Snark>,
    log: &dyn Fn(&str),
) -> Result<(AggregationInstances, Vec<u8>)> {
    if leaves.len() < ARITY {
        return Err(ProverError::Planning(format!(
            "a tree has at least two leaves; got {}",
            leaves.len()
        )));
    }
    let nodes = leaves.len() - 1;
    let mut done = 0;
    // Every node below the root is verified by its parent (Poseidon transcript), the root by
    // the EVM (Keccak), so the root is proven apart, from the two subtrees left.
    let children = reduce_to_pair(leaves, &mut |left, right| {
        let proved = node.prove_for_parent(srs, vec![left, right])?;
        done += 1;
        log(&format!("node {done} of {nodes} proven"));
        Ok::<_, ProverError>(proved)
    })?;
    let root = node.prove(srs, children)?;
    log(&format!("root (node {nodes} of {nodes}) proven"));
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape: pairs joined left to right, an odd last subtree carried up unchanged, every
    /// subtree joined exactly once (`leaves - 1` nodes), depth `ceil(log2(leaves))`.
    #[test]
    fn trees_join_pairs_and_carry_an_odd_subtree_up() {
        let shape = |n: usize| {
            let leaves: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            let mut joins = 0;
            let root = fold_tree(leaves, |l, r| {
                joins += 1;
                Ok::<_, ()>(format!("({l} {r})"))
            });
            (root.map(|r| r.expect("joins")), joins)
        };
        assert_eq!(shape(2), (Some("(0 1)".into()), 1));
        assert_eq!(shape(3), (Some("((0 1) 2)".into()), 2));
        assert_eq!(shape(4), (Some("((0 1) (2 3))".into()), 3));
        assert_eq!(shape(5), (Some("(((0 1) (2 3)) 4)".into()), 4));
        assert_eq!(shape(9).1, 8);
        assert_eq!(shape(1), (Some("0".into()), 0));
        assert_eq!(shape(0), (None, 0));
    }

    #[test]
    fn shard_counts_pad_to_whole_leaves() {
        assert_eq!(padded_shards(1, 2), 2);
        assert_eq!(padded_shards(2, 2), 2);
        assert_eq!(padded_shards(3, 2), 4);
        assert_eq!(padded_shards(5, 2), 6);
        assert_eq!(padded_shards(17, 2), 18);
        assert_eq!(tree_jobs(8, 2), (4, 3));
        assert_eq!(tree_jobs(16, 2), (8, 7));
        assert_eq!(tree_jobs(17, 2), (9, 8));
        assert_eq!(tree_jobs(2, 2), (1, 0));
        assert_eq!(tree_shards(1, 2), 4);
        assert_eq!(tree_shards(2, 2), 4);
        assert_eq!(tree_shards(5, 2), 6);
    }

    /// Every structural change of a tree changes its id: children swapped, one child
    /// duplicated, a leaf's id changed, the same ids under another key, a level added.
    #[test]
    fn tree_ids_bind_order_keys_and_depth() {
        let ids: Vec<Fr> = (1..=4u64).map(Fr::from).collect();
        let leaf_key = vec![Fr::from(7u64), Fr::from(8u64)];
        let node_key = vec![Fr::from(9u64), Fr::from(10u64)];
        let id = tree_model_id(&ids, &leaf_key, &node_key).expect("tree");
        let mut swapped = ids.clone();
        swapped.swap(0, 2);
        swapped.swap(1, 3);
        let mut duplicated = ids.clone();
        duplicated[3] = duplicated[2];
        let mut other = ids.clone();
        other[1] = Fr::from(99u64);
        let variants = [
            tree_model_id(&swapped, &leaf_key, &node_key),
            tree_model_id(&duplicated, &leaf_key, &node_key),
            tree_model_id(&other, &leaf_key, &node_key),
            tree_model_id(&ids, &node_key, &node_key),
            tree_model_id(&ids, &leaf_key, &leaf_key),
            tree_model_id(&ids[..2], &leaf_key, &node_key),
        ];
        for (i, v) in variants.into_iter().enumerate() {
            assert_ne!(v.expect("tree"), id, "variant {i} kept the id");
        }
        let pair = tree_model_id(&ids[..2], &leaf_key, &node_key).expect("tree");
        assert_eq!(pair, node_model_id(&[(&leaf_key, ids[0]), (&leaf_key, ids[1])]));
        assert!(tree_model_id(&ids[..1], &leaf_key, &node_key).is_err());
        // Three leaves: ((0 1) 2), the carried leaf under its own (leaf) key.
        let three = tree_model_id(&ids[..3], &leaf_key, &node_key).expect("tree");
        let left = node_model_id(&[(&leaf_key, ids[0]), (&leaf_key, ids[1])]);
        assert_eq!(three, node_model_id(&[(&node_key, left), (&leaf_key, ids[2])]));
        assert_ne!(three, node_model_id(&[(&node_key, left), (&node_key, ids[2])]));
    }
}
