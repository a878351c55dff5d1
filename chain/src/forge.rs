//! The project's forge (solcjs through the shim) and the artifacts it writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{ChainError, Result};

/// The project's forge: `.tools/bin/forge` under `root` (installed by scripts/setup.sh),
/// else `forge` on PATH.
pub fn forge_path(root: &Path) -> PathBuf {
    tool_path(root, "forge")
}

/// `.tools/bin/<name>` under `root` when it exists, else `<name>` from PATH.
pub fn tool_path(root: &Path, name: &str) -> PathBuf {
    let local = root.join(".tools/bin").join(name);
    if local.is_file() {
        local
    } else {
        PathBuf::from(name)
    }
}

/// Runs `forge build` for the given sources (relative to `root`; all sources when empty).
pub fn build(root: &Path, sources: &[&str]) -> Result<()> {
    // Concurrent builds (parallel tests, several zkattest processes) would write the same
    // artifacts: serialise them within the process and, with a lock file, across processes.
    // Once built, forge skips up-to-date sources and rewrites nothing.
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    let lock_path = root.join("contracts/.forge-build.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| ChainError::Io { path: lock_path.clone(), source: e })?;
    lock.lock().map_err(|e| ChainError::Io { path: lock_path.clone(), source: e })?;
    let forge = forge_path(root);
    let mut cmd = Command::new(&forge);
    cmd.arg("build").arg("--root").arg(root).current_dir(root);
    for s in sources {
        cmd.arg(root.join(s));
    }
    let out = cmd.output().map_err(|e| ChainError::Io { path: forge.clone(), source: e })?;
    if !out.status.success() {
        return Err(ChainError::Forge(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// The artifact forge writes for `contract` defined in `file` (e.g. `AttestationRegistry.sol`).
pub fn artifact_path(root: &Path, file: &str, contract: &str) -> PathBuf {
    root.join("contracts/out").join(file).join(format!("{contract}.json"))
}

fn bad(artifact: &Path, reason: String) -> ChainError {
    ChainError::Artifact { path: artifact.to_path_buf(), reason }
}

fn artifact_json(artifact: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(artifact)
        .map_err(|e| ChainError::Io { path: artifact.to_path_buf(), source: e })?;
    serde_json::from_str(&text).map_err(|e| bad(artifact, e.to_string()))
}

fn artifact_code(artifact: &Path, field: &str) -> Result<Vec<u8>> {
    let bad = |reason: String| bad(artifact, reason);
    let json = artifact_json(artifact)?;
    let code = json[field]["object"].as_str().ok_or_else(|| bad(format!("no {field}.object")))?;
    let code = hex::decode(code.trim_start_matches("0x")).map_err(|e| bad(e.to_string()))?;
    if code.is_empty() {
        return Err(bad(format!("{field} is empty (abstract contract or interface?)")));
    }
    Ok(code)
}

/// Creation bytecode from a forge artifact.
pub fn bytecode(artifact: &Path) -> Result<Vec<u8>> {
    artifact_code(artifact, "bytecode")
}

/// Runtime bytecode size from a forge artifact (`deployedBytecode`), for EIP-170.
pub fn runtime_size(artifact: &Path) -> Result<usize> {
    Ok(artifact_code(artifact, "deployedBytecode")?.len())
}

/// The 4-byte selectors forge recorded for a contract (`methodIdentifiers`), by signature.
pub fn method_identifiers(artifact: &Path) -> Result<Vec<(String, String)>> {
    let json = artifact_json(artifact)?;
    let ids = json["methodIdentifiers"]
        .as_object()
        .ok_or_else(|| bad(artifact, "no methodIdentifiers".into()))?;
    Ok(ids.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
}
