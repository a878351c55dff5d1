//! Structured reference strings, keys, shard proofs and their native verification.

mod dev_srs;
pub mod keys;
pub mod ptau;
pub mod shard_proof;
pub mod srs;

pub use keys::ShardKeys;
pub use shard_proof::ShardProof;
pub use srs::{Srs, SrsOrigin};
