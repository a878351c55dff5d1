//! `zkattest demo --json`, the main job, end to end: real shard proofs, a real aggregation,
//! a real anvil, the real contracts, the relayer with its SQLite queue, and the output read
//! back from the chain. Heavy (one aggregation: minutes and ~9 GB), so it is one test.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn floats(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} missing: {v}"))
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

#[test]
fn demo_attests_an_aggregated_inference_on_a_local_chain() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO_BIN_EXE_zkattest"))
        // A public-input commitment makes the statement the cluster suite aggregates too, so
        // with ZKATTEST_AGGREGATION_CACHE (scripts/test.sh) one run pays for one aggregation.
        .args(["demo", "--json", "--public-input", "--root"])
        .arg(&root)
        .output()
        .expect("run demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert!(r["shards"].as_u64().expect("shards") >= 2, "{r}");
    let output = floats(&r, "output");
    let float = floats(&r, "float_output");
    assert_eq!(floats(&r, "queried_output"), output, "the chain holds what was proven");
    assert_eq!(output.len(), float.len());
    for (o, f) in output.iter().zip(&float) {
        assert!((o - f).abs() <= 0.1, "output {o} vs float {f}");
    }
    for key in ["prove_s", "aggregate_s"] {
        assert!(r[key].as_f64().expect(key) > 0.0, "{r}");
    }
    let verify_gas = r["verify_gas"].as_u64().expect("verify gas");
    assert!(
        verify_gas > 150_000 && r["store_gas"].as_u64().expect("store gas") > verify_gas,
        "{r}"
    );
    assert!(r["proof_bytes"].as_u64().expect("bytes") > 1000);
    let id = r["inference_id"].as_str().expect("inference id");
    assert!(id.starts_with("0x") && id.len() == 66 && id != format!("0x{}", "0".repeat(64)));
    assert!(r["model_id"].as_str().expect("model id").starts_with("0x"));
}
