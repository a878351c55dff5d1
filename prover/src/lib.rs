#![doc = "zkattest prover: ONNX import, fixed-point quantization, shard planning, halo2 shard circuits."]
#![warn(missing_docs)]

pub mod error;
pub mod model;

pub use error::{ProverError, Result};
/// A shard proof with its protocol, as snark-verifier aggregates it.
pub use snark_verifier_sdk::Snark;
pub mod artifacts;
pub mod circuit;
pub mod pipeline;
pub mod proof;
pub mod quant;
pub mod shard;

/// The BN254 scalar field, in which all circuit values live.
pub use halo2_base::halo2_proofs::halo2curves::bn256::Fr;

/// A uniformly random field element (an input-commitment salt).
pub fn random_salt() -> Fr {
    use halo2_base::halo2_proofs::halo2curves::ff::Field;
    Fr::random(rand::rngs::OsRng)
}
pub mod aggregate;
