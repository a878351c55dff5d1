//! KZG structured reference strings: a cached, clearly insecure dev SRS, or a
//! production halo2 `ParamsKZG` file (e.g. converted from the Perpetual Powers of Tau).

use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine};
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
    /// A file holding the dev SRS (the cache file passed as a "trusted" one) is named as the
    /// dev SRS: what decides is `[τ]G2`, not where the file came from.
    pub fn load(path: &Path, k: u32) -> Result<Self> {
        let params = downsized(read_params(path, true)?, k, path)?;
        let origin = if digest(&params) == dev_digest() {
            SrsOrigin::DevInsecure
        } else {
            SrsOrigin::File(path.to_path_buf())
        };
        Ok(Self { params, origin })
    }

    /// [`digest`] of these parameters.
    pub fn digest(&self) -> String {
        digest(&self.params)
    }

    /// Keys remember the digest of the SRS they were made with (`setup.json`, the aggregation
    /// key metadata); they only work with that SRS. An empty record (files older than the
    /// digest) is not checked.
    pub fn check_made_with(&self, recorded: &str) -> Result<()> {
        let given = self.digest();
        if !recorded.is_empty() && recorded != given {
            return Err(ProverError::SrsMismatch { keys: recorded.to_string(), given });
        }
        Ok(())
    }

    /// Whether this is the dev SRS, whose τ anyone can recompute.
    pub fn is_insecure(&self) -> bool {
        self.origin == SrsOrigin::DevInsecure
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

/// SHA-256 of what a KZG verifier trusts of an SRS: the G1 generator, the G2 generator and
/// `[τ]G2`, raw-encoded. Every size cut from one ceremony has the same digest, and it is what
/// reports, `setup.json` and the aggregation key metadata name an SRS by.
pub fn digest(params: &ParamsKZG<Bn256>) -> String {
    use halo2_base::halo2_proofs::poly::commitment::ParamsProver;
    digest_of(&params.get_g()[0], &params.g2(), &params.s_g2())
}

fn digest_of(g: &G1Affine, g2: &G2Affine, s_g2: &G2Affine) -> String {
    use halo2_base::halo2_proofs::halo2curves::serde::SerdeObject;
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"zkattest-srs-v1");
    h.update(g.to_raw_bytes());
    h.update(g2.to_raw_bytes());
    h.update(s_g2.to_raw_bytes());
    hex::encode(h.finalize())
}

/// `[τ]G2` of the dev SRS, from its public seed (cheap: one scalar multiplication). A
/// verifier that pairs against it accepts forged proofs.
pub fn dev_s_g2() -> G2Affine {
    use halo2_base::halo2_proofs::halo2curves::ff::Field;
    use halo2_base::halo2_proofs::halo2curves::group::Curve;
    // Drawn exactly as the dev setup draws its secret.
    let s = Fr::random(ChaCha20Rng::from_seed(DEV_SEED));
    (G2Affine::generator() * s).to_affine()
}

/// [`digest`] of the dev SRS.
pub fn dev_digest() -> String {
    digest_of(&G1Affine::generator(), &G2Affine::generator(), &dev_s_g2())
}

