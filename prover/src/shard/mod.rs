//! Splitting a quantized model into shards that each fit one circuit.

pub mod boundary;
pub mod plan;
