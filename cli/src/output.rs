//! Printing results: human text or one JSON object (`--json`).

use serde::Serialize;

/// Prints a result: pretty JSON with `--json`, otherwise the human text.
pub fn print<T: Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
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
