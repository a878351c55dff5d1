//! The `zkattest` binary end to end: compile, setup, prove, verify with `--json`, and
//! clear errors on bad input.

use std::path::PathBuf;

use serde_json::Value;

mod common;
use common::{s, zkattest_with_stderr};

fn zkattest(args: &[&str]) -> (bool, Value, String) {
    zkattest_with_stderr(args, &[])
}

fn model(name: &str) -> PathBuf {
    common::root().join("models").join(name)
}

#[test]
fn compile_setup_prove_verify_roundtrip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let art = dir.path().join("art");
    let m = model("digits_cnn");
    let (ok, c, err) = zkattest(&["compile", "--model", s(&m), "--out", s(&art)]);
    assert!(ok, "compile failed: {c} {err}");
    assert_eq!(c["shards"], 1);
    assert!(c["macs"].as_u64().expect("macs") > 1000);

    let (ok, setup, err) = zkattest(&["setup", "--artifacts", s(&art)]);
    assert!(ok, "setup failed: {setup} {err}");
    let dev = zkattest_prover::proof::srs::dev_digest();
    let says_dev = |v: &Value, what: &str| {
        assert_eq!(v["insecure_srs"], true, "{what}: {v}");
        assert_eq!(v["srs_digest"], dev.as_str(), "{what}: {v}");
        assert!(v["srs_warning"].as_str().is_some_and(|w| w.contains("INSECURE")), "{what}: {v}");
    };
    says_dev(&setup, "setup");
    let info: Value =
        serde_json::from_slice(&std::fs::read(art.join("keys/setup.json")).expect("setup.json"))
            .expect("json");
    assert_eq!(info["srs_digest"], dev.as_str());
    assert_eq!(info["insecure_srs"], true);

    let proof = dir.path().join("p.json");
    let input = m.join("input.json");
    let (ok, p, err) =
        zkattest(&["prove", "--artifacts", s(&art), "--input", s(&input), "--out", s(&proof)]);
    assert!(ok, "prove failed: {p} {err}");
    assert_eq!(p["outputs"].as_array().expect("outputs").len(), 10);
    assert!(p.get("labels").is_none(), "a model without class names shows none: {p}");
    assert!(dir.path().join("p.opening.json").is_file());
    says_dev(&p, "prove");

    let (ok, v, err) = zkattest(&["verify", "--artifacts", s(&art), "--proof", s(&proof)]);
    assert!(ok, "verify failed: {v} {err}");
    assert_eq!(v["valid"], true);
    says_dev(&v, "verify");

    // The real-valued outputs `verify` prints are checked too: an edited one is not "valid".
    let mut doc: Value =
        serde_json::from_slice(&std::fs::read(&proof).expect("read")).expect("json");
    let first = doc["outputs"][0].as_f64().expect("output");
    doc["outputs"][0] = Value::from(first + 100.0);
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, doc.to_string()).expect("write");
    let (ok, v, _) = zkattest(&["verify", "--artifacts", s(&art), "--proof", s(&edited)]);
    assert!(!ok, "an edited output verified: {v}");
    assert!(v["error"].as_str().expect("error").contains("real-valued outputs"), "{v}");

    // A tampered proof file is rejected with a reason and a failing exit status.
    let mut doc: Value =
        serde_json::from_slice(&std::fs::read(&proof).expect("read")).expect("json");
    let hexproof = doc["shards"][0]["proof"].as_str().expect("hex").to_string();
    let flipped = if hexproof.as_bytes()[200] == b'0' { "1" } else { "0" };
    let tampered = format!("{}{}{}", &hexproof[..200], flipped, &hexproof[201..]);
    doc["shards"][0]["proof"] = Value::String(tampered);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, doc.to_string()).expect("write");
    let (ok, v, _) = zkattest(&["verify", "--artifacts", s(&art), "--proof", s(&bad)]);
    assert!(!ok);
    assert!(v["error"].as_str().expect("error").contains("rejected"), "{v}");
}

