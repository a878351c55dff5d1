//! What the CLI test binaries share: the repository root, and running `zkattest … --json` to
//! read the one JSON object it prints.

// Each test binary includes this module and uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs `zkattest <args> --json` with extra environment: success, the JSON object on stdout
/// (a panic naming stdout and stderr when it is not one), and stderr.
pub fn zkattest_with_stderr(args: &[&str], env: &[(&str, &str)]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zkattest"))
        .args(args)
        .arg("--json")
        .envs(env.iter().copied())
        .output()
        .expect("run zkattest");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("{args:?}: stdout is not one JSON object ({e}): {stdout}\n{stderr}")
    });
    (out.status.success(), json, stderr)
}

/// [`zkattest_with_stderr`] without stderr.
pub fn zkattest_json(args: &[&str], env: &[(&str, &str)]) -> (bool, Value) {
    let (ok, json, _) = zkattest_with_stderr(args, env);
    (ok, json)
}

/// [`zkattest_json`] that must succeed; its JSON.
pub fn zkattest_ok(args: &[&str], env: &[(&str, &str)]) -> Value {
    let (ok, json) = zkattest_json(args, env);
    assert!(ok, "{args:?}: {json}");
    json
}
