//! `zkattest setup`.

use std::path::PathBuf;

use serde::Serialize;
use zkattest_prover::artifacts::{CompiledModel, SetupInfo};

use super::SrsArgs;
use crate::progress::bar;

/// Arguments of `setup`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Artifact folder written by `compile`.
    #[arg(long)]
    pub artifacts: PathBuf,
    #[command(flatten)]
    pub srs: SrsArgs,
}

#[derive(Serialize)]
struct Report<'a> {
    artifacts: &'a PathBuf,
    srs: String,
    insecure_srs: bool,
    #[serde(flatten)]
    info: &'a SetupInfo,
}

pub fn run(a: Args, json: bool) -> anyhow::Result<()> {
    let compiled = CompiledModel::load(&a.artifacts)?;
    let srs = a.srs.load(compiled.plan.k, json)?;
    let pb = bar(compiled.plan.shards.len(), "keygen", json);
    let info = SetupInfo::run(&compiled, &a.artifacts, &srs, &|_| pb.inc(1))?;
    pb.finish_and_clear();
    let report = Report {
        artifacts: &a.artifacts,
        srs: srs.origin.label(),
        insecure_srs: srs.origin == zkattest_prover::proof::SrsOrigin::DevInsecure,
        info: &info,
    };
    crate::output::print(json, &report, || {
        format!(
            "keys for {} shard(s) in {}\n  SRS: {}\n  keygen s per shard: {:?}",
            info.vk_sha256.len(),
            a.artifacts.join("keys").display(),
            report.srs,
            info.keygen_s.iter().map(|s| (s * 10.0).round() / 10.0).collect::<Vec<_>>()
        )
    })
}
