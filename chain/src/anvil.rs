//! A local anvil for the demo, the gas report and the tests (the project's own binary from
//! scripts/setup.sh, never a download).

use std::path::{Path, PathBuf};

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::signers::local::PrivateKeySigner;

use crate::forge::tool_path;
use crate::{ChainError, Result};

/// How to start anvil.
#[derive(Clone, Debug, Default)]
pub struct AnvilOptions {
    /// Port (a free one when `None`).
    pub port: Option<u16>,
    /// Seconds between blocks (automine when `None`).
    pub block_time: Option<u64>,
    /// State file: loaded at start when it exists, dumped on exit and every second.
    pub state: Option<PathBuf>,
    /// Block gas limit (anvil's default when `None`).
    pub gas_limit: Option<u64>,
    /// Chain id (anvil's 31337 when `None`): a test stands in for a real chain with `Some(1)`.
    pub chain_id: Option<u64>,
}

/// Starts anvil from `root/.tools/bin` (or PATH). It is killed when the instance drops.
pub fn spawn(root: &Path, opts: &AnvilOptions) -> Result<AnvilInstance> {
    let mut anvil = Anvil::at(tool_path(root, "anvil"));
    if let Some(p) = opts.port {
        anvil = anvil.port(p);
    }
    if let Some(t) = opts.block_time {
        anvil = anvil.block_time(t);
    }
    if let Some(s) = &opts.state {
        anvil = anvil.arg("--state").arg(s).arg("--state-interval").arg("1");
    }
    if let Some(g) = opts.gas_limit {
        anvil = anvil.arg("--gas-limit").arg(g.to_string());
    }
    if let Some(id) = opts.chain_id {
        anvil = anvil.chain_id(id);
    }
    anvil.try_spawn().map_err(|e| ChainError::Anvil(e.to_string()))
}

/// The signer of anvil's `index`-th funded development account.
pub fn dev_signer(anvil: &AnvilInstance, index: usize) -> Result<PrivateKeySigner> {
    let key = anvil
        .nth_key(index)
        .ok_or_else(|| ChainError::Anvil(format!("anvil has no development key {index}")))?;
    Ok(PrivateKeySigner::from(key.clone()))
}
