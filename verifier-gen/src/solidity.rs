//! Solidity source of the universal aggregation verifier.

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snark_verifier_sdk::evm::gen_evm_verifier_sol_code;
use snark_verifier_sdk::halo2::aggregation::AggregationCircuit;
use snark_verifier_sdk::SHPLONK;
use zkattest_prover::aggregate::circuit::num_instances;

/// EIP-170 limit on deployed code.
pub const EIP170_LIMIT: usize = 24_576;

/// Gas handed to each precompile call. A precompile that fails consumes all the gas it
/// was given, and the stock generated code gives it `gas()` — everything left — so an
/// invalid proof burned the whole transaction. With a bound, it costs at most this much.
/// Figures are the EIP-1108 prices with headroom: ecAdd 150, ecMul 6,000, modexp (the
/// field inversions here) well under 10,000, pairing 45,000 + 34,000 per pair.
const PRECOMPILE_GAS: [(&str, u64); 4] =
    [("0x5", 20_000), ("0x6", 1_000), ("0x7", 10_000), ("0x8", 200_000)];

/// The verifier contract for the aggregation circuit's verifying key.
pub fn generate(params: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>) -> String {
    let code =
        gen_evm_verifier_sol_code::<AggregationCircuit, SHPLONK>(params, vk, vec![num_instances()]);
    harden(&code)
}

/// Bounds the gas of every precompile call in generated code, and names the contract.
pub fn harden(code: &str) -> String {
    let mut out = code.to_string();
    for (addr, gas) in PRECOMPILE_GAS {
        out = out
            .replace(&format!("staticcall(gas(), {addr},"), &format!("staticcall({gas}, {addr},"));
    }
    // The generator pins 0.8.19; any 0.8 compiler from it on compiles the code the same way.
    out.replace("pragma solidity 0.8.19;", "pragma solidity ^0.8.19;")
        .replace("contract Halo2Verifier", "contract ZkAttestVerifier")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harden_bounds_every_precompile_call() {
        let code = "contract Halo2Verifier { fallback() external { assembly { \
            success := and(success, staticcall(gas(), 0x6, 0x00, 0x80, 0x00, 0x40)) \
            success := and(success, staticcall(gas(), 0x8, 0x00, 0x180, 0x00, 0x20)) } } }";
        let h = harden(code);
        assert!(!h.contains("staticcall(gas()"), "{h}");
        assert!(h.contains("staticcall(1000, 0x6,") && h.contains("staticcall(200000, 0x8,"));
        assert!(h.contains("contract ZkAttestVerifier"));
    }
}
