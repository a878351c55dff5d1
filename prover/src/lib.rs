#![doc = "zkattest prover: ONNX import, fixed-point quantization, shard planning, halo2 shard circuits."]
#![warn(missing_docs)]

pub mod error;
pub mod model;

pub use error::{ProverError, Result};
pub mod quant;
pub mod circuit;
pub mod shard;
