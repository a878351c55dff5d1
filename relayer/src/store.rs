//! The durable queue: jobs and the transactions sent for them, in SQLite or PostgreSQL through
//! one code path (sqlx's `Any` driver; portable SQL, hex text for bytes, i64 for integers).

use std::str::FromStr;

use alloy::primitives::{B256, U256};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Row};

use crate::job::{JobView, NewJob, Status};
use crate::{RelayerError, Result};

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS relayer_jobs (
        id TEXT PRIMARY KEY,
        model_id TEXT NOT NULL,
        input_commitment TEXT NOT NULL,
        output TEXT NOT NULL,
        proof TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        tx_hash TEXT,
        block_number BIGINT,
        gas_used BIGINT,
        inference_id TEXT,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_attempt_ms BIGINT NOT NULL DEFAULT 0,
        created_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL,
        confirmed_ms BIGINT
    )",
    "CREATE INDEX IF NOT EXISTS relayer_jobs_status ON relayer_jobs (status, created_ms)",
    "CREATE TABLE IF NOT EXISTS relayer_txs (
        hash TEXT PRIMARY KEY,
        job_id TEXT NOT NULL,
        nonce BIGINT NOT NULL,
        max_fee TEXT NOT NULL,
        priority_fee TEXT NOT NULL,
        gas_limit BIGINT NOT NULL,
        raw TEXT NOT NULL,
        sent_ms BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS relayer_txs_job ON relayer_txs (job_id)",
];

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn b256(s: &str) -> Result<B256> {
    B256::from_str(s).map_err(|e| RelayerError::Migration(format!("stored hash {s:?}: {e}")))
}

/// A job the engine works on.
#[derive(Clone, Debug)]
pub struct StoredJob {
    pub id: B256,
    pub job: NewJob,
    pub status: Status,
    pub block_number: Option<u64>,
    pub attempts: i64,
    pub created_ms: i64,
}

/// A signed transaction of a job.
#[derive(Clone, Debug)]
pub struct StoredTx {
    pub hash: B256,
    pub job_id: B256,
    pub nonce: u64,
    pub max_fee: u128,
    pub priority_fee: u128,
    pub gas_limit: u64,
    pub raw: Vec<u8>,
    pub sent_ms: i64,
}

