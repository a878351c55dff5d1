//! The packing natively (round trips, widths) and in circuit (MockProver: honest packings
//! pass, values beyond their slot, another layout, a forged count and every forged cell fail).

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::plonk::Assigned;

use super::*;

const K: u32 = 12;
const LOOKUP_BITS: usize = 10;

/// Values at both ends of the range `count` outputs are shown in, the rest zero.
fn edge_values(count: usize) -> Vec<i64> {
    let bound = instance::public_output_bound(count);
    (0..count).map(|i| if i % 2 == 0 { bound - 1 - i as i64 } else { -bound + i as i64 }).collect()
}

/// The last shard's instance values for these outputs: every slot, zero beyond them.
fn slots(values: &[i64]) -> Vec<i64> {
    let mut all = values.to_vec();
    all.resize(instance::MAX_OUTPUTS, 0);
    all
}

fn descriptor(count: usize, scale: u32) -> u64 {
    instance::descriptor(count, scale).expect("descriptor fits")
}

/// Builds the packing gadget over `slot_values` and `descriptor`, lets `forge` tamper with
/// the witness, and reports whether MockProver accepts it with `public` (the circuit's own
/// words when None) as the instance.
fn accepted(
    slot_values: &[i64],
    descriptor: u64,
    public: Option<Vec<Fr>>,
    forge: impl FnOnce(&mut BaseCircuitBuilder<Fr>),
) -> (bool, Vec<Fr>) {
    let mut b = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
        .use_k(K as usize)
        .use_lookup_bits(LOOKUP_BITS)
        .use_instance_columns(1);
    let range = b.range_chip();
    let ctx = b.main(0);
    let d = ctx.load_witness(Fr::from(descriptor));
    let values = ctx.assign_witnesses(slot_values.iter().map(|&v| fe(v)));
    let words = constrain(ctx, &range, d, &values);
    let computed: Vec<Fr> = words.iter().map(|w| *w.value()).collect();
    b.assigned_instances[0] = words;
    b.calculate_params(Some(9));
    forge(&mut b);
    let public = public.unwrap_or_else(|| computed.clone());
    let ok = MockProver::run(K, &b, vec![public]).expect("mock prover runs").verify().is_ok();
    (ok, computed)
}

#[test]
fn widths_follow_the_count() {
    for count in 0..=instance::MAX_OUTPUTS {
        let want = match count {
            0..=10 => 48,
            11..=14 => 32,
            _ => 16,
        };
        assert_eq!(instance::slot_bits(count), want, "{count} outputs");
    }
    assert_eq!(OUTPUT_WORDS, 2);
}

#[test]
fn packed_outputs_roundtrip() {
    for count in 0..=instance::MAX_OUTPUTS {
        for scale in [0, 7, 63] {
            let values = edge_values(count);
            let words = pack_outputs(&values, scale).expect("fits");
            assert_eq!(words.len(), OUTPUT_WORDS);
            assert_eq!(unpack_outputs(&words), values, "{count} outputs");
            assert_eq!(unpack_scale(&words), scale);
            // Word 0 stays below 2^252 < r, the others below 2^240.
            let top = |w: &Fr| field(&word_bytes(w), 252, 4) + field(&word_bytes(w), 240, 12);
            assert!(field(&word_bytes(&words[0]), 252, 4) == 0 && top(&words[1]) == 0);
        }
        // One value beyond the width has no packing.
        if count > 0 {
            let mut beyond = edge_values(count);
            beyond[0] = instance::public_output_bound(count);
            assert!(pack_outputs(&beyond, 0).is_none(), "{count} outputs");
            beyond[0] = -instance::public_output_bound(count) - 1;
            assert!(pack_outputs(&beyond, 0).is_none(), "{count} outputs");
        }
    }
    // More outputs than slots: attested by commitment only, the count says 0.
    let many: Vec<i64> = (0..31).map(|i| i << 40).collect();
    let words = pack_outputs(&many, 9).expect("fits");
    assert_eq!((unpack_outputs(&words), unpack_scale(&words)), (vec![], 9));
    assert!(pack_outputs(&[1], 64).is_none());
}

#[test]
fn circuit_packs_as_the_native_packing() {
    for count in [0, 1, 5, 10, 11, 14, 15, 30] {
        let values = edge_values(count);
        let (ok, words) = accepted(&slots(&values), descriptor(count, 11), None, |_| {});
        assert!(ok, "{count} outputs");
        assert_eq!(Some(words), pack_outputs(&values, 11), "{count} outputs");
    }
}

#[test]
fn a_value_beyond_its_slot_is_rejected() {
    for count in [1, 10, 11, 14, 15, 30] {
        let bound = instance::public_output_bound(count);
        for beyond in [bound, -bound - 1] {
            let mut values = edge_values(count);
            values[count - 1] = beyond;
            let (ok, _) = accepted(&slots(&values), descriptor(count, 3), None, |_| {});
            assert!(!ok, "{count} outputs, {beyond}");
        }
        // A slot past the count is range-checked too (an honest shard leaves it zero).
        if count < instance::MAX_OUTPUTS {
            let mut all = slots(&edge_values(count));
            all[count] = bound;
            assert!(!accepted(&all, descriptor(count, 3), None, |_| {}).0, "{count} outputs");
        }
    }
}

