//! zkattest's EVM side: bindings to the attestation registry, forge artifacts, a local anvil,
//! and the deploy / register / submit / query / gas-report routines the CLI, the relayer and
//! the tests share.

pub mod anvil;
pub mod attestation;
pub mod bindings;
pub mod client;
pub mod deploy;
pub mod error;
pub mod forge;
pub mod gas;
mod json_file;
pub mod query;
pub mod srs_guard;

pub use attestation::Attestation;
pub use error::{ChainError, Result};
