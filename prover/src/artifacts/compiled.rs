//! A compiled model: quantized graph, settings and shard plan.

use std::fs;
use std::path::{Path, PathBuf};

use bincode::Options;
use serde::{Deserialize, Serialize};

use crate::error::{ProverError, Result};
use crate::model::graph::Graph;
use crate::model::import::import_onnx;
use crate::model::input::InputData;
use crate::proof::keys::write_atomic;
use crate::quant::calibrate::{calibrate, Calibration};
use crate::quant::scales::ValueRanges;
use crate::quant::{quantize, quantize_with_ranges, QModel, QuantSettings};
use crate::shard::plan::{plan, ShardPlan};

/// Format version of `compiled.bin` (3: input element types and per-input scales).
pub const COMPILED_VERSION: u32 = 3;

/// Largest default circuit size: 2^17 rows keeps one shard's proving near 1 GB.
pub const DEFAULT_MAX_K: u32 = 17;
/// Lookup domains tried by calibration, smallest (cheapest tables) first.
pub const AUTO_LOOKUP_BITS: [u32; 3] = [12, 14, 16];
/// Calibration widens the lookup domain until every value (input and node) has at least
/// this many fractional bits.
pub const MIN_AUTO_SCALE_BITS: u32 = 8;
/// Calibration keeps the largest sample value under half the lookup bound.
pub const DEFAULT_HEADROOM: f64 = 2.0;

/// How to compile a model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompileOptions {
    /// Circuit size exponent of every shard; `None` picks the smallest `k <= max_k` that
    /// holds the whole model in one shard, or `max_k` with several shards.
    pub k: Option<u32>,
    /// Upper bound on the automatic `k` (bounds each shard's memory).
    pub max_k: u32,
    /// Lookup domain bits; `None` lets calibration choose (see [`AUTO_LOOKUP_BITS`]).
    pub lookup_bits: Option<u32>,
    /// Fixed scale; `None` calibrates on the sample inputs.
    pub scale_bits: Option<u32>,
    /// Calibration headroom factor.
    pub headroom: f64,
    /// Pad the shard chain to exactly this many shards (the aggregation circuit's slots).
    pub pad_to: Option<usize>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            k: None,
            max_k: DEFAULT_MAX_K,
            lookup_bits: None,
            scale_bits: None,
            headroom: DEFAULT_HEADROOM,
            pad_to: None,
        }
    }
}

/// Everything needed to set up and prove a model, derived from the ONNX file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompiledModel {
    /// Format version.
    pub version: u32,
    /// Model name (its folder or file stem).
    pub name: String,
    /// The float graph (reference semantics before quantization).
    pub graph: Graph,
    /// The quantized model the circuits prove.
    pub model: QModel,
    /// The shards.
    pub plan: ShardPlan,
    /// Calibration report, when the scale was calibrated.
    pub calibration: Option<Calibration>,
}

impl CompiledModel {
    /// Imports, calibrates (unless a scale is given), quantizes and plans shards.
    pub fn compile(onnx: &Path, samples: &[InputData], opts: &CompileOptions) -> Result<Self> {
        let shapes = samples.first().and_then(|s| s.shapes.clone());
        let graph = import_onnx(onnx, shapes.as_deref())?;
        Self::from_graph(name_of(onnx), graph, samples, opts)
    }

    /// Same as [`CompiledModel::compile`] from an imported graph.
    pub fn from_graph(
        name: String,
        graph: Graph,
        samples: &[InputData],
        opts: &CompileOptions,
    ) -> Result<Self> {
        let sample_values: Vec<Vec<Vec<f64>>> = samples.iter().map(|s| s.values.clone()).collect();
        let candidates: Vec<u32> = match opts.lookup_bits {
            Some(bits) => vec![bits],
            None => AUTO_LOOKUP_BITS.to_vec(),
        };
        // Try lookup domains from the cheapest; keep the first whose scale is fine enough,
        // else the finest scale that still plans within the row budget.
        let mut best: Option<(QModel, ShardPlan, Option<Calibration>)> = None;
        let mut last_err = None;
        // The samples' float ranges do not depend on the lookup domain: measured once.
        let ranges = match sample_values.is_empty() {
            true => None,
            false => Some(ValueRanges::measure(&graph, &sample_values)?),
        };
        for bits in candidates {
            let (settings, calibration) = match opts.scale_bits {
                Some(scale_bits) => (QuantSettings { scale_bits, lookup_bits: bits }, None),
                None => match calibrate(&graph, &sample_values, bits, opts.headroom) {
                    Ok(c) => (c.settings, Some(c)),
                    Err(e) => {
                        last_err = Some(e);
                        continue;
                    }
                },
            };
            // Every node takes the scale its range on the samples fits at, whether the input
            // scale was calibrated or given.
            let model = match &ranges {
                None => quantize(&graph, settings)?,
                Some(ranges) => quantize_with_ranges(&graph, settings, ranges, opts.headroom)?,
            };
            let planned = match opts.k {
                Some(k) => plan(&model, k),
                None => auto_plan(&model, opts.max_k),
            };
            let plan = match planned {
                Ok(p) => p,
                Err(e) => {
                    last_err = Some(e);
                    continue;
                }
            };
            let fine = finest_common(&model) >= MIN_AUTO_SCALE_BITS;
            let better =
                best.as_ref().is_none_or(|(m, _, _)| finest_common(m) < finest_common(&model));
            if better {
                best = Some((model, plan, calibration));
            }
            if fine {
                break;
            }
        }
        let Some((model, plan, calibration)) = best else {
            return Err(
                last_err.unwrap_or_else(|| ProverError::Settings("no lookup domain to try".into()))
            );
        };
        let plan = match opts.pad_to {
            Some(n) => crate::shard::plan::pad(&model, &plan, n)?,
            None => plan,
        };
        Ok(Self { version: COMPILED_VERSION, name, graph, model, plan, calibration })
    }

