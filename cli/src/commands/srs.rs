//! `zkattest srs import` and `zkattest srs verify`: the production SRS path (docs/trust.md).

use std::path::PathBuf;

use serde::Serialize;
use zkattest_prover::proof::srs::{published_k, PUBLISHED_PPOT_SHA256};
use zkattest_prover::proof::{ptau, Srs};

use crate::progress::spinner;

/// The SRS subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum SrsCommand {
    /// Turn a Powers of Tau ceremony file (snarkjs / Perpetual Powers of Tau .ptau, BN254)
    /// into halo2 KZG parameters of size 2^k, checking every point on the way.
    #[command(
        after_help = "Example:\n  zkattest srs import --ptau powersOfTau28_hez_final_21.ptau --k 21 --out kzg-k21.srs"
    )]
    Import(ImportArgs),
    /// Check a halo2 KZG parameter file against the pinned SHA-256 digests of the published
    /// PPoT-derived files, and print its SRS digest.
    #[command(
        after_help = "Example:\n  zkattest srs verify --file perpetual-powers-of-tau-raw-21"
    )]
    Verify(VerifyArgs),
}

/// Arguments of `srs import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The ceremony file.
    #[arg(long)]
    pub ptau: PathBuf,
    /// Size of the parameters: 2^k powers (at most the file's power).
    #[arg(long)]
    pub k: u32,
    /// Where to write the parameters (pass it to setup, prove, aggregate with --srs).
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `srs verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// A halo2 raw KZG parameter file.
    #[arg(long)]
    pub file: PathBuf,
}

#[derive(Serialize)]
struct ImportReport {
    out: PathBuf,
    k: u32,
    ptau_power: u32,
    ceremony_power: u32,
    /// What reports, setup.json and the key metadata name this SRS by.
    srs_digest: String,
    file_sha256: String,
    /// Whether the Lagrange basis came from the file's phase-2 section (checked) rather than
    /// an inverse FFT over G1 (hours at k = 21 on two cores).
    lagrange_from_file: bool,
    import_s: f64,
}

#[derive(Serialize)]
struct VerifyReport {
    file: PathBuf,
    file_sha256: String,
    /// The k of the published file with this digest.
    published_k: u32,
    srs_digest: String,
}

pub fn run(c: SrsCommand, json: bool) -> anyhow::Result<()> {
    match c {
        SrsCommand::Import(a) => import(a, json),
        SrsCommand::Verify(a) => verify(a, json),
    }
}

fn file_sha256(path: &std::path::Path) -> anyhow::Result<String> {
    Ok(zkattest_cluster::store::digest_file(path)?.sha256)
}

/// From this k on, computing the Lagrange basis takes long enough to say so up front.
const SLOW_LAGRANGE_K: u32 = 16;

fn import(a: ImportArgs, json: bool) -> anyhow::Result<()> {
    let t = std::time::Instant::now();
    let header = ptau::header(&a.ptau)?;
    let lagrange_from_file = header.lagrange;
    if !lagrange_from_file && a.k >= SLOW_LAGRANGE_K {
        eprintln!(
            "note: {} has no Lagrange section: computing the basis for k = {} is an inverse FFT over G1 that takes hours on a small machine; `snarkjs powersoftau prepare phase2` adds the section (Hermez's _final_ files have it)",
            a.ptau.display(),
            a.k
        );
    }
    let pb = spinner("reading and checking the ceremony's powers", json);
    ptau::import_to_file(&a.ptau, a.k, &a.out)?;
    pb.finish_and_clear();
    // Read back as every later step will: checked, and named by its digest.
    let srs = Srs::load(&a.out, a.k)?;
    let report = ImportReport {
        out: a.out.clone(),
        k: a.k,
        ptau_power: header.power,
        ceremony_power: header.ceremony_power,
        srs_digest: srs.digest(),
        file_sha256: file_sha256(&a.out)?,
        lagrange_from_file,
        import_s: t.elapsed().as_secs_f64(),
    };
    crate::output::print(json, &report, || {
        format!(
            "wrote {} (k = {}, from a 2^{} ceremony file, Lagrange basis {}) in {:.1} s\n  SRS digest {}\n  file SHA-256 {}",
            report.out.display(),
            report.k,
            report.ptau_power,
            if report.lagrange_from_file { "read from the file and checked" } else { "computed" },
            report.import_s,
            report.srs_digest,
            report.file_sha256
        )
    })
}

fn verify(a: VerifyArgs, json: bool) -> anyhow::Result<()> {
    let sha = file_sha256(&a.file)?;
    let Some(k) = published_k(&sha) else {
        anyhow::bail!(
            "{} (SHA-256 {sha}) is none of the {} published PPoT-derived parameter files (k = 1..={}); an SRS of your own ceremony is named by its digest instead (`srs import` prints it)",
            a.file.display(),
            PUBLISHED_PPOT_SHA256.len(),
            PUBLISHED_PPOT_SHA256.len()
        );
    };
    let srs = Srs::load(&a.file, k)?;
    let report = VerifyReport {
        file: a.file.clone(),
        file_sha256: sha,
        published_k: k,
        srs_digest: srs.digest(),
    };
    crate::output::print(json, &report, || {
        format!(
            "{}: the published PPoT-derived parameters for k = {}\n  SRS digest {}",
            report.file.display(),
            report.published_k,
            report.srs_digest
        )
    })
}
