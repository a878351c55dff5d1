//! Shard jobs and the local prover: plan -> jobs -> proofs -> chain verification.
//!
//! A [`ShardJob`] is self-contained and serializable (shard index, input values, salts):
//! the local prover runs jobs on a bounded number of threads, and a cluster can ship the
//! same jobs to other machines.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::artifacts::inference::INFERENCE_VERSION;
use crate::artifacts::setup::{pk_path, vk_path};
use crate::artifacts::{CompiledModel, InferenceProof};
use crate::circuit::instance;
use crate::circuit::layout::build;
use crate::error::{ProverError, Result};
use crate::proof::keys::read_vk;
use crate::proof::shard_proof::{fr_from_hex, fr_to_hex};
use crate::proof::{ShardKeys, ShardProof, Srs};
use crate::quant::eval::Trace;
use crate::shard::boundary::{input_commitment, Salts};

/// Everything needed to prove one shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardJob {
    /// Shard index in the model's plan.
    pub shard: usize,
    /// Quantized values of the shard's inputs, in `ShardSpec::inputs` order.
    pub inputs: Vec<i64>,
    /// Salt of the input commitment, hex: the model input's salt for shard 0, the incoming
    /// link's salt after it.
    pub salt: String,
    /// Salt of the output commitment (the outgoing link's), hex; zero for the last shard.
    pub out_salt: String,
}

impl ShardJob {
    /// The job's salts as field elements.
    pub fn salts(&self) -> Result<Salts> {
        let parse = |what: &str, h: &str| {
            fr_from_hex(h).map_err(|e| ProverError::Settings(format!("{what}: {e}")))
        };
        Ok(Salts { input: parse("salt", &self.salt)?, output: parse("out_salt", &self.out_salt)? })
    }
}

/// Timing of one proven shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardTiming {
    /// Shard index.
    pub shard: usize,
    /// Proving-key load time, seconds.
    pub load_s: f64,
    /// Witness and proof time, seconds.
    pub prove_s: f64,
}

/// The outcome of one shard job.
type JobResult = Result<(ShardProof, ShardTiming)>;

/// Cuts an inference into shard jobs by running the reference evaluator. `salt` blinds the
/// input commitment; the link salts derive from `link_seed`, which should be fresh and
/// secret for every inference (see `shard::boundary`).
pub fn jobs(
    compiled: &CompiledModel,
    inputs: &[Vec<f64>],
    salt: Fr,
    link_seed: Fr,
) -> Result<Vec<ShardJob>> {
    let q = &compiled.model;
    let trace = q.eval(&q.quantize_inputs(inputs)?)?;
    Ok(jobs_from_trace(compiled, &trace, salt, link_seed))
}

/// Shard jobs from an already evaluated inference (a coordinator that also needs the
/// outputs evaluates once).
pub fn jobs_from_trace(
    compiled: &CompiledModel,
    trace: &Trace,
    salt: Fr,
    link_seed: Fr,
) -> Vec<ShardJob> {
    let n = compiled.plan.shards.len();
    compiled
        .plan
        .shards
        .iter()
        .map(|s| {
            // A job carries its own two salts only: the input salt goes to shard 0 alone, and
            // the seed to no one, since a cluster ships jobs to other machines.
            let salts = Salts::of_shard(s.index, n, salt, link_seed);
            ShardJob {
                shard: s.index,
                inputs: s.inputs.iter().map(|v| trace.values[*v as usize]).collect(),
                salt: fr_to_hex(&salts.input),
                out_salt: fr_to_hex(&salts.output),
            }
        })
        .collect()
}

/// Proves one shard job with the keys under `dir`.
pub fn run_job(
    compiled: &CompiledModel,
    dir: &Path,
    srs: &Srs,
    job: &ShardJob,
) -> Result<(ShardProof, ShardTiming)> {
    prove_shard(compiled, &pk_path(dir, job.shard), srs, job)
}

