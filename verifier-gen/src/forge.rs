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

/// Compiles a verifier `source` (a contract `ZkAttestVerifier`) in a scratch forge project
/// under `dir`, outside the repository: for verifiers that are measured or tested but not
/// committed. Returns the creation bytecode and the size of the deployed code.
pub fn compile_scratch(root: &Path, dir: &Path, source: &str) -> Result<(Vec<u8>, usize)> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| crate::VerifierGenError::Io { path, source }
    };
    let src = dir.join("src");
    std::fs::create_dir_all(&src).map_err(io(&src))?;
    let file = src.join("ZkAttestVerifier.sol");
    std::fs::write(&file, source).map_err(io(&file))?;
    let toml = dir.join("foundry.toml");
    std::fs::write(
        &toml,
        "[profile.default]\nsrc = \"src\"\nout = \"out\"\noffline = true\noptimizer = false\n\
         evm_version = \"prague\"\n",
    )
    .map_err(io(&toml))?;
    let forge = zkattest_chain::forge::forge_path(root);
    let out = std::process::Command::new(&forge)
        .arg("build")
        .arg("--root")
        .arg(dir)
        .current_dir(dir)
        .output()
        .map_err(io(&forge))?;
    if !out.status.success() {
        return Err(crate::VerifierGenError::Evm(format!(
            "forge build of a scratch verifier failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let artifact = dir.join("out/ZkAttestVerifier.sol/ZkAttestVerifier.json");
    Ok((crate::evm::forge_bytecode(&artifact)?, crate::evm::forge_runtime_size(&artifact)?))
}
