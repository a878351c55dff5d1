//! `deploy`, `register`, `submit`, `query`, `gas-report`: the chain side of the CLI.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::{B256, U256};
use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Context};
use serde::Serialize;
use zkattest_chain::anvil::{dev_signer, spawn, AnvilOptions};
use zkattest_chain::attestation::dequantize;
use zkattest_chain::client::{connect, connect_read_only};
use zkattest_chain::deploy::{
    deploy_allowing_insecure_srs, register, Deployment, ModelRegistration, RegistryParams,
};
use zkattest_chain::gas::GasReport;
use zkattest_chain::query::{by_inference_id, latest, submit, AttestedRecord};
use zkattest_chain::Attestation;
use zkattest_prover::aggregate::circuit::NUM_ACC_LIMBS;
use zkattest_prover::circuit::instance::MAX_OUTPUTS;

use crate::progress::spinner;

pub use zkattest_chain::deploy::DEFAULT_VERIFIER_GAS_LIMIT;

/// The registry layout for the aggregation circuit this build proves with.
pub fn registry_params(verifier_gas_limit: u64) -> RegistryParams {
    RegistryParams {
        verifier_gas_limit,
        accumulator_limbs: NUM_ACC_LIMBS as u64,
        max_outputs: MAX_OUTPUTS as u64,
    }
}

/// Runs a future on a fresh runtime (the CLI is synchronous elsewhere).
pub fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    Ok(tokio::runtime::Runtime::new().context("starting the async runtime")?.block_on(f))
}

/// Chain connection options.
#[derive(clap::Args, Debug, Clone)]
pub struct ChainArgs {
    /// JSON-RPC endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    pub rpc_url: String,
    /// Environment variable holding the hex private key that signs (never pass keys as
    /// arguments: they show up in process lists).
    #[arg(long, default_value = "ZKATTEST_PRIVATE_KEY")]
    pub key_env: String,
}

impl ChainArgs {
    fn signer(&self) -> anyhow::Result<PrivateKeySigner> {
        let key = std::env::var(&self.key_env).map_err(|_| {
            anyhow::anyhow!(
                "set {} to the signing key (hex); on a local anvil, one of its development keys",
                self.key_env
            )
        })?;
        key.trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{} does not hold a valid hex private key", self.key_env))
    }

    async fn connect(&self) -> anyhow::Result<DynProvider> {
        Ok(connect(&self.rpc_url, self.signer()?).await?)
    }
}

/// Where `deploy` writes, and the other commands read, the contract addresses.
#[derive(clap::Args, Debug, Clone)]
pub struct DeploymentArgs {
    /// Deployment file written by `zkattest deploy`.
    #[arg(long, default_value = "zkattest-deployment.json")]
    pub deployment: PathBuf,
}

impl DeploymentArgs {
    fn load(&self) -> anyhow::Result<Deployment> {
        Deployment::from_file(&self.deployment)
            .with_context(|| "run `zkattest deploy` first, or pass --deployment FILE".to_string())
    }
}

/// Arguments of `deploy`.
#[derive(clap::Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Repository root (forge builds the contracts there when their artifacts are missing).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Where to write the deployment file.
    #[arg(long, default_value = "zkattest-deployment.json")]
    pub out: PathBuf,
    /// Gas the registry gives each verifier call.
    #[arg(long, default_value_t = DEFAULT_VERIFIER_GAS_LIMIT)]
    pub verifier_gas_limit: u64,
    /// Deploy a verifier generated with the INSECURE dev SRS to a chain that is not a local
    /// development chain (31337, 1337). Anyone can forge proofs against such a verifier.
    #[arg(long)]
    pub allow_insecure_srs: bool,
}

