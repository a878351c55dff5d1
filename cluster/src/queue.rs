//! The PostgreSQL job queue.

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;

/// Queue errors.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("unknown job status {0:?} in the queue")]
    Status(String),
}

type Result<T> = std::result::Result<T, QueueError>;

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "done" => JobStatus::Done,
            "failed" => JobStatus::Failed,
            other => return Err(QueueError::Status(other.to_string())),
        })
    }
}

/// A job to enqueue. `id` is the job key (e.g. `<inference>/shard-3`): enqueueing the same key
/// twice is a no-op, so a restarted coordinator never duplicates work.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub id: String,
    pub inference: String,
    pub kind: String,
    /// Object-store key of the job's input.
    pub payload_key: String,
    pub max_attempts: i32,
    /// Estimated peak memory, MB: a worker only claims jobs that fit its free budget.
    pub mem_mb: i64,
    /// Job keys that must be done before this job can be claimed (an aggregation tree's node
    /// waits for its two children): a job is claimable as soon as its last one finishes,
    /// with no coordinator in the loop.
    pub after: Vec<String>,
}

/// A job a worker holds under a lease.
#[derive(Clone, Debug)]
pub struct ClaimedJob {
    pub id: String,
    pub inference: String,
    pub kind: String,
    pub payload_key: String,
    /// 1 on the first run.
    pub attempt: i32,
    /// Estimated peak memory, MB.
    pub mem_mb: i64,
}

/// One job as `cluster status` and the coordinator see it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    #[serde(serialize_with = "status_str")]
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub worker: Option<String>,
    pub error: Option<String>,
    pub result_key: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
}

fn status_str<S: serde::Serializer>(s: &JobStatus, ser: S) -> std::result::Result<S::Ok, S::Error> {
    ser.serialize_str(s.as_str())
}

/// Queue depth for `cluster status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS cluster_jobs (
        id TEXT PRIMARY KEY,
        inference TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload_key TEXT NOT NULL,
        result_key TEXT,
        status TEXT NOT NULL DEFAULT 'queued',
        attempts INT NOT NULL DEFAULT 0,
        max_attempts INT NOT NULL,
        available_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        lease_until TIMESTAMPTZ,
        worker TEXT,
        error TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        started_at TIMESTAMPTZ,
        finished_at TIMESTAMPTZ
    )",
    // Added after the first release of the table; older databases get the column here.
    "ALTER TABLE cluster_jobs ADD COLUMN IF NOT EXISTS mem_mb BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE cluster_jobs ADD COLUMN IF NOT EXISTS after_jobs TEXT[] NOT NULL DEFAULT '{}'",
    "CREATE INDEX IF NOT EXISTS cluster_jobs_claim ON cluster_jobs (status, available_at, created_at)",
    "CREATE INDEX IF NOT EXISTS cluster_jobs_inference ON cluster_jobs (inference)",
];

/// The queue.
#[derive(Clone)]
pub struct Queue {
    pool: PgPool,
}

impl Queue {
    /// Connects and creates the table.
    pub async fn open(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
        // Workers and coordinators start together; concurrent `CREATE TABLE IF NOT EXISTS`
        // can still collide in the catalog, so creation is serialized by an advisory lock.
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(7423557510246541)").execute(&mut *tx).await?;
        for stmt in SCHEMA {
            sqlx::query(stmt).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Self { pool })
    }

    /// Enqueues jobs; keys already present are left as they are. Returns how many were new.
    pub async fn enqueue(&self, jobs: &[NewJob]) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut new = 0;
        for j in jobs {
            new += sqlx::query(
                "INSERT INTO cluster_jobs
                    (id, inference, kind, payload_key, max_attempts, mem_mb, after_jobs)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&j.id)
            .bind(&j.inference)
            .bind(&j.kind)
            .bind(&j.payload_key)
            .bind(j.max_attempts.max(1))
            .bind(j.mem_mb.max(0))
            .bind(&j.after)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(new)
    }

    /// Claims the oldest available job (queued and due, or running with an expired lease, and
    /// every job it comes `after` done) for `lease_ms`. Jobs whose lease expired on their last
    /// attempt are dead-lettered first.
    pub async fn claim(&self, worker: &str, lease_ms: i64) -> Result<Option<ClaimedJob>> {
        self.claim_within(worker, lease_ms, i64::MAX).await
    }

