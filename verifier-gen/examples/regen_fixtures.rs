//! Rewrites the committed real-proof fixtures (and the committed verifier when the
//! aggregation key changed): `scripts/regen-fixtures.sh`. Four aggregations: ~15 min, 9 GB.

use std::path::PathBuf;
use std::time::Instant;

use zkattest_prover::proof::srs::default_cache_dir;
use zkattest_verifier_gen::fixture::{regenerate, Prover};

fn main() {
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."));
    let t = Instant::now();
    let log = |step: &str| eprintln!("[{:>6.1} s] {step}", t.elapsed().as_secs_f64());
    log("dev SRS and aggregation keys (cached after the first run)");
    let result = Prover::dev(&default_cache_dir()).and_then(|p| regenerate(&root, &p, &log));
    match result {
        Ok(()) => log("fixtures written"),
        Err(e) => {
            eprintln!("regen-fixtures: {e}");
            std::process::exit(1);
        }
    }
}
