//! Per-node fixed-point scales, chosen from the float ranges seen on calibration samples.
//!
//! One global scale wastes the lookup domain: a node whose values stay near 1e-4 rounds to
//! zero at the scale that keeps a node near 100 in range. Every node's outputs therefore get
//! their own exponent, the largest that keeps the node's largest sample value `headroom`
//! times inside the lookup bound. Precision of a rescale depends only on its shift (see
//! [`super::weight_scale`]), so a node's scale only decides where its values sit in the
//! domain: as high as they safely fit.

use crate::error::{ProverError, Result};
use crate::model::graph::{Graph, NodeKind, Src, TensorInfo};

use super::QuantSettings;

/// Largest |value| per graph value id over some sample inputs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ValueRanges {
    /// Indexed by the float graph's value id.
    pub max_abs: Vec<f64>,
}

impl ValueRanges {
    /// Evaluates the float graph on every sample and keeps each value's largest magnitude.
    pub fn measure(graph: &Graph, samples: &[Vec<Vec<f64>>]) -> Result<Self> {
        let mut max_abs = vec![0f64; graph.num_values()];
        for inputs in samples {
            check_shapes(&graph.inputs, inputs)?;
            for (m, v) in max_abs.iter_mut().zip(graph.eval_f64(inputs)) {
                // A NaN or infinity in the float model says nothing usable about the range.
                if v.is_finite() {
                    *m = m.max(v.abs());
                }
            }
        }
        Ok(Self { max_abs })
    }

    /// Largest |value| among `srcs` (a constant zero adds nothing).
    pub fn of_srcs(&self, srcs: impl IntoIterator<Item = Src>) -> f64 {
        srcs.into_iter()
            .filter_map(|s| match s {
                Src::Value(v) => self.max_abs.get(v as usize).copied(),
                Src::Zero => None,
            })
            .fold(0.0, f64::max)
    }

    /// Largest |value| among the outputs of a float graph node.
    pub fn of_node(&self, first: u32, kind: &NodeKind) -> f64 {
        let first = first as usize;
        self.max_abs
            .get(first..first + kind.len())
            .map(|vs| vs.iter().copied().fold(0.0, f64::max))
            .unwrap_or(0.0)
    }
}

/// Input data that does not match the model's input tensors is an error, not an index panic.
pub(crate) fn check_shapes(tensors: &[TensorInfo], inputs: &[Vec<f64>]) -> Result<()> {
    if inputs.len() != tensors.len() {
        return Err(ProverError::InputShape(format!(
            "model has {} inputs, input data has {}",
            tensors.len(),
            inputs.len()
        )));
    }
    for (info, data) in tensors.iter().zip(inputs) {
        if data.len() != info.numel() {
            return Err(ProverError::InputShape(format!(
                "input {:?} has shape {:?} ({} values), input data has {} values",
                info.name,
                info.shape,
                info.numel(),
                data.len()
            )));
        }
    }
    Ok(())
}

/// Exponent bounds and headroom for per-node scales.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalePolicy {
    /// Largest sample value times `headroom` must stay under the lookup bound.
    pub headroom: f64,
    /// No node gets more than this many fractional bits (bounds what an all-zero sample
    /// value may claim).
    pub max_scale: u32,
}

impl ScalePolicy {
    /// The default policy for `settings`: at most `value_bits - 1` bits finer than the input.
    pub fn new(settings: &QuantSettings, headroom: f64) -> Self {
        Self { headroom, max_scale: settings.scale_bits + settings.value_bits() - 1 }
    }

    /// The largest scale `e <= max_scale` with `max_abs * headroom * 2^e < bound` (the
    /// bound of the values in question: the lookup domain's, or the wide values').
    pub fn fitting(&self, max_abs: f64, bound: i64) -> u32 {
        let bound = bound as f64;
        let need = max_abs * self.headroom;
        if !(need > 0.0 && need.is_finite()) {
            return self.max_scale;
        }
        let mut e = (bound / need).log2().floor().clamp(0.0, self.max_scale as f64) as u32;
        // log2's rounding may land one too high at an exact power of two.
        while e > 0 && need * 2f64.powi(e as i32) >= bound {
            e -= 1;
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_of_the_wrong_shape_are_an_error() {
        let g = Graph {
            inputs: vec![TensorInfo { name: "x".into(), shape: vec![3], ..Default::default() }],
            nodes: vec![],
            outputs: vec![],
            index_checks: Vec::new(),
        };
        assert!(ValueRanges::measure(&g, &[vec![vec![1.0, 2.0, 3.0]]]).is_ok());
        for bad in [vec![vec![1.0, 2.0]], vec![], vec![vec![1.0; 3], vec![1.0]]] {
            assert!(matches!(ValueRanges::measure(&g, &[bad]), Err(ProverError::InputShape(_))));
        }
    }

    #[test]
    fn fitting_scale_keeps_the_headroom_and_its_bounds() {
        let st = QuantSettings::narrow(8, 12);
        let p = ScalePolicy::new(&st, 2.0);
        // 2^11 / (2 * 1.0) = 2^10: 1.0 at 2^10 times 2 is exactly the bound, so 2^9.
        let b = st.bound();
        assert_eq!(p.fitting(1.0, b), 9);
        assert_eq!(p.fitting(1.01, b), 9);
        assert_eq!(p.fitting(0.99, b), 10);
        assert_eq!(p.fitting(1e-4, b), p.max_scale);
        assert_eq!(p.fitting(0.0, b), p.max_scale);
        assert_eq!(p.fitting(f64::NAN, b), p.max_scale);
        assert_eq!(p.fitting(1e9, b), 0);
        for m in [0.003, 0.7, 3.0, 41.0, 900.0] {
            let e = p.fitting(m, b);
            assert!(m * 2.0 * 2f64.powi(e as i32) < 2048.0, "{m} at {e}");
            assert!(e == p.max_scale || m * 2.0 * 2f64.powi(e as i32 + 1) >= 2048.0, "{m} at {e}");
        }
    }
}
