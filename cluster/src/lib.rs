//! Cluster proving. This first part is the job queue: PostgreSQL rows claimed with
//! `FOR UPDATE SKIP LOCKED` under a time lease, as production proving clusters do (ZKsync's
//! prover, RISC Zero's Bento). Jobs carry object-store keys, never artifact bytes. A worker
//! that dies loses its lease and the job is claimed again; attempts are counted and a job that
//! exhausts them is dead-lettered (`failed`, with the reason). Workers and the coordinator
//! build on this queue (not yet: see docs/cluster.md).

pub mod queue;

pub use queue::{ClaimedJob, JobStatus, NewJob, Queue, QueueError};
