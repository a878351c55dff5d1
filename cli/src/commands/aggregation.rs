//! `zkattest aggregate`, `gen-verifier` and `verify-evm`: one EVM proof per inference.

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;
use zkattest_prover::aggregate::tree::{check_tree_shards, load_cached_vks, tree_jobs, LeafKey};
use zkattest_prover::aggregate::{
    AggregationKeys, AggregationSettings, CompressionKeys, CompressionSettings, FinalProof,
    NodeKeys,
};
use zkattest_prover::artifacts::inference::{read_json, write_json};
use zkattest_prover::artifacts::{AggregatedProof, CompiledModel, InferenceProof};
use zkattest_prover::pipeline;
use zkattest_prover::proof::srs::default_cache_dir;
use zkattest_verifier_gen::calldata::encode;
use zkattest_verifier_gen::evm::{deploy_and_call, forge_bytecode, forge_runtime_size};
use zkattest_verifier_gen::forge::{build, verifier_artifact, VERIFIER_SOURCE};
use zkattest_verifier_gen::solidity::{generate, EIP170_LIMIT};

use zkattest_prover::proof::Srs;

use super::SrsArgs;
use crate::progress::bar;

/// Which proof goes to the EVM.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evm {
    /// The aggregation proof itself (6 advice columns at k = 21).
    Wide,
    /// The aggregation proof compressed into a one-column proof (cheaper to verify).
    Thin,
    /// The root of an aggregation tree (leaves of --shards shards under 2-slot nodes): one
    /// verifier for models of any shard count (compile them with --shards N, N whole
    /// leaves of --shards shards, at least two).
    Tree,
}

/// The universal aggregation circuit's shape.
#[derive(clap::Args, Debug, Clone)]
pub struct AggArgs {
    /// Shard proofs per aggregation (models are padded to this many shards).
    #[arg(long, default_value_t = AggregationSettings::default().shards)]
    pub shards: usize,
    /// Rows of the aggregation circuit: 2^agg-k.
    #[arg(long, default_value_t = AggregationSettings::default().k)]
    pub agg_k: u32,
    /// The proof that goes to the EVM, and so the verifier it needs.
    #[arg(long, value_enum, default_value_t = Evm::Wide)]
    pub evm: Evm,
    /// Rows of the compression circuit (with --evm thin): 2^thin-k.
    #[arg(long, default_value_t = CompressionSettings::default().k)]
    pub thin_k: u32,
}

impl AggArgs {
    pub fn settings(&self) -> AggregationSettings {
        AggregationSettings { shards: self.shards, k: self.agg_k }
    }

    pub fn thin_settings(&self) -> CompressionSettings {
        CompressionSettings { k: self.thin_k }
    }

    /// The verifier contract of the final proof from verifying keys in the key cache alone
    /// (`None` when a key is not cached yet).
    pub fn cached_verifier_source(
        &self,
        srs: &SrsArgs,
        json: bool,
    ) -> anyhow::Result<Option<String>> {
        let agg_srs = srs.load(self.agg_k, json)?;
        let Some(wide) = AggregationKeys::load_vk(&default_cache_dir(), self.settings(), &agg_srs)?
        else {
            return Ok(None);
        };
        match self.evm {
            Evm::Wide => return Ok(Some(generate(&agg_srs.params, &wide))),
            Evm::Tree => {
                return Ok(load_cached_vks(&default_cache_dir(), self.settings(), &agg_srs)?
                    .map(|(_, _, node)| generate(&agg_srs.params, &node)));
            }
            Evm::Thin => {}
        }
        let thin_srs = srs.load(self.thin_k, json)?;
        Ok(CompressionKeys::load_vk(
            &default_cache_dir(),
            self.thin_settings(),
            &thin_srs,
            &self.settings(),
            &wide,
        )?
        .map(|vk| generate(&thin_srs.params, &vk)))
    }

    /// Loads (or generates, minutes, once) the aggregation keys and SRSs.
    pub fn keys(&self, srs: &SrsArgs, shard_k: u32, json: bool) -> anyhow::Result<Loaded> {
        let shard_srs = srs.load(shard_k, json)?;
        let agg_srs = srs.load(self.agg_k, json)?;
        let pb = bar(1, "agg keys", json);
        let keys = AggregationKeys::load_or_generate(
            &default_cache_dir(),
            self.settings(),
            &agg_srs,
            &shard_srs,
        )?;
        pb.finish_and_clear();
        let thin = match self.evm {
            Evm::Wide | Evm::Tree => None,
            Evm::Thin => {
                let thin_srs = srs.load(self.thin_k, json)?;
                let pb = bar(1, "compression keys", json);
                let thin = CompressionKeys::load_or_generate(
                    &default_cache_dir(),
                    self.thin_settings(),
                    &thin_srs,
                    &self.settings(),
                    &agg_srs,
                    keys.pk.get_vk(),
                )?;
                pb.finish_and_clear();
                Some((thin, thin_srs))
            }
        };
        Ok(Loaded { shard_srs, agg_srs, keys, thin })
    }
}