    /// [`Queue::claim`] restricted to jobs whose memory estimate is at most `max_mem_mb`.
    pub async fn claim_within(
        &self,
        worker: &str,
        lease_ms: i64,
        max_mem_mb: i64,
    ) -> Result<Option<ClaimedJob>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE cluster_jobs SET status = 'failed', finished_at = now(),
                error = 'worker lost (lease expired) on attempt ' || attempts || ' of ' || max_attempts
             WHERE status = 'running' AND lease_until < now() AND attempts >= max_attempts",
        )
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "UPDATE cluster_jobs SET status = 'running', worker = $1, attempts = attempts + 1,
                lease_until = now() + make_interval(secs => $2::float8 / 1000), started_at = now()
             WHERE id = (
                SELECT id FROM cluster_jobs j
                WHERE ((status = 'queued' AND available_at <= now())
                   OR (status = 'running' AND lease_until < now()))
                  AND mem_mb <= $3
                  AND NOT EXISTS (
                    SELECT 1 FROM cluster_jobs d
                    WHERE d.id = ANY(j.after_jobs) AND d.status <> 'done')
                ORDER BY created_at, id
                FOR UPDATE SKIP LOCKED
                LIMIT 1)
             RETURNING id, inference, kind, payload_key, attempts, mem_mb",
        )
        .bind(worker)
        .bind(lease_ms as f64)
        .bind(max_mem_mb)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.map(|r| -> Result<ClaimedJob> {
            Ok(ClaimedJob {
                id: r.try_get("id")?,
                inference: r.try_get("inference")?,
                kind: r.try_get("kind")?,
                payload_key: r.try_get("payload_key")?,
                attempt: r.try_get("attempts")?,
                mem_mb: r.try_get("mem_mb")?,
            })
        })
        .transpose()
    }

    /// Extends the lease; false when the worker no longer holds the job (it expired and was
    /// claimed elsewhere, or the job ended): the worker must stop and not write a result.
    pub async fn heartbeat(&self, id: &str, worker: &str, lease_ms: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE cluster_jobs SET lease_until = now() + make_interval(secs => $3::float8 / 1000)
             WHERE id = $1 AND worker = $2 AND status = 'running'",
        )
        .bind(id)
        .bind(worker)
        .bind(lease_ms as f64)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Marks a job done with its result key, if `worker` still holds it. A job already done is
    /// left alone (its first result stands). Returns whether this call recorded the result.
    pub async fn complete(&self, id: &str, worker: &str, result_key: &str) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE cluster_jobs SET status = 'done', result_key = $3, finished_at = now(),
                lease_until = NULL, error = NULL
             WHERE id = $1 AND worker = $2 AND status = 'running'",
        )
        .bind(id)
        .bind(worker)
        .bind(result_key)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Records a failed attempt: the job is retried after `retry_delay_ms` (doubling with each
    /// attempt) or, on its last attempt, dead-lettered with `error`.
    pub async fn fail(
        &self,
        id: &str,
        worker: &str,
        error: &str,
        retry_delay_ms: i64,
    ) -> Result<JobStatus> {
        let row = sqlx::query(
            "UPDATE cluster_jobs SET
                status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
                finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
                available_at = now() + make_interval(secs => $4::float8 * power(2, attempts - 1) / 1000),
                lease_until = NULL, worker = NULL, error = $3
             WHERE id = $1 AND worker = $2 AND status = 'running'
             RETURNING status",
        )
        .bind(id)
        .bind(worker)
        .bind(error)
        .bind(retry_delay_ms as f64)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => JobStatus::parse(&r.try_get::<String, _>("status")?),
            None => {
                self.status(id).await.map(|s| s.map(|(s, _, _)| s).unwrap_or(JobStatus::Failed))
            }
        }
    }

    /// A job's status, attempts and last error.
    pub async fn status(&self, id: &str) -> Result<Option<(JobStatus, i32, Option<String>)>> {
        let row = sqlx::query("SELECT status, attempts, error FROM cluster_jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok((
                JobStatus::parse(&r.try_get::<String, _>("status")?)?,
                r.try_get("attempts")?,
                r.try_get("error")?,
            ))
        })
        .transpose()
    }

    /// Jobs per status, over all inferences or one.
    pub async fn counts(&self, inference: Option<&str>) -> Result<Counts> {
        let r = sqlx::query(
            "SELECT count(*) FILTER (WHERE status = 'queued') AS q,
                    count(*) FILTER (WHERE status = 'running') AS r,
                    count(*) FILTER (WHERE status = 'done') AS d,
                    count(*) FILTER (WHERE status = 'failed') AS f
             FROM cluster_jobs WHERE $1::text IS NULL OR inference = $1",
        )
        .bind(inference)
        .fetch_one(&self.pool)
        .await?;
        Ok(Counts {
            queued: r.try_get("q")?,
            running: r.try_get("r")?,
            done: r.try_get("d")?,
            failed: r.try_get("f")?,
        })
    }

    /// The jobs of one inference (all inferences when `None`, newest last, at most `limit`).
    pub async fn jobs(&self, inference: Option<&str>, limit: i64) -> Result<Vec<JobRow>> {
        let rows = sqlx::query(
            "SELECT id, kind, status, attempts, max_attempts, worker, error, result_key,
                    (extract(epoch FROM started_at) * 1000)::bigint AS started_ms,
                    (extract(epoch FROM finished_at) * 1000)::bigint AS finished_ms
             FROM cluster_jobs WHERE $1::text IS NULL OR inference = $1
             ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(inference)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .into_iter()
            .map(|r| {
                Ok(JobRow {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    status: JobStatus::parse(&r.try_get::<String, _>("status")?)?,
                    attempts: r.try_get("attempts")?,
                    max_attempts: r.try_get("max_attempts")?,
                    worker: r.try_get("worker")?,
                    error: r.try_get("error")?,
                    result_key: r.try_get("result_key")?,
                    started_ms: r.try_get("started_ms")?,
                    finished_ms: r.try_get("finished_ms")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.reverse();
        Ok(out)
    }
}
