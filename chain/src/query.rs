//! Submitting attestations directly and reading attested outputs back, as a dApp does.

use alloy::primitives::{Address, Bytes, TxHash, B256, U256};
use alloy::providers::DynProvider;
use alloy::sol_types::SolCall;
use serde::{Deserialize, Serialize};

use crate::attestation::{decode_output, inference_id};
use crate::bindings::IAttestationRegistry;
use crate::client::{call_tx, send};
use crate::{Attestation, ChainError, Result};

/// The calldata of `verifyAndStoreInference(modelId, inputCommitment, output, proof)`.
pub fn verify_and_store_calldata(
    model_id: U256,
    input_commitment: B256,
    output: &Bytes,
    proof: &Bytes,
) -> Vec<u8> {
    IAttestationRegistry::verifyAndStoreInferenceCall {
        modelId: model_id,
        inputCommitment: input_commitment,
        output: output.clone(),
        proof: proof.clone(),
    }
    .abi_encode()
}

/// A stored attestation, landed by a transaction.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Submitted {
    pub tx_hash: TxHash,
    pub block_number: u64,
    pub gas_used: u64,
    pub inference_id: B256,
}

/// Sends `verifyAndStoreInference` from the provider's signer and waits for the receipt.
pub async fn submit(
    provider: &DynProvider,
    registry: Address,
    model_id: U256,
    a: &Attestation,
) -> Result<Submitted> {
    let data = verify_and_store_calldata(model_id, a.input_commitment, &a.output, &a.proof);
    let receipt = send(provider, "verifyAndStoreInference", call_tx(registry, data.into())).await?;
    Ok(Submitted {
        tx_hash: receipt.transaction_hash,
        block_number: receipt.block_number.unwrap_or_default(),
        gas_used: receipt.gas_used,
        inference_id: inference_id(model_id, a.input_commitment, &a.output),
    })
}

/// An attested output as stored on chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttestedRecord {
    pub inference_id: B256,
    pub model_id: U256,
    pub input_commitment: B256,
    pub values: Vec<i128>,
    pub scale_bits: u8,
    /// The proven commitment to all the outputs, for a model with more outputs than the proof
    /// shows (`values` is then empty); None when the values themselves are stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_commitment: Option<B256>,
    pub submitter: Address,
    pub block_number: u64,
    pub timestamp: u64,
}

/// The record stored under `inference_id`, if any.
pub async fn by_inference_id(
    provider: &DynProvider,
    registry: Address,
    inference_id: B256,
) -> Result<Option<AttestedRecord>> {
    let reg = IAttestationRegistry::new(registry, provider);
    let what = || format!("registry at {registry}");
    if !reg.hasInference(inference_id).call().await.map_err(|e| ChainError::rpc(what(), e))? {
        return Ok(None);
    }
    let r = reg
        .getInferenceRecord(inference_id)
        .call()
        .await
        .map_err(|e| ChainError::rpc(what(), e))?;
    let (values, scale_bits) = decode_output(&r.output)?;
    let output_commitment = reg
        .getOutputCommitment(inference_id)
        .call()
        .await
        .map_err(|e| ChainError::rpc(what(), e))?;
    Ok(Some(AttestedRecord {
        inference_id,
        model_id: r.modelId,
        input_commitment: r.inputCommitment,
        values,
        scale_bits,
        output_commitment: (output_commitment != B256::ZERO).then_some(output_commitment),
        submitter: r.submitter,
        block_number: r.blockNumber.saturating_to(),
        timestamp: r.timestamp.saturating_to(),
    }))
}

/// The latest record for `(model_id, input_commitment)`, if any.
pub async fn latest(
    provider: &DynProvider,
    registry: Address,
    model_id: U256,
    input_commitment: B256,
) -> Result<Option<AttestedRecord>> {
    let id = IAttestationRegistry::new(registry, provider)
        .latestInference(model_id, input_commitment)
        .call()
        .await
        .map_err(|e| ChainError::rpc(format!("registry at {registry}"), e))?;
    if id == B256::ZERO {
        return Ok(None);
    }
    by_inference_id(provider, registry, id).await
}