pub fn deploy_cmd(a: DeployArgs, json: bool) -> anyhow::Result<()> {
    check_root(&a.root)?;
    let d = block_on(async {
        let p = a.chain.connect().await?;
        let pb = spinner("deploying", json);
        let d = deploy_allowing_insecure_srs(
            &p,
            &a.root,
            registry_params(a.verifier_gas_limit),
            a.allow_insecure_srs,
        )
        .await;
        pb.finish_and_clear();
        anyhow::Ok(d?)
    })??;
    d.write(&a.out)?;
    if d.insecure_srs && !json {
        eprintln!("warning: {}", crate::output::DEV_SRS_WARNING);
    }
    crate::output::print(json, &d, || {
        format!(
            "verifier {} ({} bytes runtime, {} gas){}\nregistry {} ({} gas)\nchain {}; wrote {}",
            d.verifier,
            d.verifier_runtime_bytes,
            d.verifier_deploy_gas,
            if d.insecure_srs { " [dev SRS: INSECURE]" } else { "" },
            d.registry,
            d.registry_deploy_gas,
            d.chain_id,
            a.out.display()
        )
    })
}

/// The repository root must hold foundry.toml (the contracts are built from it).
pub fn check_root(root: &Path) -> anyhow::Result<()> {
    if !root.join("foundry.toml").is_file() {
        bail!(
            "{} is not the zkattest repository root (no foundry.toml); run from the checkout or pass --root",
            root.display()
        );
    }
    Ok(())
}

/// Arguments of `register`.
#[derive(clap::Args, Debug)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// The model's artifact folder (compiled model and verifying keys): the digest, output
    /// scale and descriptive hashes are computed from it, never read from a proof file.
    #[arg(long)]
    pub artifacts: PathBuf,
    /// An attestation to check against the model before registering (optional): one made for
    /// another model, or another output scale, is refused.
    #[arg(long)]
    pub attestation: Option<PathBuf>,
    /// Off-chain metadata URI.
    #[arg(long, default_value = "")]
    pub uri: String,
    /// The deployment verifies aggregation trees (`gen-verifier --evm tree`): register the
    /// id a tree's root carries for this model (leaf and node keys from the key cache).
    #[arg(long)]
    pub tree: bool,
    #[command(flatten)]
    pub srs: super::SrsArgs,
}

#[derive(Serialize)]
struct Registered {
    model_id: String,
    vk_hash: B256,
    output_scale_bits: u8,
    model_hash: B256,
    circuit_hash: B256,
    gas_used: u64,
}

/// The registration of the model set up in `artifacts`, from the owner's own keys.
pub fn registration_of(
    artifacts: &Path,
    srs_args: &super::SrsArgs,
    uri: &str,
    tree: bool,
    json: bool,
) -> anyhow::Result<ModelRegistration> {
    use zkattest_prover::aggregate::tree::{load_cached_vks, LeafKey};
    use zkattest_prover::aggregate::AggregationSettings;
    use zkattest_prover::proof::srs::default_cache_dir;
    let compiled = zkattest_prover::artifacts::CompiledModel::load(artifacts)?;
    let srs = srs_args.load(compiled.plan.k, json)?;
    let mut r = zkattest_prover::pipeline::registration(&compiled, artifacts, &srs)?;
    if tree {
        let settings = AggregationSettings::default();
        let agg_srs = srs_args.load(settings.k, json)?;
        let cache = default_cache_dir();
        let missing = "no cached tree keys: run `zkattest gen-verifier --evm tree` first";
        let (config, leaf_vk, node_vk) =
            load_cached_vks(&cache, settings, &agg_srs)?.context(missing)?;
        let leaf = LeafKey { settings, config, vk: &leaf_vk };
        let vks = (0..compiled.plan.shards.len())
            .map(|i| {
                zkattest_prover::proof::keys::read_vk(&zkattest_prover::artifacts::setup::vk_path(
                    artifacts, i,
                ))
            })
            .collect::<Result<Vec<_>, _>>()?;
        r.model_id =
            zkattest_prover::pipeline::tree_model_id(&vks, &srs, leaf, &node_vk, &agg_srs)?;
    }
    model_registration(&r, uri)
}

