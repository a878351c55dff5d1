//! The shown outputs in the aggregated proof's public words.
//!
//! Every public instance costs verifier code and gas, so the outputs travel packed in
//! [`OUTPUT_WORDS`] words. With `n` outputs shown, each slot has `b = instance::slot_bits(n)`
//! bits (48 up to 10 outputs, 32 up to 14, 16 up to 30) and holds `v + 2^(b-1)`; word `j`
//! holds slots `j p .. (j+1) p` with `p = 240 / b`, slot `i` of a word at bit `b i`, and word 0
//! also carries the last shard's descriptor (the count at bit 240, the scale at bit 246). The
//! circuit range-checks the count to 6 bits and at most [`instance::MAX_OUTPUTS`], the scale to
//! 6 bits and every slot to its `b` bits, which makes the packing injective: a reader takes
//! the count, hence `b`, then the fields. Unused slots below the width's capacity hold `v = 0`.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::utils::ScalarField;
use halo2_base::QuantumCell::{Constant, Existing};
use halo2_base::{AssignedValue, Context};

use crate::circuit::{fe, instance, pow2};

pub use instance::OUTPUT_WORDS;

/// Bit position of the output descriptor (count, then scale: `instance::descriptor`) in the
/// first packed word.
pub const COUNT_SHIFT: u32 = instance::WORD_VALUE_BITS;
/// Bit position of the output scale in the first packed word.
pub const SCALE_SHIFT: u32 = COUNT_SHIFT + instance::COUNT_BITS;

/// The widest slot: every slot is first range-checked to it, then scaled to it by its own width.
const WIDEST: u32 = instance::SLOT_WIDTHS[0];

/// Word and bit of output `slot` at `bits` bits a slot.
fn position(slot: usize, bits: u32) -> (usize, u32) {
    let per = instance::slots_per_word(bits);
    (slot / per, bits * (slot % per) as u32)
}

/// Packs output values (with their count and scale) as the aggregation circuit does. None
/// when the scale does not fit the descriptor or a shown value does not fit its slot.
pub fn pack_outputs(values: &[i64], scale_bits: u32) -> Option<Vec<Fr>> {
    let shown = instance::shown(values);
    let descriptor = instance::descriptor(shown.len(), scale_bits)?;
    let bits = instance::slot_bits(shown.len());
    let bound = instance::public_output_bound(shown.len());
    if shown.iter().any(|v| !(-bound..bound).contains(v)) {
        return None;
    }
    let mut words = vec![Fr::zero(); OUTPUT_WORDS];
    words[0] = pow2(COUNT_SHIFT) * Fr::from(descriptor);
    for slot in 0..instance::slot_capacity(bits) {
        let v = shown.get(slot).copied().unwrap_or(0);
        let (w, at) = position(slot, bits);
        words[w] += pow2(at) * fe(v + bound);
    }
    Some(words)
}

/// The output scale packed words state.
pub fn unpack_scale(words: &[Fr]) -> u32 {
    field(&word_bytes(&words[0]), SCALE_SHIFT, instance::SCALE_BITS) as u32
}

/// The output values packed words carry.
pub fn unpack_outputs(words: &[Fr]) -> Vec<i64> {
    let words: Vec<Vec<u8>> = words.iter().map(word_bytes).collect();
    let n =
        (field(&words[0], COUNT_SHIFT, instance::COUNT_BITS) as usize).min(instance::MAX_OUTPUTS);
    let bits = instance::slot_bits(n);
    (0..n)
        .map(|slot| {
            let (w, at) = position(slot, bits);
            field(&words[w], at, bits) as i64 - (1i64 << (bits - 1))
        })
        .collect()
}

fn word_bytes(x: &Fr) -> Vec<u8> {
    use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
    x.to_repr().as_ref().to_vec()
}

