//! One module per subcommand; shared argument handling here.

pub mod aggregation;
pub mod bench;
pub mod calibrate;
pub mod chain;
pub mod cluster;
pub mod compile;
pub mod demo;
pub mod prove;
pub mod relayer;
pub mod setup;
pub mod srs;
pub mod verify;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use zkattest_prover::artifacts::compiled::{
    CalibrationMode, CompileOptions, DEFAULT_HEADROOM, DEFAULT_MAX_K,
};
use zkattest_prover::model::input::InputData;
use zkattest_prover::proof::srs::default_cache_dir;
use zkattest_prover::proof::Srs;

/// A model given as a folder (`network.onnx` + `input.json`) or an `.onnx` file.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// Model folder holding network.onnx (and input.json), or an .onnx file.
    #[arg(long)]
    pub model: PathBuf,
    /// Input file (`{"input_data": [[...]]}`); defaults to input.json beside the model.
    #[arg(long)]
    pub input: Option<PathBuf>,
}

impl ModelArgs {
    /// The ONNX file.
    pub fn onnx(&self) -> anyhow::Result<PathBuf> {
        let p =
            if self.model.is_dir() { self.model.join("network.onnx") } else { self.model.clone() };
        if !p.is_file() {
            bail!(
                "no ONNX model at {} (expected a folder with network.onnx, or an .onnx file)",
                p.display()
            );
        }
        Ok(p)
    }

    /// The input file, explicit or beside the model.
    pub fn input_path(&self) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.input {
            return Ok(p.clone());
        }
        let dir = if self.model.is_dir() {
            self.model.clone()
        } else {
            self.model.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let p = dir.join("input.json");
        if !p.is_file() {
            bail!("no input given and no input.json beside the model; pass --input FILE");
        }
        Ok(p)
    }

    /// Parsed input.
    pub fn input(&self) -> anyhow::Result<InputData> {
        let p = self.input_path()?;
        InputData::from_file(&p).with_context(|| format!("reading input {}", p.display()))
    }
}

/// Circuit-size and quantization options shared by compile and bench.
#[derive(clap::Args, Debug, Clone)]
pub struct CircuitArgs {
    /// Rows per shard circuit: 2^k [default: the smallest k up to --max-k that holds the
    /// model in one shard; --max-k with several shards beyond that].
    #[arg(long)]
    pub k: Option<u32>,
    /// Largest automatic k (bounds each shard's proving memory).
    #[arg(long, default_value_t = DEFAULT_MAX_K)]
    pub max_k: u32,
    /// Lookup domain bits: values stay within ±2^(bits-1) at the chosen scale
    /// [default: calibrated, see --calibration].
    #[arg(long)]
    pub lookup_bits: Option<u32>,
    /// What calibration optimizes: `accuracy` widens the lookup domain as far as the
    /// circuit size `resources` needs still holds (same k and shards, finer scales), then
    /// shrinks a one-shard circuit (smaller k, narrower tables) while its error stays under
    /// 2^-18 of the outputs' magnitude (and under 2^-13), or grows it up to --max-k while
    /// its error is above 2^-13 of that magnitude and each step cuts it by a quarter;
    /// `resources` keeps the smallest domain that gives every value 8 fractional bits.
    #[arg(long, value_enum, default_value_t = Mode::Accuracy)]
    pub calibration: Mode,
    /// Fixed-point scale exponent of the inputs [default: calibrated on the input].
    #[arg(long)]
    pub scale_bits: Option<u32>,
    /// Calibration keeps every value's largest sample magnitude under bound/headroom, so
    /// inputs up to headroom times larger still prove.
    #[arg(long, default_value_t = DEFAULT_HEADROOM)]
    pub headroom: f64,
    /// Pad the shard chain to this many shards, the slots of the aggregation circuit
    /// (needed before `aggregate`).
    #[arg(long)]
    pub shards: Option<usize>,
    /// Wide values: sums, accumulators and ReLU/identity outputs are range-checked by a
    /// split into a high part and a lookup-sized limb, so they may reach
    /// 2^(lookup_bits + scale_bits - 1) in magnitude without a larger table. `auto` lets
    /// the accuracy calibration choose whichever gives the smaller error at the same
    /// circuit size; the resources calibration keeps them off.
    #[arg(long, value_enum, default_value_t = Wide::Auto)]
    pub wide_values: Wide,
}

impl CircuitArgs {
    /// The prover's compile options.
    pub fn options(&self) -> CompileOptions {
        CompileOptions {
            k: self.k,
            max_k: self.max_k,
            lookup_bits: self.lookup_bits,
            scale_bits: self.scale_bits,
            headroom: self.headroom,
            pad_to: self.shards,
            mode: self.calibration.into(),
            wide: match self.wide_values {
                Wide::Auto => None,
                Wide::On => Some(true),
                Wide::Off => Some(false),
            },
        }
    }
}

/// `--wide-values`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wide {
    /// Chosen by the calibration mode.
    Auto,
    /// Always.
    On,
    /// Never: every value stays in the lookup domain.
    Off,
}

/// `--calibration` (the prover's [`CalibrationMode`]).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Finest scales at the circuit size `resources` needs.
    Accuracy,
    /// Smallest lookup domain and circuit.
    Resources,
}

impl From<Mode> for CalibrationMode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Accuracy => CalibrationMode::Accuracy,
            Mode::Resources => CalibrationMode::Resources,
        }
    }
}

/// Default artifact folder of a model.
pub fn default_artifacts(name: &str) -> PathBuf {
    PathBuf::from("zkattest-artifacts").join(name)
}

/// SRS options shared by setup, prove and verify.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SrsArgs {
    /// Trusted-setup KZG params file (halo2 raw ParamsKZG, e.g. converted Perpetual Powers of
    /// Tau). Without it, an INSECURE dev SRS is generated and cached.
    #[arg(long)]
    pub srs: Option<PathBuf>,
}

impl SrsArgs {
    /// Loads the SRS of size `k`, warning loudly about a dev SRS.
    /// Every report of the run names it afterwards (`crate::output`), in `--json` too.
    pub fn load(&self, k: u32, json: bool) -> anyhow::Result<Srs> {
        let srs = match &self.srs {
            Some(p) => Srs::load(p, k)?,
            None => Srs::dev(&default_cache_dir(), k)?,
        };
        let first = crate::output::note_srs(&srs);
        if srs.is_insecure() && first && !json {
            eprintln!("warning: {}", crate::output::DEV_SRS_WARNING);
        }
        Ok(srs)
    }
}

/// Peak resident memory of this process so far, in MB.
pub fn peak_rss_mb() -> f64 {
    proc_kb("/proc/self/status", "VmHWM:").map(|kb| kb / 1024.0).unwrap_or(0.0)
}

/// A `key: <n> kB` line of a /proc file.
pub fn proc_kb(file: &str, key: &str) -> Option<f64> {
    std::fs::read_to_string(file).ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
    })
}
