//! Relayer throughput on anvil with 1-second blocks, one signer, the real registry and the
//! real aggregated-proof fixture (one registered model per attestation so each is distinct).
//!
//!     cargo bench -p zkattest-relayer --bench throughput [-- N]
//!
//! Prints attestations confirmed per minute and the p50/p99 time from POST to confirmed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy::providers::Provider;
use futures::StreamExt;
use zkattest_chain::anvil::{dev_signer, spawn, AnvilOptions};
use zkattest_chain::client::connect;
use zkattest_chain::deploy::{deploy, register, ModelRegistration};
use zkattest_chain::Attestation;
use zkattest_relayer::job::AttestationRequest;
use zkattest_relayer::store::Store;
use zkattest_relayer::{Config, Service};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// `ZKATTEST_BENCH_SMOKE=1` (the full test tier): the smallest configuration only.
fn smoke() -> bool {
    std::env::var_os("ZKATTEST_BENCH_SMOKE").is_some()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(if smoke() {
        10
    } else {
        400
    });
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let (att, params) = Attestation::fixture(&root)?;
    let anvil = spawn(&root, &AnvilOptions::default())?;
    let p = connect(&anvil.endpoint(), dev_signer(&anvil, 0)?).await?;
    let d = deploy(&p, &root, params).await?;
    let reg = ModelRegistration::of(&att, "bench");
    let mut models = Vec::with_capacity(n);
    for _ in 0..n {
        models.push(register(&p, d.registry, &reg).await?.0);
    }
    // Setup ran on automine; the measurement runs on 1-second blocks.
    let _: serde_json::Value = p.raw_request("evm_setAutomine".into(), (false,)).await?;
    let _: serde_json::Value = p.raw_request("evm_setIntervalMining".into(), (1,)).await?;

    let dir = tempfile::tempdir()?;
    let db = format!("sqlite://{}", dir.path().join("queue.db").display());
    let token = "bench-token-0123456789abcdef".to_string();
    let cfg = Config {
        rpc_url: anvil.endpoint(),
        registry: Some(d.registry),
        database_url: db.clone(),
        listen: "127.0.0.1:0".into(),
        ..Config::default()
    };
    let service = Service::start_with(cfg, dev_signer(&anvil, 1)?, token.clone()).await?;
    let url = format!("http://{}/v1/attestations", service.addr);
    let client = reqwest::Client::new();
    let start = Instant::now();
    let ids: Vec<String> = futures::stream::iter(models.iter())
        .map(|m| {
            let body = AttestationRequest::new(*m, &att);
            let (client, url, token) = (&client, &url, &token);
            async move {
                let v: serde_json::Value =
                    client.post(url).bearer_auth(token).json(&body).send().await?.json().await?;
                Ok::<_, reqwest::Error>(v["id"].as_str().unwrap_or_default().to_string())
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let post_s = start.elapsed().as_secs_f64();
    let store = Store::open(&db).await?;
    loop {
        let counts = store.counts().await?;
        let done: i64 = counts
            .iter()
            .filter(|(s, _)| {
                matches!(
                    s,
                    zkattest_relayer::job::Status::Confirmed
                        | zkattest_relayer::job::Status::Failed
                )
            })
            .map(|(_, n)| n)
            .sum();
        if done as usize >= ids.len() {
            break;
        }
        if start.elapsed() > Duration::from_secs(600) {
            return Err(format!("only {done} of {n} done after 10 minutes").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let wall = start.elapsed().as_secs_f64();
    let lat = store.confirmed_latencies().await?;
    let mut secs: Vec<f64> = lat.iter().map(|(c, f)| (f - c) as f64 / 1e3).collect();
    secs.sort_by(f64::total_cmp);
    let nonce = p.get_transaction_count(dev_signer(&anvil, 1)?.address()).await?;
    service.stop().await;
    println!("relayer throughput (anvil, 1 s blocks, one signer, SQLite queue, real proofs)");
    println!("{:<34} {:>10}", "attestations", n);
    println!("{:<34} {:>10}", "confirmed", secs.len());
    println!("{:<34} {:>10}", "transactions mined from signer", nonce);
    println!("{:<34} {:>10.1}", "all POSTs accepted after (s)", post_s);
    println!("{:<34} {:>10.1}", "wall time to last confirmation (s)", wall);
    println!("{:<34} {:>10.0}", "confirmed per minute", secs.len() as f64 / wall * 60.0);
    if !secs.is_empty() {
        println!("{:<34} {:>10.2}", "POST -> confirmed p50 (s)", percentile(&secs, 0.5));
        println!("{:<34} {:>10.2}", "POST -> confirmed p99 (s)", percentile(&secs, 0.99));
    }
    Ok(())
}
