//! The chain commands end to end against a real anvil, the real contracts (forge) and the
//! committed real aggregated proof: deploy, register, `relayer serve`, submit through the
//! relayer, query back; gas-report; clear errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use zkattest_chain::anvil::{spawn, AnvilOptions};

mod common;
use common::{root, s, zkattest_json as zkattest, zkattest_ok};

const TOKEN: &str = "cli-test-token-0123456789";

fn fixture() -> PathBuf {
    root().join("contracts/test/fixtures/aggregated_proof.json")
}

fn key(anvil: &alloy::node_bindings::AnvilInstance, i: usize) -> String {
    hex::encode(anvil.nth_key(i).expect("key").to_bytes())
}

struct KillOnDrop(std::process::Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn deploy_register_relay_and_query_a_real_proof() {
    let dir = tempfile::tempdir().expect("tempdir");
    let anvil = spawn(&root(), &AnvilOptions::default()).expect("anvil");
    let rpc = anvil.endpoint();
    let k0 = key(&anvil, 0);
    let owner = [("ZKATTEST_PRIVATE_KEY", k0.as_str())];
    let dep = dir.path().join("deployment.json");

    let (ok, d) =
        zkattest(&["deploy", "--rpc-url", &rpc, "--root", s(&root()), "--out", s(&dep)], &owner);
    assert!(ok, "{d}");
    assert!(d["verifier_runtime_bytes"].as_u64().expect("size") <= 24_576);
    let common = ["--rpc-url", rpc.as_str(), "--deployment", s(&dep)];

    // The owner registers from its own artifacts: the fixture's model, compiled and set up
    // exactly as the fixture was (deterministic keys, hence the same digest).
    let art = dir.path().join("artifacts");
    let digits = root().join("models/digits_mlp");
    let (ok, c) = zkattest(
        &[
            "compile",
            "--model",
            s(&digits.join("network.onnx")),
            "--input",
            s(&digits.join("input.json")),
            "--k",
            &zkattest_verifier_gen::fixture::SHARD_K.to_string(),
            "--shards",
            &zkattest_verifier_gen::fixture::SETTINGS.shards.to_string(),
            // The fixtures were compiled in the resources mode (see `fixture::prove_shards`).
            "--calibration",
            "resources",
            "--out",
            s(&art),
        ],
        &[],
    );
    assert!(ok, "{c}");
    let (ok, st) = zkattest(&["setup", "--artifacts", s(&art)], &[]);
    assert!(ok, "{st}");
    // An attestation that names another digest (here, edited) is not registered: the digest
    // comes from the owner's keys, and the attestation must agree with it.
    let att = zkattest_chain::Attestation::from_file(&fixture()).expect("fixture");
    let mut forged = att.clone();
    forged.vk_hash = alloy::primitives::B256::from(alloy::primitives::U256::from(7u64));
    let forged_path = dir.path().join("forged.attestation.json");
    forged.write(&forged_path).expect("write");
    let register = |attestation: &Path| {
        zkattest(
            &[&["register", "--artifacts", s(&art), "--attestation", s(attestation)][..], &common]
                .concat(),
            &owner,
        )
    };
    let (ok, e) = register(&forged_path);
    assert!(!ok, "an attestation of another digest was registered: {e}");
    assert!(e["error"].as_str().expect("error").contains("not registering"), "{e}");
    let (ok, r) = register(&fixture());
    assert!(ok, "{r}");
    assert_eq!(r["vk_hash"], format!("{}", att.vk_hash), "digest recomputed from the keys");
    assert_ne!(r["model_hash"], format!("{}", alloy::primitives::B256::ZERO));
    assert_ne!(r["circuit_hash"], format!("{}", alloy::primitives::B256::ZERO));
    let model_id = r["model_id"].as_str().expect("model id").to_string();
    let registry = d["registry"].as_str().expect("registry").to_string();

    // A tampered proof, sent directly, is refused with the registry's error. (Before the valid
    // one lands: a replay of a stored inference is answered from the record, see docs/contracts.md.)
    let mut bad = att.clone();
    let mut proof = bad.proof.to_vec();
    let n = proof.len();
    proof[n - 1] ^= 1;
    bad.proof = proof.into();
    let bad_path = dir.path().join("bad.attestation.json");
    bad.write(&bad_path).expect("write");
    let (ok, e) = zkattest(
        &[&["submit", "--model-id", &model_id, "--attestation", s(&bad_path)][..], &common]
            .concat(),
        &owner,
    );
    assert!(!ok);
    assert!(e["error"].as_str().expect("error").contains("InvalidProof"), "{e}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let k1 = key(&anvil, 1);
    let _relayer = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_zkattest"))
            .args(["relayer", "serve"])
            .env("ZKATTEST_RELAYER_RPC_URL", &rpc)
            .env("ZKATTEST_RELAYER_REGISTRY", &registry)
            .env(
                "ZKATTEST_RELAYER_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("q.db").display()),
            )
            .env("ZKATTEST_RELAYER_LISTEN", format!("127.0.0.1:{port}"))
            .env("ZKATTEST_RELAYER_KEY", &k1)
            .env("ZKATTEST_RELAYER_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("relayer"),
    );
    let url = format!("http://127.0.0.1:{port}");
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(30), "relayer did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

    let (ok, sub) = zkattest(
        &[
            &["submit", "--model-id", &model_id, "--attestation", s(&fixture()), "--relayer", &url]
                [..],
            &common,
        ]
        .concat(),
        &[("ZKATTEST_RELAYER_TOKEN", TOKEN)],
    );
    assert!(ok, "{sub}");
    let inference = sub["inference_id"].as_str().expect("inference id").to_string();
    assert!(sub["gas_used"].as_u64().expect("gas") > 300_000);

    let (ok, q) = zkattest(&[&["query", "--inference-id", &inference][..], &common].concat(), &[]);
    assert!(ok, "{q}");
    let (values, scale) = att.output_values().expect("values");
    let expected = zkattest_chain::attestation::dequantize(&values, scale);
    let got: Vec<f64> =
        q["output"].as_array().expect("output").iter().map(|v| v.as_f64().expect("f64")).collect();
    assert_eq!(got, expected);

    let input = att.input_commitment.to_string();
    let (ok, q2) = zkattest(
        &[&["query", "--model-id", &model_id, "--input-commitment", &input][..], &common].concat(),
        &[],
    );
    assert!(ok, "{q2}");
    assert_eq!(q2["inference_id"], q["inference_id"]);
}

#[test]
fn gas_report_json_has_the_auditor_fields() {
    let (ok, r) = zkattest(&["gas-report", "--root", s(&root())], &[]);
    assert!(ok, "{r}");
    for f in [
        "deploy_gas",
        "verify_gas",
        "verify_and_store_gas",
        "registry_overhead_gas",
        "verifier_runtime_bytes",
    ] {
        assert!(r[f].as_u64().is_some_and(|v| v > 0), "{f} missing: {r}");
    }
    assert!(r["verifier_runtime_bytes"].as_u64().expect("size") <= 24_576);
    assert_eq!(
        r["registry_overhead_gas"].as_u64(),
        Some(r["verify_and_store_gas"].as_u64().expect("g") - r["verify_gas"].as_u64().expect("g"))
    );
}

#[test]
fn no_chain_and_no_key_are_clear_errors() {
    // The second URL carries a key in its path, as hosted endpoints do: it never reaches a
    // message, and the host still does.
    for url in ["http://127.0.0.1:9", "http://127.0.0.1:9/v2/SECRETKEY123"] {
        let (ok, e) = zkattest(
            &["deploy", "--rpc-url", url, "--root", s(&root())],
            &[(
                "ZKATTEST_PRIVATE_KEY",
                "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
            )],
        );
        assert!(!ok);
        assert!(!e.to_string().contains("SECRETKEY123"), "the key leaked: {e}");
        let error = e["error"].as_str().expect("error");
        assert!(error.contains("no chain at http://127.0.0.1:9"), "{e}");
    }
    let (ok, e) =
        zkattest(&["deploy", "--root", s(&root()), "--key-env", "ZKATTEST_TEST_UNSET_KEY"], &[]);
    assert!(!ok);
    assert!(e["error"].as_str().expect("error").contains("ZKATTEST_TEST_UNSET_KEY"), "{e}");
    let (ok, e) = zkattest(
        &[
            "query",
            "--deployment",
            "/nonexistent/deployment.json",
            "--inference-id",
            "0x0000000000000000000000000000000000000000000000000000000000000001",
        ],
        &[],
    );
    assert!(!ok);
    assert!(e["error"].as_str().expect("error").contains("zkattest deploy"), "{e}");
}

#[test]
fn query_recomputes_the_input_commitment_from_a_local_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = root().join("models/digits_mlp");
    let art = dir.path().join("art");
    let (ok, c) = zkattest(&["compile", "--model", s(&m), "--out", s(&art)], &[]);
    assert!(ok, "{c}");
    let (ok, st) = zkattest(&["setup", "--artifacts", s(&art)], &[]);
    assert!(ok, "{st}");
    let proof = dir.path().join("p.json");
    let input = m.join("input.json");
    let (ok, p) =
        zkattest(&["prove", "--artifacts", s(&art), "--input", s(&input), "--out", s(&proof)], &[]);
    assert!(ok, "{p}");
    let proven: Value =
        serde_json::from_slice(&std::fs::read(&proof).expect("read")).expect("json");
    // The proof file holds the commitment little-endian; the chain's word is big-endian.
    let mut be =
        hex::decode(proven["input_commitment"].as_str().expect("commitment")).expect("hex");
    be.reverse();

    let anvil = spawn(&root(), &AnvilOptions::default()).expect("anvil");
    let k0 = key(&anvil, 0);
    let dep = dir.path().join("deployment.json");
    let (ok, d) = zkattest(
        &["deploy", "--rpc-url", &anvil.endpoint(), "--root", s(&root()), "--out", s(&dep)],
        &[("ZKATTEST_PRIVATE_KEY", k0.as_str())],
    );
    assert!(ok, "{d}");
    let opening = dir.path().join("p.opening.json");
    let rpc = anvil.endpoint();
    let query = |extra: &[&str]| {
        let base = ["query", "--rpc-url", &rpc, "--deployment", s(&dep), "--model-id", "1"];
        let local = ["--input", s(&input), "--artifacts", s(&art)];
        zkattest(&[&base[..], &local, extra].concat(), &[])
    };
    let (ok, e) = query(&["--opening", s(&opening)]);
    assert!(!ok, "nothing was attested yet: {e}");
    let msg = e["error"].as_str().expect("error");
    assert!(
        msg.contains(&format!("0x{}", hex::encode(&be))),
        "recomputed commitment differs: {msg}"
    );
    // Without the opening (salt) the commitment is a different one.
    let (_, e2) = query(&[]);
    assert!(!e2["error"].as_str().expect("error").contains(&hex::encode(&be)), "{e2}");
}

#[test]
fn unfunded_key_is_a_clear_error() {
    let anvil = spawn(&root(), &AnvilOptions::default()).expect("anvil");
    let (ok, e) = zkattest(
        &["deploy", "--rpc-url", &anvil.endpoint(), "--root", s(&root()), "--out", "/dev/null"],
        // A valid key that anvil never funded.
        &[(
            "ZKATTEST_PRIVATE_KEY",
            "0x00000000000000000000000000000000000000000000000000000000000000aa",
        )],
    );
    assert!(!ok);
    let msg = e["error"].as_str().expect("error").to_lowercase();
    assert!(msg.contains("insufficient funds") && !msg.contains("reverted"), "{msg}");
}

/// The committed verifier is a dev-SRS verifier: `deploy` refuses it on a chain that is not a
/// local development chain (anvil with chain id 1 stands in for mainnet) with a clear message,
/// sends nothing, and deploys it only when explicitly allowed, saying so in `--json`.
#[test]
fn dev_srs_deploy_to_chain_id_1_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = AnvilOptions { chain_id: Some(1), ..AnvilOptions::default() };
    let root = root();
    let anvil = spawn(&root, &opts).expect("anvil");
    let rpc = anvil.endpoint();
    let k0 = key(&anvil, 0);
    let owner = [("ZKATTEST_PRIVATE_KEY", k0.as_str())];
    let dep = dir.path().join("deployment.json");
    let args = ["deploy", "--rpc-url", rpc.as_str(), "--root", s(&root), "--out", s(&dep)];
    let (ok, e) = zkattest(&args, &owner);
    assert!(!ok, "a dev-SRS verifier was deployed to chain 1: {e}");
    let error = e["error"].as_str().expect("error");
    assert!(error.contains("INSECURE dev SRS") && error.contains("chain 1"), "{e}");
    assert!(error.contains("--allow-insecure-srs"), "{e}");
    assert!(!dep.exists(), "a deployment file was written");
    let (ok, d) = zkattest(&[&args[..], &["--allow-insecure-srs"]].concat(), &owner);
    assert!(ok, "{d}");
    assert_eq!(d["insecure_srs"], true, "{d}");
    assert_eq!(d["chain_id"], 1, "{d}");
    let dev = format!("0x{}", zkattest_prover::proof::srs::dev_digest());
    assert_eq!(d["verifier_srs_digest"], dev.as_str(), "the registry reads the verifier's digest");
}

