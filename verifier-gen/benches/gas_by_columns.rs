//! Verification gas of snark-verifier's generated SHPLONK verifier as a function of the
//! aggregation circuit's advice columns, measured with real proofs in revm.
//!
//! The aggregation circuit is a halo2-base circuit: `A` advice columns, one lookup-advice
//! column, one constant column, the range table, one instance column. Its EVM verifier's
//! cost depends on that shape (one ecMul per commitment, one evaluation per query), not on
//! what the cells compute, so a circuit of exactly that shape with a few cells, the same
//! 16 public instances and the same accumulator check prices every column count without
//! proving the multi-million-cell aggregation itself. The last row checks this against the
//! committed verifier and the committed real aggregated proof.
//!
//! `cargo bench -p zkattest-verifier-gen --bench gas_by_columns` (needs scripts/setup.sh's
//! forge; about 5 minutes here, solcjs compiles dominate).

use std::path::{Path, PathBuf};

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::{BaseCircuitParams, BaseConfig, CircuitBuilderStage};
use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::plonk::{keygen_pk, keygen_vk, Circuit, ConstraintSystem, Error};
use halo2_base::QuantumCell::Constant;
use snark_verifier_sdk::evm::{gen_evm_proof_shplonk, gen_evm_verifier_sol_code};
use snark_verifier_sdk::{CircuitExt, SHPLONK};
use zkattest_prover::aggregate::circuit::{num_instances, NUM_ACC_LIMBS};
use zkattest_prover::proof::Srs;
use zkattest_verifier_gen::{calldata, evm, solidity};

const K: u32 = 12;

/// A halo2-base circuit whose first instances are a KZG accumulator, as in aggregation.
struct Shaped(BaseCircuitBuilder<Fr>);

impl Circuit<Fr> for Shaped {
    type Config = BaseConfig<Fr>;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = BaseCircuitParams;

    fn params(&self) -> Self::Params {
        self.0.params()
    }

    fn without_witnesses(&self) -> Self {
        unimplemented!("keygen uses the builder in keygen mode")
    }

    fn configure_with_params(
        meta: &mut ConstraintSystem<Fr>,
        params: Self::Params,
    ) -> Self::Config {
        BaseCircuitBuilder::configure_with_params(meta, params)
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
        unreachable!("configure_with_params")
    }

    fn synthesize(&self, config: Self::Config, layouter: impl Layouter<Fr>) -> Result<(), Error> {
        self.0.synthesize(config, layouter)
    }
}

impl CircuitExt<Fr> for Shaped {
    fn num_instance(&self) -> Vec<usize> {
        vec![num_instances()]
    }

    fn instances(&self) -> Vec<Vec<Fr>> {
        self.0.assigned_instances.iter().map(|c| c.iter().map(|v| *v.value()).collect()).collect()
    }

    fn accumulator_indices() -> Option<Vec<(usize, usize)>> {
        Some((0..NUM_ACC_LIMBS).map(|i| (0, i)).collect())
    }
}

fn shaped(stage: CircuitBuilderStage, advice: usize, instances: &[Fr]) -> Shaped {
    let params = BaseCircuitParams {
        k: K as usize,
        num_advice_per_phase: vec![advice],
        num_fixed: 1,
        num_lookup_advice_per_phase: vec![1],
        lookup_bits: Some(K as usize - 1),
        num_instance_columns: 1,
    };
    let mut b = BaseCircuitBuilder::from_stage(stage).use_params(params);
    let range = b.range_chip();
    let ctx = b.main(0);
    let public: Vec<_> = instances.iter().map(|x| ctx.load_witness(*x)).collect();
    // Use the constant column and the lookup, as the aggregation circuit does.
    let one = range.gate().add(ctx, Constant(Fr::zero()), Constant(Fr::one()));
    range.range_check(ctx, one, 8);
    // Put gates in every advice column, at every row offset, as the aggregation circuit does:
    // keygen merges the selectors of columns whose gates never share a row into one fixed
    // column, and the verifier would then look cheaper than the real one. A lone cell every
    // few gates shifts the gates' alignment.
    let mut acc = one;
    for i in 0..((advice - 1) << K) / 4 + 256 {
        acc = range.gate().add(ctx, acc, one);
        if i % 7 == 0 {
            ctx.load_witness(Fr::zero());
        }
    }
    b.assigned_instances = vec![public];
    Shaped(b)
}