/// Shard proofs that do not fill a tree's leaves, or a tree asked of the thin layer, stop
/// `aggregate` with the option that fixes it, before any key is loaded.
#[test]
fn aggregate_names_the_shard_count_a_tree_needs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let art = dir.path().join("art");
    let m = model("digits_cnn");
    let (ok, c, err) = zkattest(&["compile", "--model", s(&m), "--shards", "3", "--out", s(&art)]);
    assert!(ok, "compile failed: {c} {err}");
    assert_eq!(c["shards"], 3);
    let (ok, v, err) = zkattest(&["setup", "--artifacts", s(&art)]);
    assert!(ok, "setup failed: {v} {err}");
    let proof = dir.path().join("p.json");
    let input = m.join("input.json");
    let (ok, p, err) =
        zkattest(&["prove", "--artifacts", s(&art), "--input", s(&input), "--out", s(&proof)]);
    assert!(ok, "prove failed: {p} {err}");
    let aggregate = |extra: &[&str]| {
        let mut args = vec!["aggregate", "--artifacts", s(&art), "--proof", s(&proof)];
        args.extend_from_slice(extra);
        let (ok, v, _) = zkattest(&args);
        assert!(!ok, "aggregate of 3 shards succeeded: {v}");
        v["error"].as_str().expect("error").to_string()
    };
    let e = aggregate(&[]);
    assert!(e.contains("3 shard proofs do not fill a tree") && e.contains("--shards 4"), "{e}");
    let e = aggregate(&["--evm", "thin"]);
    assert!(e.contains("--evm tree"), "{e}");
}

/// A scikit-learn classifier trained on string labels: `prove` and `verify` name the proven
/// class beside its index.
#[test]
fn string_labels_are_named_by_prove_and_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let art = dir.path().join("art");
    let m = model("sklearn_logreg_iris_names");
    let (ok, c, err) = zkattest(&["compile", "--model", s(&m), "--out", s(&art), "--max-k", "16"]);
    assert!(ok, "compile failed: {c} {err}");
    let (ok, setup, err) = zkattest(&["setup", "--artifacts", s(&art)]);
    assert!(ok, "setup failed: {setup} {err}");
    let proof = dir.path().join("p.json");
    let input = m.join("input.json");
    let (ok, p, err) =
        zkattest(&["prove", "--artifacts", s(&art), "--input", s(&input), "--out", s(&proof)]);
    assert!(ok, "prove failed: {p} {err}");
    // Test sample #0 is a virginica, class 2 (the model's README).
    assert_eq!(p["outputs"][0], 2.0, "{p}");
    assert_eq!(p["labels"]["label"], serde_json::json!(["virginica"]), "{p}");
    let (ok, v, err) = zkattest(&["verify", "--artifacts", s(&art), "--proof", s(&proof)]);
    assert!(ok, "verify failed: {v} {err}");
    assert_eq!(v["labels"]["label"], serde_json::json!(["virginica"]), "{v}");
}

#[test]
fn missing_model_is_a_clear_error() {
    let (ok, v, _) = zkattest(&["compile", "--model", "/nonexistent/model"]);
    assert!(!ok);
    assert!(v["error"].as_str().expect("error").contains("no ONNX model"), "{v}");
}

#[test]
fn wrong_input_shape_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.json");
    std::fs::write(&input, r#"{"input_data": [[0.1, 0.2, 0.3]]}"#).expect("write");
    let m = model("digits_mlp");
    let (ok, v, _) = zkattest(&["compile", "--model", s(&m), "--input", s(&input)]);
    assert!(!ok);
    let e = v["error"].as_str().expect("error");
    assert!(e.contains("input") && (e.contains("64") || e.contains("shape")), "{e}");
}

#[test]
fn malformed_input_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.json");
    std::fs::write(&input, "{\"input_data\": [[0.1,").expect("write");
    let m = model("digits_mlp");
    let (ok, v, _) = zkattest(&["compile", "--model", s(&m), "--input", s(&input)]);
    assert!(!ok);
    assert!(v["error"].as_str().expect("error").contains("input.json"), "{v}");
}

