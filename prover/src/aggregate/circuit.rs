//! The aggregation circuit: snark-verifier's accumulation plus zkattest's chain checks.

use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_base::poseidon::hasher::PoseidonSponge;
use halo2_base::QuantumCell::Constant;
use snark_verifier_sdk::halo2::aggregation::{
    AggregationCircuit, AggregationConfigParams, VerifierUniversality,
};
use snark_verifier_sdk::{Snark, SHPLONK};

use crate::circuit::instance;
use crate::circuit::poseidon::{RATE, R_F, R_P, T};
use crate::error::{ProverError, Result};

/// KZG accumulator limbs at the start of the instances (two G1 points, 2 coordinates, 3 limbs).
pub const NUM_ACC_LIMBS: usize = 12;
/// Index of the model id among the aggregated instances.
pub const MODEL_ID: usize = NUM_ACC_LIMBS;
/// Index of the input commitment.
pub const INPUT_COMMITMENT: usize = NUM_ACC_LIMBS + 1;
/// Index of the first packed-outputs word.
pub const OUTPUTS: usize = NUM_ACC_LIMBS + 2;
/// Bits per packed output: values are in `[-2^15, 2^15)`, stored as `v + 2^15`.
pub const OUTPUT_BITS: u32 = instance::PUBLIC_OUTPUT_BITS;
/// Outputs per packed word.
pub const OUTPUTS_PER_WORD: usize = 15;
/// Packed-outputs words.
pub const OUTPUT_WORDS: usize = instance::MAX_OUTPUTS.div_ceil(OUTPUTS_PER_WORD);
/// Index of the output commitment: the last shard's commitment to all the model's outputs,
/// which binds them when there are more than the packed words hold.
pub const OUTPUT_COMMITMENT: usize = OUTPUTS + OUTPUT_WORDS;
/// Bit position of the output descriptor (count, then scale: `instance::descriptor`) in the
/// first packed word.
pub const COUNT_SHIFT: u32 = OUTPUT_BITS * OUTPUTS_PER_WORD as u32;
/// Bit position of the output scale in the first packed word.
pub const SCALE_SHIFT: u32 = COUNT_SHIFT + instance::COUNT_BITS;
/// Bits of the descriptor: the first word stays below `2^252 < r`.
const DESCRIPTOR_BITS: u32 = instance::COUNT_BITS + instance::SCALE_BITS;

/// Number of public instances of the aggregated proof.
///
/// Every public instance costs verifier code and gas, so the outputs travel packed:
/// word `j` is `sum_i 2^(16 i) (v_(15j+i) + 2^15)`, and word 0 also carries the output
/// count at bit 240 and the output scale at bit 246 (the last shard's descriptor, a constant
/// of its circuit). The circuit range-checks every output to 16 bits and the descriptor to
/// 12, which makes the packing injective. The output commitment closes the list.
pub const fn num_instances() -> usize {
    OUTPUT_COMMITMENT + 1
}

/// Packs output values (with their count and scale) as the aggregation circuit does. None
/// when the scale does not fit the descriptor.
pub fn pack_outputs(values: &[i64], scale_bits: u32) -> Option<Vec<Fr>> {
    use crate::circuit::{fe, pow2};
    let shown = instance::shown(values);
    let descriptor = instance::descriptor(shown.len(), scale_bits)?;
    let mut words = vec![Fr::zero(); OUTPUT_WORDS];
    words[0] = pow2(COUNT_SHIFT) * Fr::from(descriptor);
    for slot in 0..instance::MAX_OUTPUTS {
        let v = shown.get(slot).copied().unwrap_or(0);
        let (w, i) = (slot / OUTPUTS_PER_WORD, slot % OUTPUTS_PER_WORD);
        words[w] += pow2(OUTPUT_BITS * i as u32) * fe(v + (1 << (OUTPUT_BITS - 1)));
    }
    Some(words)
}