struct Row {
    what: String,
    ec_muls: Option<usize>,
    runtime_bytes: usize,
    calldata_bytes: usize,
    /// `None` when the verifier cannot be deployed (over EIP-170).
    gas: Option<u64>,
}

fn compile(root: &Path, dir: &Path, source: &str) -> (Vec<u8>, usize) {
    zkattest_verifier_gen::forge::compile_scratch(root, dir, source)
        .expect("forge build (scripts/setup.sh installs forge)")
}

fn solidity_path() -> &'static str {
    zkattest_verifier_gen::forge::VERIFIER_SOURCE
}

/// `ZKATTEST_BENCH_SMOKE=1` (the full test tier): the smallest configuration only.
fn smoke() -> bool {
    std::env::var_os("ZKATTEST_BENCH_SMOKE").is_some()
}

fn main() {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixture = root.join("contracts/test/fixtures/aggregated_proof.json");
    let committed = zkattest_chain::Attestation::from_file(&fixture).expect("fixture");
    let (instances, _) =
        calldata::decode(&committed.proof, num_instances()).expect("fixture calldata");
    // The dev SRS has one secret at every size, so the committed accumulator (made with the
    // k = 21 dev SRS) checks against this small one too.
    let srs = Srs::dev(&zkattest_prover::proof::srs::default_cache_dir(), K).expect("dev srs");
    let mut rows = Vec::new();
    // 12 columns is what two shard proofs take at k = 20.
    let columns: &[usize] = if smoke() { &[6] } else { &[1, 2, 3, 4, 5, 6, 8, 12] };
    for &advice in columns {
        let keygen = shaped(CircuitBuilderStage::Keygen, advice, &instances);
        let vk = keygen_vk(&srs.params, &keygen).expect("vk");
        let pk = keygen_pk(&srs.params, vk, &keygen).expect("pk");
        let break_points = keygen.0.break_points();
        let mut prover = shaped(CircuitBuilderStage::Prover, advice, &instances);
        prover.0.set_break_points(break_points);
        let proof = gen_evm_proof_shplonk(&srs.params, &pk, prover, vec![instances.clone()]);
        let code = solidity::harden(&gen_evm_verifier_sol_code::<Shaped, SHPLONK>(
            &srs.params,
            pk.get_vk(),
            vec![num_instances()],
        ));
        let ec_muls = code.matches(", 0x7,").count();
        let dir = tempfile::tempdir().expect("tempdir");
        let (bytecode, runtime_bytes) = compile(&root, dir.path(), &code);
        let data = calldata::encode(&instances, &proof);
        let calldata_bytes = data.len();
        let gas = (runtime_bytes <= solidity::EIP170_LIMIT)
            .then(|| evm::deploy_and_call(bytecode, data).expect("a valid proof verifies"));
        rows.push(Row {
            what: format!("{advice} advice + 1 lookup advice"),
            ec_muls: Some(ec_muls),
            runtime_bytes,
            calldata_bytes,
            gas,
        });
        eprintln!("measured {advice} advice column(s): {gas:?} gas");
    }
    let source = std::fs::read_to_string(root.join(solidity_path())).expect("committed verifier");
    let dir = tempfile::tempdir().expect("tempdir");
    let (bytecode, runtime_bytes) = compile(&root, dir.path(), &source);
    let gas = evm::deploy_and_call(bytecode, committed.proof.to_vec())
        .expect("the committed proof verifies");
    rows.push(Row {
        what: "committed verifier, real 2-shard proof (k = 21)".into(),
        ec_muls: Some(source.matches(", 0x7,").count()),
        runtime_bytes,
        calldata_bytes: committed.proof.len(),
        gas: Some(gas),
    });

    println!("| aggregation circuit shape | ecMul calls | code bytes | calldata bytes | verify gas (revm, whole tx) |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.what,
            r.ec_muls.map_or("—".into(), |n| n.to_string()),
            r.runtime_bytes,
            r.calldata_bytes,
            r.gas.map_or("over EIP-170, cannot be deployed".into(), |g| g.to_string())
        );
    }
}