/// Proves one shard job with the proving key file `pk` (local mode and cluster workers).
pub fn prove_shard(
    compiled: &CompiledModel,
    pk: &Path,
    srs: &Srs,
    job: &ShardJob,
) -> Result<(ShardProof, ShardTiming)> {
    let spec = compiled.plan.shards.get(job.shard).ok_or_else(|| {
        ProverError::Planning(format!(
            "job for shard {} but the model has {}",
            job.shard,
            compiled.plan.shards.len()
        ))
    })?;
    let salts = job.salts()?;
    let t = Instant::now();
    let keys = ShardKeys::read_pk(pk)?;
    let load_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let layout = Arc::new(build(&compiled.model, spec, &job.inputs, salts)?);
    let proof = ShardProof::create(srs, &keys.pk, job.shard, layout)?;
    Ok((proof, ShardTiming { shard: job.shard, load_s, prove_s: t.elapsed().as_secs_f64() }))
}

/// Proves all jobs with at most `parallel` at once; `progress(shard)` after each.
pub fn run_jobs(
    compiled: &CompiledModel,
    dir: &Path,
    srs: &Srs,
    jobs: &[ShardJob],
    parallel: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<(ShardProof, ShardTiming)>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<JobResult>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..parallel.max(1).min(jobs.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                let r = run_job(compiled, dir, srs, job);
                let failed = r.is_err();
                if let Ok(mut slot) = results.lock() {
                    slot[i] = Some(r);
                }
                progress(job.shard);
                if failed {
                    // Stop handing out work; other workers finish their current job.
                    next.store(jobs.len(), Ordering::SeqCst);
                }
            });
        }
    });
    let results =
        results.into_inner().map_err(|_| ProverError::Halo2("a prover thread panicked".into()))?;
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| Err(ProverError::Halo2(format!("shard job {i} did not run"))))
        })
        .collect()
}

