//! The versioned on-disk layout of a compiled model, its keys and its proofs.
//!
//! ```text
//! <dir>/compiled.bin            CompiledModel (bincode, format COMPILED_VERSION)
//! <dir>/keys/shard-<i>.pk       halo2 proving key (RawBytesUnchecked)
//! <dir>/keys/shard-<i>.vk       halo2 verifying key (RawBytes)
//! <dir>/keys/setup.json         SetupInfo: k, SRS origin, vk digests
//! <proof>.json                  InferenceProof (JSON, format INFERENCE_VERSION)
//! <proof>.agg.json              AggregatedProof (JSON, format AGGREGATED_VERSION)
//! ```
//! SRS files are cached outside the project (see [`crate::proof::srs::default_cache_dir`]).

pub mod aggregated;
pub mod compiled;
pub mod inference;
pub mod setup;

pub use aggregated::AggregatedProof;
pub use compiled::CompiledModel;
pub use inference::InferenceProof;
pub use setup::SetupInfo;
