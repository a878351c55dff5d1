//! Deploying the verifier and the registry, and registering models, from forge's artifacts.

use std::path::Path;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use serde::{Deserialize, Serialize};

use crate::bindings::IAttestationRegistry::{self, ModelCommitment};
use crate::client::{call_tx, send};
use crate::forge::{artifact_path, build, bytecode, runtime_size};
use crate::{json_file, ChainError, Result};

/// Solidity sources deployed here (built with forge when their artifacts are missing).
pub const VERIFIER_SOURCE: &str = "contracts/src/generated/ZkAttestVerifier.sol";
/// The registry's source.
pub const REGISTRY_SOURCE: &str = "contracts/src/AttestationRegistry.sol";

/// Gas the registry gives each verifier call (the verifier needs ≈ 425,000; docs/gas.md).
pub const DEFAULT_VERIFIER_GAS_LIMIT: u64 = 1_000_000;

/// Registry constructor parameters.
#[derive(Clone, Copy, Debug)]
pub struct RegistryParams {
    /// Gas given to the verifier's staticcall.
    pub verifier_gas_limit: u64,
    /// Accumulator limbs at the front of the public instances.
    pub accumulator_limbs: u64,
    /// Output slots of the aggregation circuit.
    pub max_outputs: u64,
}

/// Addresses and costs of one deployment (what `zkattest deploy` writes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub chain_id: u64,
    pub verifier: Address,
    pub registry: Address,
    pub verifier_deploy_gas: u64,
    pub registry_deploy_gas: u64,
    pub verifier_runtime_bytes: usize,
    /// The verifier pairs against the dev SRS (public toxic waste: proofs can be forged).
    #[serde(default)]
    pub insecure_srs: bool,
    /// The SRS digest the verifier names, as the registry read it (zero if it names none).
    #[serde(default)]
    pub verifier_srs_digest: B256,
}

impl Deployment {
    /// Reads a deployment file.
    pub fn from_file(path: &Path) -> Result<Self> {
        json_file::read(path, "deployment file")
    }

    /// Writes the deployment file.
    pub fn write(&self, path: &Path) -> Result<()> {
        json_file::write(path, "deployment", self)
    }
}

/// Artifacts of the verifier and the registry, built with forge once per process (forge skips
/// what is up to date), so a regenerated verifier is never deployed from a stale artifact and
/// concurrent callers never read a half-written one.
pub fn artifacts(root: &Path) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    static BUILT: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if !*built {
        build(root, &[VERIFIER_SOURCE, REGISTRY_SOURCE])?;
        *built = true;
    }
    Ok((
        artifact_path(root, "ZkAttestVerifier.sol", "ZkAttestVerifier"),
        artifact_path(root, "AttestationRegistry.sol", "AttestationRegistry"),
    ))
}

async fn deploy_code(provider: &DynProvider, what: &str, code: Vec<u8>) -> Result<(Address, u64)> {
    let tx = TransactionRequest::default().with_deploy_code(code);
    let receipt = send(provider, what, tx).await?;
    let address = receipt.contract_address.ok_or_else(|| ChainError::Reverted {
        what: what.to_string(),
        reason: "no contract address in the receipt".into(),
    })?;
    Ok((address, receipt.gas_used))
}

/// Deploys the universal verifier and a registry that uses it; a dev-SRS verifier only to a
/// local development chain ([`deploy_allowing_insecure_srs`] lifts that).
pub async fn deploy(
    provider: &DynProvider,
    root: &Path,
    params: RegistryParams,
) -> Result<Deployment> {
    deploy_allowing_insecure_srs(provider, root, params, false).await
}

/// [`deploy`], with `allow_insecure_srs` deciding whether a dev-SRS verifier may go to a chain
/// that is not a local development chain (`srs_guard`). Checked before any transaction.
pub async fn deploy_allowing_insecure_srs(
    provider: &DynProvider,
    root: &Path,
    params: RegistryParams,
    allow_insecure_srs: bool,
) -> Result<Deployment> {
    let (verifier_artifact, registry_artifact) = artifacts(root)?;
    let verifier_runtime_bytes = runtime_size(&verifier_artifact)?;
    let verifier_code = bytecode(&verifier_artifact)?;
    let chain_id = provider.get_chain_id().await.map_err(|e| ChainError::rpc("chain id", e))?;
    let insecure_srs = crate::srs_guard::check(&verifier_code, chain_id, allow_insecure_srs)?;
    let (verifier, verifier_deploy_gas) =
        deploy_code(provider, "verifier deployment", verifier_code).await?;
    let mut code = bytecode(&registry_artifact)?;
    code.extend(
        (
            verifier,
            U256::from(params.verifier_gas_limit),
            U256::from(params.accumulator_limbs),
            U256::from(params.max_outputs),
        )
            .abi_encode_params(),
    );
    let (registry, registry_deploy_gas) =
        deploy_code(provider, "registry deployment", code).await?;
    let verifier_srs_digest = IAttestationRegistry::new(registry, provider)
        .srsDigest()
        .call()
        .await
        .map_err(|e| ChainError::rpc(format!("registry at {registry}"), e))?;
    Ok(Deployment {
        chain_id,
        verifier,
        registry,
        verifier_deploy_gas,
        registry_deploy_gas,
        verifier_runtime_bytes,
        insecure_srs,
        verifier_srs_digest,
    })
}

/// What to register.
#[derive(Clone, Debug)]
pub struct ModelRegistration {
    /// Model digest from the aggregated proof.
    pub vk_hash: B256,
    /// Output scale exponent.
    pub output_scale_bits: u8,
    /// Digest of the weights and architecture (descriptive).
    pub model_hash: B256,
    /// Digest of the circuit (descriptive).
    pub circuit_hash: B256,
    /// Off-chain metadata.
    pub uri: String,
}

impl ModelRegistration {
    /// The registration of the model an attestation is for (digest and output scale from the
    /// proof; the descriptive hashes left zero).
    pub fn of(a: &crate::Attestation, uri: impl Into<String>) -> Self {
        Self {
            vk_hash: a.vk_hash,
            output_scale_bits: a.output_scale_bits,
            model_hash: B256::ZERO,
            circuit_hash: B256::ZERO,
            uri: uri.into(),
        }
    }
}

/// Registers a model; returns its id and the gas used.
pub async fn register(
    provider: &DynProvider,
    registry: Address,
    model: &ModelRegistration,
) -> Result<(U256, u64)> {
    let reg = IAttestationRegistry::new(registry, provider);
    let proof_system_id = reg
        .PROOF_SYSTEM_ID()
        .call()
        .await
        .map_err(|e| ChainError::rpc(format!("registry at {registry}"), e))?;
    let call = IAttestationRegistry::registerModelWithOutputScaleCall {
        commitment: ModelCommitment {
            modelHash: model.model_hash,
            circuitHash: model.circuit_hash,
            vkHash: model.vk_hash,
            proofSystemId: proof_system_id,
            uri: model.uri.clone(),
        },
        outputScaleBits: model.output_scale_bits,
    };
    let receipt =
        send(provider, "model registration", call_tx(registry, call.abi_encode().into())).await?;
    let id = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| IAttestationRegistry::ModelRegistered::decode_log(&l.inner).ok())
        .map(|e| e.modelId)
        .ok_or_else(|| ChainError::Reverted {
            what: "model registration".into(),
            reason: "no ModelRegistered event".into(),
        })?;
    Ok((id, receipt.gas_used))
}
