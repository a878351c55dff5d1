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
use crate::quant::calibrate::{accuracy, calibrate, Accuracy, Calibration};
use crate::quant::scales::ValueRanges;
use crate::quant::{quantize, quantize_with_ranges, QModel, QuantSettings};
use crate::shard::plan::{plan, ShardPlan};

/// Format version of `compiled.bin` (3: input element types and per-input scales; 4: the
/// calibration mode and the lookup domains it tried; 5: class names of label outputs; 6:
/// wide values; 7: interpolated functions of wide values; 8: indices checked at witness
/// generation).
pub const COMPILED_VERSION: u32 = 9;

/// Largest default circuit size: 2^17 rows keeps one shard's proving near 1 GB. A
/// transformer block's cut (24,676 values live across its softmax) needs `--max-k 18`.
pub const DEFAULT_MAX_K: u32 = 17;
/// Lookup domains tried by calibration, smallest (cheapest tables) first.
pub const AUTO_LOOKUP_BITS: [u32; 3] = [12, 14, 16];
/// Calibration widens the lookup domain until every value (input and node) has at least
/// this many fractional bits.
pub const MIN_AUTO_SCALE_BITS: u32 = 8;
/// Calibration keeps the largest sample value under half the lookup bound.
pub const DEFAULT_HEADROOM: f64 = 2.0;
/// The accuracy mode grows a one-shard circuit while its error on the samples is above this
/// fraction of the outputs' magnitude (at least 1): 2^-13, the error EZKL's default
/// calibration typically reaches on small models.
pub const ACCURACY_TARGET: f64 = 1.0 / 8192.0;
/// Each `k` the accuracy mode grows by must cut the error by at least a quarter: one more
/// lookup bit halves the rounding at the tables' inputs, not the error that comes from
/// elsewhere, so real gains per step are 30-50 %.
pub const GROWTH_GAIN: f64 = 0.75;
/// Widest lookup domain the accuracy mode tries (`QuantSettings::validate`'s ceiling).
pub const MAX_LOOKUP_BITS: u32 = 20;
/// The accuracy mode shrinks a one-shard circuit while a smaller `k` keeps the error on the
/// samples at or below this fraction of the outputs' magnitude (at least 1, and at most
/// [`ACCURACY_TARGET`] in absolute terms): 2^-18, a
/// sixteenth of half a step of EZKL's default scale (2^13), so a shrunk circuit stays finer
/// than EZKL's default and proves in about half the time per `k` it sheds.
pub const SHRINK_TARGET: f64 = 1.0 / 262_144.0;
/// Narrowest lookup domain the accuracy mode shrinks to: a 256-row table, below which the
/// tables no longer set `k`.
pub const MIN_SHRINK_LOOKUP_BITS: u32 = 8;

/// How calibration trades circuit size for precision (EZKL's `accuracy` / `resources`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CalibrationMode {
    /// The circuit size `Resources` picks (its `k` and shard count), or a smaller one with
    /// wide values, with the widest lookup domain, narrow or wide values, whose tables still
    /// fit in it: finer scales at no cost in rows, keys or proving time. The domain kept is
    /// the one with the smallest error on the samples. A one-shard circuit then shrinks while
    /// its error stays under [`SHRINK_TARGET`], or grows while it is above
    /// [`ACCURACY_TARGET`].
    #[default]
    Accuracy,
    /// The smallest lookup domain whose scales reach [`MIN_AUTO_SCALE_BITS`] bits, and
    /// the smallest `k` that holds it.
    Resources,
}

impl std::fmt::Display for CalibrationMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CalibrationMode::Accuracy => "accuracy",
            CalibrationMode::Resources => "resources",
        })
    }
}

