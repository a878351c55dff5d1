//! The public instance layout every shard shares.
//!
//! `[in_commit, out_commit, n_out, out_0 .. out_{MAX_OUTPUTS-1}]`: the Poseidon commitment
//! to the values the shard receives, the commitment to the values it passes on, and, for
//! the last shard of a model with at most [`MAX_OUTPUTS`] outputs, the output values
//! themselves (zero elsewhere).

/// Commitment to the shard's input values (the salted model input for shard 0).
pub const IN_COMMIT: usize = 0;
/// Commitment to the shard's output values.
pub const OUT_COMMIT: usize = 1;
/// Number of public output values (0 except in the last shard).
pub const NUM_OUTPUTS: usize = 2;
/// First public output value.
pub const OUTPUT0: usize = 3;
/// Output values a proof can expose; larger outputs are attested by commitment only.
/// Two aggregated field elements hold them (see `crate::aggregate::circuit`).
pub const MAX_OUTPUTS: usize = 30;

/// Number of instance values of every shard.
pub const fn count() -> usize {
    OUTPUT0 + MAX_OUTPUTS
}
