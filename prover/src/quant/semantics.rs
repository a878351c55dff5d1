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
    /// Wide values: sums, products, ReLUs, maxima and the values crossing a shard boundary
    /// are proven in [`Self::value_bits`] bits, `lookup_bits + scale_bits`, as a top part in
    /// the lookup domain and `scale_bits` low bits in the range table (see [`split`]), so
    /// their scales are not limited by the tables. Tabulated functions still read values in
    /// the lookup domain.
    #[serde(default)]
    pub wide: bool,
}

impl Default for QuantSettings {
    fn default() -> Self {
        Self { scale_bits: 7, lookup_bits: 14, wide: false }
    }
}

impl QuantSettings {
    /// Narrow settings: every value in the lookup domain.
    pub const fn narrow(scale_bits: u32, lookup_bits: u32) -> Self {
        Self { scale_bits, lookup_bits, wide: false }
    }

    /// Exclusive bound on |value| for lookup inputs.
    pub fn bound(&self) -> i64 {
        1i64 << (self.lookup_bits - 1)
    }

    /// True when `v` is inside the lookup domain.
    pub fn in_range(&self, v: i128) -> bool {
        let b = self.bound() as i128;
        (-b..b).contains(&v)
    }

    /// Bits of a value that is not a lookup input (boundary values, sums, ReLU outputs).
    pub fn value_bits(&self) -> u32 {
        self.lookup_bits + if self.wide { self.scale_bits } else { 0 }
    }

    /// Exclusive bound on |value| of every value (`bound()` unless wide).
    pub fn value_bound(&self) -> i64 {
        1i64 << (self.value_bits() - 1)
    }

    /// True when an activation's input is a wide value: it needs no table of its own (the
    /// identity, ReLU by its sign).
    pub fn wide_act(&self, act: Activation) -> bool {
        self.wide && matches!(act, Activation::Identity | Activation::Relu)
    }

    /// True when `act` of a wide value is interpolated between table points (see
    /// [`interpolate`]) rather than looked up at the table's scale: the smooth functions.
    /// Step functions (comparisons, rounding) and the denominators' root stay exact lookups.
    pub fn interpolates(&self, act: Activation) -> bool {
        self.wide
            && matches!(
                act,
                Activation::Sigmoid
                    | Activation::Tanh
                    | Activation::Exp
                    | Activation::Ln
                    | Activation::Sqrt
                    | Activation::Erf
                    | Activation::Gelu
                    | Activation::GeluTanh
                    | Activation::Silu
                    | Activation::Softplus
                    | Activation::Elu { .. }
                    | Activation::Pow { .. }
                    | Activation::Sin
                    | Activation::Cos
                    | Activation::Tan
                    | Activation::Asin
                    | Activation::Acos
                    | Activation::Atan
                    | Activation::Sinh
                    | Activation::Cosh
                    | Activation::Asinh
                    | Activation::Acosh
                    | Activation::Atanh
            )
    }

    /// The scale of a tabulated activation's input and output: `2 scale_bits` when it is
    /// interpolated (a wide value at that scale spans the lookup domain at `scale_bits`, with
    /// `scale_bits` more bits of precision), else `scale_bits`.
    pub fn act_scale(&self, act: Activation) -> u32 {
        if self.interpolates(act) {
            2 * self.scale_bits
        } else {
            self.scale_bits
        }
    }

    /// Exclusive bound on |input| of `act`.
    pub fn bound_for(&self, act: Activation) -> i64 {
        if self.wide_act(act) || self.interpolates(act) {
            self.value_bound()
        } else {
            self.bound()
        }
    }

