//! Queue overhead per job on the real PostgreSQL: enqueue, claim, heartbeat and complete with
//! 1 and 2 concurrent workers and no proving work, so only the queue is measured.
//!
//!     ZKATTEST_TEST_POSTGRES_URL=postgres://... cargo bench -p zkattest-cluster --bench queue_overhead

use std::time::Instant;

use zkattest_cluster::{NewJob, Queue};

/// `ZKATTEST_BENCH_SMOKE=1` (the full test tier): the smallest configuration only.
fn smoke() -> bool {
    std::env::var_os("ZKATTEST_BENCH_SMOKE").is_some()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::var("ZKATTEST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    println!("{:<8} {:>6} {:>14} {:>18}", "workers", "jobs", "enqueue ms/job", "claim+done ms/job");
    for workers in [1usize, 2] {
        let schema = format!("zkattest_cluster_bench_{}_{workers}", std::process::id());
        let mut c: sqlx::PgConnection = sqlx::Connection::connect(&base).await?;
        sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut c).await?;
        let sep = if base.contains('?') { '&' } else { '?' };
        let q = Queue::open(&format!("{base}{sep}options=-c%20search_path%3D{schema}")).await?;
        let n = if smoke() { 50 } else { 1000 };
        let jobs: Vec<NewJob> = (0..n)
            .map(|i| NewJob {
                id: format!("bench/shard-{i}"),
                inference: "bench".into(),
                kind: "shard".into(),
                payload_key: format!("bench/shard-{i}.job"),
                max_attempts: 3,
                mem_mb: 0,
                after: Vec::new(),
            })
            .collect();
        let t = Instant::now();
        q.enqueue(&jobs).await?;
        let enqueue = t.elapsed().as_secs_f64() * 1e3 / n as f64;
        let t = Instant::now();
        let tasks = (0..workers).map(|w| {
            let q = q.clone();
            tokio::spawn(async move {
                let me = format!("w{w}");
                while let Some(j) = q.claim(&me, 60_000).await? {
                    q.heartbeat(&j.id, &me, 60_000).await?;
                    q.complete(&j.id, &me, "k").await?;
                }
                Ok::<_, zkattest_cluster::QueueError>(())
            })
        });
        for r in futures::future::join_all(tasks).await {
            r??;
        }
        let per_job = t.elapsed().as_secs_f64() * 1e3 / n as f64;
        println!("{workers:<8} {n:>6} {enqueue:>14.3} {per_job:>18.3}");
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&mut c).await?;
    }
    Ok(())
}
