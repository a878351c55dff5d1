//! Cluster proving on existing engines, the way production proving clusters work (ZKsync's
//! prover, RISC Zero's Bento): jobs are PostgreSQL rows claimed with `FOR UPDATE SKIP LOCKED`
//! under a time lease ([`queue`]); artifacts live in S3-style object storage through the
//! `object_store` crate ([`store`]), and jobs carry their keys, never their bytes.
//!
//! The coordinator ([`coordinator`]) plans an inference into shard jobs with the same code as
//! local mode and enqueues the aggregation once every shard proof verified; workers
//! ([`worker`]) claim what fits their memory budget, prove with `zkattest_prover::pipeline`
//! and write results create-only. A dead worker loses its lease and the job runs elsewhere;
//! a job out of attempts is dead-lettered with its reason. See docs/cluster.md.

pub mod coordinator;
pub mod error;
pub mod queue;
pub mod store;
pub mod task;
pub mod worker;

pub use coordinator::{Coordinator, Request};
pub use error::{ClusterError, Result};
pub use queue::{ClaimedJob, Counts, JobRow, JobStatus, NewJob, Queue, QueueError};
pub use store::{ArtifactStore, Blob};
pub use worker::{WorkerOptions, WorkerSummary};