/// The registry's form of a registration.
pub fn model_registration(
    r: &zkattest_prover::pipeline::Registration,
    uri: &str,
) -> anyhow::Result<ModelRegistration> {
    Ok(ModelRegistration {
        vk_hash: zkattest_verifier_gen::calldata::word(&r.model_id).into(),
        output_scale_bits: u8::try_from(r.output_scale_bits)
            .with_context(|| format!("output scale 2^{} does not fit a u8", r.output_scale_bits))?,
        model_hash: r.model_sha256.into(),
        circuit_hash: r.circuit_sha256.into(),
        uri: uri.to_string(),
    })
}

pub fn register_cmd(a: RegisterArgs, json: bool) -> anyhow::Result<()> {
    let d = a.deployment.load()?;
    let reg = registration_of(&a.artifacts, &a.srs, &a.uri, a.tree, json)?;
    if let Some(path) = &a.attestation {
        let att = Attestation::from_file(path)?;
        if att.vk_hash != reg.vk_hash || att.output_scale_bits != reg.output_scale_bits {
            bail!(
                "{} is for model {} at output scale 2^{}, but the keys in {} give model {} at 2^{}: not registering",
                path.display(),
                att.vk_hash,
                att.output_scale_bits,
                a.artifacts.display(),
                reg.vk_hash,
                reg.output_scale_bits
            );
        }
    }
    let (id, gas) = block_on(async {
        let p = a.chain.connect().await?;
        anyhow::Ok(register(&p, d.registry, &reg).await?)
    })??;
    let r = Registered {
        model_id: id.to_string(),
        vk_hash: reg.vk_hash,
        output_scale_bits: reg.output_scale_bits,
        model_hash: reg.model_hash,
        circuit_hash: reg.circuit_hash,
        gas_used: gas,
    };
    crate::output::print(json, &r, || {
        format!(
            "registered model {} (vkHash {}, output scale 2^{}, {} gas)",
            r.model_id, r.vk_hash, r.output_scale_bits, r.gas_used
        )
    })
}

/// Arguments of `submit`.
#[derive(clap::Args, Debug)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Registry model id (from `zkattest register`).
    #[arg(long)]
    pub model_id: U256,
    /// Attestation file written by `zkattest aggregate`.
    #[arg(long)]
    pub attestation: PathBuf,
    /// Submit through this relayer instead of sending the transaction directly.
    #[arg(long)]
    pub relayer: Option<String>,
    /// Environment variable holding the relayer's bearer token.
    #[arg(long, default_value = "ZKATTEST_RELAYER_TOKEN")]
    pub token_env: String,
}

/// The result of a submission.
#[derive(Clone, Debug, Serialize)]
pub struct Submission {
    pub inference_id: B256,
    pub tx_hash: Option<B256>,
    pub block_number: Option<u64>,
    pub gas_used: Option<u64>,
    pub relayer_job: Option<String>,
}

pub fn submit_cmd(a: SubmitArgs, json: bool) -> anyhow::Result<()> {
    let d = a.deployment.load()?;
    let att = Attestation::from_file(&a.attestation)?;
    let s = block_on(async {
        match &a.relayer {
            Some(url) => {
                let token = std::env::var(&a.token_env).map_err(|_| {
                    anyhow::anyhow!("set {} to the relayer's bearer token", a.token_env)
                })?;
                via_relayer(url, &token, a.model_id, &att, json).await
            }
            None => {
                let p = a.chain.connect().await?;
                let pb = spinner("submitting", json);
                let s = submit(&p, d.registry, a.model_id, &att).await;
                pb.finish_and_clear();
                let s = s?;
                Ok(Submission {
                    inference_id: s.inference_id,
                    tx_hash: Some(s.tx_hash),
                    block_number: Some(s.block_number),
                    gas_used: Some(s.gas_used),
                    relayer_job: None,
                })
            }
        }
    })??;
    crate::output::print(json, &s, || {
        format!(
            "attested: inference {} (tx {}, {} gas)",
            s.inference_id,
            s.tx_hash.map(|h| h.to_string()).unwrap_or_default(),
            s.gas_used.unwrap_or_default()
        )
    })
}

