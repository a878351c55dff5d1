//! The relayer: accepts finished attestations over HTTP and lands each in the registry exactly
//! once, whatever the chain, the RPC or the relayer itself does.
//!
//! Durability rule: a job is written to the queue before `202` is returned, and a signed
//! transaction is written (with its raw bytes) before it is broadcast. After any crash the
//! engine finds every in-flight transaction by hash and rebroadcasts what the node lost; all
//! transactions of one job share one nonce, so at most one of them can ever be mined.

pub mod api;
pub mod config;
pub mod engine;
pub mod error;
pub mod job;
pub mod metrics;
pub mod service;
pub mod store;

pub use config::Config;
pub use error::{RelayerError, Result};
pub use service::{init_logging, serve, Service};
