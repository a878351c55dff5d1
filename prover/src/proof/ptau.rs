//! A Powers of Tau ceremony (snarkjs / Perpetual Powers of Tau `.ptau`, BN254) as halo2 KZG
//! parameters: the production SRS path.
//!
//! A `.ptau` file is a section container: `ptau`, version 1, a section count, then sections
//! (u32 id, u64 length, body), in any order. Section 1 is the header (n8 = 32, the base field
//! modulus, power, ceremony power), section 2 holds `[τ^i]G1` for `i < 2^(power+1) - 1` and
//! section 3 `[τ^i]G2` for `i < 2^power`; every point is `x‖y` in little-endian Montgomery
//! form with the identity all zero, byte for byte halo2curves' raw encoding.
//!
//! halo2 also needs the Lagrange basis `[L_j(τ)]G1` over its domain of size `2^k`. A phase-2
//! file (`snarkjs powersoftau prepare phase2`; Hermez's `_final_` files are such) carries it in
//! section 12, one block per size `2^p` for `p = 0..=power+1`, over snarkjs's root of unity
//! `ω_s = 5^t` (5: the smallest quadratic non-residue, what ffjavascript takes) where halo2
//! takes `ω_h = 7^t`. Both generate the same subgroup, so `ω_h = ω_s^e` for one odd `e` and
//! halo2's `L_j` is snarkjs's `L_{e·j mod 2^k}`: a permutation, checked against the powers
//! (below) in two multi-exponentiations. Without section 12 the basis is an inverse FFT over
//! G1, about `k·2^(k-1)` scalar multiplications: minutes at k = 16, hours at k = 21.
//!
//! Nothing in the file is trusted: every point is checked to be on its curve (and the G2
//! points in their subgroup), the first powers to be the generators, and the G1 powers to be
//! successive powers of the τ committed in G2 (a random linear combination and two pairings,
//! the check snarkjs `powersoftau verify` makes), and a Lagrange basis read from the file to
//! be the one of those powers.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use halo2_base::halo2_proofs::arithmetic::{best_fft, best_multiexp};
use halo2_base::halo2_proofs::fft::recursive::FFTData;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine};
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
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
const LAGRANGE_G1: u32 = 12;
/// `t = (r - 1) / 2^28`, little-endian limbs: BN254's scalar field has `r - 1 = 2^28 · t`.
const TWO_ADIC_COFACTOR: [u64; 4] =
    [0x9b97_0914_3e1f_593f, 0x1815_85d2_833e_8487, 0x131a_029b_8504_5b68, 0x3_0644_e72e];

/// What a ceremony file says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtauHeader {
    /// The file holds `2^power` powers (in G2; twice as many minus one in G1).
    pub power: u32,
    /// The power of the ceremony the file was made from (larger for a truncated file).
    pub ceremony_power: u32,
    /// Whether the file carries the Lagrange basis (phase 2, section 12): if not, importing a
    /// large `k` is slow (see the module doc).
    pub lagrange: bool,
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

    fn has_section(&self, id: u32) -> bool {
        self.sections.iter().any(|(i, _)| *i == id)
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
        Ok(PtauHeader { power, ceremony_power, lagrange: self.has_section(LAGRANGE_G1) })
    }

    fn g1(&mut self, what: &str, i: usize) -> Result<G1Affine> {
        let mut b = [0u8; G1_BYTES as usize];
        self.read(&mut b)?;
        G1Affine::from_raw_bytes(&b)
            .ok_or_else(|| self.bad(format!("{what} point {i} is not a BN254 G1 point")))
    }

    /// Section 12's block for size `2^k`, in halo2's order (see the module doc).
    fn lagrange(&mut self, power: u32, k: u32) -> Result<Vec<G1Affine>> {
        let len = self.section(LAGRANGE_G1)?;
        if len != ((4u64 << power) - 1) * G1_BYTES {
            return Err(self.bad(format!("Lagrange section of {len} bytes for power {power}")));
        }
        let n = 1usize << k;
        // Blocks of sizes 1, 2, 4, ... precede this one: 2^k - 1 points.
        let skip = (n as u64 - 1) * G1_BYTES;
        self.file.seek_relative(skip as i64).map_err(|e| ProverError::io(self.path, e))?;
        let snarkjs = (0..n).map(|i| self.g1("Lagrange", i)).collect::<Result<Vec<_>>>()?;
        let e = halo2_root_in_snarkjs_root() as usize & (n - 1);
        Ok((0..n).map(|j| snarkjs[(e * j) & (n - 1)]).collect())
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
    let g = (0..n).map(|i| p.g1("tauG1", i)).collect::<Result<Vec<_>>>()?;
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
    let lagrange = if h.lagrange {
        let l = p.lagrange(h.power, k)?;
        check_lagrange(&g, &l, k).map_err(|reason| p.bad(reason))?;
        Some(l)
    } else {
        None
    };
    // `from_parts` is a method; the k = 1 instance it is called on is discarded. Without a
    // Lagrange basis it computes one from `g` with halo2's own root of unity.
    let base = ParamsKZG::<Bn256>::setup(1, ChaCha20Rng::from_seed([0; 32]));
    Ok(base.from_parts(k, g, lagrange, g2, s_g2))
}

/// snarkjs's primitive `2^28`-th root of unity, `5^t`.
fn snarkjs_root_of_unity() -> Fr {
    Fr::from(5).pow_vartime(TWO_ADIC_COFACTOR)
}

