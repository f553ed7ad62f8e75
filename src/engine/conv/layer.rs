//! A trained convolution layer run as deep-learning frameworks run it: cross-correlation
//! (no kernel flip), summed over input channels, with bias, stride, zero padding and
//! groups (PyTorch's `Conv2d` / ONNX `Conv` semantics, weights laid out OIHW).

use ndarray::{Array3, Array4, ArrayView3, Axis, s};
use rayon::prelude::*;

use super::{ConvError, Real, check_finite};

/// A 2-D convolution layer: weights `[out_channels, in_channels / groups, kh, kw]`.
///
/// ```
/// use eigentechno::engine::conv::Conv2dLayer;
/// use ndarray::{Array3, Array4};
/// // One 3x3 box filter on one channel, padding 1: the output keeps the input's size.
/// let layer = Conv2dLayer::new(Array4::from_elem((1, 1, 3, 3), 1.0f64 / 9.0), None, (1, 1), (1, 1), 1).unwrap();
/// let out = layer.forward(Array3::from_elem((1, 4, 4), 9.0).view()).unwrap();
/// assert_eq!(out.dim(), (1, 4, 4));
/// assert!((out[[0, 1, 1]] - 9.0).abs() < 1e-12); // interior: full 3x3 window
/// assert!((out[[0, 0, 0]] - 4.0).abs() < 1e-12); // corner: 4 of 9 taps see the image
/// ```
#[derive(Clone, Debug)]
pub struct Conv2dLayer<T: Real> {
    weights: Array4<T>,
    bias: Option<Vec<T>>,
    stride: (usize, usize),
    padding: (usize, usize),
    groups: usize,
}

impl<T: Real> Conv2dLayer<T> {
    /// Check the geometry and build the layer.
    pub fn new(
        weights: Array4<T>,
        bias: Option<Vec<T>>,
        stride: (usize, usize),
        padding: (usize, usize),
        groups: usize,
    ) -> Result<Self, ConvError> {
        let (o, _, kh, kw) = weights.dim();
        if o == 0 || kh == 0 || kw == 0 || weights.is_empty() {
            return Err(ConvError::Empty { which: "weights" });
        }
        if stride.0 == 0 || stride.1 == 0 {
            return Err(ConvError::Layer(format!(
                "stride must be positive, got {stride:?}"
            )));
        }
        if groups == 0 || o % groups != 0 {
            return Err(ConvError::Layer(format!(
                "{o} output channels do not split into {groups} groups"
            )));
        }
        if let Some(b) = &bias
            && b.len() != o
        {
            return Err(ConvError::Layer(format!(
                "{} biases for {o} output channels",
                b.len()
            )));
        }
        let w = weights.as_standard_layout().to_owned();
        check_finite(
            "weights",
            w.as_slice().expect("standard"),
            &[o, w.dim().1, kh, kw],
        )?;
        Ok(Conv2dLayer {
            weights: w,
            bias,
            stride,
            padding,
            groups,
        })
    }

    /// Output shape `(out_channels, h', w')` for an input `(channels, h, w)`.
    pub fn output_shape(
        &self,
        input: (usize, usize, usize),
    ) -> Result<(usize, usize, usize), ConvError> {
        let (o, cg, kh, kw) = self.weights.dim();
        let (c, h, w) = input;
        if c != cg * self.groups {
            return Err(ConvError::Layer(format!(
                "the layer expects {} input channels ({cg} per group x {} groups), the input has {c}",
                cg * self.groups,
                self.groups
            )));
        }
        let (hp, wp) = (h + 2 * self.padding.0, w + 2 * self.padding.1);
        if hp < kh || wp < kw {
            return Err(ConvError::Layer(format!(
                "a {kh}x{kw} kernel does not fit a padded {hp}x{wp} input"
            )));
        }
        Ok((
            o,
            (hp - kh) / self.stride.0 + 1,
            (wp - kw) / self.stride.1 + 1,
        ))
    }

    /// Run the layer on an input `(channels, h, w)`.
    pub fn forward(&self, input: ArrayView3<T>) -> Result<Array3<T>, ConvError> {
        let (o, oh, ow) = self.output_shape(input.dim())?;
        let input = input.as_standard_layout();
        let (c, h, w) = input.dim();
        check_finite("input", input.as_slice().expect("standard"), &[c, h, w])?;
        let (_, cg, kh, kw) = self.weights.dim();
        let (ph, pw) = self.padding;
        let (sh, sw) = self.stride;
        let mut padded = Array3::<T>::zeros((c, h + 2 * ph, w + 2 * pw));
        padded
            .slice_mut(s![.., ph..ph + h, pw..pw + w])
            .assign(&input);
        let per_group = o / self.groups;
        let mut out = Array3::<T>::zeros((o, oh, ow));
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(oc, mut plane)| {
                let b = self.bias.as_ref().map(|b| b[oc]).unwrap_or_else(T::zero);
                plane.fill(b);
                let g = oc / per_group;
                for ci in 0..cg {
                    let src = padded.index_axis(Axis(0), g * cg + ci);
                    let k = self.weights.slice(s![oc, ci, .., ..]);
                    for i in 0..kh {
                        for j in 0..kw {
                            let tap = k[[i, j]];
                            if tap == T::zero() {
                                continue;
                            }
                            for a in 0..oh {
                                let row = src.row(a * sh + i);
                                let mut dst = plane.row_mut(a);
                                for (bcol, d) in dst.iter_mut().enumerate() {
                                    *d += tap * row[bcol * sw + j];
                                }
                            }
                        }
                    }
                }
            });
        Ok(out)
    }
}
