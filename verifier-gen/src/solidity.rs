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

/// The verifier contract for the aggregation circuit's verifying key, naming its SRS.
pub fn generate(params: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>) -> String {
    let code =
        gen_evm_verifier_sol_code::<AggregationCircuit, SHPLONK>(params, vk, vec![num_instances()]);
    with_srs_digest(&harden(&code), &zkattest_prover::proof::srs::digest(params))
}

/// Adds the SRS digest as a constant and a view (`srsDigest()`), so a registry, a deploy
/// script or an auditor can read which SRS the pairing check trusts. A proof never reaches
/// the view by accident: calldata starts with an accumulator limb (< 2^88), whose first four
/// bytes are zero, and the view's selector is not.
pub fn with_srs_digest(code: &str, digest: &str) -> String {
    code.replacen(
        "contract ZkAttestVerifier {",
        &format!(
            "contract ZkAttestVerifier {{\n    /// SHA-256 of the SRS the pairing check trusts (zkattest's SRS digest: the G1 and G2\n    /// generators and [tau]G2).\n    bytes32 public constant SRS_DIGEST = 0x{digest};\n\n    function srsDigest() external pure returns (bytes32) {{\n        return SRS_DIGEST;\n    }}\n"
        ),
        1,
    )
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

/// The chain crate recognizes a dev-SRS verifier by the dev `[τ]G2` words in its code; those
/// constants must be this build's dev SRS, and the committed verifier must carry them.
#[cfg(test)]
mod dev_srs_guard {
    use halo2_base::halo2_proofs::halo2curves::bn256::Fq;
    use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
    use zkattest_chain::srs_guard::{uses_dev_srs, DEV_SRS_NEG_S_G2_Y_WORDS, DEV_SRS_S_G2_WORDS};
    use zkattest_prover::proof::srs::dev_s_g2;

    fn word(x: &Fq) -> String {
        let mut b = x.to_repr().as_ref().to_vec();
        b.reverse();
        hex::encode(b)
    }

    #[test]
    fn dev_s_g2_words_match_the_chain_guard() {
        let p = dev_s_g2();
        // The pairing precompile's order: x.c1, x.c0, y.c1, y.c0.
        let words = [word(&p.x.c1), word(&p.x.c0), word(&p.y.c1), word(&p.y.c0)];
        assert_eq!(words, DEV_SRS_S_G2_WORDS.map(String::from));
        let n = -p;
        assert_eq!([word(&n.y.c1), word(&n.y.c0)], DEV_SRS_NEG_S_G2_Y_WORDS.map(String::from));
    }

    #[test]
    fn the_committed_verifier_is_recognized_as_a_dev_srs_verifier() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let source = std::fs::read_to_string(root.join(crate::forge::VERIFIER_SOURCE))
            .expect("committed verifier");
        // Its Solidity carries the words as literals; the bytecode as PUSH32 immediates.
        let literals: Vec<u8> = DEV_SRS_S_G2_WORDS
            .iter()
            .chain(&DEV_SRS_NEG_S_G2_Y_WORDS)
            .filter(|w| source.contains(&format!("0x{w}")))
            .flat_map(|w| hex::decode(w).expect("hex"))
            .collect();
        assert!(
            uses_dev_srs(&literals),
            "the committed verifier does not pair against the dev SRS"
        );
        let (att, _) = zkattest_chain::Attestation::fixture(&root).expect("fixture");
        let json: serde_json::Value = serde_json::from_slice(
            &std::fs::read(root.join(zkattest_chain::attestation::FIXTURE)).expect("fixture"),
        )
        .expect("json");
        let code = hex::decode(
            json["verifier_creation_code"].as_str().expect("code").trim_start_matches("0x"),
        )
        .expect("hex");
        assert!(uses_dev_srs(&code));
        assert!(!uses_dev_srs(&att.proof), "a proof is not a verifier");
    }
}
