//! The model id, computed natively exactly as the aggregation circuit computes it.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::GateChip;
use halo2_base::halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_base::poseidon::hasher::PoseidonSponge;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::snark_verifier::util::arithmetic::fe_to_limbs;
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::{BITS, LIMBS};

use crate::circuit::instance;
use crate::circuit::poseidon::{RATE, R_F, R_P, T};

/// The values the aggregation circuit loads for one shard verifying key: the limbs of
/// every preprocessed commitment, the transcript's initial state, then `k`.
pub fn vk_witness(
    params: &ParamsKZG<halo2_base::halo2_proofs::halo2curves::bn256::Bn256>,
    vk: &VerifyingKey<G1Affine>,
) -> Vec<Fr> {
    protocol_witness(&compile(params, vk, Config::kzg().with_num_instance(vec![instance::count()])))
}

/// The values a universal aggregation circuit loads for a verifying key compiled into
/// `protocol`: the limbs of every preprocessed commitment, the transcript's initial state,
/// then `k`.
pub fn protocol_witness(protocol: &PlonkProtocol<G1Affine>) -> Vec<Fr> {
    let mut out: Vec<Fr> = protocol
        .preprocessed
        .iter()
        .flat_map(|p| {
            let mut limbs = fe_to_limbs::<Fq, Fr, LIMBS, BITS>(p.x).to_vec();
            limbs.extend(fe_to_limbs::<Fq, Fr, LIMBS, BITS>(p.y));
            limbs
        })
        .collect();
    out.extend(protocol.transcript_initial_state);
    out.push(Fr::from(protocol.domain.k as u64));
    out
}

/// The model id of a chain of shard verifying keys (already turned into [`vk_witness`]es):
/// the same Poseidon sponge the circuit runs, evaluated by running its witness generation.
pub fn model_id(vk_witnesses: &[Vec<Fr>]) -> Fr {
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock);
    let gate = GateChip::<Fr>::default();
    let ctx = builder.main(0);
    let mut sponge = PoseidonSponge::<Fr, T, RATE>::new::<R_F, R_P, 0>(ctx);
    for w in vk_witnesses {
        let loaded = ctx.assign_witnesses(w.iter().copied());
        sponge.update(&loaded);
    }
    *sponge.squeeze(ctx, &gate).value()
}