/// A model with more outputs (40) than an aggregated proof shows (30): proven, aggregated and
/// verified in the EVM, then submitted; the registry keeps the proof's commitment to all 40
/// outputs, `query` returns it, and it is the commitment anyone recomputes from the values.
#[test]
#[ignore = "full tier (scripts/test.sh --full): one fresh 2-slot aggregation"]
fn outputs_beyond_the_public_slots_are_attested_by_commitment() {
    use zkattest_prover::artifacts::inference::read_json;
    use zkattest_prover::artifacts::{CompiledModel, InferenceProof};
    let dir = tempfile::tempdir().expect("tempdir");
    let model = root().join("models/many_outputs");
    let art = dir.path().join("art");
    let run = zkattest_ok;
    run(&["compile", "--model", s(&model), "--shards", "2", "--out", s(&art)], &[]);
    run(&["setup", "--artifacts", s(&art)], &[]);
    let proof = dir.path().join("proof.json");
    let input = model.join("input.json");
    run(&["prove", "--artifacts", s(&art), "--input", s(&input), "--out", s(&proof)], &[]);
    let inference: InferenceProof = read_json(&proof).expect("proof.json");
    assert_eq!(inference.outputs_q.len(), 40);
    run(&["aggregate", "--artifacts", s(&art), "--proof", s(&proof)], &[]);
    let agg = dir.path().join("proof.agg.json");
    let evm = run(&["verify-evm", "--proof", s(&agg), "--root", s(&root())], &[]);
    assert_eq!(evm["valid"], true, "{evm}");

    let compiled = CompiledModel::load(&art).expect("compiled");
    let value_bits = compiled.model.settings.value_bits();
    let expected = zkattest_verifier_gen::calldata::word(
        &zkattest_prover::shard::boundary::boundary_commitment(&inference.outputs_q, value_bits),
    );
    let expected = format!("0x{}", hex::encode(expected));

    let anvil = spawn(&root(), &AnvilOptions::default()).expect("anvil");
    let rpc = anvil.endpoint();
    let k0 = key(&anvil, 0);
    let owner = [("ZKATTEST_PRIVATE_KEY", k0.as_str())];
    let dep = dir.path().join("deployment.json");
    run(&["deploy", "--rpc-url", &rpc, "--root", s(&root()), "--out", s(&dep)], &owner);
    let common = ["--rpc-url", rpc.as_str(), "--deployment", s(&dep)];
    let attestation = dir.path().join("proof.attestation.json");
    let r = run(
        &[&["register", "--artifacts", s(&art), "--attestation", s(&attestation)][..], &common]
            .concat(),
        &owner,
    );
    let model_id = r["model_id"].as_str().expect("model id").to_string();
    let sub = run(
        &[&["submit", "--model-id", &model_id, "--attestation", s(&attestation)][..], &common]
            .concat(),
        &owner,
    );
    let id = sub["inference_id"].as_str().expect("inference id").to_string();
    let q = run(&[&["query", "--inference-id", &id][..], &common].concat(), &[]);
    assert_eq!(q["output_commitment"], expected.as_str(), "{q}");
    assert_eq!(q["values"].as_array().map(Vec::len), Some(0), "{q}");
}
