//! Compiling the generated verifier with the project's forge (solcjs through the shim).

use std::path::{Path, PathBuf};

use crate::Result;

/// Where `zkattest gen-verifier` writes the verifier, relative to the repository root.
pub const VERIFIER_SOURCE: &str = zkattest_chain::deploy::VERIFIER_SOURCE;

/// The forge artifact of the verifier.
pub fn verifier_artifact(root: &Path) -> PathBuf {
    zkattest_chain::forge::artifact_path(root, "ZkAttestVerifier.sol", "ZkAttestVerifier")
}

/// Compiles the generated verifier (only it: the rest of the project has its own build).
pub fn build(root: &Path) -> Result<()> {
    Ok(zkattest_chain::forge::build(root, &[VERIFIER_SOURCE])?)
}