    /// True when `v` is inside the value range (`in_range` unless wide).
    pub fn in_value_range(&self, v: i128) -> bool {
        let b = self.value_bound() as i128;
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

/// Why a value cannot go through a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// The rescaled value lies outside the lookup domain.
    Range(i128),
    /// The value is inside the lookup domain but outside the activation's own domain (the
    /// logarithm of a non-positive number, an exponential too large to represent).
    Domain(i64),
    /// A division's denominator is not positive.
    Denominator(i64),
    /// A division's denominator is past its range check (`2b > 2^(lookup_bits-1)`).
    Divisor(i64),
}

/// Rescales `acc` by `2^shift` with round-half-up and applies `act`.
pub fn requant(
    acc: i128,
    shift: u32,
    act: Activation,
    settings: &QuantSettings,
) -> Result<Requant, Reject> {
    let (y, r) = if shift == 0 {
        (acc, 0)
    } else {
        let num = acc + (1i128 << (shift - 1));
        let y = num.div_euclid(1i128 << shift);
        (y, num - (y << shift))
    };
    let b = settings.bound_for(act) as i128;
    if !(-b..b).contains(&y) {
        return Err(Reject::Range(y));
    }
    let y = y as i64;
    let out = if settings.interpolates(act) {
        interpolate(act, y, settings)?.out
    } else {
        apply(act, y, settings.scale_bits).ok_or(Reject::Domain(y))?
    };
    Ok(Requant { y, r: r as i64, out })
}

/// `act` of a wide value at [`QuantSettings::act_scale`], interpolated linearly between
/// the table points `h = v >> scale_bits` and `h + 1` (the value's split, see [`split`]):
/// `2^s out + r = 2^s f0 + (f1 - f0) lo + 2^(s-1)`, `r` in `[0, 2^s)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interp {
    /// Table point at or below the value.
    pub h: i64,
    /// The value's low `scale_bits` bits: its offset from the point.
    pub lo: i64,
    /// `f` at `h` ([`grid`]).
    pub f0: i64,
    /// `f` at `h + 1`.
    pub f1: i64,
    /// Rounding remainder, in `[0, 2^scale_bits)`.
    pub r: i64,
    /// The output: between `f0` and `f1`, so inside the value range like every table point.
    pub out: i64,
}

/// The table of an interpolated activation: `f(h / 2^s)` at scale `2^(2s)` for table
/// point `h`; none where `f` is undefined or its output leaves the value range (no table
/// row, so no value can claim one).
pub fn grid(act: Activation, h: i64, settings: &QuantSettings) -> Option<i64> {
    let s = settings.scale_bits;
    let x = h as f64 / (1u64 << s) as f64;
    let out = (act.apply_f64(x) * (1u64 << (2 * s)) as f64).round();
    (out.is_finite() && out.abs() < settings.value_bound() as f64).then_some(out as i64)
}

/// Interpolates `act` at the wide value `v` (scale `2 scale_bits`); `Reject::Domain(v)`
/// where a table point it needs has no row. The chord between points `2^-s` apart is
/// within `max|f''| 2^(-2s) / 8` of `f`, below the output step for every function here
/// but near the poles of `ln` and `sqrt`.
pub fn interpolate(act: Activation, v: i64, settings: &QuantSettings) -> Result<Interp, Reject> {
    let sp = split(v as i128, settings).map_err(Reject::Range)?;
    let s = settings.scale_bits;
    let f0 = grid(act, sp.h, settings).ok_or(Reject::Domain(v))?;
    let f1 = grid(act, sp.h + 1, settings).ok_or(Reject::Domain(v))?;
    let (out, r) = chord(f0, f1, sp.lo, s);
    Ok(Interp { h: sp.h, lo: sp.lo, f0, f1, r, out })
}

/// `(out, r)`: the chord from `f0` to `f1` at `lo / 2^s`, rounded half up, and its
/// remainder: `2^s out + r = 2^s f0 + (f1 - f0) lo + 2^(s-1)`.
pub fn chord(f0: i64, f1: i64, lo: i64, s: u32) -> (i64, i64) {
    let num = ((f0 as i128) << s) + (f1 - f0) as i128 * lo as i128 + (1i128 << (s - 1));
    let out = num >> s;
    (out as i64, (num - (out << s)) as i64)
}

/// A wide value as the circuit checks its range: `v = 2^scale_bits * h + lo` with `lo` in
/// the range table `[0, 2^scale_bits)` and `h` in the lookup domain, where the
/// non-negative table gives `sign = 2^scale_bits * [h >= 0]`; `[h >= 0] = [v >= 0]`, so
/// `relu(v) = v * sign / 2^scale_bits` exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    /// Top part, in the lookup domain.
    pub h: i64,
    /// Low `scale_bits` bits.
    pub lo: i64,
    /// `2^scale_bits` when `v >= 0`, else 0.
    pub sign: i64,
}

