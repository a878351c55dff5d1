//! The integer semantics of every quantized operation, written once.
//!
//! The reference evaluator ([`super::eval`]) and the circuit witness generator
//! ([`crate::circuit`]) both call these functions, and the circuit's gates and lookup
//! tables encode exactly them; so "circuit output == reference output" holds by
//! construction and the MockProver tests check the encoding.

use serde::{Deserialize, Serialize};

use crate::model::graph::Activation;

/// Fixed-point settings shared by all values of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantSettings {
    /// Values and weights are integers scaled by `2^scale_bits`.
    pub scale_bits: u32,
    /// Every value entering a lookup lies in `[-2^(lookup_bits-1), 2^(lookup_bits-1))`.
    pub lookup_bits: u32,
}

impl Default for QuantSettings {
    fn default() -> Self {
        Self { scale_bits: 7, lookup_bits: 14 }
    }
}

impl QuantSettings {
    /// Exclusive bound on |value| for lookup inputs.
    pub fn bound(&self) -> i64 {
        1i64 << (self.lookup_bits - 1)
    }

    /// True when `v` is inside the lookup domain.
    pub fn in_range(&self, v: i128) -> bool {
        let b = self.bound() as i128;
        (-b..b).contains(&v)
    }

    /// Quantizes a real number to the value scale (round half away from zero).
    pub fn quantize(&self, x: f64) -> i64 {
        (x * (1u64 << self.scale_bits) as f64).round() as i64
    }

    /// The real number a quantized value stands for.
    pub fn dequantize(&self, v: i64) -> f64 {
        v as f64 / (1u64 << self.scale_bits) as f64
    }

    /// Rejects settings the circuit cannot represent.
    pub fn validate(&self) -> Result<(), String> {
        if !(4..=20).contains(&self.lookup_bits) {
            return Err(format!("lookup_bits {} must be in 4..=20", self.lookup_bits));
        }
        if self.scale_bits == 0 || self.scale_bits >= self.lookup_bits {
            return Err(format!(
                "scale_bits {} must be in 1..lookup_bits ({})",
                self.scale_bits, self.lookup_bits
            ));
        }
        Ok(())
    }
}

/// Result of rescaling an accumulator and applying an activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requant {
    /// Rescaled value, the lookup input: `floor((acc + 2^(shift-1)) / 2^shift)`.
    pub y: i64,
    /// Remainder in `[0, 2^shift)`: `acc + 2^(shift-1) = y * 2^shift + r`.
    pub r: i64,
    /// Activation output (table lookup of `y`).
    pub out: i64,
}

/// Rescales `acc` by `2^shift` with round-half-up and applies `act`.
///
/// Returns `Err(y)` when the rescaled value falls outside the lookup domain.
pub fn requant(
    acc: i128,
    shift: u32,
    act: Activation,
    settings: &QuantSettings,
) -> Result<Requant, i128> {
    let (y, r) = if shift == 0 {
        (acc, 0)
    } else {
        let num = acc + (1i128 << (shift - 1));
        let y = num.div_euclid(1i128 << shift);
        (y, num - (y << shift))
    };
    if !settings.in_range(y) {
        return Err(y);
    }
    let y = y as i64;
    Ok(Requant { y, r: r as i64, out: apply(act, y, settings.scale_bits) })
}

/// One step of a running maximum: `m' = m + relu(v - m)`. Returns `(d, relu(d), m')`.
///
/// Returns `Err(d)` when the difference falls outside the lookup domain.
pub fn max_step(m: i64, v: i64, settings: &QuantSettings) -> Result<(i64, i64, i64), i128> {
    let d = v as i128 - m as i128;
    if !settings.in_range(d) {
        return Err(d);
    }
    let d = d as i64;
    let rd = d.max(0);
    Ok((d, rd, m + rd))
}

/// Activations that commute with scaling (`f(2^k x) = 2^k f(x)`): their tables serve
/// values at any scale. The others are tabulated at the settings' scale only.
pub fn scale_free(act: Activation) -> bool {
    matches!(act, Activation::Identity | Activation::Relu | Activation::LeakyRelu { .. })
}

/// The quantized activation table: input and output both at scale `2^scale_bits`.
pub fn apply(act: Activation, y: i64, scale_bits: u32) -> i64 {
    let scale = (1u64 << scale_bits) as f64;
    match act {
        Activation::Identity => y,
        Activation::Relu => y.max(0),
        Activation::Sigmoid => (scale / (1.0 + (-(y as f64) / scale).exp())).round() as i64,
        Activation::LeakyRelu { alpha } => {
            if y >= 0 {
                y
            } else {
                (alpha as f64 * y as f64).round() as i64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requant_rounds_half_up_and_reconstructs() {
        let s = QuantSettings::default();
        for acc in -5000i128..5000 {
            let q = requant(acc, 7, Activation::Identity, &s).expect("in range");
            assert_eq!(acc + 64, q.y as i128 * 128 + q.r as i128);
            assert!((0..128).contains(&q.r));
            let exact = acc as f64 / 128.0;
            assert!((q.y as f64 - exact).abs() <= 0.5);
        }
    }

    #[test]
    fn requant_rejects_out_of_range() {
        let s = QuantSettings { scale_bits: 4, lookup_bits: 8 };
        assert!(requant(127, 0, Activation::Relu, &s).is_ok());
        assert_eq!(requant(128, 0, Activation::Relu, &s), Err(128));
        assert_eq!(requant(-129, 0, Activation::Relu, &s), Err(-129));
    }

    #[test]
    fn activations_match_float_within_half_ulp() {
        let s = QuantSettings::default();
        for y in -2000..2000 {
            let x = s.dequantize(y);
            for act in [Activation::Sigmoid, Activation::LeakyRelu { alpha: 0.1 }, Activation::Relu]
            {
                let q = s.dequantize(apply(act, y, s.scale_bits));
                assert!((q - act.apply_f64(x)).abs() <= 0.5 / 128.0 + 1e-9, "{act:?} {y}");
            }
        }
    }

    #[test]
    fn max_step_is_max() {
        let s = QuantSettings::default();
        for (m, v) in [(3, 5), (5, 3), (-7, -2), (0, 0)] {
            assert_eq!(max_step(m, v, &s).expect("in range").2, m.max(v));
        }
    }
}