/// One lookup domain calibration tried, for the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Lookup domain bits.
    pub lookup_bits: u32,
    /// Input scale chosen at that domain; none when calibration or planning failed there.
    pub scale_bits: Option<u32>,
    /// Whether values were wide (see [`QuantSettings::wide`]).
    #[serde(default)]
    pub wide: bool,
    /// The circuit size it planned at; none when calibration or planning failed there.
    #[serde(default)]
    pub k: Option<u32>,
    /// Why it was not kept, if it was not: it does not fit the circuit size, say.
    pub rejected: Option<String>,
    /// Accuracy on the samples, when it planned.
    pub accuracy: Option<Accuracy>,
}

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
    /// What calibration optimizes when it chooses the lookup domain.
    #[serde(default)]
    pub mode: CalibrationMode,
    /// Wide values (see [`QuantSettings::wide`]); `None` lets the accuracy mode try both.
    #[serde(default)]
    pub wide: Option<bool>,
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
            mode: CalibrationMode::Accuracy,
            wide: None,
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
    /// The mode that chose the lookup domain, and every domain it tried, in order.
    pub search: Search,
}

/// How the lookup domain was chosen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Search {
    /// The mode.
    pub mode: CalibrationMode,
    /// Every lookup domain tried, in order.
    pub tried: Vec<Candidate>,
}

/// One quantization and its plan.
struct Choice {
    model: QModel,
    plan: ShardPlan,
    calibration: Option<Calibration>,
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
        // The samples' float ranges do not depend on the lookup domain: measured once.
        let ranges = match sample_values.is_empty() {
            true => None,
            false => Some(ValueRanges::measure(&graph, &sample_values)?),
        };
        let ctx = Context { graph: &graph, samples: &sample_values, ranges: ranges.as_ref(), opts };
        let mut search = Search { mode: opts.mode, tried: Vec::new() };
        let candidates = lookup_candidates(opts);
        // Try lookup domains from the cheapest; keep the first whose scale is fine enough,
        // else the finest scale that still plans within the row budget.
        let mut best: Option<Choice> = None;
        let mut last_err = None;
        let wide = opts.wide.unwrap_or(false);
        for bits in candidates {
            let choice = match ctx.try_bits(bits, wide, opts.k, &mut search) {
                Ok(c) => c,
                Err(e) => {
                    last_err = Some(e);
                    continue;
                }
            };
            let fine = finest_common(&choice.model) >= MIN_AUTO_SCALE_BITS;
            let better = best
                .as_ref()
                .is_none_or(|b| finest_common(&b.model) < finest_common(&choice.model));
            if better {
                best = Some(choice);
            }
            if fine {
                break;
            }
        }
        // Left to choose, the accuracy mode also finds the first fine domain with wide values
        // (tried after the narrow ones, so the resources mode's attempts stay a prefix) and
        // starts from it when its circuit is smaller: values too large for a narrow 12-bit
        // domain fit a wide one without the 2^16-row table a 16-bit domain needs.
        // A wide domain tried here and not started from is kept for `widen`, which would
        // otherwise calibrate it again.
        let mut spare = None;
        // The resources mode's error bounds what the accuracy mode may shrink to.
        let resources_error = match &best {
            Some(b) if opts.mode == CalibrationMode::Accuracy && !sample_values.is_empty() => {
                ctx.error(b)?
            }
            _ => f64::INFINITY,
        };
        if opts.mode == CalibrationMode::Accuracy && opts.wide.is_none() {
            let size = |c: &Choice| (c.plan.k, c.plan.shards.len());
            for bits in lookup_candidates(opts) {
                let Ok(c) = ctx.try_bits(bits, true, opts.k, &mut search) else { continue };
                if finest_common(&c.model) >= MIN_AUTO_SCALE_BITS {
                    if best.as_ref().is_none_or(|b| size(&c) < size(b)) {
                        best = Some(c);
                    } else {
                        spare = Some((c, search.tried.len() - 1));
                    }
                    break;
                }
            }
        }
        let Some(mut best) = best else {
            return Err(
                last_err.unwrap_or_else(|| ProverError::Settings("no lookup domain to try".into()))
            );
        };
        if opts.mode == CalibrationMode::Accuracy
            && (opts.lookup_bits.is_none() || opts.wide.is_none())
        {
            best = ctx.widen(best, spare, resources_error, &mut search)?;
        }
        let Choice { model, plan, calibration } = best;
        let plan = match opts.pad_to {
            Some(n) => crate::shard::plan::pad(&model, &plan, n)?,
            None => plan,
        };
        Ok(Self { version: COMPILED_VERSION, name, graph, model, plan, calibration, search })
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
        // Everything downstream indexes by these ids: a corrupt file is refused here.
        let wellformed =
            me.model.check_wellformed().and_then(|()| me.plan.check_wellformed(&me.model));
        if let Err(reason) = wellformed {
            return Err(ProverError::Artifact {
                path,
                reason: format!("malformed compiled model: {reason}; recompile"),
            });
        }
        Ok(me)
    }
}

