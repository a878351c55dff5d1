//! Printing results: human text or one JSON object (`--json`).

use std::sync::Mutex;

use serde::Serialize;
use zkattest_prover::proof::Srs;

/// What every report says when the run used the dev SRS.
pub const DEV_SRS_WARNING: &str = "the dev SRS is INSECURE (its toxic waste is public: anyone can forge proofs against it); development only, pass --srs FILE (see docs/trust.md)";

/// The SRS the run used: its digest, and whether it is the dev SRS.
static USED_SRS: Mutex<Option<(String, bool)>> = Mutex::new(None);

/// Records the SRS a command loaded; true the first time the run loads one.
pub fn note_srs(srs: &Srs) -> bool {
    let mut used = USED_SRS.lock().unwrap_or_else(|p| p.into_inner());
    let first = used.is_none();
    // The dev SRS wins: a run that touched it at all is a dev-SRS run.
    if first || srs.is_insecure() {
        *used = Some((srs.digest(), srs.is_insecure()));
    }
    first
}

/// Prints a result: pretty JSON with `--json`, otherwise the human text. A run that loaded an
/// SRS names it in the JSON (`srs_digest`, `insecure_srs`, and a warning for the dev SRS).
pub fn print<T: Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if json {
        let mut v = serde_json::to_value(value)?;
        let used = USED_SRS.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let (Some(map), Some((digest, insecure))) = (v.as_object_mut(), used) {
            map.insert("srs_digest".into(), digest.into());
            map.insert("insecure_srs".into(), insecure.into());
            if insecure {
                map.insert("srs_warning".into(), DEV_SRS_WARNING.into());
            }
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{}", human());
    }
    Ok(())
}

/// Reports an error: `{"error": ...}` on stdout with `--json`, else the cause chain on stderr.
pub fn error(e: &anyhow::Error, json: bool) {
    let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    if json {
        println!("{}", serde_json::json!({ "error": chain.join(": ") }));
    } else {
        eprintln!("error: {}", chain.join("\n  caused by: "));
    }
}
