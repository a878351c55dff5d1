//! Proving and verifying keys of shard circuits, and their files.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::sync::Arc;

use halo2_base::halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_base::halo2_proofs::plonk::{keygen_pk, keygen_vk, ProvingKey, VerifyingKey};
use halo2_base::halo2_proofs::SerdeFormat;

use super::Srs;
use crate::circuit::layout::Layout;
use crate::circuit::ShardCircuit;
use crate::error::{ProverError, Result};

/// A shard's keys.
#[derive(Debug)]
pub struct ShardKeys {
    /// Proving key (contains the verifying key).
    pub pk: ProvingKey<G1Affine>,
}

impl ShardKeys {
    /// Runs keygen on a shard layout (its witness is ignored).
    pub fn generate(srs: &Srs, layout: Arc<Layout>) -> Result<Self> {
        let circuit = ShardCircuit { layout, with_witness: false };
        let vk = keygen_vk(&srs.params, &circuit)
            .map_err(|e| ProverError::Halo2(format!("keygen_vk: {e:?}")))?;
        let pk = keygen_pk(&srs.params, vk, &circuit)
            .map_err(|e| ProverError::Halo2(format!("keygen_pk: {e:?}")))?;
        Ok(Self { pk })
    }

    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }

    /// Writes `pk` (fast unchecked format: keys are local, trusted files) and `vk`.
    pub fn write(&self, pk_path: &Path, vk_path: &Path) -> Result<()> {
        write_atomic(pk_path, |w| self.pk.write(w, SerdeFormat::RawBytesUnchecked))?;
        write_atomic(vk_path, |w| self.vk().write(w, SerdeFormat::RawBytes))
    }

    /// Reads a proving key written by [`ShardKeys::write`].
    pub fn read_pk(path: &Path) -> Result<Self> {
        let f = File::open(path).map_err(|e| ProverError::io(path, e))?;
        let pk = ProvingKey::read::<_, crate::circuit::ShardCircuit>(
            &mut BufReader::with_capacity(1 << 20, f),
            SerdeFormat::RawBytesUnchecked,
            (),
        )
        .map_err(|e| ProverError::Artifact { path: path.to_path_buf(), reason: e.to_string() })?;
        Ok(Self { pk })
    }
}

/// Reads a verifying key (checked format: a verifier must not trust the file).
pub fn read_vk(path: &Path) -> Result<VerifyingKey<G1Affine>> {
    let f = File::open(path).map_err(|e| ProverError::io(path, e))?;
    VerifyingKey::read::<_, crate::circuit::ShardCircuit>(
        &mut BufReader::new(f),
        SerdeFormat::RawBytes,
        (),
    )
    .map_err(|e| ProverError::Artifact { path: path.to_path_buf(), reason: e.to_string() })
}

/// Writes through a temporary file and renames, so readers never see half a file.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| ProverError::io(dir, e))?;
    }
    let tmp = temp_path(path);
    let f = File::create(&tmp).map_err(|e| ProverError::io(&tmp, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    write(&mut w).map_err(|e| ProverError::io(&tmp, e))?;
    w.into_inner()
        .map_err(|e| ProverError::io(&tmp, e.into_error()))?
        .sync_all()
        .map_err(|e| ProverError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| ProverError::io(path, e))
}

/// A sibling temporary path unique to this process and moment, so concurrent writers of
/// the same file never share a temporary.
pub fn temp_path(path: &Path) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp.{}.{n}", std::process::id()));
    path.with_file_name(name)
}
