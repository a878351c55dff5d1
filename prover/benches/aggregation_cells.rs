//! Where the aggregation circuit's cells go. Cells decide its columns at a given k, and
//! columns decide the EVM verifier's gas (see verifier-gen's `gas_by_columns` bench and
//! docs/gas.md), so this is the budget any gas or latency improvement has to come from.
//!
//! `cargo bench -p zkattest-prover --bench aggregation_cells` (witness generation only, no
//! proving: about 30 s here).

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine};
use halo2_base::halo2_proofs::halo2curves::group::ff::Field;
use halo2_base::halo2_proofs::halo2curves::group::Curve;
use rand::rngs::OsRng;
use snark_verifier_sdk::halo2::aggregation::{
    AggregationCircuit, AggregationConfigParams, VerifierUniversality,
};
use snark_verifier_sdk::snark_verifier::loader::halo2::halo2_ecc::ecc::EccChip;
use snark_verifier_sdk::snark_verifier::loader::halo2::halo2_ecc::fields::fp::FpChip;
use snark_verifier_sdk::SHPLONK;
use zkattest_prover::aggregate::circuit::build;
use zkattest_prover::aggregate::keys::reference_snarks;
use zkattest_prover::proof::Srs;

const K: u32 = 21;

fn cells(b: &BaseCircuitBuilder<Fr>) -> (usize, usize) {
    let s = b.statistics();
    (s.gate.total_advice_per_phase[0], s.total_lookup_advice_per_phase[0])
}

/// `ZKATTEST_BENCH_SMOKE=1` (the full test tier): the smallest configuration only.
fn smoke() -> bool {
    std::env::var_os("ZKATTEST_BENCH_SMOKE").is_some()
}

fn main() {
    let srs = Srs::dev(&zkattest_prover::proof::srs::default_cache_dir(), 12).expect("dev srs");
    let shard = &reference_snarks(&srs, 1).expect("reference snark")[0].protocol;
    println!(
        "Shard proof as verified in-circuit: {} preprocessed commitments (fixed + permutation), \
         {} witness commitments (advice, lookup, permutation products), {} quotient pieces, \
         {} evaluations.\n",
        shard.preprocessed.len(),
        shard.num_witness.iter().sum::<usize>(),
        shard.quotient.num_chunk(),
        shard.evaluations.len()
    );
    println!("Aggregation circuit, k = {K}, lookup bits {}:\n", K - 1);
    println!("| shard slots | shard verifying keys | advice cells | lookup cells | advice columns | lookup-advice columns | fixed columns |");
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    let slots: &[usize] = if smoke() { &[1] } else { &[1, 2] };
    let modes: &[VerifierUniversality] = if smoke() {
        &[VerifierUniversality::Full]
    } else {
        &[
            VerifierUniversality::None,
            VerifierUniversality::PreprocessedAsWitness,
            VerifierUniversality::Full,
        ]
    };
    for &n in slots {
        for &mode in modes {
            let snarks = reference_snarks(&srs, n).expect("reference snarks");
            let config = AggregationConfigParams {
                degree: K,
                lookup_bits: K as usize - 1,
                ..Default::default()
            };
            let mut c = AggregationCircuit::new::<SHPLONK>(
                CircuitBuilderStage::Keygen,
                config,
                &srs.params,
                snarks,
                mode,
            );
            let (advice, lookup) = cells(&c.builder);
            let p = c.calculate_params(Some(20));
            let keys = match mode {
                VerifierUniversality::None => "constants (one verifier per model)",
                VerifierUniversality::PreprocessedAsWitness => "witnesses",
                VerifierUniversality::Full => "witnesses, k too (zkattest)",
            };
            println!(
                "| {n} | {keys} | {advice} | {lookup} | {} | {} | {} |",
                p.num_advice, p.num_lookup_advice, p.num_fixed
            );
        }
        let snarks = reference_snarks(&srs, n).expect("reference snarks");
        let config = AggregationConfigParams {
            degree: K,
            lookup_bits: K as usize - 1,
            ..Default::default()
        };
        let mut c = build(CircuitBuilderStage::Keygen, config, &srs.params, snarks).expect("build");
        let (advice, lookup) = cells(&c.builder);
        let p = c.calculate_params(Some(20));
        println!(
            "| {n} | zkattest's circuit (universal + chain, model id, outputs) | {advice} | {lookup} | {} | {} | {} |",
            p.num_advice, p.num_lookup_advice, p.num_fixed
        );
    }

    // The in-circuit multi-scalar multiplication of a shard's commitments dominates: price
    // it alone (halo2-ecc, 3 x 88-bit limbs as snark-verifier-sdk uses).
    println!("\nIn-circuit variable-base MSM on BN254 G1 (254-bit scalars):\n");
    println!("| points | advice cells | lookup cells | advice cells per point |");
    println!("| ---: | ---: | ---: | ---: |");
    let mut rng = OsRng;
    for n in [1, 10, 20, 30, 45, 60, 90] {
        let mut b =
            BaseCircuitBuilder::<Fr>::new(false).use_k(K as usize).use_lookup_bits(K as usize - 1);
        let range = b.range_chip();
        let fp = FpChip::<Fr, Fq>::new(&range, 88, 3);
        let ecc = EccChip::new(&fp);
        let (points, scalars): (Vec<_>, Vec<_>) = (0..n)
            .map(|_| {
                let ctx = b.main(0);
                let p = (G1Affine::generator() * Fr::random(&mut rng)).to_affine();
                (ecc.assign_point::<G1Affine>(ctx, p), vec![ctx.load_witness(Fr::random(&mut rng))])
            })
            .unzip();
        let before = cells(&b);
        ecc.variable_base_msm::<G1Affine>(b.pool(0), &points, scalars, 254);
        let after = cells(&b);
        let advice = after.0 - before.0;
        println!("| {n} | {advice} | {} | {} |", after.1 - before.1, advice / n);
    }
}