/// The queue.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    /// Connects (creating a SQLite file if needed) and creates the tables.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let url = if url.starts_with("sqlite:") && !url.contains("mode=") {
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        } else {
            url.to_string()
        };
        let opts = AnyConnectOptions::from_str(&url)?;
        // SQLite serialises writers anyway; one connection avoids "database is locked".
        let max = if url.starts_with("sqlite:") { 1 } else { 8 };
        let pool = AnyPoolOptions::new().max_connections(max).connect_with(opts).await?;
        if url.starts_with("sqlite:") {
            sqlx::query("PRAGMA journal_mode=WAL").execute(&pool).await?;
            sqlx::query("PRAGMA synchronous=FULL").execute(&pool).await?;
        }
        for stmt in SCHEMA {
            sqlx::query(stmt).execute(&pool).await?;
        }
        Ok(Self { pool })
    }

    /// Queues a job unless the same attestation is already known. Returns whether it is new.
    pub async fn enqueue(&self, job: &NewJob) -> Result<bool> {
        let now = now_ms();
        let r = sqlx::query(
            "INSERT INTO relayer_jobs (id, model_id, input_commitment, output, proof, status,
                created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(job.id().to_string())
        .bind(job.model_id.to_string())
        .bind(job.input_commitment.to_string())
        .bind(hex::encode(&job.output))
        .bind(hex::encode(&job.proof))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    fn job_of(row: &sqlx::any::AnyRow) -> Result<StoredJob> {
        let bad = |e: String| RelayerError::Migration(format!("stored job: {e}"));
        let job = NewJob {
            model_id: U256::from_str(&row.try_get::<String, _>("model_id")?)
                .map_err(|e| bad(e.to_string()))?,
            input_commitment: b256(&row.try_get::<String, _>("input_commitment")?)?,
            output: hex::decode(row.try_get::<String, _>("output")?)
                .map_err(|e| bad(e.to_string()))?
                .into(),
            proof: hex::decode(row.try_get::<String, _>("proof")?)
                .map_err(|e| bad(e.to_string()))?
                .into(),
        };
        Ok(StoredJob {
            id: b256(&row.try_get::<String, _>("id")?)?,
            job,
            status: Status::parse(&row.try_get::<String, _>("status")?)?,
            block_number: row.try_get::<Option<i64>, _>("block_number")?.map(|b| b as u64),
            attempts: row.try_get("attempts")?,
            created_ms: row.try_get("created_ms")?,
        })
    }

    /// Queued jobs due for an attempt, oldest first.
    pub async fn due_queued(&self, limit: usize) -> Result<Vec<StoredJob>> {
        let rows = sqlx::query(
            "SELECT * FROM relayer_jobs WHERE status = 'queued' AND next_attempt_ms <= $1
             ORDER BY created_ms, id LIMIT $2",
        )
        .bind(now_ms())
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::job_of).collect()
    }

    /// Jobs with a transaction in flight.
    pub async fn submitted(&self) -> Result<Vec<StoredJob>> {
        let rows = sqlx::query(
            "SELECT * FROM relayer_jobs WHERE status = 'submitted' ORDER BY created_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::job_of).collect()
    }

    /// A job's API view.
    pub async fn view(&self, id: B256) -> Result<Option<JobView>> {
        let Some(row) = sqlx::query("SELECT * FROM relayer_jobs WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let txs: i64 = sqlx::query("SELECT COUNT(*) AS n FROM relayer_txs WHERE job_id = $1")
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let opt_hash = |col: &str| -> Result<Option<B256>> {
            row.try_get::<Option<String>, _>(col)?.map(|s| b256(&s)).transpose()
        };
        Ok(Some(JobView {
            id,
            status: Status::parse(&row.try_get::<String, _>("status")?)?,
            tx_hash: opt_hash("tx_hash")?,
            block_number: row.try_get::<Option<i64>, _>("block_number")?.map(|b| b as u64),
            inference_id: opt_hash("inference_id")?,
            gas_used: row.try_get::<Option<i64>, _>("gas_used")?.map(|b| b as u64),
            reason: row.try_get("reason")?,
            transactions: txs as u64,
        }))
    }

    /// Fails a job (pre-flight rejection or a mined revert).
    pub async fn fail(&self, id: B256, reason: &str) -> Result<()> {
        sqlx::query(
            "UPDATE relayer_jobs SET status = 'failed', reason = $2, updated_ms = $3 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(reason)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Puts a queued job back for a later attempt (transient error).
    pub async fn retry_later(&self, id: B256, delay_ms: i64, reason: &str) -> Result<()> {
        sqlx::query(
            "UPDATE relayer_jobs SET attempts = attempts + 1, next_attempt_ms = $2, reason = $3,
                updated_ms = $2 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(now_ms() + delay_ms)
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a signed transaction and marks its job submitted, atomically, before broadcast.
    pub async fn record_tx(&self, tx: &StoredTx) -> Result<()> {
        let mut db = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO relayer_txs (hash, job_id, nonce, max_fee, priority_fee, gas_limit, raw, sent_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tx.hash.to_string())
        .bind(tx.job_id.to_string())
        .bind(tx.nonce as i64)
        .bind(tx.max_fee.to_string())
        .bind(tx.priority_fee.to_string())
        .bind(tx.gas_limit as i64)
        .bind(hex::encode(&tx.raw))
        .bind(tx.sent_ms)
        .execute(&mut *db)
        .await?;
        sqlx::query(
            "UPDATE relayer_jobs SET status = 'submitted', tx_hash = $2, reason = NULL, updated_ms = $3
             WHERE id = $1",
        )
        .bind(tx.job_id.to_string())
        .bind(tx.hash.to_string())
        .bind(now_ms())
        .execute(&mut *db)
        .await?;
        db.commit().await?;
        Ok(())
    }

    fn tx_of(row: &sqlx::any::AnyRow) -> Result<StoredTx> {
        let bad = |e: String| RelayerError::Migration(format!("stored transaction: {e}"));
        Ok(StoredTx {
            hash: b256(&row.try_get::<String, _>("hash")?)?,
            job_id: b256(&row.try_get::<String, _>("job_id")?)?,
            nonce: row.try_get::<i64, _>("nonce")? as u64,
            max_fee: row
                .try_get::<String, _>("max_fee")?
                .parse()
                .map_err(|e| bad(format!("{e}")))?,
            priority_fee: row
                .try_get::<String, _>("priority_fee")?
                .parse()
                .map_err(|e| bad(format!("{e}")))?,
            gas_limit: row.try_get::<i64, _>("gas_limit")? as u64,
            raw: hex::decode(row.try_get::<String, _>("raw")?).map_err(|e| bad(e.to_string()))?,
            sent_ms: row.try_get("sent_ms")?,
        })
    }

    /// The transactions of a job, oldest first.
    pub async fn txs_of(&self, job: B256) -> Result<Vec<StoredTx>> {
        let rows =
            sqlx::query("SELECT * FROM relayer_txs WHERE job_id = $1 ORDER BY sent_ms, hash")
                .bind(job.to_string())
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(Self::tx_of).collect()
    }

    /// Highest nonce any transaction was signed with.
    pub async fn max_nonce(&self) -> Result<Option<u64>> {
        let n: Option<i64> = sqlx::query("SELECT MAX(nonce) AS n FROM relayer_txs")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(n.map(|n| n as u64))
    }

    /// Records inclusion (block, gas, the mined hash) without confirming yet.
    pub async fn mark_included(&self, id: B256, tx: B256, block: u64, gas: u64) -> Result<()> {
        sqlx::query(
            "UPDATE relayer_jobs SET tx_hash = $2, block_number = $3, gas_used = $4, updated_ms = $5
             WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(tx.to_string())
        .bind(block as i64)
        .bind(gas as i64)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The inclusion disappeared (reorg or a node restarted from older state).
    pub async fn mark_uncled(&self, id: B256) -> Result<()> {
        sqlx::query("UPDATE relayer_jobs SET block_number = NULL, gas_used = NULL, updated_ms = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Confirms a job.
    pub async fn confirm(&self, id: B256, inference_id: B256) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "UPDATE relayer_jobs SET status = 'confirmed', inference_id = $2, updated_ms = $3,
                confirmed_ms = $3 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(inference_id.to_string())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Confirms a job whose record is on chain while the node knows none of its transactions:
    /// which transaction wrote the record (or whether another submitter did) is unknown, so
    /// no transaction hash is claimed.
    pub async fn confirm_from_record(
        &self,
        id: B256,
        inference_id: B256,
        block: u64,
    ) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "UPDATE relayer_jobs SET status = 'confirmed', inference_id = $2, tx_hash = NULL,
                block_number = $3, gas_used = NULL, updated_ms = $4, confirmed_ms = $4,
                reason = 'confirmed from the registry record; the node has no receipt for its transactions'
             WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(inference_id.to_string())
        .bind(block as i64)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Drops a job's transactions and queues it again (its nonce was taken by another
    /// transaction of the same account, so none of them can ever be mined).
    pub async fn requeue(&self, id: B256, reason: &str) -> Result<()> {
        let mut db = self.pool.begin().await?;
        sqlx::query("DELETE FROM relayer_txs WHERE job_id = $1")
            .bind(id.to_string())
            .execute(&mut *db)
            .await?;
        sqlx::query(
            "UPDATE relayer_jobs SET status = 'queued', tx_hash = NULL, block_number = NULL,
                reason = $2, updated_ms = $3 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(reason)
        .bind(now_ms())
        .execute(&mut *db)
        .await?;
        db.commit().await?;
        Ok(())
    }

    /// Jobs per status.
    pub async fn counts(&self) -> Result<Vec<(Status, i64)>> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM relayer_jobs GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((Status::parse(&r.try_get::<String, _>("status")?)?, r.try_get::<i64, _>("n")?))
            })
            .collect()
    }

    /// Millisecond timestamps (created, confirmed) of confirmed jobs, for latency figures.
    pub async fn confirmed_latencies(&self) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            "SELECT created_ms, confirmed_ms FROM relayer_jobs WHERE status = 'confirmed' ORDER BY created_ms",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("created_ms")?,
                    r.try_get::<Option<i64>, _>("confirmed_ms")?.unwrap_or(0),
                ))
            })
            .collect()
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
