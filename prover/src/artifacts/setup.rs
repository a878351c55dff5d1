//! Key generation for every shard of a compiled model.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::CompiledModel;
use crate::circuit::layout::build_for_keygen;
use crate::error::{ProverError, Result};
use crate::proof::{ShardKeys, Srs, SrsOrigin};

/// What `setup` produced, stored as `keys/setup.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetupInfo {
    /// Circuit size of every shard.
    pub k: u32,
    /// Where the SRS came from (dev SRS is insecure).
    pub srs: SrsOrigin,
    /// The SRS's digest (`proof::srs::digest`); empty in files older than it.
    #[serde(default)]
    pub srs_digest: String,
    /// Whether the keys were made with the dev SRS, whose τ anyone can recompute.
    #[serde(default)]
    pub insecure_srs: bool,
    /// SHA-256 of each shard's verifying key file, in chain order.
    pub vk_sha256: Vec<String>,
    /// Keygen wall time per shard, seconds.
    pub keygen_s: Vec<f64>,
}

/// The keys directory of an artifact directory.
pub fn keys_dir(dir: &Path) -> PathBuf {
    dir.join("keys")
}

/// Proving key path of shard `i`.
pub fn pk_path(dir: &Path, i: usize) -> PathBuf {
    keys_dir(dir).join(format!("shard-{i}.pk"))
}

/// Verifying key path of shard `i`.
pub fn vk_path(dir: &Path, i: usize) -> PathBuf {
    keys_dir(dir).join(format!("shard-{i}.vk"))
}

impl SetupInfo {
    /// Generates and writes the keys of every shard, calling `progress(i)` after each.
    pub fn run(
        compiled: &CompiledModel,
        dir: &Path,
        srs: &Srs,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Self> {
        let mut vk_sha256 = Vec::new();
        let mut keygen_s = Vec::new();
        for spec in &compiled.plan.shards {
            let t = Instant::now();
            let layout = Arc::new(build_for_keygen(&compiled.model, spec)?);
            let keys = ShardKeys::generate(srs, layout)?;
            keygen_s.push(t.elapsed().as_secs_f64());
            let (pk, vk) = (pk_path(dir, spec.index), vk_path(dir, spec.index));
            keys.write(&pk, &vk)?;
            let bytes = fs::read(&vk).map_err(|e| ProverError::io(&vk, e))?;
            vk_sha256.push(hex::encode(Sha256::digest(&bytes)));
            progress(spec.index);
        }
        let info = Self {
            k: compiled.plan.k,
            srs: srs.origin.clone(),
            srs_digest: srs.digest(),
            insecure_srs: srs.is_insecure(),
            vk_sha256,
            keygen_s,
        };
        super::inference::write_json(&keys_dir(dir).join("setup.json"), &info)?;
        Ok(info)
    }

    /// Reads `keys/setup.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        super::inference::read_json(&keys_dir(dir).join("setup.json"))
    }

    /// Keys only work with the SRS they were made with: a run with another one is stopped
    /// here, by name, rather than failing later as an invalid proof. Keys without a
    /// `setup.json` are not checked.
    pub fn check_srs(dir: &Path, srs: &Srs) -> Result<()> {
        let path = keys_dir(dir).join("setup.json");
        if !path.is_file() {
            return Ok(());
        }
        srs.check_made_with(&Self::load(dir)?.srs_digest)
    }
}
