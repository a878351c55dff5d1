//! The engine: pre-flight, nonce assignment, signing, broadcast, inclusion tracking, fee
//! bumping, rebroadcast and confirmation. One task owns the nonce, so nonces are assigned
//! gap-free and never twice; every transaction of a job reuses the job's nonce.

use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::TxEnvelope;
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::transports::{RpcError, TransportError};
use futures::stream::{self, StreamExt};
use tokio::sync::watch;
use zkattest_chain::bindings::decode_revert;
use zkattest_chain::error::redact_urls;
use zkattest_chain::query::by_inference_id;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::{now_ms, Store, StoredJob, StoredTx};
use crate::{RelayerError, Result};

/// Parallel RPC calls per tick.
const RPC_CONCURRENCY: usize = 16;

/// What an RPC failure means for the job.
enum Failure {
    /// The node evaluated the call and it reverted: the job can never succeed.
    Rejected(String),
    /// Transport or node trouble: try again later.
    Transient(String),
}

fn classify(e: &TransportError) -> Failure {
    if let RpcError::ErrorResp(resp) = e {
        if let Some(data) = resp.as_revert_data() {
            return Failure::Rejected(decode_revert(&data));
        }
        if resp.message.to_lowercase().contains("revert") {
            return Failure::Rejected(resp.message.to_string());
        }
    }
    Failure::Transient(e.to_string())
}

fn says(e: &TransportError, what: &str) -> bool {
    e.to_string().to_lowercase().contains(what)
}

/// A relayer spends its operator's gas on attestations anyone can forge if the registry's
/// verifier pairs against the dev SRS: refused on a real chain unless explicitly allowed.
async fn refuse_dev_srs(
    provider: &DynProvider,
    registry: Address,
    chain_id: u64,
    allow: bool,
) -> Result<()> {
    let verifier = zkattest_chain::bindings::IAttestationRegistry::new(registry, provider)
        .verifier()
        .call()
        .await
        .map_err(|e| RelayerError::Rpc(redact_urls(&format!("registry {registry}: {e}"))))?;
    let code = provider
        .get_code_at(verifier)
        .await
        .map_err(|e| RelayerError::Rpc(redact_urls(&format!("verifier {verifier}: {e}"))))?;
    zkattest_chain::srs_guard::check(&code, chain_id, allow)?;
    Ok(())
}

/// The engine's state.
pub struct Engine {
    store: Store,
    provider: DynProvider,
    wallet: EthereumWallet,
    from: Address,
    registry: Address,
    chain_id: u64,
    cfg: Config,
    metrics: Arc<Metrics>,
    next_nonce: Option<u64>,
}

impl Engine {
    /// Builds an engine; `provider` needs no wallet (transactions are signed here).
    pub async fn new(
        store: Store,
        provider: DynProvider,
        wallet: EthereumWallet,
        cfg: Config,
        metrics: Arc<Metrics>,
    ) -> Result<Self> {
        let from =
            alloy::network::NetworkWallet::<alloy::network::Ethereum>::default_signer_address(
                &wallet,
            );
        let chain_id = provider.get_chain_id().await.map_err(|e| {
            RelayerError::Rpc(redact_urls(&format!("no chain at {}: {e}", cfg.rpc_url)))
        })?;
        let registry = cfg.registry()?;
        refuse_dev_srs(&provider, registry, chain_id, cfg.allow_insecure_srs).await?;
        Ok(Self {
            store,
            provider,
            wallet,
            from,
            registry,
            chain_id,
            cfg,
            metrics,
            next_nonce: None,
        })
    }

    /// The signer's address.
    pub fn from(&self) -> Address {
        self.from
    }