/// Proves an inference end to end; returns the proof and per-shard timings.
pub fn prove(
    compiled: &CompiledModel,
    dir: &Path,
    srs: &Srs,
    inputs: &[Vec<f64>],
    salt: Fr,
    parallel: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<(InferenceProof, Vec<ShardTiming>)> {
    crate::artifacts::SetupInfo::check_srs(dir, srs)?;
    let q = &compiled.model;
    let inputs_q = q.quantize_inputs(inputs)?;
    let trace = q.eval(&inputs_q)?;
    let jobs = jobs_from_trace(compiled, &trace, salt, crate::random_salt());
    let proven = run_jobs(compiled, dir, srs, &jobs, parallel, progress)?;
    let outputs_q: Vec<i64> = q.outputs_q(&trace);
    let (shards, timings): (Vec<_>, Vec<_>) = proven.into_iter().unzip();
    let proof = InferenceProof {
        version: INFERENCE_VERSION,
        model: compiled.name.clone(),
        input_commitment: fr_to_hex(&input_commitment(&inputs_q, q.settings.value_bits(), salt)),
        outputs: q.dequantize_outputs(&outputs_q),
        outputs_q,
        scale_bits: q.output_scale(),
        shards,
    };
    Ok((proof, timings))
}

/// The commitment an inference on `inputs` would expose, so a holder of the input (and of
/// the salt, in private-input mode) can check what was attested.
pub fn commit_input(compiled: &CompiledModel, inputs: &[Vec<f64>], salt: Fr) -> Result<Fr> {
    let q = &compiled.model;
    Ok(input_commitment(&q.quantize_inputs(inputs)?, q.settings.value_bits(), salt))
}

/// Verifies every shard proof, the commitment chain between shards, the input
/// commitment and the claimed outputs.
pub fn verify(
    compiled: &CompiledModel,
    dir: &Path,
    srs: &Srs,
    proof: &InferenceProof,
) -> Result<()> {
    crate::artifacts::SetupInfo::check_srs(dir, srs)?;
    let n = compiled.plan.shards.len();
    if proof.shards.len() != n {
        return Err(ProverError::Rejected(format!(
            "{} shard proofs for a {n}-shard model",
            proof.shards.len()
        )));
    }
    for (i, sp) in proof.shards.iter().enumerate() {
        if sp.shard != i || sp.instances.len() != instance::count() {
            return Err(ProverError::Rejected(format!(
                "proof {i} is for shard {} with {} instances",
                sp.shard,
                sp.instances.len()
            )));
        }
        let vk = read_vk(&vk_path(dir, i))?;
        sp.verify(srs, &vk)?;
    }
    for (i, w) in proof.shards.windows(2).enumerate() {
        if w[0].instances[instance::OUT_COMMIT] != w[1].instances[instance::IN_COMMIT] {
            return Err(ProverError::BoundaryMismatch { after: i });
        }
    }
    let first = &proof.shards[0].instances;
    let claimed = fr_from_hex(&proof.input_commitment)
        .map_err(|e| ProverError::Rejected(format!("input commitment: {e}")))?;
    if first[instance::IN_COMMIT] != claimed {
        return Err(ProverError::Rejected(
            "input commitment differs from the first shard's".into(),
        ));
    }
    let last = &proof.shards[n - 1].instances;
    let shown = instance::shown(&proof.outputs_q);
    let descriptor = instance::descriptor(shown.len(), proof.scale_bits).map(Fr::from);
    if descriptor != Some(last[instance::DESCRIPTOR]) {
        return Err(ProverError::Rejected(
            "claimed output count or scale differs from the proven ones".into(),
        ));
    }
    let public: Vec<Fr> = shown.iter().map(|v| crate::circuit::fe(*v)).collect();
    if last[instance::OUTPUT0..instance::OUTPUT0 + shown.len()] != public[..] {
        return Err(ProverError::Rejected("claimed outputs differ from the proven ones".into()));
    }
    // The real-valued outputs and their scale are readable claims too: they must be exactly
    // what the proven integers mean under this model's output scale, or an edited file would
    // print the edited numbers next to "valid".
    let q = &compiled.model;
    if proof.scale_bits != q.output_scale() {
        return Err(ProverError::Rejected(format!(
            "claimed output scale 2^{} differs from the model's 2^{}",
            proof.scale_bits,
            q.output_scale()
        )));
    }
    let meant = q.dequantize_outputs(&proof.outputs_q);
    if proof.outputs.len() != meant.len()
        || proof.outputs.iter().zip(&meant).any(|(a, b)| a.to_bits() != b.to_bits())
    {
        return Err(ProverError::Rejected(
            "claimed real-valued outputs differ from the proven integers".into(),
        ));
    }
    let out_commit = crate::shard::boundary::boundary_commitment(
        &proof.outputs_q,
        compiled.model.settings.value_bits(),
    );
    if last[instance::OUT_COMMIT] != out_commit {
        return Err(ProverError::Rejected("claimed outputs differ from the committed ones".into()));
    }
    Ok(())
}

/// Aggregates an inference's shard proofs into one EVM proof with the universal
/// aggregation keys. The compiled plan must have exactly `keys.settings.shards` shards
/// (compile with `pad_to`).
pub fn aggregate(
    compiled: &CompiledModel,
    dir: &Path,
    srs: &Srs,
    keys: &crate::aggregate::AggregationKeys,
    agg_srs: &Srs,
    final_proof: crate::aggregate::FinalProof<'_>,
    proof: &InferenceProof,
) -> Result<crate::artifacts::AggregatedProof> {
    if proof.shards.len() != keys.settings.shards {
        return Err(ProverError::Planning(format!(
            "{} shard proofs, but the aggregation circuit takes {}; compile with --shards {}",
            proof.shards.len(),
            keys.settings.shards,
            keys.settings.shards
        )));
    }
    let vks = shard_vks(dir, proof)?;
    aggregate_with_vks(&compiled.name, &vks, srs, keys, agg_srs, final_proof, proof)
}

/// [`aggregate`] with the shard verifying keys given (in chain order), for a cluster worker
/// that holds keys by digest rather than an artifact folder.
pub fn aggregate_with_vks(
    model: &str,
    vks: &[VerifyingKey<G1Affine>],
    srs: &Srs,
    keys: &crate::aggregate::AggregationKeys,
    agg_srs: &Srs,
    final_proof: crate::aggregate::FinalProof<'_>,
    proof: &InferenceProof,
) -> Result<crate::artifacts::AggregatedProof> {
    if proof.shards.len() != keys.settings.shards || vks.len() != proof.shards.len() {
        return Err(ProverError::Planning(format!(
            "{} shard proofs and {} verifying keys, but the aggregation circuit takes {}",
            proof.shards.len(),
            vks.len(),
            keys.settings.shards
        )));
    }
    let snarks = shard_snarks(srs, vks, proof);
    let (instances, bytes) = match crate::aggregate::reuse::ProofReuse::from_env() {
        None => {
            let (instances, bytes) = final_proof.prove(keys, agg_srs, snarks)?;
            (instances.all, bytes)
        }
        Some(reuse) => {
            let final_vk = final_proof.vk(keys);
            let statement = crate::aggregate::reuse::Statement::of(final_vk, srs, vks, proof);
            match reuse.find(final_vk, final_proof.srs(agg_srs), &statement) {
                Some(found) => {
                    // What proving would have refused, reuse refuses too.
                    crate::aggregate::keys::check_chain(&snarks)?;
                    for (sp, vk) in proof.shards.iter().zip(vks) {
                        sp.verify(srs, vk)?;
                    }
                    found
                }
                None => {
                    let (instances, bytes) = final_proof.prove(keys, agg_srs, snarks)?;
                    reuse.store(&statement, &instances.all, &bytes)?;
                    (instances.all, bytes)
                }
            }
        }
    };
    Ok(crate::artifacts::AggregatedProof::new(
        model,
        &instances,
        &bytes,
        proof.outputs_q.clone(),
        proof.scale_bits,
    ))
}

/// The verifying keys of an inference's shard proofs, from the artifact folder `dir`.
fn shard_vks(dir: &Path, proof: &InferenceProof) -> Result<Vec<VerifyingKey<G1Affine>>> {
    proof.shards.iter().map(|sp| read_vk(&vk_path(dir, sp.shard))).collect()
}

/// An inference's shard proofs as snarks under their verifying keys (in chain order).
fn shard_snarks(
    srs: &Srs,
    vks: &[VerifyingKey<G1Affine>],
    proof: &InferenceProof,
) -> Vec<snark_verifier_sdk::Snark> {
    proof
        .shards
        .iter()
        .zip(vks)
        .map(|(sp, vk)| crate::aggregate::keys::snark_of(srs, vk, sp))
        .collect()
}

/// Aggregates an inference's shard proofs through an aggregation tree, for models of more
/// shards than one aggregation takes (compiled with `pad_to` =
/// [`crate::aggregate::tree::tree_shards`]): the leaves with `leaf`, whose proving key is
/// then dropped, then the nodes with the node keys (cached under `cache`, made on first use),
/// so one key at a time is in memory. The root's model id is checked against the one the
/// model's keys give ([`tree_model_id`]). `log` hears each finished proof.
#[allow(clippy::too_many_arguments)]
pub fn aggregate_tree(
    compiled: &CompiledModel,
    dir: &Path,
    srs: &Srs,
    leaf: crate::aggregate::AggregationKeys,
    agg_srs: &Srs,
    cache: &Path,
    proof: &InferenceProof,
    log: &dyn Fn(&str),
) -> Result<crate::artifacts::AggregatedProof> {
    use crate::aggregate::tree::{self, LeafKey, NodeKeys};
    let vks = shard_vks(dir, proof)?;
    let snarks = shard_snarks(srs, &vks, proof);
    let leaves = tree::prove_leaves(&leaf, agg_srs, snarks, log)?;
    let leaf_vk = leaf.pk.get_vk().clone();
    let leaf_key = LeafKey { settings: leaf.settings, config: leaf.config, vk: &leaf_vk };
    drop(leaf);
    let node = NodeKeys::load_or_generate(cache, leaf_key, agg_srs)?;
    let (instances, bytes) = tree::prove_nodes(&node, agg_srs, leaves, log)?;
    let expected = tree_model_id(&vks, srs, leaf_key, node.pk.get_vk(), agg_srs)?;
    if instances.model_id() != expected {
        return Err(ProverError::Rejected(
            "the tree's root does not carry the model id of this model's keys".into(),
        ));
    }
    Ok(crate::artifacts::AggregatedProof::new(
        &compiled.name,
        &instances.all,
        &bytes,
        proof.outputs_q.clone(),
        proof.scale_bits,
    ))
}

/// The model id the root of an aggregation tree exposes for a model with shard verifying keys
/// `shard_vks` (in chain order, a padded count): each leaf digests its shards' keys, each
/// node its children's keys and ids (`crate::aggregate::tree`).
pub fn tree_model_id(
    shard_vks: &[VerifyingKey<G1Affine>],
    srs: &Srs,
    leaf: crate::aggregate::tree::LeafKey<'_>,
    node_vk: &VerifyingKey<G1Affine>,
    agg_srs: &Srs,
) -> Result<Fr> {
    use crate::aggregate::model_id::{model_id, vk_witness};
    use crate::aggregate::tree::key_witness;
    let witnesses: Vec<Vec<Fr>> = shard_vks.iter().map(|vk| vk_witness(&srs.params, vk)).collect();
    let width = leaf.settings.shards.max(1);
    if !witnesses.len().is_multiple_of(width) {
        return Err(ProverError::Planning(format!(
            "{} shard keys do not fill leaves of {width} slots",
            witnesses.len()
        )));
    }
    let leaf_ids: Vec<Fr> = witnesses.chunks(width).map(model_id).collect();
    crate::aggregate::tree::tree_model_id(
        &leaf_ids,
        &key_witness(agg_srs, leaf.vk),
        &key_witness(agg_srs, node_vk),
    )
}

/// The verifying key of the root of the model's aggregation tree (`settings`: its leaves)
/// and the model id the root must carry: the keys from the key cache `cache` (made and
/// cached there if missing), the id from the model's shard keys in `dir`.
pub fn tree_root_key(
    compiled: &CompiledModel,
    dir: &Path,
    cache: &Path,
    settings: crate::aggregate::AggregationSettings,
    agg_srs: &Srs,
    shard_srs: &Srs,
) -> Result<(VerifyingKey<G1Affine>, Fr)> {
    use crate::aggregate::tree::{LeafKey, NodeKeys};
    use crate::aggregate::AggregationKeys;
    // Only what is missing is made: cached leaf keys are not loaded whole to make node keys.
    let (config, leaf_vk) = AggregationKeys::vk_and_config(cache, settings, agg_srs, shard_srs)?;
    let leaf = LeafKey { settings, config, vk: &leaf_vk };
    let node_vk = match NodeKeys::load_vk(cache, settings, agg_srs, &leaf_vk)? {
        Some(vk) => vk,
        None => NodeKeys::load_or_generate(cache, leaf, agg_srs)?.pk.get_vk().clone(),
    };
    let vks = (0..compiled.plan.shards.len())
        .map(|i| read_vk(&vk_path(dir, i)))
        .collect::<Result<Vec<_>>>()?;
    let id = tree_model_id(&vks, shard_srs, leaf, &node_vk, agg_srs)?;
    Ok((node_vk, id))
}

/// The model id of a set-up model: digest of its shard verifying keys, as the aggregation
/// circuit computes it.
pub fn model_id(compiled: &CompiledModel, dir: &Path, srs: &Srs) -> Result<Fr> {
    let witnesses = (0..compiled.plan.shards.len())
        .map(|i| {
            Ok(crate::aggregate::model_id::vk_witness(&srs.params, &read_vk(&vk_path(dir, i))?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(crate::aggregate::model_id::model_id(&witnesses))
}

/// Checks an aggregated proof made elsewhere (a cluster worker, a file) before anything
/// relies on it: it verifies under the aggregation verifying key `agg_vk` (a tree's node key
/// for a tree's root), and its public instances are `id` (the caller recomputes it from the
/// model's own keys, [`model_id`] or [`tree_model_id`], never reads it from the proof),
/// `input_commitment` and `outputs_q`; its readable fields agree.
pub fn check_aggregated(
    compiled: &CompiledModel,
    agg_vk: &VerifyingKey<G1Affine>,
    agg_srs: &Srs,
    id: Fr,
    input_commitment: Fr,
    outputs_q: &[i64],
    agg: &crate::artifacts::AggregatedProof,
) -> Result<()> {
    use crate::aggregate::circuit::{
        pack_outputs, INPUT_COMMITMENT, MODEL_ID, OUTPUTS, OUTPUT_COMMITMENT,
    };
    let instances = agg
        .instances()
        .map_err(|e| ProverError::Rejected(format!("aggregated proof instances: {e}")))?;
    let bytes =
        agg.proof_bytes().map_err(|e| ProverError::Rejected(format!("aggregated proof: {e}")))?;
    crate::aggregate::verify_aggregated(agg_vk, agg_srs, &instances, &bytes)?;
    if instances[MODEL_ID] != id {
        return Err(ProverError::Rejected(
            "the aggregated proof is of another model than this one's verifying keys".into(),
        ));
    }
    if instances[INPUT_COMMITMENT] != input_commitment {
        return Err(ProverError::Rejected(
            "the aggregated proof is of another input commitment".into(),
        ));
    }
    let scale = compiled.model.output_scale();
    if pack_outputs(outputs_q, scale).is_none_or(|w| instances[OUTPUTS..OUTPUT_COMMITMENT] != w[..])
    {
        return Err(ProverError::Rejected(
            "the aggregated proof exposes other outputs or another output scale".into(),
        ));
    }
    let value_bits = compiled.model.settings.value_bits();
    if instances[OUTPUT_COMMITMENT]
        != crate::shard::boundary::boundary_commitment(outputs_q, value_bits)
    {
        return Err(ProverError::Rejected("the aggregated proof commits to other outputs".into()));
    }
    if agg.model_id != fr_to_hex(&id)
        || agg.input_commitment != fr_to_hex(&input_commitment)
        || agg.outputs_q != outputs_q
        || agg.scale_bits != scale
    {
        return Err(ProverError::Rejected(
            "the aggregated proof file's readable fields differ from its instances".into(),
        ));
    }
    Ok(())
}

/// What the owner of a set-up model registers on chain, computed from the owner's own
/// artifacts (never from a proof file someone handed over).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The model id the aggregation circuit exposes (digest of the shard verifying keys).
    pub model_id: Fr,
    /// Scale exponent of the outputs.
    pub output_scale_bits: u32,
    /// SHA-256 of `compiled.bin`: the quantized weights and the plan.
    pub model_sha256: [u8; 32],
    /// SHA-256 of the shard verifying key files, concatenated in chain order.
    pub circuit_sha256: [u8; 32],
}

/// The registration of the model set up in `dir`.
pub fn registration(compiled: &CompiledModel, dir: &Path, srs: &Srs) -> Result<Registration> {
    use sha2::{Digest, Sha256};
    let file = |p: &Path| std::fs::read(p).map_err(|e| ProverError::io(p, e));
    let model_sha256 = Sha256::digest(file(&CompiledModel::path(dir))?).into();
    let mut circuit = Sha256::new();
    for i in 0..compiled.plan.shards.len() {
        circuit.update(file(&vk_path(dir, i))?);
    }
    Ok(Registration {
        model_id: model_id(compiled, dir, srs)?,
        output_scale_bits: compiled.model.output_scale(),
        model_sha256,
        circuit_sha256: circuit.finalize().into(),
    })
}
