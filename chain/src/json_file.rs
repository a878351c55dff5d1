//! The crate's JSON files (attestations, deployments): read and written one way.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{ChainError, Result};

/// Reads a JSON file; `what` names it in errors.
pub(crate) fn read<T: DeserializeOwned>(path: &Path, what: &'static str) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ChainError::Io { path: path.to_path_buf(), source: e })?;
    serde_json::from_str(&text)
        .map_err(|e| ChainError::Invalid { what, reason: format!("{}: {e}", path.display()) })
}

/// Writes `value` as pretty JSON; `what` names it in errors.
pub(crate) fn write<T: Serialize>(path: &Path, what: &'static str, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| ChainError::Invalid { what, reason: e.to_string() })?;
    std::fs::write(path, text).map_err(|e| ChainError::Io { path: path.to_path_buf(), source: e })
}