    /// Path of `compiled.bin` in an artifact directory.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("compiled.bin")
    }

    /// Writes `compiled.bin`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = Self::path(dir);
        let bytes = bincode::serialize(self)
            .map_err(|e| ProverError::Artifact { path: path.clone(), reason: e.to_string() })?;
        write_atomic(&path, |w| std::io::Write::write_all(w, &bytes))
    }

    /// Reads `compiled.bin`, refusing other format versions.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::read(&Self::path(dir))
    }

    /// Reads a compiled model file, wherever it is (a cluster worker keeps them by digest).
    pub fn read(path: &Path) -> Result<Self> {
        let path = path.to_path_buf();
        let bytes = fs::read(&path).map_err(|e| ProverError::io(&path, e))?;
        // The version leads the file: an older format is named as such, not misparsed.
        if let Some(version) = bytes.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        {
            if version != COMPILED_VERSION {
                return Err(ProverError::Artifact {
                    path,
                    reason: format!(
                        "format version {version} (expected {COMPILED_VERSION}); recompile"
                    ),
                });
            }
        }
        // Bounded by the file size so a corrupt length prefix cannot ask for a huge allocation.
        let me: Self = bincode::DefaultOptions::new()
            .with_fixint_encoding()
            .allow_trailing_bytes()
            .with_limit(bytes.len() as u64 * 4 + 1024)
            .deserialize(&bytes)
            .map_err(|e| ProverError::Artifact {
                path: path.clone(),
                reason: format!("not a zkattest compiled model (format {COMPILED_VERSION}): {e}"),
            })?;
        if me.version != COMPILED_VERSION {
            return Err(ProverError::Artifact {
                path,
                reason: format!(
                    "format version {} (expected {COMPILED_VERSION}); recompile",
                    me.version
                ),
            });
        }
        Ok(me)
    }
}

/// The coarsest scale of any value: inputs' or a node's. Every value is at least this
/// precise (`2^-scale`).
fn finest_common(model: &QModel) -> u32 {
    model.nodes.iter().map(|n| n.scale).fold(model.settings.scale_bits, u32::min)
}

/// The smallest `k <= max_k` whose single shard holds the model, else `max_k`.
fn auto_plan(model: &QModel, max_k: u32) -> Result<ShardPlan> {
    // Too small a k fails (tables or one output do not fit); that only means "try larger".
    for k in 10..max_k {
        if let Ok(p) = plan(model, k) {
            if p.shards.len() == 1 {
                return Ok(p);
            }
        }
    }
    plan(model, max_k)
}

/// A model's name: its folder's name for `<dir>/network.onnx`, else the file stem.
pub fn name_of(onnx: &Path) -> String {
    let stem = onnx.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    if stem == "network" {
        if let Some(dir) = onnx.parent().and_then(|d| d.file_name()).and_then(|d| d.to_str()) {
            return dir.to_string();
        }
    }
    stem.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of another format version is named as such (before any field is parsed).
    #[test]
    fn other_format_versions_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("compiled.bin");
        let mut bytes = 2u32.to_le_bytes().to_vec();
        bytes.extend([7u8; 40]);
        fs::write(&path, &bytes).expect("write");
        match CompiledModel::read(&path) {
            Err(ProverError::Artifact { reason, .. }) => {
                assert!(
                    reason.contains("format version 2") && reason.contains("recompile"),
                    "{reason}"
                )
            }
            other => panic!("expected an artifact error, got {:?}", other.map(|m| m.version)),
        }
    }
}