/// Splits `v`; `Err(v)` when it is outside the value range.
pub fn split(v: i128, settings: &QuantSettings) -> Result<Split, i128> {
    if !settings.in_value_range(v) {
        return Err(v);
    }
    let s = settings.scale_bits;
    let v = v as i64;
    let h = v >> s;
    let sign = if h >= 0 { 1i64 << s } else { 0 };
    Ok(Split { h, lo: v - (h << s), sign })
}

/// `relu(v)` from its split's `sign`, as the circuit's product row computes it.
pub fn relu_by_sign(v: i64, sign: i64, settings: &QuantSettings) -> i64 {
    ((v as i128 * sign as i128) >> settings.scale_bits) as i64
}

/// One division as the circuit proves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Division {
    /// The quotient, the lookup input: `round(a * 2^shift / b)`, halves up.
    pub q: i64,
    /// Remainder in `[0, 2b)`: `2b q + r = 2^(shift+1) a + b`.
    pub r: i64,
    /// Activation output (table lookup of `q`).
    pub out: i64,
}

/// `round(a * 2^shift / b)` for `0 < b` with `2b <= 2^(lookup_bits-1)`, so both `r` and
/// `2b - 1 - r` are range-checked by one lookup each; the quotient is a lookup input.
pub fn divide(
    a: i64,
    b: i64,
    shift: u32,
    act: Activation,
    settings: &QuantSettings,
) -> Result<Division, Reject> {
    if b <= 0 {
        return Err(Reject::Denominator(b));
    }
    let den = 2 * b as i128;
    if den > settings.bound() as i128 {
        return Err(Reject::Divisor(b));
    }
    let num = ((a as i128) << (shift + 1)) + b as i128;
    let q = num.div_euclid(den);
    let r = num - q * den;
    if !settings.in_range(q) {
        return Err(Reject::Range(q));
    }
    let q = q as i64;
    let out = apply(act, q, settings.scale_bits).ok_or(Reject::Domain(q))?;
    Ok(Division { q, r: r as i64, out })
}

/// The scale `2^m` of an integer division's divisor, `m = lookup_bits - 2 - scale_bits`;
/// `None` when the lookup bits are fewer than `scale_bits + 2`.
///
/// Why: the truncation table reads the quotient at `2^scale_bits`, which keeps
/// `trunc(a / b)` exact only for `|b| < 2^(scale_bits + 1)` (a fraction `1 - 1/|b|` then
/// never rounds up to the next integer). The division's range check holds its denominator
/// below `2^(lookup_bits - 1)`; a divisor at `2^m` is therefore held below
/// `2^(scale_bits + 1)` by the circuit itself, whatever the prover claims, and [`divide`]
/// accepts it up to `2^scale_bits`.
pub fn integer_divisor_scale(settings: &QuantSettings) -> Option<u32> {
    settings.lookup_bits.checked_sub(settings.scale_bits + 2)
}

/// One step of a running maximum: `m' = m + relu(v - m)`. Returns `(d, relu(d), m')`.
///
/// Returns `Err(d)` when the difference falls outside the lookup domain.
/// With wide values the difference only needs the value range: its sign comes from [`split`].
pub fn max_step(m: i64, v: i64, settings: &QuantSettings) -> Result<(i64, i64, i64), i128> {
    let d = v as i128 - m as i128;
    let fits = if settings.wide { settings.in_value_range(d) } else { settings.in_range(d) };
    if !fits {
        return Err(d);
    }
    let d = d as i64;
    let rd = d.max(0);
    Ok((d, rd, m + rd))
}

/// Activations that commute with scaling (`f(2^k x) = 2^k f(x)`): their tables serve
/// values at any scale. The others are tabulated at the settings' scale only.
pub fn scale_free(act: Activation) -> bool {
    act.is_piecewise_linear()
}

/// Largest |output| a table stores. Beyond it a function (the exponential, say) is outside
/// its tabulated domain: such an input is an error, never a clipped value.
pub const MAX_TABLE_OUTPUT: i64 = 1 << 40;

