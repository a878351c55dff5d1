//! The auditor's gas report: deploy, verify, verify-and-store and the registry's overhead,
//! measured from real transactions' receipts.

use std::path::Path;

use alloy::primitives::Address;
use alloy::providers::DynProvider;
use serde::{Deserialize, Serialize};

use crate::client::{call_tx, send};
use crate::deploy::{deploy, register, ModelRegistration, RegistryParams};
use crate::query::submit;
use crate::{Attestation, Result};

/// Gas figures of one deployment and one attestation (whole transactions: 21,000 base,
/// calldata and execution).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GasReport {
    pub deploy_gas: u64,
    pub verifier_deploy_gas: u64,
    pub registry_deploy_gas: u64,
    pub register_model_gas: u64,
    /// A transaction that calls the verifier directly.
    pub verify_gas: u64,
    /// `verifyAndStoreInference` through the registry.
    pub verify_and_store_gas: u64,
    /// `verify_and_store_gas - verify_gas`: what the registry adds.
    pub registry_overhead_gas: u64,
    pub verifier_runtime_bytes: usize,
    pub calldata_bytes: usize,
    pub verifier: Address,
    pub registry: Address,
}

/// Deploys, registers the attestation's model, verifies it directly, then through the
/// registry, and reports the receipts' gas.
pub async fn report(
    provider: &DynProvider,
    root: &Path,
    params: RegistryParams,
    a: &Attestation,
) -> Result<GasReport> {
    let d = deploy(provider, root, params).await?;
    let (model_id, register_model_gas) =
        register(provider, d.registry, &ModelRegistration::of(a, "zkattest gas-report")).await?;
    let verify = send(provider, "verifier call", call_tx(d.verifier, a.proof.clone())).await?;
    let stored = submit(provider, d.registry, model_id, a).await?;
    Ok(GasReport {
        deploy_gas: d.verifier_deploy_gas + d.registry_deploy_gas,
        verifier_deploy_gas: d.verifier_deploy_gas,
        registry_deploy_gas: d.registry_deploy_gas,
        register_model_gas,
        verify_gas: verify.gas_used,
        verify_and_store_gas: stored.gas_used,
        registry_overhead_gas: stored.gas_used.saturating_sub(verify.gas_used),
        verifier_runtime_bytes: d.verifier_runtime_bytes,
        calldata_bytes: a.proof.len(),
        verifier: d.verifier,
        registry: d.registry,
    })
}
