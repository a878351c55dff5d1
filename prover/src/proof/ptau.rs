//! A Powers of Tau ceremony (snarkjs / Perpetual Powers of Tau `.ptau`, BN254) as halo2 KZG
//! parameters: the production SRS path.
//!
//! A `.ptau` file is a section container: `ptau`, version 1, a section count, then sections
//! (u32 id, u64 length, body), in any order. Section 1 is the header (n8 = 32, the base field
//! modulus, power, ceremony power), section 2 holds `[τ^i]G1` for `i < 2^(power+1) - 1` and
//! section 3 `[τ^i]G2` for `i < 2^power`; every point is `x‖y` in little-endian Montgomery
//! form with the identity all zero, byte for byte halo2curves' raw encoding. The Lagrange
//! sections phase 2 adds (12-15) are built over another root of unity than halo2's (5^t, not
//! 7^t) and are not read: the Lagrange basis is computed from the powers.
//!
//! Nothing in the file is trusted: every point is checked to be on its curve (and the G2
//! points in their subgroup), the first powers to be the generators, and the G1 powers to be
//! successive powers of the τ committed in G2 (a random linear combination and two pairings,
//! the check snarkjs `powersoftau verify` makes).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use halo2_base::halo2_proofs::arithmetic::best_multiexp;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine};
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_base::halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_base::halo2_proofs::halo2curves::pairing::Engine;
use halo2_base::halo2_proofs::halo2curves::serde::SerdeObject;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::error::{ProverError, Result};

/// BN254's base field modulus, big-endian hex (the header's `q` is little-endian).
const BASE_MODULUS_BE: &str = "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47";
const G1_BYTES: u64 = 64;
const G2_BYTES: u64 = 128;
const HEADER: u32 = 1;
const TAU_G1: u32 = 2;
const TAU_G2: u32 = 3;

/// What a ceremony file says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtauHeader {
    /// The file holds `2^power` powers (in G2; twice as many minus one in G1).
    pub power: u32,
    /// The power of the ceremony the file was made from (larger for a truncated file).
    pub ceremony_power: u32,
}

struct Section {
    offset: u64,
    len: u64,
}

struct Ptau<'a> {
    path: &'a Path,
    file: BufReader<File>,
    sections: Vec<(u32, Section)>,
}

impl<'a> Ptau<'a> {
    fn bad(&self, reason: impl Into<String>) -> ProverError {
        ProverError::Ptau { path: self.path.to_path_buf(), reason: reason.into() }
    }