/// The keys and SRSs of an aggregation and, with `--evm thin`, of its compression.
pub struct Loaded {
    pub shard_srs: Srs,
    pub agg_srs: Srs,
    pub keys: AggregationKeys,
    pub thin: Option<(CompressionKeys, Srs)>,
}

impl Loaded {
    pub fn final_proof(&self) -> FinalProof<'_> {
        match &self.thin {
            None => FinalProof::Wide,
            Some((keys, srs)) => FinalProof::Thin(keys, srs),
        }
    }

    /// The verifier contract of the final proof (with `tree`, the node's: its keys are made
    /// on first use).
    pub fn verifier_source(&self, tree: bool) -> anyhow::Result<String> {
        if tree {
            let node = NodeKeys::load_or_generate(
                &default_cache_dir(),
                LeafKey::of(&self.keys),
                &self.agg_srs,
            )?;
            return Ok(generate(&self.agg_srs.params, node.pk.get_vk()));
        }
        let f = self.final_proof();
        Ok(generate(&f.srs(&self.agg_srs).params, f.vk(&self.keys)))
    }
}

/// Arguments of `aggregate`.
#[derive(clap::Args, Debug)]
pub struct AggregateArgs {
    /// Artifact folder (compiled with --shards N and set up).
    #[arg(long)]
    pub artifacts: PathBuf,
    /// Shard proofs written by `prove`.
    #[arg(long)]
    pub proof: PathBuf,
    /// Output [default: <proof>.agg.json].
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub agg: AggArgs,
    #[command(flatten)]
    pub srs: SrsArgs,
}

#[derive(Serialize)]
struct AggregateReport {
    proof: PathBuf,
    /// What `register` and `submit` take.
    attestation: PathBuf,
    model_id: String,
    input_commitment: String,
    aggregate_s: f64,
    proof_bytes: usize,
    /// Which verifier the proof is for: `wide`, `thin` or `tree` (`--evm`).
    verifier: &'static str,
}

/// Writes an aggregated proof beside the shard proofs (`<proof>.agg.json` unless `out`) and
/// the attestation `register` and `submit` take (`<proof>.attestation.json`).
pub fn write_aggregated(
    proof: &std::path::Path,
    out: Option<PathBuf>,
    agg: &AggregatedProof,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let out = out.unwrap_or_else(|| proof.with_extension("agg.json"));
    write_json(&out, agg)?;
    let attestation = proof.with_extension("attestation.json");
    zkattest_verifier_gen::attestation::attestation(agg)?.write(&attestation)?;
    Ok((out, attestation))
}

pub fn aggregate(a: AggregateArgs, json: bool) -> anyhow::Result<()> {
    let compiled = CompiledModel::load(&a.artifacts)?;
    let shards: InferenceProof = read_json(&a.proof)?;
    let tree = shards.shards.len() > a.agg.shards || a.agg.evm == Evm::Tree;
    if tree && a.agg.evm == Evm::Thin {
        anyhow::bail!(
            "{} shard proofs need an aggregation tree (more than --shards {}), and the thin layer \
             does not take a tree's root yet: use --evm tree",
            shards.shards.len(),
            a.agg.shards
        );
    }
    if tree {
        // Before minutes of key loading.
        check_tree_shards(shards.shards.len(), a.agg.shards)?;
    }
    let l = a.agg.keys(&a.srs, compiled.plan.k, json)?;
    let t = std::time::Instant::now();
    let agg = if tree {
        let (leaves, nodes) = tree_jobs(shards.shards.len(), a.agg.shards);
        let pb = bar(leaves + nodes, "tree", json);
        let Loaded { shard_srs, agg_srs, keys, .. } = l;
        let agg = pipeline::aggregate_tree(
            &compiled,
            &a.artifacts,
            &shard_srs,
            keys,
            &agg_srs,
            &default_cache_dir(),
            &shards,
            &|_| pb.inc(1),
        )?;
        pb.finish_and_clear();
        agg
    } else {
        let pb = bar(1, "aggregating", json);
        let agg = pipeline::aggregate(
            &compiled,
            &a.artifacts,
            &l.shard_srs,
            &l.keys,
            &l.agg_srs,
            l.final_proof(),
            &shards,
        )?;
        pb.finish_and_clear();
        agg
    };
    let aggregate_s = t.elapsed().as_secs_f64();
    let (out, attestation) = write_aggregated(&a.proof, a.out.clone(), &agg)?;
    let report = AggregateReport {
        proof: out,
        attestation,
        model_id: agg.model_id.clone(),
        input_commitment: agg.input_commitment.clone(),
        aggregate_s,
        proof_bytes: agg.proof.len() / 2,
        verifier: if tree {
            "tree"
        } else if a.agg.evm == Evm::Thin {
            "thin"
        } else {
            "wide"
        },
    };
    crate::output::print(json, &report, || {
        format!(
            "aggregated {} shard proofs{} in {:.1} s -> {} ({} bytes)\n  attestation {}\n  model id {}{}",
            shards.shards.len(),
            if tree { " through a tree" } else { "" },
            report.aggregate_s,
            report.proof.display(),
            report.proof_bytes,
            report.attestation.display(),
            report.model_id,
            if tree { "\n  verify with the tree's verifier: gen-verifier --evm tree" } else { "" }
        )
    })
}