/// Bits `at .. at + width` of a little-endian word.
fn field(w: &[u8], at: u32, width: u32) -> u64 {
    (0..width).fold(0u64, |acc, b| {
        let bit = at + b;
        acc | ((((w[(bit / 8) as usize] >> (bit % 8)) & 1) as u64) << b)
    })
}

/// Constrains and returns the packed words of the last shard's `descriptor` and its
/// [`instance::MAX_OUTPUTS`] output `values`.
pub fn constrain(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    descriptor: AssignedValue<Fr>,
    values: &[AssignedValue<Fr>],
) -> Vec<AssignedValue<Fr>> {
    let gate = range.gate();
    // descriptor = count + 2^COUNT_BITS scale, each range-checked: the count selects the width.
    let d = descriptor.value().get_lower_64();
    let count = ctx.load_witness(Fr::from(d & ((1 << instance::COUNT_BITS) - 1)));
    let scale = ctx.load_witness(Fr::from(d >> instance::COUNT_BITS));
    range.range_check(ctx, count, instance::COUNT_BITS as usize);
    range.range_check(ctx, scale, instance::SCALE_BITS as usize);
    let recomposed =
        gate.mul_add(ctx, scale, Constant(pow2(instance::COUNT_BITS)), Existing(count));
    ctx.constrain_equal(&recomposed, &descriptor);

    // fits[i]: the count fits the capacity of width i. Capacities grow as widths narrow, so
    // fits is monotone and one flag per width is set: the widest that fits.
    let fits: Vec<AssignedValue<Fr>> = instance::SLOT_WIDTHS
        .iter()
        .map(|&b| {
            let cap = instance::slot_capacity(b) as u64 + 1;
            range.is_less_than(
                ctx,
                count,
                Constant(Fr::from(cap)),
                instance::COUNT_BITS as usize + 1,
            )
        })
        .collect();
    // The narrowest holds every count a descriptor may state; a larger one has no layout.
    gate.assert_is_const(ctx, &fits[fits.len() - 1], &Fr::one());
    let mut flags = vec![fits[0]];
    for i in 1..fits.len() {
        flags.push(gate.sub(ctx, fits[i], fits[i - 1]));
    }
    let by_width = |f: fn(u32) -> Fr| instance::SLOT_WIDTHS.iter().map(move |&b| Constant(f(b)));
    let offset = gate.inner_product(ctx, flags.clone(), by_width(|b| pow2(b - 1)));
    let widen = gate.inner_product(ctx, flags.clone(), by_width(|b| pow2(WIDEST - b)));

    // Each slot below 2^b: below 2^WIDEST (so the product cannot wrap), then below 2^WIDEST
    // once multiplied by 2^(WIDEST - b).
    let shifted: Vec<AssignedValue<Fr>> = values
        .iter()
        .map(|v| {
            let s = gate.add(ctx, *v, offset);
            range.range_check(ctx, s, WIDEST as usize);
            let widened = gate.mul(ctx, s, widen);
            range.range_check(ctx, widened, WIDEST as usize);
            s
        })
        .collect();

    (0..OUTPUT_WORDS)
        .map(|w| {
            let packed: Vec<AssignedValue<Fr>> = instance::SLOT_WIDTHS
                .iter()
                .map(|&b| {
                    let (terms, coeffs): (Vec<_>, Vec<_>) = (0..instance::slot_capacity(b))
                        .filter_map(|slot| {
                            let (word, at) = position(slot, b);
                            (word == w).then(|| (shifted[slot], Constant(pow2(at))))
                        })
                        .unzip();
                    if terms.is_empty() {
                        ctx.load_zero()
                    } else {
                        gate.inner_product(ctx, terms, coeffs)
                    }
                })
                .collect();
            let word = gate.inner_product(ctx, flags.clone(), packed.into_iter().map(Existing));
            if w == 0 {
                gate.mul_add(ctx, descriptor, Constant(pow2(COUNT_SHIFT)), word)
            } else {
                word
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
