//! `zkattest demo`: the whole mission on a bundled model, with no arguments: prove an
//! inference as chained shards, aggregate them into one EVM proof, start a local anvil,
//! deploy the verifier and the registry, register the model, submit through the relayer
//! (SQLite queue), wait for confirmation and read the attested output back as a dApp would.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;
use zkattest_chain::anvil::{dev_signer, spawn, AnvilOptions};
use zkattest_chain::attestation::dequantize;
use zkattest_chain::client::{call_tx, connect, send};
use zkattest_chain::deploy::{deploy, register};
use zkattest_chain::query::by_inference_id;
use zkattest_prover::aggregate::{AggregationSettings, CompressionSettings};
use zkattest_prover::artifacts::compiled::CompileOptions;
use zkattest_prover::artifacts::{CompiledModel, SetupInfo};
use zkattest_prover::model::import::tract_float_outputs;
use zkattest_prover::model::input::InputData;
use zkattest_prover::pipeline;
use zkattest_verifier_gen::forge::VERIFIER_SOURCE;

use super::aggregation::{AggArgs, Evm};
use super::chain::{
    block_on, check_root, model_registration, registry_params, via_relayer,
    DEFAULT_VERIFIER_GAS_LIMIT,
};
use super::SrsArgs;
use crate::progress::{bar, spinner};

/// The bundled model: an MLP trained on scikit-learn's 8x8 digits (see models/wide_mlp).
const MODEL: &[u8] = include_bytes!("../../../models/wide_mlp/network.onnx");
const INPUT: &str = include_str!("../../../models/wide_mlp/input.json");
/// Small enough circuits that the bundled model is split into several shards.
const DEMO_MAX_K: u32 = 14;

/// Arguments of `demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Repository root (contracts are built and deployed from there).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Commit to the input with salt 0, so anyone holding the input can recompute the
    /// commitment (as `prove --public-input`); by default the salt is random.
    #[arg(long)]
    pub public_input: bool,
    /// The proof that goes to the EVM (the committed verifier must be the one for it).
    #[arg(long, value_enum, default_value_t = Evm::Wide)]
    pub evm: Evm,
    #[command(flatten)]
    pub srs: SrsArgs,
}

/// What the demo reports (`--json` prints exactly this).
#[derive(Serialize)]
pub struct Report {
    /// The model digest the proof exposes and the registry stores as vkHash.
    pub model_id: String,
    pub registry_model_id: String,
    pub shards: usize,
    pub keygen_s: f64,
    pub prove_s: f64,
    pub aggregate_s: f64,
    pub proof_bytes: usize,
    pub verify_gas: u64,
    pub store_gas: u64,
    pub inference_id: String,
    pub input_commitment: String,
    pub tx_hash: String,
    pub verifier: String,
    pub registry: String,
    pub output: Vec<f64>,
    pub float_output: Vec<f64>,
    pub queried_output: Vec<f64>,
    pub srs: String,
}

struct Proven {
    shards: usize,
    keygen_s: f64,
    prove_s: f64,
    aggregate_s: f64,
    proof: zkattest_prover::artifacts::AggregatedProof,
    outputs: Vec<f64>,
    float_output: Vec<f64>,
    srs: String,
    /// What the registry records, from the demo's own keys.
    registration: pipeline::Registration,
}

/// Proving half: shards, then aggregation. Also checks the committed verifier belongs to
/// this aggregation key (else the chain would reject every proof).
fn prove(
    root: &Path,
    srs: &SrsArgs,
    public_input: bool,
    evm: Evm,
    json: bool,
) -> anyhow::Result<Proven> {
    let dir = tempfile::tempdir()?;
    let onnx = dir.path().join("network.onnx");
    std::fs::write(&onnx, MODEL)?;
    let input = InputData::from_json(INPUT, Path::new("models/wide_mlp/input.json"))?;
    let settings = AggregationSettings::default();
    let options = CompileOptions {
        max_k: DEMO_MAX_K,
        pad_to: Some(settings.shards),
        ..CompileOptions::default()
    };
    let compiled = CompiledModel::compile(&onnx, std::slice::from_ref(&input), &options)?;
    let n = compiled.plan.shards.len();
    let shard_srs = srs.load(compiled.plan.k, json)?;
    let art = dir.path().join("artifacts");
    std::fs::create_dir_all(&art)?;
    compiled.save(&art)?;

    let pb = bar(n, "keygen", json);
    let setup = SetupInfo::run(&compiled, &art, &shard_srs, &|_| pb.inc(1))?;
    pb.finish_and_clear();

    let pb = bar(n, "proving", json);
    let t = Instant::now();
    let salt =
        if public_input { zkattest_prover::Fr::zero() } else { zkattest_prover::random_salt() };
    let (shards, _) =
        pipeline::prove(&compiled, &art, &shard_srs, &input.values, salt, 2, &|_| pb.inc(1))?;
    let prove_s = t.elapsed().as_secs_f64();
    pb.finish_and_clear();

    let agg = AggArgs {
        shards: settings.shards,
        agg_k: settings.k,
        evm,
        thin_k: CompressionSettings::default().k,
    };
    if evm == Evm::Tree {
        bail!("the demo's model fits one aggregation: run it with --evm wide or thin");
    }
    let l = agg.keys(srs, compiled.plan.k, json)?;
    let committed = std::fs::read_to_string(root.join(VERIFIER_SOURCE))
        .with_context(|| format!("reading {VERIFIER_SOURCE}"))?;
    if l.verifier_source(false)? != committed {
        bail!(
            "{VERIFIER_SOURCE} was not generated from this key (another SRS, circuit version or --evm); run `zkattest gen-verifier --evm {}`",
            if evm == Evm::Thin { "thin" } else { "wide" }
        );
    }
    let registration = pipeline::registration(&compiled, &art, &shard_srs)?;
    let pb = spinner("aggregating the shard proofs", json);
    let t = Instant::now();
    let proof = pipeline::aggregate(
        &compiled,
        &art,
        &shard_srs,
        &l.keys,
        &l.agg_srs,
        l.final_proof(),
        &shards,
    )?;
    let aggregate_s = t.elapsed().as_secs_f64();
    pb.finish_and_clear();

    let float_output: Vec<f64> =
        tract_float_outputs(&onnx, &input)?.into_iter().flatten().map(f64::from).collect();
    Ok(Proven {
        shards: n,
        keygen_s: setup.keygen_s.iter().sum(),
        prove_s,
        aggregate_s,
        outputs: shards.outputs,
        float_output,
        srs: l.agg_srs.origin.label(),
        proof,
        registration,
    })
}

