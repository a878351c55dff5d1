//! The public instance layout every shard shares.
//!
//! `[in_commit, out_commit, descriptor, out_0 .. out_{MAX_OUTPUTS-1}]`: the Poseidon
//! commitment to the values the shard receives, the commitment to the values it passes on,
//! the output descriptor (the last shard's output count and scale, a constant of its circuit,
//! so the verifying key and the model id bind both), and, for the last shard of a model with
//! at most [`MAX_OUTPUTS`] outputs, the output values themselves (zero elsewhere).

/// Commitment to the shard's input values (the salted model input for shard 0).
pub const IN_COMMIT: usize = 0;
/// Commitment to the shard's output values.
pub const OUT_COMMIT: usize = 1;
/// The output descriptor `count + 2^COUNT_BITS · scale` (see [`descriptor`]); 0 except in the
/// last shard.
pub const DESCRIPTOR: usize = 2;
/// Bits of the output count in the descriptor.
pub const COUNT_BITS: u32 = 6;
/// Bits of the output scale in the descriptor.
pub const SCALE_BITS: u32 = 6;
/// First public output value.
pub const OUTPUT0: usize = 3;
/// Output values a proof can expose; larger outputs are attested by commitment only.
/// Two aggregated field elements hold them (see `crate::aggregate::circuit`).
pub const MAX_OUTPUTS: usize = 30;

/// Bits of every output the aggregated proof shows: its circuit range-checks them to
/// `[-2^(bits-1), 2^(bits-1))` and packs them (see `crate::aggregate::circuit`).
pub const PUBLIC_OUTPUT_BITS: u32 = 16;

/// Exclusive bound on |output| of a shown output.
pub const fn public_output_bound() -> i64 {
    1 << (PUBLIC_OUTPUT_BITS - 1)
}

/// Number of instance values of every shard.
pub const fn count() -> usize {
    OUTPUT0 + MAX_OUTPUTS
}

/// The outputs a last shard shows in its instance (and the aggregated proof in its packed
/// words): all of them, or none when there are more than [`MAX_OUTPUTS`] (they are then bound
/// by the output commitment only).
pub fn shown<T>(outputs: &[T]) -> &[T] {
    if outputs.len() <= MAX_OUTPUTS {
        outputs
    } else {
        &[]
    }
}

/// The output descriptor of a last shard: `count` public outputs (0 when the model has more
/// than [`MAX_OUTPUTS`]) at scale `2^scale`. None when the scale needs more than
/// [`SCALE_BITS`] bits.
pub fn descriptor(count: usize, scale: u32) -> Option<u64> {
    (count <= MAX_OUTPUTS && scale < (1 << SCALE_BITS))
        .then(|| count as u64 + ((scale as u64) << COUNT_BITS))
}
