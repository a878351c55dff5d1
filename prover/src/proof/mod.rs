//! Structured reference strings, keys, shard proofs and their native verification.

pub mod keys;
pub mod shard_proof;
pub mod srs;

pub use keys::ShardKeys;
pub use shard_proof::ShardProof;
pub use srs::{Srs, SrsOrigin};