/// The `e < 2^28` with `ω_s^e = ω_h`, by Pohlig–Hellman: both have order `2^28`, so bit `i` of
/// `e` is whether `(ω_h ω_s^-e')^(2^(27-i))` is `-1` rather than `1`, `e'` the lower bits.
fn halo2_root_in_snarkjs_root() -> u64 {
    let ws_inv = snarkjs_root_of_unity().invert().unwrap_or(Fr::ONE);
    let mut e = 0u64;
    for i in 0..Fr::S {
        let rest = Fr::ROOT_OF_UNITY * ws_inv.pow_vartime([e]);
        if rest.pow_vartime([1u64 << (Fr::S - 1 - i)]) != Fr::ONE {
            e |= 1 << i;
        }
    }
    e
}

/// `l` is the Lagrange basis of the powers `g` over halo2's domain of size `2^k`: with random
/// `r_j`, `Σ r_j l[j] = Σ c_i g[i]` where `c` is the polynomial taking the value `r_j` at
/// `ω_h^j` (an inverse FFT over scalars), since `L_j(τ) = (1/n) Σ_i ω_h^(-ij) τ^i`.
fn check_lagrange(g: &[G1Affine], l: &[G1Affine], k: u32) -> std::result::Result<(), String> {
    let n = g.len();
    let mut rng = ChaCha20Rng::from_rng(rand::rngs::OsRng).map_err(|e| e.to_string())?;
    let r: Vec<Fr> = (0..n).map(|_| Fr::random(&mut rng)).collect();
    let mut omega = Fr::ROOT_OF_UNITY;
    for _ in k..Fr::S {
        omega = omega.square();
    }
    let omega_inv = omega.invert().unwrap_or(Fr::ONE);
    let mut c = r.clone();
    best_fft(&mut c, omega_inv, k, &FFTData::new(n, omega, omega_inv), true);
    let n_inv = Fr::from(n as u64).invert().unwrap_or(Fr::ONE);
    c.iter_mut().for_each(|x| *x *= n_inv);
    if best_multiexp(&r, l) != best_multiexp(&c, g) {
        return Err("the Lagrange section is not the Lagrange basis of the tauG1 powers".into());
    }
    Ok(())
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
    /// for that τ: powers, Lagrange basis (halo2's root of unity, not snarkjs's) and G2 part,
    /// whether the basis is computed (phase 1 file) or read from section 12 (phase 2).
    #[test]
    fn import_equals_halo2_setup_for_the_same_tau() {
        let dir = tempfile::tempdir().expect("tempdir");
        let seed = [7u8; 32];
        let tau = Fr::random(ChaCha20Rng::from_seed(seed));
        for lagrange in [false, true] {
            let path = dir.path().join(format!("known-{lagrange}.ptau"));
            zkattest_testkit::ptau::write_ptau(&path, 9, tau, lagrange).expect("write");
            let want = PtauHeader { power: 9, ceremony_power: 9, lagrange };
            assert_eq!(header(&path).expect("header"), want);
            for k in [1, 6, 8] {
                let imported = import(&path, k).expect("import");
                let expected = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::from_seed(seed));
                let (mut a, mut b) = (Vec::new(), Vec::new());
                imported.write(&mut a).expect("write");
                expected.write(&mut b).expect("write");
                assert!(a == b, "k = {k}, section 12 {lagrange}: differs from halo2's setup");
            }
        }
    }

    /// The roots the permutation rests on: `t` is the 2-adic cofactor (7^t is halo2's root),
    /// 5^t has order exactly 2^28, and `e` maps one root to the other.
    #[test]
    fn snarkjs_and_halo2_roots_generate_one_subgroup() {
        assert_eq!(Fr::from(7).pow_vartime(TWO_ADIC_COFACTOR), Fr::ROOT_OF_UNITY);
        let ws = snarkjs_root_of_unity();
        assert_eq!(ws.pow_vartime([1u64 << (Fr::S - 1)]), -Fr::ONE);
        let e = halo2_root_in_snarkjs_root();
        assert_eq!(e % 2, 1);
        assert_eq!(ws.pow_vartime([e]), Fr::ROOT_OF_UNITY);
    }

    /// A Lagrange section that is not the powers' basis is refused: two points swapped (each
    /// valid, in the wrong place) or several replaced by one valid point.
    #[test]
    fn a_forged_lagrange_section_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("phase2.ptau");
        zkattest_testkit::ptau::write_ptau(&path, 7, Fr::from(123_456_789), true).expect("write");
        let bytes = std::fs::read(&path).expect("read");
        // Section 12 is the last one; its size-2^6 block starts 2^6 - 1 points into it.
        let body = bytes.len() - ((4usize << 7) - 1) * 64;
        let block = body + 63 * 64;
        let point = |b: &[u8], i: usize| b[block + 64 * i..block + 64 * (i + 1)].to_vec();
        let mut swapped = bytes.clone();
        let (p3, p4) = (point(&bytes, 3), point(&bytes, 4));
        swapped[block + 3 * 64..block + 4 * 64].copy_from_slice(&p4);
        swapped[block + 4 * 64..block + 5 * 64].copy_from_slice(&p3);
        let mut flattened = bytes.clone();
        for i in [1, 9, 40] {
            flattened[block + 64 * i..block + 64 * (i + 1)].copy_from_slice(&p3);
        }
        for (name, forged) in [("swapped", swapped), ("flattened", flattened)] {
            let p = dir.path().join(name);
            std::fs::write(&p, forged).expect("write");
            match import(&p, 6) {
                Err(ProverError::Ptau { reason, .. }) => {
                    assert!(reason.contains("Lagrange basis"), "{name}: {reason}")
                }
                other => panic!("{name}: expected a ceremony error, got {:?}", other.map(|_| ())),
            }
            // Other sizes' blocks are untouched and still import.
            import(&p, 5).expect("another block");
        }
    }
}