/// SHA-256 of the published halo2 parameter files derived from the Perpetual Powers of Tau
/// (`https://trusted-setup-halo2kzg.s3.eu-central-1.amazonaws.com/perpetual-powers-of-tau-raw-{k}`,
/// converted by han0110/halo2-kzg-srs from PPoT `response_0071_edward`), as pinned by EZKL in
/// `src/srs_sha.rs` (`PUBLIC_SRS_SHA256_HASHES`, zkonduit/ezkl commit 5da444ee). Carried over,
/// not recomputed here: this machine cannot download the files.
pub const PUBLISHED_PPOT_SHA256: [(u32, &str); 26] = [
    (1, "cafb2aa72c200ddc4e28aacabb8066e829207e2484b8d17059a566232f8a297b"),
    (2, "8194ec51da5d332d2e17283ade34920644774452c2fadf33742e8c739e275d8e"),
    (3, "0729e815bce2ac4dfad7819982c6479c3b22c32b71f64dca05e8fdd90e8535ef"),
    (4, "2c0785da20217fcafd3b12cc363a95eb2529037cc8a9bddf8fb15025cbc8cdc9"),
    (5, "5b950e3b76e7a9923d69f6d6585ce6b5f9458e5ec57a71c9de5005d32d544692"),
    (6, "85030b2924111fc60acaf4fb8a7bad89531fbe0271aeab0c21e545f71eee273d"),
    (7, "e65f95150519fe01c2bedf8f832f5249822ef84c9c017307419e10374ff9eeb1"),
    (8, "446092fd1d6030e5bb2f2a8368267d5ed0fbdb6a766f6c5e4a4841827ad3106f"),
    (9, "493d088951882ad81af11e08c791a38a37c0ffff14578cf2c7fb9b7bca654d8b"),
    (10, "9705d450e5dfd06adb673705f7bc34418ec86339203198beceb2ae7f1ffefedb"),
    (11, "257fa566ed9bc0767d3e63e92b5e966829fa3347d320a32055dc31ee7d33f8a4"),
    (12, "28b151069f41abc121baa6d2eaa8f9e4c4d8326ddbefee2bd9c0776b80ac6fad"),
    (13, "d5d94bb25bdc024f649213593027d861042ee807cafd94b49b54f1663f8f267d"),
    (14, "c09129f064c08ecb07ea3689a2247dcc177de6837e7d2f5f946e30453abbccef"),
    (15, "90807800a1c3b248a452e1732c45ee5099f38b737356f5542c0584ec9c3ebb45"),
    (16, "2a1a494630e71bc026dd5c0eab4c1b9a5dbc656228c1f0d48f5dbd3909b161d3"),
    (17, "41509f380362a8d14401c5ae92073154922fe23e45459ce6f696f58607655db7"),
    (18, "d0148475717a2ba269784a178cb0ab617bc77f16c58d4a3cbdfe785b591c7034"),
    (19, "d1a1655b4366a766d1578beb257849a92bf91cb1358c1a2c37ab180c5d3a204d"),
    (20, "54ef75911da76d7a6b7ea341998aaf66cb06c679c53e0a88a4fe070dd3add963"),
    (21, "486e044cf98704e07f41137d2b89698dc03d1fbf34d13b60902fea19a6013b4b"),
    (22, "1ee9b4396db3e4e2516ac5016626ab6ba967f091d5d23afbdb7df122a0bb9d0c"),
    (23, "748e48b9b6d06f9c82d26bf551d0af43ee2e801e4be56d7ccb20312e267fd1d6"),
    (24, "f94fa4afa2f5147680f907d4dd96a8826206c26bd3328cd379feaed614b234de"),
    (25, "dec49a69893fbcd66cd06296b2d936a6aceb431c130b2e52675fe4274b504f57"),
    (26, "b198a51d48b88181508d8e4ea9dea39db285e4585663b29b7e4ded0c22a94875"),
];

/// The `k` of a published PPoT-derived file with this SHA-256, if any.
pub fn published_k(sha256: &str) -> Option<u32> {
    PUBLISHED_PPOT_SHA256.iter().find(|(_, d)| d.eq_ignore_ascii_case(sha256)).map(|(k, _)| *k)
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
        // The dev SRS stays the dev SRS when passed as a file.
        assert_eq!(loaded.origin, SrsOrigin::DevInsecure);
        assert_eq!(loaded.digest(), dev_digest());
        assert_eq!(big.digest(), dev_digest(), "one digest at every size");
        assert!(Srs::load(&path, 7).is_err(), "k larger than the file must fail");
        std::fs::write(dir.path().join("junk.srs"), b"not params").expect("write");
        assert!(Srs::load(&dir.path().join("junk.srs"), 4).is_err());
    }
}
