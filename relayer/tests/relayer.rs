//! The relayer's fault suite, against a real anvil, the real registry and verifier, a real
//! aggregated proof (the committed fixture), and the relayer as its own process. Every
//! scenario runs on SQLite and on PostgreSQL (`ZKATTEST_TEST_POSTGRES_URL`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use serde_json::{json, Value};
use sqlx::Row;
use zkattest_chain::anvil::{dev_signer, spawn, AnvilOptions};
use zkattest_chain::client::connect;
use zkattest_chain::deploy::{deploy, register, Deployment, ModelRegistration, RegistryParams};
use zkattest_chain::query::by_inference_id;
use zkattest_chain::Attestation;
use zkattest_relayer::job::AttestationRequest;

const TOKEN: &str = "test-token-0123456789abcdef";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture() -> (Attestation, RegistryParams) {
    Attestation::fixture(&root()).expect("real-proof fixture")
}

/// Which queue backend a scenario runs on.
#[derive(Clone, Copy, Debug)]
enum Db {
    Sqlite,
    Postgres,
}

/// A queue for one test: a SQLite file, or a fresh PostgreSQL schema.
struct Queue {
    url: String,
    schema: Option<zkattest_testkit::PgSchema>,
}

impl Queue {
    async fn new(db: Db, dir: &Path, name: &str) -> Self {
        match db {
            Db::Sqlite => {
                Queue { url: format!("sqlite://{}", dir.join("queue.db").display()), schema: None }
            }
            Db::Postgres => {
                let pg = zkattest_testkit::PgSchema::create(&format!("relayer_{name}")).await;
                Queue { url: pg.url.clone(), schema: Some(pg) }
            }
        }
    }

    /// Transactions the relayer signed for a job: (hash, nonce, max fee).
    async fn txs(&self, job: B256) -> Vec<(B256, u64, u128)> {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.url).await.expect("queue db");
        let rows = sqlx::query(
            "SELECT hash, nonce, max_fee FROM relayer_txs WHERE job_id = $1 ORDER BY sent_ms",
        )
        .bind(job.to_string())
        .fetch_all(&pool)
        .await
        .expect("select");
        rows.iter()
            .map(|r| {
                (
                    r.get::<String, _>("hash").parse().expect("hash"),
                    r.get::<i64, _>("nonce") as u64,
                    r.get::<String, _>("max_fee").parse().expect("fee"),
                )
            })
            .collect()
    }

    async fn drop_schema(&self) {
        if let Some(pg) = &self.schema {
            pg.drop_schema().await;
        }
    }
}

/// anvil + verifier + registry + `models` registrations of the fixture's model digest (the
/// same proof is then a distinct attestation under each model id).
struct World {
    anvil: Option<AnvilInstance>,
    port: u16,
    state: PathBuf,
    provider: DynProvider,
    deployment: Deployment,
    attestation: Attestation,
    models: Vec<U256>,
    relayer_key: String,
    relayer_address: Address,
    dir: tempfile::TempDir,
    queue: Queue,
    relayer: Option<Child>,
    relayer_port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl World {
    async fn new(db: Db, name: &str, models: usize, block_time: Option<u64>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let state = dir.path().join("anvil-state.json");
        let anvil = spawn(
            &root(),
            &AnvilOptions {
                port: Some(port),
                block_time,
                state: Some(state.clone()),
                gas_limit: None,
                chain_id: None,
            },
        )
        .expect("anvil");
        let provider =
            connect(&anvil.endpoint(), dev_signer(&anvil, 0).expect("key")).await.expect("connect");
        let (attestation, params) = fixture();
        let deployment = deploy(&provider, &root(), params).await.expect("deploy");
        let reg = ModelRegistration::of(&attestation, "relayer test");
        let mut ids = Vec::new();
        for _ in 0..models {
            ids.push(register(&provider, deployment.registry, &reg).await.expect("register").0);
        }
        let relayer_signer = dev_signer(&anvil, 1).expect("key 1");
        let relayer_key = hex::encode(relayer_signer.to_bytes());
        let queue = Queue::new(db, dir.path(), name).await;
        World {
            anvil: Some(anvil),
            port,
            state,
            provider,
            deployment,
            attestation,
            models: ids,
            relayer_key,
            relayer_address: relayer_signer.address(),
            dir,
            queue,
            relayer: None,
            relayer_port: free_port(),
        }
    }

    fn rpc(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.relayer_port)
    }

