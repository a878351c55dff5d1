//! KZG structured reference strings: a cached, clearly insecure dev SRS, or a
//! production halo2 `ParamsKZG` file (e.g. converted from the Perpetual Powers of Tau).

use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::halo2curves::bn256::Bn256;
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
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

fn read_params(path: &Path) -> Result<ParamsKZG<Bn256>> {
    let f = File::open(path).map_err(|e| ProverError::io(path, e))?;
    ParamsKZG::<Bn256>::read(&mut BufReader::new(f)).map_err(|e| ProverError::Artifact {
        path: path.to_path_buf(),
        reason: format!("not a halo2 KZG params file: {e}"),
    })
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
        let params = downsized(read_params(path)?, k, path)?;
        Ok(Self { params, origin: SrsOrigin::File(path.to_path_buf()) })
    }

    /// The dev SRS of size `k`, generated once and cached in `cache_dir/srs`
    /// (a larger cached one is downsized).
    pub fn dev(cache_dir: &Path, k: u32) -> Result<Self> {
        let dir = cache_dir.join("srs");
        for kk in k..=26 {
            let path = dir.join(dev_file_name(kk));
            if path.exists() {
                let params = downsized(read_params(&path)?, k, &path)?;
                return Ok(Self { params, origin: SrsOrigin::DevInsecure });
            }
        }
        fs::create_dir_all(&dir).map_err(|e| ProverError::io(&dir, e))?;
        let params = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::from_seed(DEV_SEED));
        let path = dir.join(dev_file_name(k));
        // Written aside and renamed, so a concurrent or interrupted run never reads half a file.
        crate::proof::keys::write_atomic(&path, |w| params.write(w))?;
        Ok(Self { params, origin: SrsOrigin::DevInsecure })
    }
}

/// File name of the cached dev SRS of size `k`; "INSECURE" is part of the name on purpose.
pub fn dev_file_name(k: u32) -> String {
    format!("dev-INSECURE-kzg-bn254-k{k}.srs")
}
