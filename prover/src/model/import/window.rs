//! Sliding-window geometry shared by convolution, sum pooling and max pooling.
//!
//! tract describes all three with a [`PoolSpec`] (data format, kernel, strides, dilations,
//! padding); this module turns it into explicit taps so each op only says what a tap
//! contributes. Taps that fall in the padding are simply absent: padding is zero for sums
//! and excluded from max windows.

use tract_onnx::tract_core::ops::cnn::PoolSpec;

use super::builder::Origin;
use crate::error::Result;

/// One kernel position that lands inside the input.
pub(super) struct Tap {
    /// Kernel coordinates (spatial axes only).
    pub kernel: Vec<usize>,
    /// Input spatial coordinates.
    pub input: Vec<usize>,
}

/// Where the batch, channel and spatial axes are, and how windows slide.
pub(super) struct Window {
    n_axis: Option<usize>,
    c_axis: usize,
    h_axis: usize,
    rank: usize,
    in_hw: Vec<usize>,
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pad_before: Vec<usize>,
    pad_after: Vec<usize>,
}

impl Window {
    /// Geometry of a pool or conv mapping `in_shape` to `out_shape` (full shapes).
    pub fn new(
        origin: &Origin,
        spec: &PoolSpec,
        in_shape: &[usize],
        out_shape: &[usize],
    ) -> Result<Self> {
        let shape = spec.data_format.shape(in_shape).map_err(|e| origin.failed(e))?;
        let in_hw = shape.hw_dims().to_vec();
        if in_hw.len() != spec.rank() || out_shape.len() != in_shape.len() {
            return Err(origin.failed(format!(
                "kernel rank {} does not fit input {in_shape:?} / output {out_shape:?}",
                spec.rank()
            )));
        }
        let (strides, dilations) = (spec.strides().to_vec(), spec.dilations().to_vec());
        let n_axis = shape.n_axis();
        // tract validated the model, but the loops below index with these: check, don't panic.
        if strides.len() != spec.rank()
            || dilations.len() != spec.rank()
            || n_axis.is_some_and(|a| in_shape[a] != out_shape[a])
        {
            return Err(origin.failed(format!(
                "inconsistent window geometry {spec:?} for {in_shape:?} -> {out_shape:?}"
            )));
        }
        let padding = spec.computed_padding(&in_hw);
        Ok(Window {
            n_axis,
            c_axis: shape.c_axis(),
            h_axis: shape.hw_axes().start,
            rank: in_shape.len(),
            in_hw,
            kernel: spec.kernel_shape.to_vec(),
            strides,
            dilations,
            pad_before: padding.iter().map(|p| p.pad_before).collect(),
            pad_after: padding.iter().map(|p| p.pad_after).collect(),
        })
    }

    /// The channel count of a full shape in this layout.
    pub fn channels(&self, shape: &[usize]) -> usize {
        shape[self.c_axis]
    }

    /// Checks that a pool keeps the channel count.
    pub fn check_same_channels(
        &self,
        origin: &Origin,
        input: &[usize],
        output: &[usize],
    ) -> Result<()> {
        if self.channels(input) != self.channels(output) {
            return Err(origin.failed(format!("pooling changes channels: {input:?} -> {output:?}")));
        }
        Ok(())
    }

    /// Splits a full output index into batch, channel and spatial coordinates.
    pub fn split(&self, index: &[usize]) -> (usize, usize, Vec<usize>) {
        let n = self.n_axis.map_or(0, |a| index[a]);
        let hw = index[self.h_axis..self.h_axis + self.kernel.len()].to_vec();
        (n, index[self.c_axis], hw)
    }

    /// The full input index of batch `n`, channel `c`, spatial position `hw`.
    pub fn input_index(&self, n: usize, c: usize, hw: &[usize]) -> Vec<usize> {
        let mut index = vec![0; self.rank];
        if let Some(a) = self.n_axis {
            index[a] = n;
        }
        index[self.c_axis] = c;
        index[self.h_axis..self.h_axis + hw.len()].copy_from_slice(hw);
        index
    }

    /// The taps of the window at output position `out_hw` that land inside the input.
    pub fn taps(&self, out_hw: &[usize]) -> Vec<Tap> {
        let mut taps = Vec::new();
        for kernel in kernel_positions(&self.kernel) {
            let input: Option<Vec<usize>> = (0..self.kernel.len())
                .map(|d| {
                    let pos = out_hw[d] * self.strides[d] + kernel[d] * self.dilations[d];
                    pos.checked_sub(self.pad_before[d]).filter(|&p| p < self.in_hw[d])
                })
                .collect();
            if let Some(input) = input {
                taps.push(Tap { kernel, input });
            }
        }
        taps
    }

    /// Taps of the window inside the padded input: the `count_include_pad` divisor.
    ///
    /// It is the whole kernel except where ONNX ceil mode lets a window overhang the padding;
    /// tract counts the same way.
    pub fn padded_taps(&self, out_hw: &[usize]) -> usize {
        (0..self.kernel.len())
            .map(|d| {
                let padded = self.pad_before[d] + self.in_hw[d] + self.pad_after[d];
                (0..self.kernel[d])
                    .filter(|k| out_hw[d] * self.strides[d] + k * self.dilations[d] < padded)
                    .count()
            })
            .product()
    }
}

/// Every coordinate of a box of the given dimensions, row-major.
pub(super) fn kernel_positions(dims: &[usize]) -> Vec<Vec<usize>> {
    let mut out = Vec::with_capacity(dims.iter().product());
    let mut cur = vec![0; dims.len()];
    if dims.contains(&0) {
        return out;
    }
    loop {
        out.push(cur.clone());
        // Odometer increment, last axis fastest.
        let mut d = dims.len();
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            cur[d] += 1;
            if cur[d] < dims[d] {
                break;
            }
            cur[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_kernel_positions_row_major() {
        assert_eq!(kernel_positions(&[2, 2]), vec![vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1]]);
        assert_eq!(kernel_positions(&[]), vec![Vec::<usize>::new()]);
        assert!(kernel_positions(&[3, 0]).is_empty());
    }
}