    fn open(path: &'a Path) -> Result<Self> {
        let f = File::open(path).map_err(|e| ProverError::io(path, e))?;
        let size = f.metadata().map_err(|e| ProverError::io(path, e))?.len();
        let mut me = Self { path, file: BufReader::with_capacity(1 << 20, f), sections: vec![] };
        let mut magic = [0u8; 4];
        me.read(&mut magic)?;
        if &magic != b"ptau" {
            return Err(me.bad("not a .ptau file (no \"ptau\" magic)"));
        }
        let version = me.u32()?;
        if version != 1 {
            return Err(me.bad(format!("ptau format version {version}, expected 1")));
        }
        let count = me.u32()?;
        let mut at = 12u64;
        for _ in 0..count {
            let id = me.u32()?;
            let len = me.u64()?;
            at += 12;
            if len > size.saturating_sub(at) {
                return Err(me.bad(format!("section {id} claims {len} bytes past the file's end")));
            }
            me.sections.push((id, Section { offset: at, len }));
            at += len;
            me.file.seek(SeekFrom::Start(at)).map_err(|e| ProverError::io(path, e))?;
        }
        Ok(me)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<()> {
        self.file.read_exact(buf).map_err(|e| ProverError::Ptau {
            path: self.path.to_path_buf(),
            reason: format!("truncated: {e}"),
        })
    }

    fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        self.read(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Seeks to section `id`'s body; its length.
    fn section(&mut self, id: u32) -> Result<u64> {
        let mut found = self.sections.iter().filter(|(i, _)| *i == id);
        let (Some((_, s)), None) = (found.next(), found.next()) else {
            return Err(self.bad(format!("section {id} missing or repeated")));
        };
        let (offset, len) = (s.offset, s.len);
        self.file.seek(SeekFrom::Start(offset)).map_err(|e| ProverError::io(self.path, e))?;
        Ok(len)
    }

    fn header(&mut self) -> Result<PtauHeader> {
        let len = self.section(HEADER)?;
        let n8 = self.u32()?;
        if n8 != 32 || len < 4 + 32 + 8 {
            return Err(self.bad(format!("header of a {n8}-byte field: not BN254")));
        }
        let mut q = [0u8; 32];
        self.read(&mut q)?;
        q.reverse();
        if hex::encode(q) != BASE_MODULUS_BE {
            return Err(self.bad("the header's field modulus is not BN254's (bn128)"));
        }
        let power = self.u32()?;
        let ceremony_power = self.u32()?;
        if !(1..=28).contains(&power) {
            return Err(self.bad(format!("power {power} outside 1..=28")));
        }
        Ok(PtauHeader { power, ceremony_power })
    }

    fn g1(&mut self, i: usize) -> Result<G1Affine> {
        let mut b = [0u8; G1_BYTES as usize];
        self.read(&mut b)?;
        G1Affine::from_raw_bytes(&b)
            .ok_or_else(|| self.bad(format!("tauG1 point {i} is not a BN254 G1 point")))
    }

    fn g2(&mut self, i: usize) -> Result<G2Affine> {
        let mut b = [0u8; G2_BYTES as usize];
        self.read(&mut b)?;
        let p = G2Affine::from_raw_bytes(&b)
            .ok_or_else(|| self.bad(format!("tauG2 point {i} is not a BN254 G2 point")))?;
        // On the twist but outside the order-r subgroup would break the pairing check's
        // meaning: [r]P = [r-1]P + P must be the identity.
        let r_minus_one = -Fr::ONE;
        if !bool::from((p * r_minus_one + p).is_identity()) {
            return Err(self.bad(format!("tauG2 point {i} is outside the prime-order subgroup")));
        }
        Ok(p)
    }
}

/// Reads a ceremony file's header.
pub fn header(path: &Path) -> Result<PtauHeader> {
    Ptau::open(path)?.header()
}

/// The halo2 KZG parameters of size `2^k` of a ceremony file, checked (see the module doc).
pub fn import(path: &Path, k: u32) -> Result<ParamsKZG<Bn256>> {
    let mut p = Ptau::open(path)?;
    let h = p.header()?;
    if k > h.power {
        return Err(
            p.bad(format!("the file holds 2^{} powers of tau; k = {k} needs 2^{k}", h.power))
        );
    }
    let n = 1usize << k;
    let g1_len = p.section(TAU_G1)?;
    if g1_len != ((2u64 << h.power) - 1) * G1_BYTES {
        return Err(p.bad(format!("tauG1 section of {g1_len} bytes for power {}", h.power)));
    }
    let g = (0..n).map(|i| p.g1(i)).collect::<Result<Vec<_>>>()?;
    let g2_len = p.section(TAU_G2)?;
    if g2_len != (1u64 << h.power) * G2_BYTES {
        return Err(p.bad(format!("tauG2 section of {g2_len} bytes for power {}", h.power)));
    }
    let (g2, s_g2) = (p.g2(0)?, p.g2(1)?);
    if g[0] != G1Affine::generator() || g2 != G2Affine::generator() {
        return Err(p.bad("the first powers are not the generators"));
    }
    if bool::from(s_g2.is_identity()) || s_g2 == g2 {
        return Err(p.bad("τ is 0 or 1: not a ceremony's output"));
    }
    check_powers(&g, &g2, &s_g2).map_err(|reason| p.bad(reason))?;
    // `from_parts` is a method; the k = 1 instance it is called on is discarded. Without a
    // Lagrange basis it computes one from `g` with halo2's own root of unity.
    let base = ParamsKZG::<Bn256>::setup(1, ChaCha20Rng::from_seed([0; 32]));
    Ok(base.from_parts(k, g, None, g2, s_g2))
}

/// `g[i+1] = τ g[i]` for every `i`, with `τ` the one `s_g2 = [τ]G2` commits to: with random
/// `r_i`, `e(Σ r_i g[i], s_g2) = e(Σ r_i g[i+1], G2)`; a wrong point survives with
/// probability about `1/r`.
fn check_powers(g: &[G1Affine], g2: &G2Affine, s_g2: &G2Affine) -> std::result::Result<(), String> {
    if g.len() < 2 {
        return Err("fewer than two powers".into());
    }
    let mut rng = ChaCha20Rng::from_rng(rand::rngs::OsRng).map_err(|e| e.to_string())?;
    let r: Vec<Fr> = (0..g.len() - 1).map(|_| Fr::random(&mut rng)).collect();
    let lhs = best_multiexp(&r, &g[..g.len() - 1]).to_affine();
    let rhs = best_multiexp(&r, &g[1..]).to_affine();
    if Bn256::pairing(&lhs, s_g2) != Bn256::pairing(&rhs, g2) {
        return Err("the G1 powers are not successive powers of the τ committed in G2".into());
    }
    Ok(())
}

/// [`import`], written to `out` as a raw halo2 parameter file (what `--srs` takes).
pub fn import_to_file(ptau: &Path, k: u32, out: &Path) -> Result<()> {
    use halo2_base::halo2_proofs::poly::commitment::Params;
    let params = import(ptau, k)?;
    super::keys::write_atomic(out, |w| params.write(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::halo2_proofs::poly::commitment::Params;

    /// A ceremony file of a known τ imports to exactly the parameters halo2's own setup makes
    /// for that τ: powers, Lagrange basis (halo2's root of unity, not snarkjs's) and G2 part.
    #[test]
    fn import_equals_halo2_setup_for_the_same_tau() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("known.ptau");
        let seed = [7u8; 32];
        let tau = Fr::random(ChaCha20Rng::from_seed(seed));
        zkattest_testkit::ptau::write_ptau(&path, 9, tau).expect("write");
        assert_eq!(header(&path).expect("header"), PtauHeader { power: 9, ceremony_power: 9 });
        for k in [6, 8] {
            let imported = import(&path, k).expect("import");
            let expected = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::from_seed(seed));
            let (mut a, mut b) = (Vec::new(), Vec::new());
            imported.write(&mut a).expect("write");
            expected.write(&mut b).expect("write");
            assert!(a == b, "k = {k}: imported parameters differ from halo2's setup");
        }
    }
}