/// Two neighbouring fields trading a carry give the same words: a shard value one slot
/// too large, its neighbour one smaller. The range check of the large one must catch it.
#[test]
fn a_carry_between_slots_is_rejected() {
    for count in [2, 10, 12, 20] {
        let bits = instance::slot_bits(count);
        let values = slots(&vec![0; count]);
        let mut forged = values.clone();
        forged[0] += 1 << bits;
        forged[1] -= 1;
        let public = pack_outputs(&values[..count], 5);
        let (ok, words) = accepted(&forged, descriptor(count, 5), public.clone(), |_| {});
        assert_eq!(Some(words), public, "same words, {count} outputs");
        assert!(!ok, "{count} outputs");
    }
}

/// The same values packed at a width other than the count's.
#[test]
fn another_layout_is_rejected() {
    let count = 12;
    let shown = edge_values(count);
    for bits in instance::SLOT_WIDTHS {
        let mut words = vec![pow2(COUNT_SHIFT) * Fr::from(descriptor(count, 0)), Fr::zero()];
        for slot in 0..instance::slot_capacity(bits) {
            let v = shown.get(slot).copied().unwrap_or(0);
            let (w, at) = position(slot, bits);
            words[w] += pow2(at) * fe(v + (1 << (bits - 1)));
        }
        let (ok, _) = accepted(&slots(&shown), descriptor(count, 0), Some(words), |_| {});
        assert_eq!(ok, bits == instance::slot_bits(count), "{bits}-bit layout");
    }
}

#[test]
fn a_count_beyond_the_slots_is_rejected() {
    let n = instance::MAX_OUTPUTS + 1;
    let d = n as u64 + (4 << instance::COUNT_BITS);
    assert!(!accepted(&slots(&[]), d, None, |_| {}).0);
    // The descriptor's fields are range-checked: a scale of 64 has no 6-bit field.
    assert!(!accepted(&slots(&[]), 1 + (64 << instance::COUNT_BITS), None, |_| {}).0);
}

/// Every advice cell of an honest packing changed by one is rejected, at each width, except
/// the one cell no constraint reads: the inverse `halo2_base`'s `is_zero` assigns to a zero
/// input (its gate is `is_zero + a · inv = 1`, with `a = 0`), whose value changes nothing.
#[test]
fn every_forged_cell_is_rejected() {
    for count in [3, 12, 21] {
        let values = slots(&edge_values(count));
        let honest: Vec<Fr> = {
            let mut b = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
                .use_k(K as usize)
                .use_lookup_bits(LOOKUP_BITS);
            let range = b.range_chip();
            let ctx = b.main(0);
            let d = ctx.load_witness(Fr::from(descriptor(count, 9)));
            let vs = ctx.assign_witnesses(values.iter().map(|&v| fe(v)));
            constrain(ctx, &range, d, &vs);
            ctx.advice.iter().map(|a| a.evaluate()).collect()
        };
        // is_zero's cells: [is_zero, a, inv, 1, 0, a, is_zero, 0]; here a = 0, is_zero = 1.
        let inverse_of_zero = |c: usize| {
            let pattern = [1u64, 0, 1, 1, 0, 0, 1, 0].map(Fr::from);
            c >= 2 && honest.get(c - 2..c + 6).is_some_and(|cells| cells == pattern)
        };
        let mut accepted_forgeries = Vec::new();
        for (cell, value) in honest.iter().enumerate() {
            let (ok, _) = accepted(&values, descriptor(count, 9), None, |b| {
                b.main(0).advice[cell] = Assigned::Trivial(*value + Fr::one());
            });
            if ok && !inverse_of_zero(cell) {
                accepted_forgeries.push(cell);
            }
        }
        assert!(accepted_forgeries.is_empty(), "{count} outputs: {accepted_forgeries:?}");
    }
}

/// Known answers shared with the Solidity codec's test
/// (contracts/test/VerifyInference.t.sol, `test_verifyInference_packsOutputsLikeTheCircuit`).
#[test]
fn known_answers() {
    let hex = |words: Vec<Fr>| -> Vec<String> {
        words
            .iter()
            .map(|w| {
                let bytes = word_bytes(w);
                let s: String = bytes.iter().rev().map(|b| format!("{b:02x}")).collect();
                format!("0x{}", s.trim_start_matches('0'))
            })
            .collect()
    };
    let pad48 = "0x800000000000800000000000800000000000800000000000800000000000";
    let cases: [(Vec<i64>, [&str; 2]); 5] = [
        (
            vec![-1, 32767, -32768],
            ["0x1c38000000000008000000000007fffffff8000800000007fff7fffffffffff", pad48],
        ),
        (
            vec![5, -3, 0, 32767, -32768],
            ["0x1c57fffffff8000800000007fff8000000000007ffffffffffd800000000005", pad48],
        ),
        (
            vec![1 << 40, -(1 << 47), (1 << 47) - 1],
            ["0x1c3800000000000800000000000ffffffffffff000000000000810000000000", pad48],
        ),
        (
            (-6..6).collect(),
            [
                "0x1cc0000800000007fffffff7ffffffe7ffffffd7ffffffc7ffffffb7ffffffa",
                "0x80000000800000008000000580000004800000038000000280000001",
            ],
        ),
        (
            (0..20).collect(),
            [
                "0x1d4800e800d800c800b800a8009800880078006800580048003800280018000",
                "0x80008000800080008000800080008000800080008013801280118010800f",
            ],
        ),
    ];
    for (values, want) in cases {
        assert_eq!(hex(pack_outputs(&values, 7).expect("fits")), want, "{values:?}");
    }
}