/// An input beyond what the model was calibrated on: `prove` stops with the range error
/// (node, op, value, bound, the options that fix it) and writes no proof file.
#[test]
fn out_of_range_input_is_a_named_error_and_no_proof() {
    let dir = tempfile::tempdir().expect("tempdir");
    let art = dir.path().join("art");
    let m = model("digits_mlp");
    let (ok, c, err) = zkattest(&["compile", "--model", s(&m), "--out", s(&art)]);
    assert!(ok, "compile failed: {c} {err}");
    let (ok, setup, err) = zkattest(&["setup", "--artifacts", s(&art)]);
    assert!(ok, "setup failed: {setup} {err}");

    let sample: Value =
        serde_json::from_slice(&std::fs::read(m.join("input.json")).expect("read")).expect("json");
    let big: Vec<Vec<f64>> = sample["input_data"]
        .as_array()
        .expect("input_data")
        .iter()
        .map(|t| {
            t.as_array()
                .expect("list")
                .iter()
                .map(|x| x.as_f64().unwrap_or(0.0) * 8.0 + 1.0)
                .collect()
        })
        .collect();
    let input = dir.path().join("big.json");
    std::fs::write(&input, serde_json::json!({ "input_data": big }).to_string()).expect("write");
    let proof = dir.path().join("p.json");
    let (ok, v, _) =
        zkattest(&["prove", "--artifacts", s(&art), "--input", s(&input), "--out", s(&proof)]);
    assert!(!ok, "{v}");
    let e = v["error"].as_str().expect("error");
    for part in ["outside the proven range", "input", "--headroom", "--lookup-bits"] {
        assert!(e.contains(part), "{part:?} missing from {e}");
    }
    assert!(!proof.exists(), "a proof file was written");
    assert!(!dir.path().join("p.opening.json").exists(), "an opening file was written");
}

/// `calibrate --json` reports the search compile runs: the mode, every lookup domain tried
/// (with its error, or why it was not kept), the circuit size and each node's rounding error.
/// The accuracy mode keeps the resources mode's k and widens the lookup domain or the values
/// where the tables still fit.
#[test]
fn calibrate_reports_both_modes() {
    let m = model("lenet5");
    let run = |mode: &str| {
        let (ok, v, err) = zkattest(&["calibrate", "--model", s(&m), "--calibration", mode]);
        assert!(ok, "calibrate {mode} failed: {v} {err}");
        v
    };
    let (r, a) = (run("resources"), run("accuracy"));
    assert_eq!((r["mode"].as_str(), a["mode"].as_str()), (Some("resources"), Some("accuracy")));
    assert_eq!(r["k"], a["k"], "the accuracy mode changed k");
    let bits = |v: &Value| v["settings"]["lookup_bits"].as_u64().expect("lookup bits");
    let error = |v: &Value| v["accuracy"]["max_abs_error"].as_f64().expect("error");
    let wide = |v: &Value| v["settings"]["wide"].as_bool().expect("wide");
    // Wider: a larger lookup domain, or wide values (LeNet-5 takes wide values at 14 bits).
    assert!(bits(&a) >= bits(&r) && (bits(&a) > bits(&r) || wide(&a) && !wide(&r)), "{a}");
    assert!(!wide(&r), "the resources mode keeps values narrow: {r}");
    assert!(error(&a) < error(&r), "{} vs {}", error(&a), error(&r));
    let tried = a["tried"].as_array().expect("tried");
    assert!(tried.last().is_some_and(|t| t["rejected"].as_str().is_some()), "{a}");
    let nodes = a["nodes"].as_array().expect("nodes");
    assert!(nodes.iter().all(|n| n["rounding_error"].as_f64().is_some_and(|e| e > 0.0)), "{a}");

    let (ok, v, _) = zkattest(&["calibrate", "--model", s(&m), "--scale-bits", "9"]);
    assert!(!ok && v["error"].as_str().is_some_and(|e| e.contains("--scale-bits")), "{v}");
}
