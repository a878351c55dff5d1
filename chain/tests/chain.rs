//! Against a real anvil with the real registry and the committed verifier: deploy, register,
//! submit the real aggregated-proof fixture, read it back; rejections; the gas report; and the
//! Rust bindings' selectors against forge's compiled ABI.

use std::path::PathBuf;

use alloy::primitives::{B256, U256};
use alloy::providers::DynProvider;
use zkattest_chain::anvil::{dev_signer, spawn, AnvilOptions};
use zkattest_chain::client::connect;
use zkattest_chain::deploy::{deploy, register, Deployment, ModelRegistration, RegistryParams};
use zkattest_chain::forge::method_identifiers;
use zkattest_chain::query::{by_inference_id, latest, submit};
use zkattest_chain::{Attestation, ChainError};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture() -> (Attestation, RegistryParams) {
    Attestation::fixture(&root()).expect("real-proof fixture")
}

async fn chain() -> (alloy::node_bindings::AnvilInstance, DynProvider, Deployment, Attestation, U256)
{
    let anvil = spawn(&root(), &AnvilOptions::default()).expect("anvil");
    let provider =
        connect(&anvil.endpoint(), dev_signer(&anvil, 0).expect("key")).await.expect("connect");
    let (a, params) = fixture();
    let d = deploy(&provider, &root(), params).await.expect("deploy");
    let reg = ModelRegistration {
        vk_hash: a.vk_hash,
        output_scale_bits: a.output_scale_bits,
        model_hash: B256::repeat_byte(1),
        circuit_hash: B256::repeat_byte(2),
        uri: "test".into(),
    };
    let (model_id, _) = register(&provider, d.registry, &reg).await.expect("register");
    (anvil, provider, d, a, model_id)
}

#[tokio::test]
async fn real_proof_is_stored_and_read_back_by_id_and_by_input() {
    let (_anvil, p, d, a, model_id) = chain().await;
    let s = submit(&p, d.registry, model_id, &a).await.expect("submit");
    let onchain = zkattest_chain::bindings::IAttestationRegistry::new(d.registry, &p)
        .computeInferenceId(model_id, a.input_commitment, a.output.clone())
        .call()
        .await
        .expect("computeInferenceId");
    assert_eq!(onchain, s.inference_id, "the Rust inference id is the registry's");
    let rec =
        by_inference_id(&p, d.registry, s.inference_id).await.expect("query").expect("stored");
    let (values, scale) = a.output_values().expect("output");
    assert_eq!((rec.values.clone(), rec.scale_bits), (values, scale));
    assert_eq!(rec.model_id, model_id);
    assert_eq!(rec.input_commitment, a.input_commitment);
    assert_eq!(rec.block_number, s.block_number);
    let again =
        latest(&p, d.registry, model_id, a.input_commitment).await.expect("latest").expect("some");
    assert_eq!(again, rec);
    assert!(latest(&p, d.registry, model_id, B256::repeat_byte(9))
        .await
        .expect("latest")
        .is_none());
    assert!(by_inference_id(&p, d.registry, B256::repeat_byte(9)).await.expect("query").is_none());
}

#[tokio::test]
async fn tampered_proof_and_wrong_output_are_rejected_with_the_registry_error() {
    let (_anvil, p, d, a, model_id) = chain().await;
    let mut bad = a.clone();
    let mut proof = bad.proof.to_vec();
    let last = proof.len() - 1;
    proof[last] ^= 1;
    bad.proof = proof.into();
    match submit(&p, d.registry, model_id, &bad).await {
        Err(ChainError::Reverted { reason, .. }) => {
            assert!(reason.contains("InvalidProof"), "{reason}")
        }
        other => panic!("tampered proof accepted or odd error: {other:?}"),
    }
    let (mut values, scale) = a.output_values().expect("output");
    values[0] += 1;
    let mut wrong = a.clone();
    wrong.output = zkattest_chain::attestation::encode_output(
        &values.iter().map(|v| *v as i64).collect::<Vec<_>>(),
        scale,
    );
    match submit(&p, d.registry, model_id, &wrong).await {
        Err(ChainError::Reverted { reason, .. }) => {
            assert!(reason.contains("OutputMismatch"), "{reason}")
        }
        other => panic!("wrong output accepted or odd error: {other:?}"),
    }
    // A model registered with another digest cannot take this proof.
    let other = ModelRegistration {
        vk_hash: B256::with_last_byte(7),
        output_scale_bits: a.output_scale_bits,
        model_hash: B256::ZERO,
        circuit_hash: B256::ZERO,
        uri: String::new(),
    };
    let (other_id, _) = register(&p, d.registry, &other).await.expect("register");
    match submit(&p, d.registry, other_id, &a).await {
        Err(ChainError::Reverted { reason, .. }) => {
            assert!(reason.contains("ModelMismatch"), "{reason}")
        }
        other => panic!("proof accepted for another model or odd error: {other:?}"),
    }
}

#[tokio::test]
async fn gas_report_measures_real_transactions() {
    let anvil = spawn(&root(), &AnvilOptions::default()).expect("anvil");
    let p = connect(&anvil.endpoint(), dev_signer(&anvil, 0).expect("key")).await.expect("connect");
    let (a, params) = fixture();
    let r = zkattest_chain::gas::report(&p, &root(), params, &a).await.expect("report");
    assert!(r.verifier_runtime_bytes > 10_000 && r.verifier_runtime_bytes <= 24_576, "{r:?}");
    // A verification costs at least the pairing and the base fee; storing costs more.
    assert!(r.verify_gas > 21_000 + 113_000, "{r:?}");
    assert!(r.verify_and_store_gas > r.verify_gas, "{r:?}");
    assert_eq!(r.registry_overhead_gas, r.verify_and_store_gas - r.verify_gas);
    assert_eq!(r.deploy_gas, r.verifier_deploy_gas + r.registry_deploy_gas);
}

#[tokio::test]
async fn no_chain_is_a_clear_error() {
    let signer = alloy::signers::local::PrivateKeySigner::random();
    match connect("http://127.0.0.1:9", signer).await {
        Err(ChainError::NoChain { url, .. }) => assert_eq!(url, "http://127.0.0.1:9"),
        other => panic!("expected NoChain, got {other:?}"),
    }
}

#[test]
fn bindings_match_the_compiled_registry() {
    let (_, artifact) = zkattest_chain::deploy::artifacts(&root()).expect("forge build");
    let compiled = method_identifiers(&artifact).expect("method identifiers");
    use zkattest_chain::bindings::IAttestationRegistry::IAttestationRegistryCalls as Calls;
    let mut checked = 0;
    for (sig, sel) in Calls::SIGNATURES.iter().zip(Calls::SELECTORS) {
        let found = compiled
            .iter()
            .find(|(s, _)| s == sig)
            .unwrap_or_else(|| panic!("{sig} is not in the compiled registry"));
        assert_eq!(found.1, hex::encode(sel), "{sig}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} functions checked");
}
