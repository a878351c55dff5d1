//! Compiling the generated verifier with the project's forge (solcjs through the shim).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, VerifierGenError};

/// Where `zkattest gen-verifier` writes the verifier, relative to the repository root.
pub const VERIFIER_SOURCE: &str = "contracts/src/generated/ZkAttestVerifier.sol";

/// The forge artifact of the verifier.
pub fn verifier_artifact(root: &Path) -> PathBuf {
    root.join("contracts/out/ZkAttestVerifier.sol/ZkAttestVerifier.json")
}

/// The project's forge: `.tools/bin/forge` under `root` (installed by scripts/setup.sh),
/// else `forge` on PATH.
pub fn forge_path(root: &Path) -> PathBuf {
    let local = root.join(".tools/bin/forge");
    if local.is_file() {
        local
    } else {
        PathBuf::from("forge")
    }
}

/// Compiles the generated verifier (only it: the rest of the project has its own build).
pub fn build(root: &Path) -> Result<()> {
    let forge = forge_path(root);
    let out = Command::new(&forge)
        .arg("build")
        .arg("--root")
        .arg(root)
        .arg(root.join(VERIFIER_SOURCE))
        .current_dir(root)
        .output()
        .map_err(|e| VerifierGenError::Io { path: forge.clone(), source: e })?;
    if !out.status.success() {
        return Err(VerifierGenError::Artifact(format!(
            "forge build failed (run scripts/setup.sh first?):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}