/// The quantized activation table: input and output both at scale `2^scale_bits`; `None`
/// where the function is undefined or its output exceeds [`MAX_TABLE_OUTPUT`] (no table row).
pub fn apply(act: Activation, y: i64, scale_bits: u32) -> Option<i64> {
    let scale = (1u64 << scale_bits) as f64;
    match act {
        Activation::Identity => Some(y),
        Activation::Relu => Some(y.max(0)),
        Activation::Sigmoid => Some((scale / (1.0 + (-(y as f64) / scale).exp())).round() as i64),
        Activation::LeakyRelu { alpha } => {
            Some(if y >= 0 { y } else { (alpha as f64 * y as f64).round() as i64 })
        }
        // A denominator: sqrt(eps) may be below half a step, and a root of zero would leave
        // the division undefined where the float one is not, so the least output is one step.
        Activation::SqrtEps { .. } => {
            let out = (act.apply_f64(y as f64 / scale) * scale).round();
            (y >= 0 && out <= MAX_TABLE_OUTPUT as f64).then_some((out as i64).max(1))
        }
        _ => {
            let out = (act.apply_f64(y as f64 / scale) * scale).round();
            (out.is_finite() && out.abs() <= MAX_TABLE_OUTPUT as f64).then_some(out as i64)
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
        let s = QuantSettings::narrow(4, 8);
        assert!(requant(127, 0, Activation::Relu, &s).is_ok());
        assert_eq!(requant(128, 0, Activation::Relu, &s), Err(Reject::Range(128)));
        assert_eq!(requant(-129, 0, Activation::Relu, &s), Err(Reject::Range(-129)));
    }

    /// Every activation, in the order a test walks them.
    pub(crate) const ALL: [Activation; 36] = [
        Activation::Relu,
        Activation::Sigmoid,
        Activation::LeakyRelu { alpha: 0.1 },
        Activation::Tanh,
        Activation::Exp,
        Activation::Ln,
        Activation::Sqrt,
        Activation::SqrtEps { eps: 0.01 },
        Activation::Erf,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Softplus,
        Activation::Elu { alpha: 1.0 },
        Activation::Positive,
        Activation::NonNegative,
        Activation::Floor,
        Activation::Ceil,
        Activation::Round,
        Activation::Trunc,
        Activation::Sign,
        Activation::Sin,
        Activation::Cos,
        Activation::Tan,
        Activation::Asin,
        Activation::Acos,
        Activation::Atan,
        Activation::Sinh,
        Activation::Cosh,
        Activation::Asinh,
        Activation::Acosh,
        Activation::Atanh,
        Activation::HardSwish,
        Activation::Pow { p: -0.1 },
        Activation::Pow { p: 3.0 },
        Activation::Identity,
    ];

    #[test]
    fn activations_match_float_within_half_ulp() {
        let s = QuantSettings::default();
        for y in -2000..2000 {
            let x = s.dequantize(y);
            for act in ALL {
                let f = act.apply_f64(x);
                match apply(act, y, s.scale_bits) {
                    Some(q) => assert!(
                        (s.dequantize(q) - f).abs() <= 0.5 / 128.0 + 1e-9,
                        "{act:?} at {x}: {q} for {f}"
                    ),
                    None => assert!(
                        !f.is_finite() || (f * 128.0).abs() > MAX_TABLE_OUTPUT as f64,
                        "{act:?} at {x}: no table row for {f}"
                    ),
                }
            }
        }
    }

    #[test]
    fn partial_functions_have_no_row_outside_their_domain() {
        let s = QuantSettings::narrow(7, 16);
        assert_eq!(apply(Activation::Ln, 0, 7), None);
        assert_eq!(apply(Activation::Ln, -5, 7), None);
        assert_eq!(apply(Activation::Ln, 128, 7), Some(0));
        assert_eq!(apply(Activation::Sqrt, -1, 7), None);
        assert_eq!(apply(Activation::Sqrt, 0, 7), Some(0));
        // sqrt(0 + 1e-5) is 3.2 steps at 2^10; sqrt(1e-12) would round to 0, a denominator
        // no division takes, so the table holds one step there.
        assert_eq!(apply(Activation::SqrtEps { eps: 1e-5 }, 0, 10), Some(3));
        assert_eq!(apply(Activation::SqrtEps { eps: 1e-12 }, 0, 10), Some(1));
        assert_eq!(apply(Activation::SqrtEps { eps: 1e-5 }, -1, 10), None);
        assert_eq!(apply(Activation::SqrtEps { eps: 1e-5 }, 4 << 10, 10), Some(2 << 10));
        // e^x at scale 2^7 exceeds 2^40 from x = 33 * ln 2 = 22.87 on.
        assert!(apply(Activation::Exp, 22 * 128, 7).is_some());
        assert_eq!(apply(Activation::Exp, 23 * 128, 7), None);
        assert_eq!(requant(0, 0, Activation::Ln, &s), Err(Reject::Domain(0)));
        assert_eq!(requant(-300, 1, Activation::Sqrt, &s), Err(Reject::Domain(-150)));
        assert_eq!(requant(1 << 20, 0, Activation::Ln, &s), Err(Reject::Range(1 << 20)));
    }

    #[test]
    fn divide_rounds_half_up_within_its_ranges() {
        let s = QuantSettings::narrow(6, 12);
        for a in -300i64..300 {
            for b in 1i64..=1024 {
                for shift in [0u32, 3, 7] {
                    let exact = (a as f64) * 2f64.powi(shift as i32) / b as f64;
                    match divide(a, b, shift, Activation::Identity, &s) {
                        Ok(d) => {
                            assert_eq!(
                                2 * b as i128 * d.q as i128 + d.r as i128,
                                ((a as i128) << (shift + 1)) + b as i128
                            );
                            assert!((0..2 * b).contains(&d.r));
                            assert!(d.q as f64 - exact <= 0.5 && exact - (d.q as f64) < 0.5);
                        }
                        Err(Reject::Range(v)) => {
                            assert!(2 * b > 2048 || !s.in_range(v), "{a}/{b} << {shift}")
                        }
                        Err(e) => panic!("{a}/{b}: {e:?}"),
                    }
                }
            }
        }
        assert_eq!(divide(5, 0, 0, Activation::Identity, &s), Err(Reject::Denominator(0)));
        assert_eq!(divide(5, -3, 0, Activation::Identity, &s), Err(Reject::Denominator(-3)));
        assert_eq!(divide(5, 1025, 0, Activation::Identity, &s), Err(Reject::Divisor(1025)));
    }

    #[test]
    fn max_step_is_max() {
        let s = QuantSettings::default();
        for (m, v) in [(3, 5), (5, 3), (-7, -2), (0, 0)] {
            assert_eq!(max_step(m, v, &s).expect("in range").2, m.max(v));
        }
    }

    #[test]
    fn split_covers_the_whole_value_range_exactly() {
        let s = QuantSettings { scale_bits: 3, lookup_bits: 6, wide: true };
        let b = s.value_bound();
        assert_eq!(b, 256);
        for v in -b..b {
            let sp = split(v as i128, &s).expect("in range");
            assert_eq!((sp.h << 3) + sp.lo, v);
            assert!((0..8).contains(&sp.lo), "{v}: {sp:?}");
            assert!(s.in_range(sp.h as i128), "{v}: h {} outside the lookup domain", sp.h);
            assert_eq!(sp.sign, apply(Activation::NonNegative, sp.h, 3).expect("tabulated"));
            assert_eq!(relu_by_sign(v, sp.sign, &s), v.max(0));
        }
        assert_eq!(split(b as i128, &s), Err(b as i128));
        assert_eq!(split(-b as i128 - 1, &s), Err(-b as i128 - 1));
    }

    /// Every interpolated function, over every value of a small wide range: the chord
    /// between rounded table points, rounded half up, within one output step of the float
    /// function plus the chord's own error (`max|f''| 2^(-2s) / 8`, in steps `2^(2s)` times
    /// that); never outside the two points; and exactly the row equation the circuit checks.
    #[test]
    fn interpolation_is_within_a_step_of_float_over_the_whole_value_range() {
        let st = QuantSettings { scale_bits: 5, lookup_bits: 9, wide: true };
        let (s, e) = (st.scale_bits, st.act_scale(Activation::Sigmoid));
        assert_eq!(e, 10);
        let step = (1u64 << e) as f64;
        // max |f''| over the range where the function is used, from its derivatives.
        let curvature = [
            (Activation::Sigmoid, 0.1),
            (Activation::Tanh, 0.77),
            (Activation::Erf, 1.0),
            (Activation::Gelu, 0.8),
            (Activation::GeluTanh, 0.85),
            (Activation::Silu, 0.5),
            (Activation::Softplus, 0.25),
            (Activation::Elu { alpha: 1.0 }, 1.0),
            (Activation::Exp, 1.0f64.exp() * 8.0),
        ];
        let b = st.value_bound();
        for (act, f2) in curvature {
            assert!(st.interpolates(act), "{act:?}");
            let mut defined = 0;
            for v in -b..b {
                let x = v as f64 / step;
                match interpolate(act, v, &st) {
                    Ok(it) => {
                        defined += 1;
                        let chord = f2 * 2f64.powi(-2 * s as i32) / 8.0 * step;
                        let err = (it.out as f64 - act.apply_f64(x) * step).abs();
                        assert!(err <= 1.0 + chord, "{act:?} at {x}: {} off by {err}", it.out);
                        assert!(it.out >= it.f0.min(it.f1) && it.out <= it.f0.max(it.f1));
                        assert!((0..1 << s).contains(&it.r));
                        assert_eq!(
                            ((it.out as i128) << s) + it.r as i128,
                            ((it.f0 as i128) << s)
                                + (it.f1 - it.f0) as i128 * it.lo as i128
                                + (1i128 << (s - 1))
                        );
                        assert_eq!((it.h << s) + it.lo, v);
                        assert_eq!(Some(it.f0), grid(act, it.h, &st));
                        assert_eq!(Some(it.f1), grid(act, it.h + 1, &st));
                    }
                    // Only where the next point's output leaves the value range (the
                    // exponential past e^x = 2^(L-1-s), the others at the top point).
                    Err(Reject::Domain(w)) => {
                        assert_eq!(w, v);
                        let next = (((v >> s) + 1) << s) as f64 / step;
                        assert!(act.apply_f64(next) * step >= b as f64 - 0.5, "{act:?} at {x}");
                    }
                    Err(other) => panic!("{act:?} at {x}: {other:?}"),
                }
            }
            assert!(defined > b, "{act:?}: {defined} values");
        }
        // ln and sqrt are undefined below zero, and ln at the point 0.
        assert_eq!(interpolate(Activation::Sqrt, -1, &st), Err(Reject::Domain(-1)));
        assert!(interpolate(Activation::Sqrt, 0, &st).is_ok());
        assert_eq!(interpolate(Activation::Ln, 5, &st), Err(Reject::Domain(5)));
        assert!(interpolate(Activation::Ln, 1 << s, &st).is_ok());
        assert_eq!(interpolate(Activation::Sigmoid, b, &st), Err(Reject::Range(b as i128)));
        // Step functions and the denominators' root stay exact lookups; narrow settings too.
        for act in [Activation::Positive, Activation::Floor, Activation::SqrtEps { eps: 1e-5 }] {
            assert!(!st.interpolates(act) && st.act_scale(act) == s, "{act:?}");
        }
        assert!(!QuantSettings::narrow(5, 9).interpolates(Activation::Sigmoid));
    }

    #[test]
    fn wide_settings_bound_sums_by_the_value_range_and_tables_by_the_lookup_domain() {
        let s = QuantSettings { scale_bits: 4, lookup_bits: 8, wide: true };
        assert_eq!((s.value_bits(), s.value_bound(), s.bound()), (12, 2048, 128));
        assert!(requant(2047 << 4, 4, Activation::Identity, &s).is_ok());
        assert!(requant(-2048 << 4, 4, Activation::Relu, &s).is_ok());
        assert_eq!(requant(2048 << 4, 4, Activation::Relu, &s), Err(Reject::Range(2048)));
        // A step function still reads the lookup domain; a smooth one is interpolated over
        // the value range.
        assert_eq!(requant(128 << 4, 4, Activation::Sign, &s), Err(Reject::Range(128)));
        assert!(requant(2047 << 4, 4, Activation::Sigmoid, &s).is_ok());
        assert_eq!(max_step(-1000, 1000, &s).map(|m| m.2), Ok(1000));
        assert_eq!(max_step(-1024, 1024, &s), Err(2048));
        let n = QuantSettings::narrow(4, 8);
        assert_eq!((n.value_bits(), n.value_bound()), (8, 128));
        assert_eq!(max_step(-64, 64, &n), Err(128));
    }
}