/// What every lookup domain of one compilation is tried against.
struct Context<'a> {
    graph: &'a Graph,
    samples: &'a [Vec<Vec<f64>>],
    ranges: Option<&'a ValueRanges>,
    opts: &'a CompileOptions,
}

impl Context<'_> {
    /// Calibrates (unless the scale is given), quantizes and plans at `bits`: at `k` when
    /// given, else the smallest `k` that holds the model. Records the attempt.
    fn try_bits(
        &self,
        bits: u32,
        wide: bool,
        k: Option<u32>,
        search: &mut Search,
    ) -> Result<Choice> {
        let attempt = self.quantize_and_plan(bits, wide, k);
        search.tried.push(match &attempt {
            Ok(c) => Candidate {
                lookup_bits: bits,
                wide,
                scale_bits: Some(c.model.settings.scale_bits),
                k: Some(c.plan.k),
                rejected: None,
                accuracy: c.calibration.as_ref().map(|c| c.accuracy.clone()),
            },
            Err(e) => Candidate {
                lookup_bits: bits,
                wide,
                scale_bits: None,
                k: None,
                rejected: Some(e.to_string()),
                accuracy: None,
            },
        });
        attempt
    }

    fn quantize_and_plan(&self, bits: u32, wide: bool, k: Option<u32>) -> Result<Choice> {
        let (settings, calibration) = match self.opts.scale_bits {
            Some(scale_bits) => (QuantSettings { scale_bits, lookup_bits: bits, wide }, None),
            None => {
                let c = calibrate(self.graph, self.samples, bits, wide, self.opts.headroom)?;
                (c.settings, Some(c))
            }
        };
        // Every node takes the scale its range on the samples fits at, whether the input
        // scale was calibrated or given.
        let model = match self.ranges {
            None => quantize(self.graph, settings)?,
            Some(ranges) => quantize_with_ranges(self.graph, settings, ranges, self.opts.headroom)?,
        };
        let plan = match k {
            Some(k) => plan(&model, k)?,
            None => auto_plan(&model, self.opts.max_k)?,
        };
        Ok(Choice { model, plan, calibration })
    }

    /// Error of a choice on the samples (its calibration's, when it was calibrated).
    fn error(&self, c: &Choice) -> Result<f64> {
        Ok(match &c.calibration {
            Some(cal) => cal.accuracy.max_abs_error,
            None => accuracy(self.graph, &c.model, self.samples)?.max_abs_error,
        })
    }

    /// The accuracy mode: wider lookup domains, narrow and wide values, at the circuit size
    /// `base` already needs (its `k`, no more shards); the one with the smallest error on the
    /// samples is kept, then [`Context::shrink`] may take a smaller `k` (no less accurate
    /// than `resources_error`) or [`Context::grow`] a larger one.
    fn widen(
        &self,
        base: Choice,
        spare: Option<(Choice, usize)>,
        resources_error: f64,
        search: &mut Search,
    ) -> Result<Choice> {
        if self.samples.is_empty() {
            return Ok(base);
        }
        let base_error = self.error(&base)?;
        let (best, best_error) = match self.finest_at(base.plan.k, &base, spare, search)? {
            Some((c, e)) if e < base_error => (c, e),
            _ => (base, base_error),
        };
        let (best, best_error) = self.shrink(best, best_error, resources_error, search)?;
        self.grow(best, best_error, search)
    }

    /// The accuracy mode below the resources mode's circuit: a one-shard model whose tables
    /// set `k` takes a smaller `k` (a narrower lookup domain, whose tables fit there) while
    /// the error on the samples stays at or below [`SHRINK_TARGET`] of its outputs' magnitude
    /// and no worse than `ceiling` (the resources mode's error, so the accuracy mode never
    /// loses to it). With wide values the value range does not shrink with the tables, and
    /// interpolated functions keep their precision, so many small models lose half their
    /// rows at an error far below a step of the usual scales.
    fn shrink(
        &self,
        base: Choice,
        base_error: f64,
        ceiling: f64,
        search: &mut Search,
    ) -> Result<(Choice, f64)> {
        if self.opts.k.is_some() || self.opts.lookup_bits.is_some() || base.plan.shards.len() != 1 {
            return Ok((base, base_error));
        }
        // Large outputs shrink no further than ACCURACY_TARGET in absolute terms, the
        // error the accuracy mode grows circuits to reach.
        let relative = SHRINK_TARGET * self.output_magnitude().max(1.0);
        let target = relative.min(ACCURACY_TARGET).min(ceiling);
        if base_error > target {
            return Ok((base, base_error));
        }
        let variants: &[bool] = match self.opts.wide {
            Some(true) => &[true],
            Some(false) => &[false],
            None => &[true, false],
        };
        let (mut best, mut best_error) = (base, base_error);
        while best.plan.k > 10 {
            let k = best.plan.k - 1;
            let mut found: Option<(Choice, f64)> = None;
            // The widest domain that plans at `k` is the finest there: search down from
            // the current one, per variant, and stop at the first that plans.
            for &wide in variants {
                let top = best.model.settings.lookup_bits.saturating_sub(1);
                for bits in (MIN_SHRINK_LOOKUP_BITS..=top).rev() {
                    let Ok(c) = self.try_bits(bits, wide, Some(k), search) else { continue };
                    let at = search.tried.len() - 1;
                    let Some(e) = self.judge(&c, at, 1, search)? else { continue };
                    if found.as_ref().is_none_or(|(_, b)| e < *b) {
                        found = Some((c, e));
                    }
                    break;
                }
            }
            match found {
                Some((c, e)) if e <= target => (best, best_error) = (c, e),
                _ => break,
            }
        }
        Ok((best, best_error))
    }

    /// The accuracy mode past the resources mode's circuit: a one-shard model whose error on
    /// the samples is above [`ACCURACY_TARGET`] of its outputs' magnitude takes a larger `k`
    /// (up to `max_k`) when a domain that only fits there multiplies the error by
    /// [`GROWTH_GAIN`] or less. Each step doubles the rows and about doubles proving time,
    /// so it must buy precision; models already that accurate, or several shards long, keep
    /// their circuit.
    fn grow(&self, base: Choice, base_error: f64, search: &mut Search) -> Result<Choice> {
        if self.opts.k.is_some() || self.opts.lookup_bits.is_some() {
            return Ok(base);
        }
        let target = ACCURACY_TARGET * self.output_magnitude().max(1.0);
        let (mut best, mut best_error) = (base, base_error);
        let mut k = best.plan.k;
        while best_error > target && best.plan.shards.len() == 1 && k < self.opts.max_k {
            k += 1;
            if let Some((c, e)) = self.finest_at(k, &best, None, search)? {
                if e <= best_error * GROWTH_GAIN {
                    best = c;
                    best_error = e;
                }
            }
        }
        Ok(best)
    }

    /// Largest |float output| on the samples, from the ranges measured once.
    fn output_magnitude(&self) -> f64 {
        let outputs = self.graph.outputs.iter().flat_map(|o| o.srcs.iter().copied());
        self.ranges.map_or(0.0, |r| r.of_srcs(outputs))
    }

    /// The error on the samples of `c`, the attempt `search.tried[at]`, recorded there; or
    /// `None`, recorded as its rejection, when it needs more than `shards` shards.
    fn judge(
        &self,
        c: &Choice,
        at: usize,
        shards: usize,
        search: &mut Search,
    ) -> Result<Option<f64>> {
        if c.plan.shards.len() > shards {
            if let Some(t) = search.tried.get_mut(at) {
                let k = c.plan.k;
                t.rejected = Some(format!("needs more than {shards} shard(s) at k = {k}"));
            }
            return Ok(None);
        }
        let e = self.error(c)?;
        if let Some(t) = search.tried.get_mut(at) {
            t.accuracy.get_or_insert_with(|| Accuracy { max_abs_error: e, ..Default::default() });
        }
        Ok(Some(e))
    }

    /// The domain with the smallest error on the samples among those wider than `base`'s
    /// (narrow and wide values) that plan at `k` in no more shards than `base`. A wider
    /// domain only grows the tables, so the first domain where neither fits ends the search.
    fn finest_at(
        &self,
        k: u32,
        base: &Choice,
        mut spare: Option<(Choice, usize)>,
        search: &mut Search,
    ) -> Result<Option<(Choice, f64)>> {
        let shards = base.plan.shards.len();
        let base_settings = base.model.settings;
        let last_bits = self.opts.lookup_bits.unwrap_or(MAX_LOOKUP_BITS);
        let variants: &[bool] = match self.opts.wide {
            Some(true) => &[true],
            Some(false) => &[false],
            None => &[false, true],
        };
        let mut best: Option<(Choice, f64)> = None;
        for bits in base_settings.lookup_bits..=last_bits {
            let mut any = false;
            for &wide in variants {
                // The base's own domain quantizes the same at any k.
                if (bits, wide) == (base_settings.lookup_bits, base_settings.wide) {
                    any = true;
                    continue;
                }
                // A domain that planned at a smaller k quantizes the same here: known already.
                let planned = |t: &Candidate| {
                    (t.lookup_bits, t.wide) == (bits, wide)
                        && t.rejected.is_none()
                        && t.k.is_some_and(|at| at < k)
                };
                if search.tried.iter().any(planned) {
                    any = true;
                    continue;
                }
                let same = |c: &Choice| {
                    let st = c.model.settings;
                    (st.lookup_bits, st.wide, c.plan.k) == (bits, wide, k)
                };
                let (c, at) = match spare.take() {
                    Some((c, at)) if same(&c) => (c, at),
                    other => {
                        spare = other;
                        let Ok(c) = self.try_bits(bits, wide, Some(k), search) else { continue };
                        (c, search.tried.len() - 1)
                    }
                };
                let Some(e) = self.judge(&c, at, shards, search)? else { continue };
                any = true;
                if best.as_ref().is_none_or(|(_, b)| e < *b) {
                    best = Some((c, e));
                }
            }
            if !any {
                break;
            }
        }
        Ok(best)
    }
}

