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

/// Bits of a packed word of the aggregated proof that hold output values (word 0 carries the
/// descriptor above them; see `crate::aggregate::outputs`).
pub const WORD_VALUE_BITS: u32 = 240;

/// Widths of a shown output's slot in the aggregated proof, widest first. A proof packs its
/// outputs at the widest width whose slots hold them all, so a few outputs (a regression's
/// value, a classifier's scores) are shown at a fine scale and many at a coarser one.
pub const SLOT_WIDTHS: [u32; 3] = [48, 32, 16];

/// Packed words that hold the shown outputs: enough for [`MAX_OUTPUTS`] at the narrowest width.
pub const OUTPUT_WORDS: usize =
    MAX_OUTPUTS.div_ceil(slots_per_word(SLOT_WIDTHS[SLOT_WIDTHS.len() - 1]));

/// Slots of `bits` bits in one packed word.
pub const fn slots_per_word(bits: u32) -> usize {
    (WORD_VALUE_BITS / bits) as usize
}

/// Outputs the packed words hold at `bits` bits each.
pub const fn slot_capacity(bits: u32) -> usize {
    let slots = OUTPUT_WORDS * slots_per_word(bits);
    if slots < MAX_OUTPUTS {
        slots
    } else {
        MAX_OUTPUTS
    }
}

/// Bits of each slot when `count` outputs are shown: the widest width that holds them all.
pub fn slot_bits(count: usize) -> u32 {
    let narrowest = SLOT_WIDTHS[SLOT_WIDTHS.len() - 1];
    SLOT_WIDTHS.into_iter().find(|&b| slot_capacity(b) >= count).unwrap_or(narrowest)
}

/// Exclusive bound on |output| of each of `count` shown outputs: the aggregation circuit
/// range-checks them to `[-2^(bits-1), 2^(bits-1))` of their slot.
pub fn public_output_bound(count: usize) -> i64 {
    1 << (slot_bits(count) - 1)
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