/// POSTs an attestation to a relayer and waits until it is confirmed.
pub async fn via_relayer(
    url: &str,
    token: &str,
    model_id: U256,
    att: &Attestation,
    json: bool,
) -> anyhow::Result<Submission> {
    let client = reqwest::Client::new();
    let body = zkattest_relayer::job::AttestationRequest::new(model_id, att);
    let base = url.trim_end_matches('/');
    let r = client
        .post(format!("{base}/v1/attestations"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("no relayer at {base}"))?;
    let status = r.status();
    let v: serde_json::Value =
        r.json().await.context("relayer answered with something other than JSON")?;
    if status.as_u16() != 202 {
        bail!("relayer refused the attestation ({status}): {}", v["error"]);
    }
    let id = v["id"].as_str().context("relayer gave no job id")?.to_string();
    let pb = spinner("relaying", json);
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    let done = loop {
        let s: serde_json::Value =
            client.get(format!("{base}/v1/attestations/{id}")).send().await?.json().await?;
        pb.set_message(format!("relaying: {}", s["status"].as_str().unwrap_or("?")));
        match s["status"].as_str() {
            Some("confirmed") => break s,
            Some("failed") => bail!("relayer job {id} failed: {}", s["reason"]),
            _ if std::time::Instant::now() > deadline => {
                bail!("relayer job {id} not confirmed in 10 minutes")
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    };
    pb.finish_and_clear();
    let parse = |k: &str| done[k].as_str().and_then(|s| s.parse::<B256>().ok());
    Ok(Submission {
        inference_id: parse("inference_id").context("confirmed job without inference id")?,
        tx_hash: parse("tx_hash"),
        block_number: done["block_number"].as_u64(),
        gas_used: done["gas_used"].as_u64(),
        relayer_job: Some(id),
    })
}

/// Arguments of `query`.
#[derive(clap::Args, Debug)]
pub struct QueryArgs {
    /// JSON-RPC endpoint (reads only; no key needed).
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    pub rpc_url: String,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Look up by inference id.
    #[arg(long, conflicts_with_all = ["model_id"])]
    pub inference_id: Option<B256>,
    /// Look up the latest record of this model for an input (with --input-commitment or --input).
    #[arg(long)]
    pub model_id: Option<U256>,
    /// The input commitment.
    #[arg(long, conflicts_with = "input")]
    pub input_commitment: Option<B256>,
    /// A local input file: its commitment is recomputed (needs --artifacts, and --opening in
    /// private-input mode) and looked up.
    #[arg(long, requires = "artifacts")]
    pub input: Option<PathBuf>,
    /// Artifact folder of the model (for --input).
    #[arg(long)]
    pub artifacts: Option<PathBuf>,
    /// Opening (salt) written next to the proof by `prove` [default: public-input mode].
    #[arg(long)]
    pub opening: Option<PathBuf>,
}

/// A record as the CLI prints it.
#[derive(Serialize)]
pub struct QueryReport {
    #[serde(flatten)]
    pub record: AttestedRecord,
    pub output: Vec<f64>,
}

/// The commitment of a local input under a model's artifacts.
pub fn recompute_commitment(
    artifacts: &Path,
    input: &Path,
    opening: Option<&Path>,
) -> anyhow::Result<B256> {
    use zkattest_prover::artifacts::inference::{read_json, InputOpening};
    let compiled = zkattest_prover::artifacts::CompiledModel::load(artifacts)?;
    let data = zkattest_prover::model::input::InputData::from_file(input)?;
    let salt = match opening {
        Some(p) => read_json::<InputOpening>(p)?.salt().map_err(anyhow::Error::msg)?,
        None => zkattest_prover::Fr::zero(),
    };
    let c = zkattest_prover::pipeline::commit_input(&compiled, &data.values, salt)?;
    Ok(zkattest_verifier_gen::calldata::word(&c).into())
}

pub fn query_cmd(a: QueryArgs, json: bool) -> anyhow::Result<()> {
    let d = a.deployment.load()?;
    let commitment = match (&a.input_commitment, &a.input, &a.artifacts) {
        (Some(c), _, _) => Some(*c),
        (None, Some(input), Some(artifacts)) => {
            Some(recompute_commitment(artifacts, input, a.opening.as_deref())?)
        }
        _ => None,
    };
    let record = block_on(async {
        let p = connect_read_only(&a.rpc_url).await?;
        anyhow::Ok(match (a.inference_id, a.model_id, commitment) {
            (Some(id), _, _) => by_inference_id(&p, d.registry, id).await?,
            (None, Some(m), Some(c)) => latest(&p, d.registry, m, c).await?,
            _ => bail!("pass --inference-id, or --model-id with --input-commitment or --input"),
        })
    })??;
    let Some(record) = record else {
        match (a.inference_id, commitment) {
            (Some(id), _) => bail!("no attested inference {id}"),
            (None, Some(c)) => bail!("no attested inference for input commitment {c}"),
            _ => bail!("no attested inference found"),
        }
    };
    let report = QueryReport { output: dequantize(&record.values, record.scale_bits), record };
    crate::output::print(json, &report, || {
        let output = match report.record.output_commitment {
            Some(c) => format!("committed (more outputs than the proof shows): {c}"),
            None => format!("{:?}", report.output),
        };
        format!(
            "inference {}\n  model {}  input commitment {}\n  output {output}\n  submitted by {} in block {}",
            report.record.inference_id,
            report.record.model_id,
            report.record.input_commitment,
            report.record.submitter,
            report.record.block_number
        )
    })
}

/// Arguments of `gas-report`.
#[derive(clap::Args, Debug)]
pub struct GasReportArgs {
    /// Repository root.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Attestation to measure [default: the committed real-proof fixture].
    #[arg(long)]
    pub attestation: Option<PathBuf>,
    /// Gas the registry gives each verifier call.
    #[arg(long, default_value_t = DEFAULT_VERIFIER_GAS_LIMIT)]
    pub verifier_gas_limit: u64,
}

use zkattest_chain::attestation::FIXTURE;

pub fn gas_report_cmd(a: GasReportArgs, json: bool) -> anyhow::Result<()> {
    check_root(&a.root)?;
    let path = a.attestation.clone().unwrap_or_else(|| a.root.join(FIXTURE));
    let att = Attestation::from_file(&path)?;
    let r: GasReport = block_on(async {
        let anvil = spawn(&a.root, &AnvilOptions::default())?;
        let p = connect(&anvil.endpoint(), dev_signer(&anvil, 0)?).await?;
        let pb = spinner("measuring", json);
        let r =
            zkattest_chain::gas::report(&p, &a.root, registry_params(a.verifier_gas_limit), &att)
                .await;
        pb.finish_and_clear();
        anyhow::Ok(r?)
    })??;
    crate::output::print(json, &r, || {
        format!(
            "{:<44} {:>12}\n{:<44} {:>12}\n{:<44} {:>12}\n{:<44} {:>12}\n{:<44} {:>12}\n{:<44} {:>12}\n{:<44} {:>12}\n(local anvil; whole transactions: 21,000 base + calldata + execution)",
            "what", "gas",
            "deploy verifier + registry", r.deploy_gas,
            "register model", r.register_model_gas,
            "verify (direct verifier call)", r.verify_gas,
            "verifyAndStoreInference", r.verify_and_store_gas,
            "registry overhead", r.registry_overhead_gas,
            "verifier runtime bytes (EIP-170: 24,576)", r.verifier_runtime_bytes,
        )
    })
}