    /// Starts the relayer process and waits for `/healthz`.
    async fn start_relayer(&mut self, extra: &[(&str, &str)]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("relayer.log"))
            .expect("log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkattest-relayer"));
        cmd.env("ZKATTEST_RELAYER_RPC_URL", self.rpc())
            .env("ZKATTEST_RELAYER_REGISTRY", self.deployment.registry.to_string())
            .env("ZKATTEST_RELAYER_DATABASE_URL", &self.queue.url)
            .env("ZKATTEST_RELAYER_LISTEN", format!("127.0.0.1:{}", self.relayer_port))
            .env("ZKATTEST_RELAYER_POLL_INTERVAL_MS", "100")
            .env("ZKATTEST_RELAYER_KEY", &self.relayer_key)
            .env("ZKATTEST_RELAYER_TOKEN", TOKEN)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        self.relayer = Some(cmd.spawn().expect("relayer process"));
        let client = reqwest::Client::new();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(30) {
            if client
                .get(format!("{}/healthz", self.base()))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("relayer did not come up:\n{}", self.log());
    }

    fn kill_relayer(&mut self) {
        if let Some(mut c) = self.relayer.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("relayer.log")).unwrap_or_default()
    }

    fn body(&self, model: usize) -> Value {
        serde_json::to_value(AttestationRequest::new(self.models[model], &self.attestation))
            .expect("json")
    }

    async fn post(&self, body: &Value) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/v1/attestations", self.base()))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .expect("post");
        (r.status().as_u16(), r.json().await.expect("json"))
    }

    async fn status(&self, id: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}/v1/attestations/{id}", self.base()))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json")
    }

    /// Polls until every job is `confirmed` (panics on `failed` or timeout).
    async fn wait_confirmed(&self, ids: &[String], timeout: Duration) -> Vec<Value> {
        let t = Instant::now();
        loop {
            let mut all = Vec::new();
            for id in ids {
                let s = self.status(id).await;
                assert_ne!(s["status"], "failed", "job failed: {s}\n{}", self.log());
                all.push(s);
            }
            if all.iter().all(|s| s["status"] == "confirmed") {
                return all;
            }
            assert!(
                t.elapsed() < timeout,
                "not all confirmed in {timeout:?}: {all:?}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn wait_status(&self, id: &str, want: &str, timeout: Duration) -> Value {
        let t = Instant::now();
        loop {
            let s = self.status(id).await;
            if s["status"] == want {
                return s;
            }
            assert!(t.elapsed() < timeout, "job never {want}: {s}\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The fault must strike mid-flight: some job still unconfirmed.
    async fn assert_in_flight(&self, ids: &[String]) {
        let mut open = 0;
        for id in ids {
            if self.status(id).await["status"] != "confirmed" {
                open += 1;
            }
        }
        assert!(open > 0, "every job already confirmed before the fault");
    }

    async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.base()))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    async fn signer_nonce(&self) -> u64 {
        self.provider.get_transaction_count(self.relayer_address).await.expect("nonce")
    }

    /// Each job's record is in the registry, and exactly `ids.len()` transactions were mined
    /// from the relayer's account with consecutive nonces.
    async fn assert_exactly_once(&self, confirmed: &[Value]) {
        assert_eq!(
            self.signer_nonce().await,
            confirmed.len() as u64,
            "one mined transaction per job\n{}",
            self.log()
        );
        let mut nonces = Vec::new();
        let mut inference_ids = std::collections::HashSet::new();
        for s in confirmed {
            // Without a hash the job was confirmed from its registry record (the node lost the
            // receipt); the signer's nonce above still counts its transaction.
            if let Some(hash) = s["tx_hash"].as_str() {
                let hash: B256 = hash.parse().expect("hash");
                let tx = self
                    .provider
                    .get_transaction_by_hash(hash)
                    .await
                    .expect("rpc")
                    .expect("mined tx");
                nonces.push(alloy::consensus::Transaction::nonce(&tx));
            } else {
                assert!(
                    s["reason"].as_str().is_some_and(|r| r.contains("registry record")),
                    "confirmed without a transaction hash or a reason: {s}"
                );
            }
            let id: B256 = s["inference_id"].as_str().expect("inference id").parse().expect("id");
            assert!(inference_ids.insert(id), "duplicate inference id {id}");
            let rec = by_inference_id(&self.provider, self.deployment.registry, id)
                .await
                .expect("query")
                .expect("record on chain");
            assert_eq!(rec.input_commitment, self.attestation.input_commitment);
        }
        nonces.sort_unstable();
        let before = nonces.len();
        nonces.dedup();
        assert_eq!(nonces.len(), before, "two jobs share a nonce: {nonces:?}");
        assert!(nonces.iter().all(|n| *n < confirmed.len() as u64), "nonce gap: {nonces:?}");
    }

    /// Stops anvil with SIGTERM (it dumps its state file and exits).
    fn stop_anvil(&mut self) {
        let anvil = self.anvil.take().expect("anvil");
        let pid = anvil.child().id();
        let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        let t = Instant::now();
        while std::path::Path::new(&format!("/proc/{pid}")).exists()
            && t.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(anvil);
    }

    /// Starts anvil again on the same port from the state file.
    fn restart_anvil(&mut self) {
        self.anvil = Some(
            spawn(
                &root(),
                &AnvilOptions {
                    port: Some(self.port),
                    block_time: Some(1),
                    state: Some(self.state.clone()),
                    gas_limit: None,
                    chain_id: None,
                },
            )
            .expect("anvil restart"),
        );
    }

    async fn finish(mut self) {
        self.kill_relayer();
        self.queue.drop_schema().await;
    }
}

async fn post_all(w: &World, n: usize) -> Vec<String> {
    let posts = futures::future::join_all((0..n).map(|i| {
        let body = w.body(i);
        async move { w.post(&body).await }
    }))
    .await;
    posts
        .into_iter()
        .map(|(code, v)| {
            assert_eq!(code, 202, "{v}");
            v["id"].as_str().expect("id").to_string()
        })
        .collect()
}

async fn happy_path(db: Db) {
    let mut w = World::new(db, "happy", 1, None).await;
    w.start_relayer(&[]).await;
    let (code, v) = w.post(&w.body(0)).await;
    assert_eq!(code, 202, "{v}");
    assert_eq!(v["duplicate"], false);
    let id = v["id"].as_str().expect("id").to_string();
    let (code, again) = w.post(&w.body(0)).await;
    assert_eq!(
        (code, again["id"].as_str(), again["duplicate"].as_bool()),
        (202, Some(id.as_str()), Some(true))
    );
    let done = w.wait_confirmed(std::slice::from_ref(&id), Duration::from_secs(60)).await;
    assert!(done[0]["gas_used"].as_u64().expect("gas") > 300_000, "{}", done[0]);
    w.assert_exactly_once(&done).await;
    let rec = by_inference_id(
        &w.provider,
        w.deployment.registry,
        done[0]["inference_id"].as_str().expect("id").parse().expect("id"),
    )
    .await
    .expect("query")
    .expect("record");
    assert_eq!((rec.values, rec.scale_bits), w.attestation.output_values().expect("output"));
    let metrics = w.metrics().await;
    assert!(metrics.contains("zkattest_relayer_confirmations_total 1"), "{metrics}");
    assert!(metrics.contains("zkattest_relayer_jobs{status=\"confirmed\"} 1"), "{metrics}");
    w.finish().await;
}

async fn fifty_concurrent(db: Db) {
    let mut w = World::new(db, "fifty", 50, None).await;
    w.start_relayer(&[]).await;
    let ids = post_all(&w, 50).await;
    let done = w.wait_confirmed(&ids, Duration::from_secs(240)).await;
    w.assert_exactly_once(&done).await;
    w.finish().await;
}

async fn anvil_restart(db: Db) {
    let mut w = World::new(db, "anvil", 8, Some(1)).await;
    w.start_relayer(&[("ZKATTEST_RELAYER_CONFIRMATIONS", "2")]).await;
    let ids = post_all(&w, 8).await;
    w.wait_status(&ids[0], "submitted", Duration::from_secs(30)).await;
    w.assert_in_flight(&ids).await;
    // SIGTERM: anvil dumps its state (mined blocks; not its mempool) and exits.
    w.stop_anvil();
    tokio::time::sleep(Duration::from_secs(2)).await;
    w.restart_anvil();
    let done = w.wait_confirmed(&ids, Duration::from_secs(180)).await;
    w.assert_exactly_once(&done).await;
    w.finish().await;
}

/// The node comes back with the state of the block that mined the jobs (nonces spent, records
/// written) but without the receipts: what a state dump taken mid-block leaves. Sending again
/// would attest every job twice; the relayer must confirm them from the registry instead.
async fn node_loses_receipts_but_keeps_state(db: Db) {
    let mut w = World::new(db, "receipts", 4, Some(1)).await;
    w.start_relayer(&[("ZKATTEST_RELAYER_CONFIRMATIONS", "4")]).await;
    let ids = post_all(&w, 4).await;
    let t = Instant::now();
    loop {
        let mut included = 0;
        for id in &ids {
            let s = w.status(id).await;
            assert_ne!(s["status"], "confirmed", "confirmed before the fault: {s}\n{}", w.log());
            included += usize::from(s["block_number"].is_u64());
        }
        if included == ids.len() {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "never included\n{}", w.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    w.stop_anvil();
    let mut state: Value =
        serde_json::from_slice(&std::fs::read(&w.state).expect("state file")).expect("state json");
    let ours = format!("{:#x}", w.relayer_address);
    let txs = state["transactions"].as_array_mut().expect("transactions in the state file");
    let before = txs.len();
    txs.retain(|t| !t["info"]["from"].as_str().is_some_and(|f| f.eq_ignore_ascii_case(&ours)));
    assert_eq!(before - txs.len(), ids.len(), "one mined transaction per job before the fault");
    std::fs::write(&w.state, serde_json::to_vec(&state).expect("json")).expect("write state");
    w.restart_anvil();
    assert_eq!(w.signer_nonce().await, ids.len() as u64, "the restarted node keeps the nonces");
    let done = w.wait_confirmed(&ids, Duration::from_secs(120)).await;
    for s in &done {
        assert!(s["tx_hash"].is_null(), "no receipt exists, yet a hash was claimed: {s}");
    }
    w.assert_exactly_once(&done).await;
    let metrics = w.metrics().await;
    assert!(metrics.contains("zkattest_relayer_confirmed_from_record_total 4"), "{metrics}");
    w.finish().await;
}

async fn relayer_restart(db: Db) {
    let mut w = World::new(db, "relayer", 8, Some(1)).await;
    w.start_relayer(&[]).await;
    let ids = post_all(&w, 8).await;
    w.wait_status(&ids[0], "submitted", Duration::from_secs(30)).await;
    w.assert_in_flight(&ids).await;
    w.kill_relayer();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    w.start_relayer(&[]).await;
    let done = w.wait_confirmed(&ids, Duration::from_secs(180)).await;
    w.assert_exactly_once(&done).await;
    w.finish().await;
}

async fn stuck_transaction_is_bumped(db: Db) {
    let mut w = World::new(db, "bump", 1, None).await;
    let _: Value =
        w.provider.raw_request("evm_setAutomine".into(), (false,)).await.expect("pause mining");
    w.start_relayer(&[("ZKATTEST_RELAYER_BUMP_AFTER_MS", "1000")]).await;
    let (_, v) = w.post(&w.body(0)).await;
    let id = v["id"].as_str().expect("id").to_string();
    let job: B256 = id.parse().expect("id");
    let t = Instant::now();
    while w.queue.txs(job).await.len() < 2 {
        assert!(t.elapsed() < Duration::from_secs(30), "never bumped\n{}", w.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _: Value = w.provider.raw_request("evm_mine".into(), ()).await.expect("mine");
    let done = w.wait_confirmed(std::slice::from_ref(&id), Duration::from_secs(60)).await;
    w.assert_exactly_once(&done).await;
    let txs = w.queue.txs(job).await;
    assert!(txs.iter().all(|t| t.1 == txs[0].1), "replacements reuse the nonce: {txs:?}");
    let mined: B256 = done[0]["tx_hash"].as_str().expect("hash").parse().expect("hash");
    let mined_fee = txs.iter().find(|t| t.0 == mined).expect("mined tx is ours").2;
    assert!(mined_fee * 100 >= txs[0].2 * 110, "mined {mined_fee} vs first {}", txs[0].2);
    assert_ne!(mined, txs[0].0, "the bumped transaction was mined, not the first");
    w.finish().await;
}

async fn reorg_sends_the_job_back_and_it_lands_once(db: Db) {
    let mut w = World::new(db, "reorg", 1, None).await;
    let snapshot: Value =
        w.provider.raw_request("evm_snapshot".into(), ()).await.expect("snapshot");
    w.start_relayer(&[("ZKATTEST_RELAYER_CONFIRMATIONS", "4")]).await;
    let (_, v) = w.post(&w.body(0)).await;
    let id = v["id"].as_str().expect("id").to_string();
    // Included (automine) but not yet 4 blocks deep.
    let t = Instant::now();
    loop {
        let s = w.status(&id).await;
        if s["block_number"].as_u64().is_some() {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "never included: {s}\n{}", w.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(w.status(&id).await["status"], "submitted");
    // The chain forgets the block: the receipt disappears.
    let reverted: bool =
        w.provider.raw_request("evm_revert".into(), (snapshot,)).await.expect("revert");
    assert!(reverted);
    let t = Instant::now();
    let confirmed = loop {
        let _: Value = w.provider.raw_request("evm_mine".into(), ()).await.expect("mine");
        let s = w.status(&id).await;
        assert_ne!(s["status"], "failed", "{s}\n{}", w.log());
        if s["status"] == "confirmed" {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "not confirmed after the reorg: {s}\n{}",
            w.log()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    w.assert_exactly_once(std::slice::from_ref(&confirmed)).await;
    let metrics = w.metrics().await;
    assert!(
        !metrics.contains("zkattest_relayer_reorgs_total 0"),
        "the reorg went unseen: {metrics}"
    );
    w.finish().await;
}

async fn invalid_proof_fails_without_a_transaction(db: Db) {
    let mut w = World::new(db, "invalid", 1, None).await;
    w.start_relayer(&[]).await;
    let mut body = w.body(0);
    let mut proof = w.attestation.proof.to_vec();
    let last = proof.len() - 1;
    proof[last] ^= 1;
    body["proof"] = json!(format!("0x{}", hex::encode(proof)));
    let (code, v) = w.post(&body).await;
    assert_eq!(code, 202, "{v}");
    let s = w.wait_status(v["id"].as_str().expect("id"), "failed", Duration::from_secs(30)).await;
    assert!(s["reason"].as_str().expect("reason").contains("InvalidProof"), "{s}");
    assert_eq!(s["transactions"], 0);
    assert_eq!(w.signer_nonce().await, 0, "no transaction was sent");
    w.finish().await;
}

async fn bad_requests_are_refused_and_nothing_is_queued(db: Db) {
    let mut w = World::new(db, "badreq", 1, None).await;
    w.start_relayer(&[]).await;
    let url = format!("{}/v1/attestations", w.base());
    let c = reqwest::Client::new();
    let r = c.post(&url).json(&w.body(0)).send().await.expect("post");
    assert_eq!(r.status().as_u16(), 401);
    let r = c
        .post(&url)
        .bearer_auth("wrong-token-0123456789")
        .json(&w.body(0))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 401);
    let r = c.post(&url).bearer_auth(TOKEN).body("{not json").send().await.expect("post");
    assert_eq!(r.status().as_u16(), 400);
    let mut b = w.body(0);
    b["input_commitment"] = json!("0x1234");
    let r = c.post(&url).bearer_auth(TOKEN).json(&b).send().await.expect("post");
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.expect("text").contains("input_commitment"));
    let huge = json!({ "model_id": "1", "input_commitment": "0x00", "output": "0x00", "proof": format!("0x{}", "00".repeat(400_000)) });
    let r = c.post(&url).bearer_auth(TOKEN).json(&huge).send().await.expect("post");
    assert_eq!(r.status().as_u16(), 413);
    // The server closes the connection after refusing the body: use a fresh one.
    let c = reqwest::Client::new();
    let r = c
        .get(format!("{}/v1/attestations/0x{}", w.base(), "00".repeat(32)))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 404);
    let metrics = w.metrics().await;
    assert!(metrics.contains("zkattest_relayer_accepted_total 0"), "{metrics}");
    assert!(!metrics.contains("zkattest_relayer_jobs{status=\"queued\"} 1"), "{metrics}");
    w.finish().await;
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Db::Postgres).await })*
        }
    };
}

on_both_databases!(
    happy_path,
    fifty_concurrent,
    anvil_restart,
    node_loses_receipts_but_keeps_state,
    relayer_restart,
    stuck_transaction_is_bumped,
    reorg_sends_the_job_back_and_it_lands_once,
    invalid_proof_fails_without_a_transaction,
    bad_requests_are_refused_and_nothing_is_queued,
);

/// On a chain that is not a local development chain (anvil with chain id 1 stands in for
/// mainnet), a registry whose verifier pairs against the dev SRS is refused at start, before
/// any job is taken; an operator who really means it can allow it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_srs_verifier_on_a_real_chain_id_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = AnvilOptions { chain_id: Some(1), ..AnvilOptions::default() };
    let anvil = spawn(&root(), &opts).expect("anvil");
    let provider =
        connect(&anvil.endpoint(), dev_signer(&anvil, 0).expect("key")).await.expect("connect");
    let (_, params) = fixture();
    let refused = deploy(&provider, &root(), params).await;
    assert!(
        matches!(refused, Err(zkattest_chain::ChainError::InsecureSrs { chain_id: 1 })),
        "{refused:?}"
    );
    let deployment =
        zkattest_chain::deploy::deploy_allowing_insecure_srs(&provider, &root(), params, true)
            .await
            .expect("deploy, explicitly allowed");
    let cfg = |allow: bool| zkattest_relayer::Config {
        rpc_url: anvil.endpoint(),
        registry: Some(deployment.registry),
        database_url: format!("sqlite://{}", dir.path().join(format!("r{allow}.db")).display()),
        listen: "127.0.0.1:0".into(),
        allow_insecure_srs: allow,
        ..zkattest_relayer::Config::default()
    };
    let signer = dev_signer(&anvil, 1).expect("key 1");
    match zkattest_relayer::Service::start_with(cfg(false), signer.clone(), "t".repeat(24)).await {
        Err(zkattest_relayer::RelayerError::Chain(zkattest_chain::ChainError::InsecureSrs {
            chain_id: 1,
        })) => {}
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(s) => {
            s.stop().await;
            panic!("a relayer started against a dev-SRS verifier on chain 1")
        }
    }
    let allowed = zkattest_relayer::Service::start_with(cfg(true), signer, "t".repeat(24))
        .await
        .expect("explicitly allowed");
    allowed.stop().await;
}