    /// Runs until `shutdown` turns true. Errors of one tick are logged and retried.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = self.cfg.poll_interval();
        loop {
            match self.tick().await {
                Ok(()) => backoff = self.cfg.poll_interval(),
                Err(e) => {
                    self.metrics.rpc_errors.inc();
                    tracing::warn!("relayer tick failed, retrying in {backoff:?}: {e}");
                    // Resynchronise with the chain after any error.
                    self.next_nonce = None;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// One pass: track what is in flight, then send what is queued.
    pub async fn tick(&mut self) -> Result<()> {
        let submitted = self.store.submitted().await?;
        let in_flight = submitted.len();
        let head =
            self.provider.get_block_number().await.map_err(|e| RelayerError::Rpc(e.to_string()))?;
        let outcomes: Vec<Result<Tracked>> = stream::iter(submitted)
            .map(|job| self.track(job, head))
            .buffered(RPC_CONCURRENCY)
            .collect()
            .await;
        for o in outcomes {
            match o? {
                Tracked::Pending | Tracked::Done => {}
                Tracked::Bump(b) => self.bump(&b.0, &b.1).await?,
                Tracked::NonceLost(job) => {
                    self.store.requeue(job, "nonce taken by another transaction; requeued").await?;
                    self.next_nonce = None;
                }
            }
        }
        let room = self.cfg.max_in_flight.saturating_sub(in_flight);
        if room > 0 {
            self.dispatch(room).await?;
        }
        Ok(())
    }

    async fn nonce(&mut self) -> Result<u64> {
        if let Some(n) = self.next_nonce {
            return Ok(n);
        }
        let chain = self
            .provider
            .get_transaction_count(self.from)
            .pending()
            .await
            .map_err(|e| RelayerError::Rpc(e.to_string()))?;
        // Transactions the node lost are rebroadcast by `track`, so stored nonces stay taken.
        let stored = self.store.max_nonce().await?.map(|n| n + 1).unwrap_or(0);
        let n = chain.max(stored);
        self.next_nonce = Some(n);
        Ok(n)
    }

    fn call(&self, job: &StoredJob) -> TransactionRequest {
        TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.registry)
            .with_input(job.job.calldata())
    }

    async fn dispatch(&mut self, room: usize) -> Result<()> {
        let due = self.store.due_queued(room).await?;
        if due.is_empty() {
            return Ok(());
        }
        let sims: Vec<_> = stream::iter(due)
            .map(|job| async {
                let r = self.provider.estimate_gas(self.call(&job)).await;
                (job, r)
            })
            .buffered(RPC_CONCURRENCY)
            .collect()
            .await;
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(|e| RelayerError::Rpc(e.to_string()))?;
        for (job, sim) in sims {
            let gas = match sim {
                Ok(g) => g,
                Err(e) => {
                    match classify(&e) {
                        Failure::Rejected(reason) => {
                            tracing::info!("job {} rejected in pre-flight: {reason}", job.id);
                            self.store.fail(job.id, &format!("pre-flight: {reason}")).await?;
                            self.metrics.failures.inc();
                        }
                        Failure::Transient(reason) => {
                            self.metrics.rpc_errors.inc();
                            let delay = (500i64 << job.attempts.min(6)).min(30_000);
                            self.store.retry_later(job.id, delay, &reason).await?;
                        }
                    }
                    continue;
                }
            };
            let nonce = self.nonce().await?;
            let cap = self.cfg.max_fee_per_gas_cap;
            let priority = fees.max_priority_fee_per_gas.min(cap);
            let max_fee = fees.max_fee_per_gas.max(priority).min(cap);
            // Headroom: state can change between simulation and inclusion.
            let gas_limit = gas + gas / 5 + 20_000;
            let tx = self.sign(&job, nonce, gas_limit, max_fee, priority).await?;
            self.store.record_tx(&tx).await?;
            self.next_nonce = Some(nonce + 1);
            self.metrics.submissions.inc();
            self.broadcast(&tx).await;
        }
        Ok(())
    }

    async fn sign(
        &self,
        job: &StoredJob,
        nonce: u64,
        gas_limit: u64,
        max_fee: u128,
        priority: u128,
    ) -> Result<StoredTx> {
        let req = self
            .call(job)
            .with_chain_id(self.chain_id)
            .with_nonce(nonce)
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(priority);
        let env: TxEnvelope = req
            .build(&self.wallet)
            .await
            .map_err(|e| RelayerError::Signer(format!("signing failed: {e}")))?;
        Ok(StoredTx {
            hash: *env.tx_hash(),
            job_id: job.id,
            nonce,
            max_fee,
            priority_fee: priority,
            gas_limit,
            raw: env.encoded_2718(),
            sent_ms: now_ms(),
        })
    }

    /// Broadcast errors are not fatal: the transaction is stored and `track` resends it.
    async fn broadcast(&self, tx: &StoredTx) {
        if let Err(e) = self.provider.send_raw_transaction(&tx.raw).await {
            if !says(&e, "already known") {
                self.metrics.rpc_errors.inc();
                tracing::warn!(
                    "broadcast of {} (nonce {}) failed, will retry: {e}",
                    tx.hash,
                    tx.nonce
                );
            }
        }
    }

    async fn track(&self, job: StoredJob, head: u64) -> Result<Tracked> {
        let txs = self.store.txs_of(job.id).await?;
        for tx in &txs {
            let receipt = self
                .provider
                .get_transaction_receipt(tx.hash)
                .await
                .map_err(|e| RelayerError::Rpc(e.to_string()))?;
            let Some(r) = receipt else { continue };
            let block = r.block_number.unwrap_or(head);
            if !r.status() {
                let reason = self.replay_reason(&job, block).await;
                self.store
                    .fail(job.id, &format!("reverted on chain in {}: {reason}", tx.hash))
                    .await?;
                self.metrics.failures.inc();
                return Ok(Tracked::Done);
            }
            if job.block_number != Some(block) {
                self.store.mark_included(job.id, tx.hash, block, r.gas_used).await?;
            }
            if head + 1 >= block + self.cfg.confirmations {
                self.store.confirm(job.id, job.job.inference_id()).await?;
                self.metrics.confirmed(job.created_ms);
                self.metrics.gas_used.observe(r.gas_used as f64);
                return Ok(Tracked::Done);
            }
            return Ok(Tracked::Pending);
        }
        if job.block_number.is_some() {
            tracing::warn!("job {}: its inclusion disappeared (reorg or node restart)", job.id);
            self.store.mark_uncled(job.id).await?;
            self.metrics.reorgs.inc();
        }
        let Some(last) = txs.last().cloned() else {
            // Submitted without a transaction cannot happen (both are written together);
            // queue it again rather than leave it stranded.
            return Ok(Tracked::NonceLost(job.id));
        };
        if now_ms() - last.sent_ms >= self.cfg.bump_after_ms as i64 {
            return Ok(Tracked::Bump(Box::new((job, last))));
        }
        let known = self
            .provider
            .get_transaction_by_hash(last.hash)
            .await
            .map_err(|e| RelayerError::Rpc(e.to_string()))?
            .is_some();
        if !known {
            match self.provider.send_raw_transaction(&last.raw).await {
                Ok(_) => {
                    tracing::info!("job {}: node had lost {}, rebroadcast", job.id, last.hash);
                    self.metrics.rebroadcasts.inc();
                }
                Err(e) if says(&e, "nonce too low") => {
                    return self.nonce_too_low(job, &txs, head).await
                }
                Err(e) => {
                    self.metrics.rpc_errors.inc();
                    tracing::warn!("rebroadcast of {} failed: {e}", last.hash);
                }
            }
        }
        Ok(Tracked::Pending)
    }

    /// The nonce is used on chain: by one of ours (mined since we looked, or mined on a node
    /// that has since lost the receipt) or by someone else.
    async fn nonce_too_low(&self, job: StoredJob, txs: &[StoredTx], head: u64) -> Result<Tracked> {
        for tx in txs {
            let mined = self
                .provider
                .get_transaction_receipt(tx.hash)
                .await
                .map_err(|e| RelayerError::Rpc(e.to_string()))?;
            if mined.is_some() {
                return Ok(Tracked::Pending);
            }
        }
        // A node can hold a block's state without its receipts: anvil commits the state of a
        // block before it stores the receipts, and a state dump taken in between restarts with
        // our nonce spent and the record written but no trace of our transaction. Sending the
        // job again would then attest it twice, so the registry decides whether it is done.
        let inference = job.job.inference_id();
        let Some(record) = by_inference_id(&self.provider, self.registry, inference).await? else {
            return Ok(Tracked::NonceLost(job.id));
        };
        if head + 1 < record.block_number + self.cfg.confirmations {
            return Ok(Tracked::Pending);
        }
        tracing::warn!(
            "job {}: the node has no receipt for its transactions, but the registry has held \
             inference {inference} since block {} (submitter {}); confirmed from the record",
            job.id,
            record.block_number,
            record.submitter
        );
        self.store.confirm_from_record(job.id, inference, record.block_number).await?;
        self.metrics.confirmed(job.created_ms);
        self.metrics.confirmed_from_record.inc();
        Ok(Tracked::Done)
    }

    async fn bump(&self, job: &StoredJob, last: &StoredTx) -> Result<()> {
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(|e| RelayerError::Rpc(e.to_string()))?;
        let pct = self.cfg.bump_percent as u128;
        let cap = self.cfg.max_fee_per_gas_cap;
        let bumped = |old: u128| old + (old * pct).div_ceil(100).max(1);
        let priority = bumped(last.priority_fee).max(fees.max_priority_fee_per_gas).min(cap);
        let max_fee = bumped(last.max_fee).max(fees.max_fee_per_gas).max(priority).min(cap);
        if max_fee <= last.max_fee {
            tracing::warn!("job {}: fee cap {cap} reached, waiting", job.id);
            return Ok(());
        }
        let tx = self.sign(job, last.nonce, last.gas_limit, max_fee, priority).await?;
        self.store.record_tx(&tx).await?;
        self.metrics.bumps.inc();
        tracing::info!(
            "job {}: replaced {} with {} (max fee {} -> {max_fee})",
            job.id,
            last.hash,
            tx.hash,
            last.max_fee
        );
        self.broadcast(&tx).await;
        Ok(())
    }

    /// Why a mined transaction reverted: the call replayed on the parent block.
    async fn replay_reason(&self, job: &StoredJob, block: u64) -> String {
        match self.provider.call(self.call(job)).block(block.saturating_sub(1).into()).await {
            Ok(_) => {
                "reverted (the call succeeds on the parent block; state changed in between)".into()
            }
            Err(e) => match classify(&e) {
                Failure::Rejected(r) | Failure::Transient(r) => r,
            },
        }
    }
}

/// What tracking found for one job.
enum Tracked {
    Pending,
    Done,
    Bump(Box<(StoredJob, StoredTx)>),
    NonceLost(B256),
}
