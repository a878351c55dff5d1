//! Connecting to a chain with a signer, and sending transactions with clear errors.

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;

use crate::bindings::decode_revert;
use crate::{ChainError, Result};

/// A provider that signs with one local key and fills nonce, gas and fees.
pub async fn connect(url: &str, signer: PrivateKeySigner) -> Result<DynProvider> {
    let parsed = url
        .parse()
        .map_err(|e| ChainError::Invalid { what: "RPC URL", reason: format!("{url}: {e}") })?;
    let provider =
        ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(parsed).erased();
    provider.get_chain_id().await.map_err(|e| ChainError::NoChain {
        url: crate::error::redact_url(url),
        reason: crate::error::redact_urls(&e.to_string()),
    })?;
    Ok(provider)
}

/// A read-only provider.
pub async fn connect_read_only(url: &str) -> Result<DynProvider> {
    let parsed = url
        .parse()
        .map_err(|e| ChainError::Invalid { what: "RPC URL", reason: format!("{url}: {e}") })?;
    let provider = ProviderBuilder::new().connect_http(parsed).erased();
    provider.get_chain_id().await.map_err(|e| ChainError::NoChain {
        url: crate::error::redact_url(url),
        reason: crate::error::redact_urls(&e.to_string()),
    })?;
    Ok(provider)
}

/// Sends a transaction after simulating it (so a revert is reported with the contract's own
/// error instead of costing gas), and waits for its receipt. A mined revert is an error too.
pub async fn send(
    provider: &DynProvider,
    what: &str,
    tx: TransactionRequest,
) -> Result<TransactionReceipt> {
    if let Err(e) = provider.estimate_gas(tx.clone()).await {
        // A revert carries the contract's reason; anything else (no funds, a node error) is
        // reported as the node said it.
        return Err(match e.revert_data() {
            Some(data) => {
                ChainError::Reverted { what: what.to_string(), reason: decode_revert(&data) }
            }
            None if e.to_string().to_lowercase().contains("revert") => {
                ChainError::Reverted { what: what.to_string(), reason: e.to_string() }
            }
            None => ChainError::rpc(what.to_string(), e),
        });
    }
    let pending =
        provider.send_transaction(tx).await.map_err(|e| ChainError::rpc(what.to_string(), e))?;
    let receipt = pending.get_receipt().await.map_err(|e| ChainError::rpc(what.to_string(), e))?;
    if !receipt.status() {
        return Err(ChainError::Reverted {
            what: what.to_string(),
            reason: format!("transaction {} reverted", receipt.transaction_hash),
        });
    }
    Ok(receipt)
}

/// A call transaction to `to` with raw `data`.
pub fn call_tx(to: Address, data: Bytes) -> TransactionRequest {
    TransactionRequest::default().with_to(to).with_input(data)
}

/// A readable reason from an RPC error: the registry's custom error when the node returned
/// revert data, else the node's message.
pub fn revert_reason<E: std::fmt::Display + RevertData>(e: &E) -> String {
    match e.revert_data() {
        Some(data) => decode_revert(&data),
        None => e.to_string(),
    }
}

/// Errors that may carry revert data.
pub trait RevertData {
    /// The revert data, when the node returned some.
    fn revert_data(&self) -> Option<Bytes>;
}

impl RevertData for alloy::transports::TransportError {
    fn revert_data(&self) -> Option<Bytes> {
        self.as_error_resp().and_then(|r| r.as_revert_data())
    }
}

impl RevertData for alloy::contract::Error {
    fn revert_data(&self) -> Option<Bytes> {
        self.as_revert_data()
    }
}
