//! KZG structured reference strings: a cached, clearly insecure dev SRS, or a
//! production halo2 `ParamsKZG` file (e.g. converted from the Perpetual Powers of Tau).

use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use halo2_base::halo2_proofs::halo2curves::bn256::Bn256;
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_base::halo2_proofs::SerdeFormat;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::error::{ProverError, Result};

/// Seed of the dev SRS. Anyone can recompute its toxic waste: proofs made with it are
/// forgeable and must never be trusted outside development.
const DEV_SEED: [u8; 32] = *b"zkattest-INSECURE-dev-srs-seed!!";

/// Where an SRS came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SrsOrigin {
    /// Generated locally from a public seed: INSECURE, for development only.
    DevInsecure,
    /// Loaded from a trusted-setup file.
    File(PathBuf),
}

impl SrsOrigin {
    /// Label for reports: says loudly when the SRS is insecure.
    pub fn label(&self) -> String {
        match self {
            SrsOrigin::DevInsecure => {
                "dev SRS (INSECURE: public toxic waste, development only)".into()
            }
            SrsOrigin::File(p) => format!("trusted setup {}", p.display()),
        }
    }
}

/// KZG parameters of size `2^k` and their origin.
#[derive(Clone, Debug)]
pub struct Srs {
    /// The parameters.
    pub params: ParamsKZG<Bn256>,
    /// Their origin.
    pub origin: SrsOrigin,
}

/// The default cache directory for SRS files: `$ZKATTEST_CACHE` or `~/.cache/zkattest`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ZKATTEST_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("zkattest")
}

/// Reads a raw halo2 `ParamsKZG` file after checking its header against its size, so a
/// wrong file is an error rather than a huge allocation. `checked` validates every point
/// (for files from elsewhere); the local dev cache skips that.
fn read_params(path: &Path, checked: bool) -> Result<ParamsKZG<Bn256>> {
    let bad = |reason: String| ProverError::Artifact { path: path.to_path_buf(), reason };
    let mut f = File::open(path).map_err(|e| ProverError::io(path, e))?;
    let len = f.metadata().map_err(|e| ProverError::io(path, e))?.len();
    let mut k = [0u8; 4];
    std::io::Read::read_exact(&mut f, &mut k)
        .map_err(|e| bad(format!("not a KZG params file: {e}")))?;
    let k = u32::from_le_bytes(k);
    // k, then 2^k G1 points twice (monomial and Lagrange bases), then two G2 points.
    let expected = (k <= 28).then(|| 4 + 2 * (1u64 << k) * 64 + 2 * 128);
    if expected != Some(len) {
        return Err(bad(format!(
            "not a raw halo2 KZG params file: header says k={k}, size is {len} bytes"
        )));
    }
    let format = if checked { SerdeFormat::RawBytes } else { SerdeFormat::RawBytesUnchecked };
    let f = File::open(path).map_err(|e| ProverError::io(path, e))?;
    ParamsKZG::<Bn256>::read_custom(&mut BufReader::with_capacity(1 << 20, f), format)
        .map_err(|e| bad(format!("invalid KZG params: {e}")))
}

fn downsized(mut params: ParamsKZG<Bn256>, k: u32, path: &Path) -> Result<ParamsKZG<Bn256>> {
    if params.k() < k {
        return Err(ProverError::Artifact {
            path: path.to_path_buf(),
            reason: format!("SRS has k={} but k={k} is needed", params.k()),
        });
    }
    if params.k() > k {
        params.downsize(k);
    }
    Ok(params)
}

impl Srs {
    /// Loads a trusted-setup params file and downsizes it to `k`.
    pub fn load(path: &Path, k: u32) -> Result<Self> {
        let params = downsized(read_params(path, true)?, k, path)?;
        Ok(Self { params, origin: SrsOrigin::File(path.to_path_buf()) })
    }

    /// The dev SRS of size `k`, generated once and cached in `cache_dir/srs`.
    pub fn dev(cache_dir: &Path, k: u32) -> Result<Self> {
        // One generation at a time in this process: parallel tests would otherwise all
        // generate the same file at once.
        static GENERATING: Mutex<()> = Mutex::new(());
        let _guard = GENERATING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let dir = cache_dir.join("srs");
        let path = dir.join(dev_file_name(k));
        if path.exists() {
            let params = downsized(read_params(&path, false)?, k, &path)?;
            return Ok(Self { params, origin: SrsOrigin::DevInsecure });
        }
        // The same seed at every k gives the same secret, so a dev SRS of any size is
        // consistent with the others (shard and aggregation proofs must share it).
        fs::create_dir_all(&dir).map_err(|e| ProverError::io(&dir, e))?;
        let params = super::dev_srs::setup(k, ChaCha20Rng::from_seed(DEV_SEED));
        // Written aside and renamed, so a concurrent or interrupted run never reads half a file.
        crate::proof::keys::write_atomic(&path, |w| params.write(w))?;
        Ok(Self { params, origin: SrsOrigin::DevInsecure })
    }
}

/// File name of the cached dev SRS of size `k`; "INSECURE" is part of the name on purpose.
pub fn dev_file_name(k: u32) -> String {
    format!("dev-INSECURE-kzg-bn254-k{k}.srs")
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::halo2_proofs::poly::commitment::ParamsProver;

    #[test]
    fn dev_srs_sizes_share_one_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let small = Srs::dev(dir.path(), 4).expect("k=4");
        let big = Srs::dev(dir.path(), 5).expect("k=5");
        assert_eq!(small.params.get_g()[..16], big.params.get_g()[..16]);
        assert_eq!(small.params.s_g2(), big.params.s_g2());
        assert!(dir.path().join("srs").join(dev_file_name(5)).is_file());
        assert_eq!(Srs::dev(dir.path(), 5).expect("cached").params.get_g(), big.params.get_g());
    }

    #[test]
    fn loads_and_downsizes_a_params_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = Srs::dev(dir.path(), 6).expect("k=6");
        let path = dir.path().join("srs").join(dev_file_name(6));
        let loaded = Srs::load(&path, 4).expect("downsized");
        assert_eq!(loaded.params.k(), 4);
        assert_eq!(loaded.params.get_g()[..16], big.params.get_g()[..16]);
        assert!(matches!(loaded.origin, SrsOrigin::File(_)));
        assert!(Srs::load(&path, 7).is_err(), "k larger than the file must fail");
        std::fs::write(dir.path().join("junk.srs"), b"not params").expect("write");
        assert!(Srs::load(&dir.path().join("junk.srs"), 4).is_err());
    }
}
