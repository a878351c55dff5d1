//! The cluster queue against the real PostgreSQL (`ZKATTEST_TEST_POSTGRES_URL`, one fresh
//! schema per test): exclusive claims under concurrency, lease expiry and re-claim, retries,
//! dead-lettering, idempotent enqueue, owner-only completion, jobs that wait for others.

use std::time::Duration;

use zkattest_cluster::{Counts, JobStatus, NewJob, Queue};

async fn queue(name: &str) -> Queue {
    let pg = zkattest_testkit::PgSchema::create(&format!("cluster_{name}")).await;
    Queue::open(&pg.url).await.expect("queue")
}

fn jobs(n: usize, max_attempts: i32) -> Vec<NewJob> {
    (0..n)
        .map(|i| NewJob {
            id: format!("inf-1/shard-{i}"),
            inference: "inf-1".into(),
            kind: "shard".into(),
            payload_key: format!("inf-1/shard-{i}.job"),
            max_attempts,
            mem_mb: 0,
            after: Vec::new(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_queue_claims_each_job_exactly_once_under_concurrency() {
    let q = queue("once").await;
    assert_eq!(q.enqueue(&jobs(40, 3)).await.expect("enqueue"), 40);
    let workers = (0..6).map(|w| {
        let q = q.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(j) = q.claim(&format!("w{w}"), 60_000).await.expect("claim") {
                assert!(q
                    .complete(&j.id, &format!("w{w}"), &format!("{}.proof", j.id))
                    .await
                    .expect("complete"));
                mine.push(j.id);
            }
            mine
        })
    });
    let mut all: Vec<String> = futures::future::join_all(workers)
        .await
        .into_iter()
        .flat_map(|r| r.expect("worker task"))
        .collect();
    all.sort();
    let mut expected: Vec<String> = jobs(40, 3).into_iter().map(|j| j.id).collect();
    expected.sort();
    assert_eq!(all, expected, "every job claimed exactly once");
    assert_eq!(
        q.counts(None).await.expect("counts"),
        Counts { queued: 0, running: 0, done: 40, failed: 0 }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_queue_expired_lease_is_claimed_again_and_the_old_owner_is_fenced() {
    let q = queue("lease").await;
    q.enqueue(&jobs(1, 3)).await.expect("enqueue");
    let first = q.claim("dead-worker", 200).await.expect("claim").expect("a job");
    assert_eq!(first.attempt, 1);
    // Within the lease nobody else gets it.
    assert!(q.claim("other", 200).await.expect("claim").is_none());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = q.claim("other", 60_000).await.expect("claim").expect("reclaimed");
    assert_eq!((again.id.as_str(), again.attempt), (first.id.as_str(), 2));
    // The worker that lost its lease can neither extend it nor write a result.
    assert!(!q.heartbeat(&first.id, "dead-worker", 60_000).await.expect("heartbeat"));
    assert!(!q.complete(&first.id, "dead-worker", "stale.proof").await.expect("complete"));
    assert!(q.heartbeat(&first.id, "other", 60_000).await.expect("heartbeat"));
    assert!(q.complete(&first.id, "other", "good.proof").await.expect("complete"));
    assert!(
        !q.complete(&first.id, "other", "twice.proof").await.expect("complete"),
        "first result stands"
    );
    assert_eq!(q.status(&first.id).await.expect("status").expect("job").0, JobStatus::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_queue_retries_with_backoff_then_dead_letters() {
    let q = queue("dead").await;
    q.enqueue(&jobs(1, 2)).await.expect("enqueue");
    let j = q.claim("w", 60_000).await.expect("claim").expect("job");
    assert_eq!(
        q.fail(&j.id, "w", "corrupted artifact: bad digest", 300).await.expect("fail"),
        JobStatus::Queued
    );
    // Backoff: not available yet.
    assert!(q.claim("w", 60_000).await.expect("claim").is_none());
    tokio::time::sleep(Duration::from_millis(450)).await;
    let j = q.claim("w", 60_000).await.expect("claim").expect("retried");
    assert_eq!(j.attempt, 2);
    assert_eq!(
        q.fail(&j.id, "w", "corrupted artifact: bad digest", 300).await.expect("fail"),
        JobStatus::Failed
    );
    let (status, attempts, error) = q.status(&j.id).await.expect("status").expect("job");
    assert_eq!((status, attempts), (JobStatus::Failed, 2));
    assert!(error.expect("reason").contains("corrupted artifact"));
    assert!(
        q.claim("w", 60_000).await.expect("claim").is_none(),
        "a dead job is never claimed again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_queue_worker_lost_on_last_attempt_is_dead_lettered() {
    let q = queue("lost").await;
    q.enqueue(&jobs(1, 1)).await.expect("enqueue");
    let j = q.claim("crashed", 100).await.expect("claim").expect("job");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(q.claim("w", 60_000).await.expect("claim").is_none());
    let (status, _, error) = q.status(&j.id).await.expect("status").expect("job");
    assert_eq!(status, JobStatus::Failed);
    assert!(error.expect("reason").contains("lease expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_queue_enqueue_is_idempotent_by_job_key() {
    let q = queue("idem").await;
    assert_eq!(q.enqueue(&jobs(4, 3)).await.expect("enqueue"), 4);
    let j = q.claim("w", 60_000).await.expect("claim").expect("job");
    q.complete(&j.id, "w", "p").await.expect("complete");
    // A restarted coordinator enqueues the same inference again: nothing is re-queued.
    assert_eq!(q.enqueue(&jobs(4, 3)).await.expect("enqueue"), 0);
    assert_eq!(
        q.counts(Some("inf-1")).await.expect("counts"),
        Counts { queued: 3, running: 0, done: 1, failed: 0 }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_queue_claims_only_jobs_within_the_memory_budget() {
    let q = queue("mem").await;
    let mut js = jobs(2, 3);
    js[0].mem_mb = 9_000;
    js[1].mem_mb = 200;
    q.enqueue(&js).await.expect("enqueue");
    // The older job does not fit 1 GB, so the small one is taken first.
    let small = q.claim_within("w", 60_000, 1_000).await.expect("claim").expect("job");
    assert_eq!((small.id.as_str(), small.mem_mb), ("inf-1/shard-1", 200));
    assert!(q.claim_within("w", 60_000, 1_000).await.expect("claim").is_none());
    let big = q.claim_within("w2", 60_000, 16_000).await.expect("claim").expect("job");
    assert_eq!(big.id, "inf-1/shard-0");
}

/// An aggregation tree's shape: two leaves, a node after both. The node is not claimable
/// while a child is queued, running or failed-and-retrying, and becomes claimable the moment
/// the last child is done, whoever completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_queue_a_job_waits_for_every_job_it_comes_after() {
    let q = queue("after").await;
    let mut js = jobs(3, 3);
    js[2].id = "inf-1/node-0".into();
    js[2].after = vec![js[0].id.clone(), js[1].id.clone()];
    // The node is the oldest job: only its dependencies keep it from being claimed first.
    js.rotate_right(1);
    q.enqueue(&js).await.expect("enqueue");
    let a = q.claim("w1", 60_000).await.expect("claim").expect("a leaf");
    let b = q.claim("w2", 60_000).await.expect("claim").expect("the other leaf");
    let mut leaves = vec![a.id.clone(), b.id.clone()];
    leaves.sort();
    assert_eq!(leaves, ["inf-1/shard-0", "inf-1/shard-1"]);
    assert!(q.claim("w3", 60_000).await.expect("claim").is_none(), "both leaves running");
    // A failed attempt sends a leaf back to the queue: the node still waits.
    assert_eq!(q.fail(&a.id, "w1", "boom", 0).await.expect("fail"), JobStatus::Queued);
    let again = q.claim("w3", 60_000).await.expect("claim").expect("the retried leaf");
    assert_eq!(again.id, a.id);
    assert!(q.complete(&b.id, "w2", "b.proof").await.expect("complete"));
    assert!(q.claim("w2", 60_000).await.expect("claim").is_none(), "one leaf still running");
    assert!(q.complete(&a.id, "w3", "a.proof").await.expect("complete"));
    let node = q.claim("w2", 60_000).await.expect("claim").expect("the node");
    assert_eq!(node.id, "inf-1/node-0");
    // A job after a dead-lettered one never runs: the coordinator sees the failure instead.
    let mut dead = jobs(2, 1);
    dead[0].id = "inf-2/leaf".into();
    dead[1].id = "inf-2/node".into();
    dead[1].after = vec!["inf-2/leaf".into()];
    q.enqueue(&dead).await.expect("enqueue");
    let leaf = q.claim("w1", 60_000).await.expect("claim").expect("leaf");
    assert_eq!(leaf.id, "inf-2/leaf");
    assert_eq!(q.fail(&leaf.id, "w1", "boom", 0).await.expect("fail"), JobStatus::Failed);
    assert!(q.claim("w1", 60_000).await.expect("claim").is_none());
}
