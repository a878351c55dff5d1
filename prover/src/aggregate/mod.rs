//! Aggregation of all shard proofs of one inference into one KZG proof for the EVM.
//!
//! One universal aggregation circuit (per shard count `N`) verifies `N` shard proofs with
//! snark-verifier, loading each shard's verifying key *and* its size `k` as witnesses
//! (`VerifierUniversality::Full`), so registering a new model never needs a new verifier.
//! Inside the circuit it also enforces the shard chain (`out_commit_i == in_commit_{i+1}`)
//! and exposes exactly:
//!
//! `[accumulator limbs (12), model_id, input_commitment, n_out, out_0 .. out_{MAX_OUTPUTS-1}]`
//!
//! where `model_id` is the Poseidon digest of the ordered shard verifying keys (their
//! preprocessed commitments, transcript state and `k`). Nothing else from the shards leaks.
//!
//! In front of the EVM, [`compress`] can verify that wide proof once more in a one-column
//! circuit with the same public instances: a cheaper verifier for the same statement.

pub mod circuit;
pub mod compress;
pub mod final_proof;
pub mod keys;
pub mod model_id;
pub mod outputs;
pub mod reuse;
pub mod tree;

pub use circuit::{AggregationInstances, NUM_ACC_LIMBS};
pub use compress::{CompressionKeys, CompressionSettings};
pub use final_proof::FinalProof;
pub use keys::{verify_aggregated, AggregationKeys, AggregationSettings};
pub use tree::NodeKeys;