/// The lookup domains the base search tries.
fn lookup_candidates(opts: &CompileOptions) -> Vec<u32> {
    match opts.lookup_bits {
        Some(bits) => vec![bits],
        None => AUTO_LOOKUP_BITS.to_vec(),
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
    use crate::model::graph::Src;

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

    fn models() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
    }

    fn compile(name: &str, opts: &CompileOptions) -> CompiledModel {
        let dir = models().join(name);
        let input = InputData::from_file(dir.join("input.json")).expect("model input");
        CompiledModel::compile(&dir.join("network.onnx"), std::slice::from_ref(&input), opts)
            .expect("compiles")
    }

    fn error(c: &CompiledModel) -> f64 {
        c.calibration.as_ref().expect("calibrated").accuracy.max_abs_error
    }

    /// The accuracy mode never loses accuracy on the samples against the resources mode.
    /// Where the gates, not the tables, set k (LeNet-5: 93k gate rows at k = 17), a wider
    /// lookup domain fits in the rows the model needs anyway and the error drops. A circuit
    /// grows only when it is one shard, stays within `max_k`, and the error drops by a
    /// quarter at least; bounded by the resources mode's own k, it never grows.
    #[test]
    fn accuracy_mode_is_finer_and_grows_only_one_shard_circuits() {
        let mut gained = Vec::new();
        for name in ["digits_mlp", "ops_mix", "lenet5"] {
            let opts = |mode| CompileOptions { mode, ..CompileOptions::default() };
            let r = compile(name, &opts(CalibrationMode::Resources));
            let a = compile(name, &opts(CalibrationMode::Accuracy));
            let size = |c: &CompiledModel| (c.plan.k, c.plan.shards.len());
            assert!(error(&a) <= error(&r), "{name}: {} > {}", error(&a), error(&r));
            if size(&a) > size(&r) {
                assert_eq!((a.plan.shards.len(), r.plan.shards.len()), (1, 1), "{name}");
                assert!(a.plan.k <= DEFAULT_MAX_K, "{name}");
                assert!(error(&r) > ACCURACY_TARGET, "{name}: grown though accurate");
                assert!(error(&a) <= error(&r) * GROWTH_GAIN, "{name}: grown for little");
            }
            // Resources stops at its first fine domain; accuracy goes on from there.
            assert_eq!(r.search.mode, CalibrationMode::Resources);
            assert!(a.search.tried.len() > r.search.tried.len(), "{name}: {:?}", a.search);
            assert_eq!(a.search.tried[..r.search.tried.len()], r.search.tried[..], "{name}");
            let st = a.model.settings;
            let kept = a.search.tried.iter().find(|t| {
                (t.lookup_bits, t.wide, t.rejected.is_none()) == (st.lookup_bits, st.wide, true)
            });
            assert!(kept.is_some(), "{name}");
            // A wide domain tried for a smaller circuit and not started from (ops_mix: the
            // same k as narrow) is compared by the widening without a second calibration.
            if name == "ops_mix" {
                let wide12 =
                    a.search.tried.iter().filter(|t| (t.lookup_bits, t.wide) == (12, true));
                assert_eq!(wide12.count(), 1, "{:?}", a.search.tried);
            }
            // Bounded by the resources circuit's k, the accuracy mode keeps its size.
            let bounded = compile(
                name,
                &CompileOptions { max_k: r.plan.k, ..opts(CalibrationMode::Accuracy) },
            );
            assert!(size(&bounded) <= size(&r), "{name}: the accuracy mode grew past max_k");
            if size(&bounded) == size(&r) {
                assert!(bounded.model.settings.lookup_bits >= r.model.settings.lookup_bits);
            } else {
                assert!(bounded.model.settings.wide, "{name}: smaller only with wide values");
            }
            assert!(error(&a) <= error(&bounded) && error(&bounded) <= error(&r), "{name}");
            if error(&bounded) < error(&r) {
                gained.push(name);
            }
        }
        assert!(gained.contains(&"lenet5"), "{gained:?}");
    }

    /// Softsign (EZKL's example, in `../shared/op-families`) fills its k = 14 tables at
    /// 9e-4 error where EZKL reaches 5e-5: the accuracy mode takes the larger circuit whose
    /// finer domain cuts the error by a quarter at least at each step, and stops within
    /// `max_k`.
    #[test]
    fn accuracy_mode_grows_a_one_shard_circuit_for_a_finer_domain() {
        let Some(dir) = zkattest_testkit::shared_dir("op-families") else { return };
        let dir = dir.join("softsign");
        let input = InputData::from_file(dir.join("input.json")).expect("model input");
        let at = |mode, max_k| {
            let opts = CompileOptions { mode, max_k, ..CompileOptions::default() };
            CompiledModel::compile(&dir.join("network.onnx"), std::slice::from_ref(&input), &opts)
                .expect("compiles")
        };
        let r = at(CalibrationMode::Resources, DEFAULT_MAX_K);
        let a = at(CalibrationMode::Accuracy, DEFAULT_MAX_K);
        assert_eq!((r.plan.shards.len(), a.plan.shards.len()), (1, 1));
        assert!(a.plan.k > r.plan.k && a.plan.k <= DEFAULT_MAX_K, "k {} vs {}", a.plan.k, r.plan.k);
        assert!(error(&a) <= error(&r) * GROWTH_GAIN, "{} vs {}", error(&a), error(&r));
        assert!(a.model.settings.lookup_bits > r.model.settings.lookup_bits);
        // The report names the domain kept at the k it was planned at.
        let st = a.model.settings;
        let kept = |t: &&Candidate| {
            (t.lookup_bits, t.wide, t.k) == (st.lookup_bits, st.wide, Some(a.plan.k))
        };
        assert!(a.search.tried.iter().filter(kept).any(|t| t.rejected.is_none()), "{:?}", a.search);
        // A domain that planned once is not calibrated again at a larger k.
        let mut planned: Vec<(u32, bool)> = a
            .search
            .tried
            .iter()
            .filter(|t| t.rejected.is_none())
            .map(|t| (t.lookup_bits, t.wide))
            .collect();
        let n = planned.len();
        planned.sort_unstable();
        planned.dedup();
        assert_eq!(planned.len(), n, "{:?}", a.search.tried);
        // One k less: the circuit stops there.
        let bounded = at(CalibrationMode::Accuracy, a.plan.k - 1);
        assert!(bounded.plan.k < a.plan.k && error(&bounded) > error(&a));
    }

    /// `1l_sigmoid` (EZKL's example, in `../shared/models`) is table-bound at k = 14 with
    /// 12-bit tables; with wide values its interpolated sigmoid keeps a 2^-18-relative error
    /// in narrower tables, so the accuracy mode takes the smaller circuit (half the rows per
    /// `k` shed), never less accurate than the resources mode; a given `k` or domain, or a
    /// model whose error is above the shrink target, keeps its circuit.
    #[test]
    fn accuracy_mode_shrinks_a_table_bound_circuit_while_it_stays_accurate() {
        let Some(dir) = zkattest_testkit::shared_dir("models") else { return };
        let dir = dir.join("1l_sigmoid");
        let input = InputData::from_file(dir.join("input.json")).expect("model input");
        let at = |opts: CompileOptions| {
            CompiledModel::compile(&dir.join("network.onnx"), std::slice::from_ref(&input), &opts)
                .expect("compiles")
        };
        let r = at(CompileOptions { mode: CalibrationMode::Resources, ..Default::default() });
        let a = at(CompileOptions::default());
        assert!(a.plan.k < r.plan.k, "k {} vs resources {}", a.plan.k, r.plan.k);
        assert_eq!(a.plan.shards.len(), 1);
        assert!(a.model.settings.lookup_bits < r.model.settings.lookup_bits);
        assert!(error(&a) <= SHRINK_TARGET && error(&a) <= error(&r), "{}", error(&a));
        // Each k shed was the widest domain that planned there and met the target: one k
        // less than the kept circuit did not (or k is at its floor).
        let st = a.model.settings;
        let kept = |t: &&Candidate| {
            (t.lookup_bits, t.wide, t.k) == (st.lookup_bits, st.wide, Some(a.plan.k))
        };
        assert!(a.search.tried.iter().filter(kept).any(|t| t.rejected.is_none()), "{:?}", a.search);
        let below = a.search.tried.iter().filter(|t| t.k == Some(a.plan.k - 1));
        let below: Vec<f64> =
            below.filter_map(|t| Some(t.accuracy.as_ref()?.max_abs_error)).collect();
        assert!(a.plan.k == 10 || below.iter().all(|&e| e > SHRINK_TARGET), "{below:?}");
        // A given k or lookup domain is the user's: kept.
        let given = at(CompileOptions { k: Some(r.plan.k), ..Default::default() });
        assert_eq!(given.plan.k, r.plan.k);
        let given = at(CompileOptions { lookup_bits: Some(12), ..Default::default() });
        assert_eq!((given.plan.k, given.model.settings.lookup_bits), (r.plan.k, 12));
        // Narrow values only: the 12-bit narrow table's error (2e-4) is far above the
        // target, so the circuit stays.
        let narrow = at(CompileOptions { wide: Some(false), ..Default::default() });
        assert!(error(&narrow) > SHRINK_TARGET && narrow.plan.k >= r.plan.k, "{}", error(&narrow));
        // Large outputs (a ridge regression's, about 240): 2^-18 of them would allow 3e-4 at
        // k = 12; the shrink stops where the error would pass ACCURACY_TARGET itself.
        let ridge = compile("sklearn_ridge", &CompileOptions::default());
        assert!(error(&ridge) <= ACCURACY_TARGET, "{}", error(&ridge));
    }

    /// A file whose model or plan names values or nodes it does not have is refused by name
    /// when read, before anything indexes into it.
    #[test]
    fn malformed_files_are_refused() {
        let good = compile("digits_mlp", &CompileOptions::default());
        type Edit = fn(&mut CompiledModel);
        let edits: [(&str, Edit); 3] = [
            ("where", |c| c.model.nodes[0].first += 1),
            ("not a value of the model", |c| c.model.outputs[0].srcs[0] = Src::Value(u32::MAX)),
            ("not a run of a node's outputs", |c| c.plan.shards[0].items[0].node = usize::MAX),
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        good.save(dir.path()).expect("save");
        CompiledModel::load(dir.path()).expect("the compiled model reads back");
        for (want, edit) in edits {
            let mut bad = good.clone();
            edit(&mut bad);
            bad.save(dir.path()).expect("save");
            match CompiledModel::load(dir.path()) {
                Err(ProverError::Artifact { reason, .. }) => {
                    assert!(reason.contains("malformed") && reason.contains(want), "{reason}")
                }
                other => panic!("{want}: expected an artifact error, got {:?}", other.is_ok()),
            }
        }
    }

    /// A lookup domain given by the user is kept in either mode; the accuracy mode still
    /// tries narrow and wide values in it unless that is given too.
    #[test]
    fn a_given_lookup_domain_is_not_widened() {
        let opts = CompileOptions { lookup_bits: Some(12), ..CompileOptions::default() };
        let c = compile("digits_mlp", &opts);
        assert_eq!(c.model.settings.lookup_bits, 12);
        let tried: Vec<(u32, bool)> =
            c.search.tried.iter().map(|t| (t.lookup_bits, t.wide)).collect();
        // Narrow, wide, and narrow again at the wide choice's smaller k where it took one.
        assert!(tried.iter().all(|t| t.0 == 12), "{tried:?}");
        assert_eq!(tried[..2], [(12, false), (12, true)]);
        for wide in [false, true] {
            let opts = CompileOptions { wide: Some(wide), ..opts.clone() };
            let c = compile("digits_mlp", &opts);
            assert_eq!((c.model.settings.lookup_bits, c.model.settings.wide), (12, wide));
            assert_eq!(c.search.tried.len(), 1);
        }
    }
}