/// Arguments of `gen-verifier`.
#[derive(clap::Args, Debug)]
pub struct GenVerifierArgs {
    /// Repository root holding foundry.toml (the verifier goes to contracts/src/generated/).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Size of the shard SRS used to make the reference shard for keygen.
    #[arg(long, default_value_t = 14)]
    pub shard_k: u32,
    /// Write nothing: fail unless the committed verifier is exactly what the keys generate
    /// (CI; also generates and caches the SRS and the aggregation keys on a cold machine).
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub agg: AggArgs,
    #[command(flatten)]
    pub srs: SrsArgs,
}

#[derive(Serialize)]
struct GenReport {
    source: PathBuf,
    /// False with `--check`: the file was compared, not written.
    written: bool,
    verifier_runtime_bytes: usize,
    eip170_limit: usize,
}

pub fn gen_verifier(a: GenVerifierArgs, json: bool) -> anyhow::Result<()> {
    // A check needs only the verifying key: read it alone when the keys are cached.
    let cached = if a.check { a.agg.cached_verifier_source(&a.srs, json)? } else { None };
    let code = match cached {
        Some(code) => code,
        None => a.agg.keys(&a.srs, a.shard_k, json)?.verifier_source(a.agg.evm == Evm::Tree)?,
    };
    let source = a.root.join(VERIFIER_SOURCE);
    if a.check {
        let committed = std::fs::read_to_string(&source)
            .with_context(|| format!("reading {}", source.display()))?;
        if committed != code {
            anyhow::bail!(
                "{} is not what the current aggregation key generates: regenerate it and the fixtures with scripts/regen-fixtures.sh",
                source.display()
            );
        }
    } else {
        if let Some(dir) = source.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&source, code).with_context(|| format!("writing {}", source.display()))?;
    }
    build(&a.root)?;
    let size = forge_runtime_size(&verifier_artifact(&a.root))?;
    let report = GenReport {
        source,
        written: !a.check,
        verifier_runtime_bytes: size,
        eip170_limit: EIP170_LIMIT,
    };
    crate::output::print(json, &report, || {
        format!(
            "{} {} (runtime {} bytes, EIP-170 limit {})",
            if report.written { "wrote" } else { "checked" },
            report.source.display(),
            report.verifier_runtime_bytes,
            EIP170_LIMIT
        )
    })?;
    if size > EIP170_LIMIT {
        anyhow::bail!("the verifier's runtime code ({size} bytes) exceeds EIP-170");
    }
    Ok(())
}

/// Arguments of `verify-evm`.
#[derive(clap::Args, Debug)]
pub struct VerifyEvmArgs {
    /// Aggregated proof written by `aggregate`.
    #[arg(long)]
    pub proof: PathBuf,
    /// Repository root (the verifier is compiled there with forge).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

#[derive(Serialize)]
struct EvmReport {
    valid: bool,
    verify_gas: u64,
    calldata_bytes: usize,
}

pub fn verify_evm(a: VerifyEvmArgs, json: bool) -> anyhow::Result<()> {
    let agg: AggregatedProof = read_json(&a.proof)?;
    let instances = agg.instances().map_err(anyhow::Error::msg)?;
    let bytes = agg.proof_bytes().map_err(anyhow::Error::msg)?;
    build(&a.root)?;
    let code = forge_bytecode(&verifier_artifact(&a.root))?;
    let calldata = encode(&instances, &bytes);
    let calldata_bytes = calldata.len();
    let gas = deploy_and_call(code, calldata)?;
    let report = EvmReport { valid: true, verify_gas: gas, calldata_bytes };
    crate::output::print(json, &report, || {
        format!("valid in the EVM: {gas} gas (whole transaction), calldata {calldata_bytes} bytes")
    })
}