pub fn run(a: Args, json: bool) -> anyhow::Result<()> {
    check_root(&a.root)?;
    let p = prove(&a.root, &a.srs, a.public_input, a.evm, json)?;
    let att = zkattest_verifier_gen::attestation::attestation(&p.proof)?;
    let proof_bytes = p.proof.proof.len() / 2;
    let chain_dir = tempfile::tempdir()?;
    let report = block_on(async {
        let pb = spinner("local chain: anvil, deploy, register", json);
        let anvil = spawn(&a.root, &AnvilOptions::default())?;
        let provider = connect(&anvil.endpoint(), dev_signer(&anvil, 0)?).await?;
        let d = deploy(&provider, &a.root, registry_params(DEFAULT_VERIFIER_GAS_LIMIT)).await?;
        let (model_id, _) = register(
            &provider,
            d.registry,
            &model_registration(&p.registration, "zkattest demo: models/wide_mlp")?,
        )
        .await?;
        // What verification alone costs: the proof sent straight to the verifier.
        let verify =
            send(&provider, "verifier call", call_tx(d.verifier, att.proof.clone())).await?;
        pb.finish_and_clear();

        // A fresh bearer token per run (the relayer lives only as long as the demo).
        let token = zkattest_prover::proof::shard_proof::fr_to_hex(&zkattest_prover::random_salt());
        let cfg = zkattest_relayer::Config {
            rpc_url: anvil.endpoint(),
            registry: Some(d.registry),
            database_url: format!("sqlite://{}", chain_dir.path().join("relayer.db").display()),
            listen: "127.0.0.1:0".into(),
            ..zkattest_relayer::Config::default()
        };
        let relayer =
            zkattest_relayer::Service::start_with(cfg, dev_signer(&anvil, 1)?, token.clone())
                .await?;
        let url = format!("http://{}", relayer.addr);
        let sub = via_relayer(&url, &token, model_id, &att, json).await;
        relayer.stop().await;
        let sub = sub?;

        let record = by_inference_id(&provider, d.registry, sub.inference_id)
            .await?
            .context("the registry holds no record for the confirmed inference")?;
        drop(anvil);
        anyhow::Ok(Report {
            model_id: att.vk_hash.to_string(),
            registry_model_id: model_id.to_string(),
            shards: p.shards,
            keygen_s: p.keygen_s,
            prove_s: p.prove_s,
            aggregate_s: p.aggregate_s,
            proof_bytes,
            verify_gas: verify.gas_used,
            store_gas: sub.gas_used.unwrap_or_default(),
            inference_id: sub.inference_id.to_string(),
            input_commitment: att.input_commitment.to_string(),
            tx_hash: sub.tx_hash.map(|h| h.to_string()).unwrap_or_default(),
            verifier: d.verifier.to_string(),
            registry: d.registry.to_string(),
            output: p.outputs.clone(),
            float_output: p.float_output.clone(),
            queried_output: dequantize(&record.values, record.scale_bits),
            srs: p.srs.clone(),
        })
    })??;
    crate::output::print(json, &report, || {
        format!(
            "zkattest demo: digits classifier (scikit-learn 8x8 digits), {} shards, aggregated, attested on a local anvil\n\
             model id        {}\n\
             registry model  {}\n\
             proving         keygen {:.1} s, shards {:.1} s, aggregation {:.1} s\n\
             proof           {} bytes ({} SRS)\n\
             gas             verify {}  verify+store via relayer {}\n\
             inference id    {}\n\
             output          {:?}\n\
             float output    {:?}\n\
             read from chain {:?}",
            report.shards,
            report.model_id,
            report.registry_model_id,
            report.keygen_s,
            report.prove_s,
            report.aggregate_s,
            report.proof_bytes,
            report.srs,
            report.verify_gas,
            report.store_gas,
            report.inference_id,
            report.output,
            report.float_output,
            report.queried_output
        )
    })
}
