//! The aggregation circuit: snark-verifier's accumulation plus zkattest's chain checks.

use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::RangeInstructions;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_base::poseidon::hasher::PoseidonSponge;
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
pub use super::outputs::{pack_outputs, COUNT_SHIFT, OUTPUT_WORDS, SCALE_SHIFT};
/// Index of the output commitment: the last shard's commitment to all the model's outputs,
/// which binds them when there are more than the packed words hold.
pub const OUTPUT_COMMITMENT: usize = OUTPUTS + OUTPUT_WORDS;

/// Number of public instances of the aggregated proof: the accumulator, the model id, the
/// input commitment, the packed outputs (`super::outputs`) and the output commitment.
pub const fn num_instances() -> usize {
    OUTPUT_COMMITMENT + 1
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
        super::outputs::unpack_scale(&self.all[OUTPUTS..OUTPUT_COMMITMENT])
    }

    /// The public output values, unpacked.
    pub fn outputs(&self) -> Vec<i64> {
        super::outputs::unpack_outputs(&self.all[OUTPUTS..OUTPUT_COMMITMENT])
    }
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

    // Outputs, range-checked to their slots (which makes packing injective) and packed.
    let last = &prev[n - 1];
    let words = super::outputs::constrain(
        ctx,
        &range,
        last[instance::DESCRIPTOR],
        &last[instance::OUTPUT0..instance::OUTPUT0 + instance::MAX_OUTPUTS],
    );

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