/// The aggregated proof's public values, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregationInstances {
    /// All instances, in order.
    pub all: Vec<Fr>,
}

impl AggregationInstances {
    /// The model id (digest of the shard verifying keys).
    pub fn model_id(&self) -> Fr {
        self.all[MODEL_ID]
    }

    /// The input commitment.
    pub fn input_commitment(&self) -> Fr {
        self.all[INPUT_COMMITMENT]
    }

    /// The commitment to all the outputs (`shard::boundary::boundary_commitment`).
    pub fn output_commitment(&self) -> Fr {
        self.all[OUTPUT_COMMITMENT]
    }

    /// The output scale the last shard's circuit states (`2^scale`).
    pub fn scale_bits(&self) -> u32 {
        field(&word_bytes(&self.all[OUTPUTS]), SCALE_SHIFT, instance::SCALE_BITS) as u32
    }

    /// The public output values, unpacked.
    pub fn outputs(&self) -> Vec<i64> {
        let words: Vec<Vec<u8>> =
            self.all[OUTPUTS..OUTPUTS + OUTPUT_WORDS].iter().map(word_bytes).collect();
        let n = field(&words[0], COUNT_SHIFT, instance::COUNT_BITS) as usize;
        (0..n.min(instance::MAX_OUTPUTS))
            .map(|slot| {
                let (w, i) = (slot / OUTPUTS_PER_WORD, slot % OUTPUTS_PER_WORD);
                field(&words[w], OUTPUT_BITS * i as u32, OUTPUT_BITS) as i64
                    - (1 << (OUTPUT_BITS - 1))
            })
            .collect()
    }
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

/// Builds the aggregation circuit over `snarks` (one per shard slot, in chain order).
pub fn build(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
) -> Result<AggregationCircuit> {
    if snarks.is_empty() {
        return Err(ProverError::Planning("nothing to aggregate".into()));
    }
    for (i, s) in snarks.iter().enumerate() {
        if s.instances.len() != 1 || s.instances[0].len() != instance::count() {
            return Err(ProverError::Rejected(format!(
                "shard proof {i} has the wrong instance layout"
            )));
        }
    }
    let n = snarks.len();
    let mut circuit = AggregationCircuit::new::<SHPLONK>(
        stage,
        config,
        params,
        snarks,
        VerifierUniversality::Full,
    );
    let prev = circuit.previous_instances().clone();
    let preprocessed = circuit.preprocessed().clone();
    let range = circuit.builder.range_chip();
    let ctx = circuit.builder.main(0);

    // The chain: what shard i passes on is what shard i+1 received.
    for i in 0..n - 1 {
        ctx.constrain_equal(&prev[i][instance::OUT_COMMIT], &prev[i + 1][instance::IN_COMMIT]);
    }
    // The model id: digest of every shard's verifying key and size, in order.
    let mut sponge = PoseidonSponge::<Fr, T, RATE>::new::<R_F, R_P, 0>(ctx);
    for p in &preprocessed {
        sponge.update(&p.preprocessed);
        sponge.update(&[p.k]);
    }
    let model_id = sponge.squeeze(ctx, range.gate());

    // Outputs, range-checked to 16 bits (which makes packing injective) and packed.
    let last = &prev[n - 1];
    let gate = range.gate();
    let offset = Fr::from(1u64 << (OUTPUT_BITS - 1));
    let descriptor = last[instance::DESCRIPTOR];
    range.range_check(ctx, descriptor, DESCRIPTOR_BITS as usize);
    let mut words = Vec::with_capacity(OUTPUT_WORDS);
    for w in 0..OUTPUT_WORDS {
        let mut terms = Vec::new();
        let mut coeffs = Vec::new();
        for i in 0..OUTPUTS_PER_WORD {
            let slot = w * OUTPUTS_PER_WORD + i;
            if slot >= instance::MAX_OUTPUTS {
                break;
            }
            let shifted = gate.add(ctx, last[instance::OUTPUT0 + slot], Constant(offset));
            range.range_check(ctx, shifted, OUTPUT_BITS as usize);
            terms.push(shifted);
            coeffs.push(crate::circuit::pow2(OUTPUT_BITS * i as u32));
        }
        if w == 0 {
            terms.push(descriptor);
            coeffs.push(crate::circuit::pow2(COUNT_SHIFT));
        }
        let packed = gate.inner_product(ctx, terms, coeffs.into_iter().map(Constant));
        words.push(packed);
    }

    let mut public = circuit.builder.assigned_instances[0].clone();
    debug_assert_eq!(public.len(), NUM_ACC_LIMBS);
    public.push(model_id);
    public.push(prev[0][instance::IN_COMMIT]);
    public.extend(words);
    public.push(last[instance::OUT_COMMIT]);
    circuit.builder.assigned_instances[0] = public;
    Ok(circuit)
}

/// Checks the KZG accumulator carried in the instances: `e(lhs, g2) == e(rhs, s·g2)`.
/// This is the pairing the EVM verifier performs on top of the proof check.
pub fn check_accumulator(srs: &crate::proof::Srs, instances: &[Fr]) -> Result<()> {
    use halo2_base::halo2_proofs::arithmetic::CurveAffine;
    use halo2_base::halo2_proofs::halo2curves::bn256::{Fq, G1Affine};
    use halo2_base::halo2_proofs::poly::commitment::ParamsProver;
    use snark_verifier_sdk::snark_verifier::loader::native::NativeLoader;
    use snark_verifier_sdk::snark_verifier::pcs::kzg::{KzgAccumulator, KzgDecidingKey};
    use snark_verifier_sdk::snark_verifier::pcs::AccumulationDecider;
    use snark_verifier_sdk::snark_verifier::util::arithmetic::fe_from_limbs;
    use snark_verifier_sdk::{BITS, LIMBS};

    let bad = || ProverError::Rejected("aggregated proof: invalid KZG accumulator".into());
    let coord = |i: usize| -> Fq {
        let limbs: [Fr; LIMBS] = [instances[i], instances[i + 1], instances[i + 2]];
        fe_from_limbs::<Fr, Fq, LIMBS, BITS>(limbs)
    };
    let point = |i: usize| -> Result<G1Affine> {
        Option::from(G1Affine::from_xy(coord(i), coord(i + LIMBS))).ok_or_else(bad)
    };
    let (lhs, rhs) = (point(0)?, point(2 * LIMBS)?);
    let dk: KzgDecidingKey<Bn256> =
        (srs.params.get_g()[0], srs.params.g2(), srs.params.s_g2()).into();
    <SHPLONK as AccumulationDecider<G1Affine, NativeLoader>>::decide(
        &dk,
        KzgAccumulator::new(lhs, rhs),
    )
    .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_outputs_roundtrip() {
        for (values, scale) in [
            (vec![], 0),
            (vec![5, -3, 0, 32767, -32768], 7),
            ((0..30).map(|i| i * 1000 - 15000).collect(), 63),
        ] {
            let mut all = vec![Fr::zero(); OUTPUTS];
            all.extend(pack_outputs(&values, scale).expect("fits"));
            all.push(Fr::from(99u64));
            assert_eq!(all.len(), num_instances());
            let inst = AggregationInstances { all };
            assert_eq!(inst.outputs(), values);
            assert_eq!(inst.scale_bits(), scale);
        }
        // More outputs than slots: attested by commitment only, the count says 0.
        let many: Vec<i64> = (0..31).collect();
        let mut all = vec![Fr::zero(); OUTPUTS];
        all.extend(pack_outputs(&many, 9).expect("fits"));
        let inst = AggregationInstances { all };
        assert_eq!((inst.outputs(), inst.scale_bits()), (vec![], 9));
        assert!(pack_outputs(&[1], 64).is_none());
    }
}
