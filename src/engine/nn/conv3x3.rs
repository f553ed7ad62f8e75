//! A 3x3 convolution, stride 1, no padding (deep-learning frameworks' cross-correlation,
//! weights `[out, in, 3, 3]`), with its gradients. Each image is unfolded into a
//! `(in * 9) x (pixels)` matrix (im2col), so forward and backward are GEMMs on faer.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::Nchw;

/// Images per task in the weight gradient. The per-task gradients are summed in task
/// order, so the gradient is the same bits whatever the thread count.
const IMAGES_PER_TASK: usize = 8;

/// The output shape of a 3x3 valid convolution of `x` to `out_channels`.
pub fn output_shape(x: Nchw, out_channels: usize) -> Nchw {
    Nchw {
        batch: x.batch,
        channels: out_channels,
        height: x.height.saturating_sub(2),
        width: x.width.saturating_sub(2),
    }
}

/// Unfold one image `(c, h, w)` into `cols`, `(c * 9) x (ho * wo)` row-major: row
/// `c * 9 + ki * 3 + kj`, column `i * wo + j` holds `x[c, i + ki, j + kj]`.
fn im2col(image: &[f32], x: Nchw, cols: &mut [f32]) {
    let (h, w) = (x.height, x.width);
    let (ho, wo) = (h - 2, w - 2);
    let p = ho * wo;
    for c in 0..x.channels {
        let plane = &image[c * h * w..(c + 1) * h * w];
        for k in 0..9 {
            let (ki, kj) = (k / 3, k % 3);
            let row = &mut cols[(c * 9 + k) * p..(c * 9 + k + 1) * p];
            for i in 0..ho {
                let src = &plane[(i + ki) * w + kj..(i + ki) * w + kj + wo];
                row[i * wo..(i + 1) * wo].copy_from_slice(src);
            }
        }
    }
}

/// Fold `cols` (as [`im2col`] lays them out) back onto one image, adding.
fn col2im_add(cols: &[f32], x: Nchw, image: &mut [f32]) {
    let (h, w) = (x.height, x.width);
    let (ho, wo) = (h - 2, w - 2);
    let p = ho * wo;
    for c in 0..x.channels {
        let plane = &mut image[c * h * w..(c + 1) * h * w];
        for k in 0..9 {
            let (ki, kj) = (k / 3, k % 3);
            let row = &cols[(c * 9 + k) * p..(c * 9 + k + 1) * p];
            for i in 0..ho {
                let dst = &mut plane[(i + ki) * w + kj..(i + ki) * w + kj + wo];
                for (d, s) in dst.iter_mut().zip(&row[i * wo..(i + 1) * wo]) {
                    *d += s;
                }
            }
        }
    }
}

fn check(x: Nchw, input: &[f32], weight: &[f32], out_channels: usize) {
    assert!(
        x.height >= 3 && x.width >= 3,
        "a 3x3 convolution needs images of at least 3x3, got {x:?}"
    );
    assert_eq!(input.len(), x.len(), "input values against its shape {x:?}");
    assert_eq!(
        weight.len(),
        out_channels * x.channels * 9,
        "weights against [{out_channels}, {}, 3, 3]",
        x.channels
    );
}

/// `y = conv(x, weight) + bias`, into `out` (of [`output_shape`]).
pub fn forward(
    x: Nchw,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out_channels: usize,
    out: &mut [f32],
) {
    check(x, input, weight, out_channels);
    let y = output_shape(x, out_channels);
    assert_eq!(out.len(), y.len(), "output values against its shape {y:?}");
    if let Some(b) = bias {
        assert_eq!(b.len(), out_channels, "one bias per output channel");
    }
    let (k, p) = (x.channels * 9, y.height * y.width);
    let w = MatRef::from_row_major_slice(weight, out_channels, k);
    input
        .par_chunks(x.image_len())
        .zip(out.par_chunks_mut(y.image_len()))
        .for_each_init(
            || vec![0f32; k * p],
            |cols, (image, o)| {
                im2col(image, x, cols);
                let dst = MatMut::from_row_major_slice_mut(o, out_channels, p);
                matmul(
                    dst,
                    Accum::Replace,
                    w,
                    MatRef::from_row_major_slice(cols, k, p),
                    1.0,
                    Par::Seq,
                );
                if let Some(b) = bias {
                    for (row, &bo) in o.chunks_exact_mut(p).zip(b) {
                        row.iter_mut().for_each(|v| *v += bo);
                    }
                }
            },
        );
}

/// The gradients of [`forward`] given the output's gradient `grad` (of
/// [`output_shape`]): the weights' `[out, in, 3, 3]` and the bias's `[out]`.
pub fn weight_gradient(
    x: Nchw,
    input: &[f32],
    grad: &[f32],
    out_channels: usize,
) -> (Vec<f32>, Vec<f32>) {
    let y = output_shape(x, out_channels);
    assert_eq!(input.len(), x.len(), "input values against its shape {x:?}");
    assert_eq!(
        grad.len(),
        y.len(),
        "gradient values against the output shape {y:?}"
    );
    let (k, p) = (x.channels * 9, y.height * y.width);
    let parts: Vec<(Vec<f32>, Vec<f32>)> = input
        .par_chunks(x.image_len() * IMAGES_PER_TASK)
        .zip(grad.par_chunks(y.image_len() * IMAGES_PER_TASK))
        .map(|(images, grads)| {
            let mut cols = vec![0f32; k * p];
            let mut dw = vec![0f32; out_channels * k];
            let mut db = vec![0f32; out_channels];
            for (image, g) in images
                .chunks_exact(x.image_len())
                .zip(grads.chunks_exact(y.image_len()))
            {
                im2col(image, x, &mut cols);
                let gm = MatRef::from_row_major_slice(g, out_channels, p);
                let cm = MatRef::from_row_major_slice(&cols, k, p);
                let dst = MatMut::from_row_major_slice_mut(&mut dw, out_channels, k);
                matmul(dst, Accum::Add, gm, cm.transpose(), 1.0, Par::Seq);
                for (d, row) in db.iter_mut().zip(g.chunks_exact(p)) {
                    *d += row.iter().sum::<f32>();
                }
            }
            (dw, db)
        })
        .collect();
    let mut dw = vec![0f32; out_channels * k];
    let mut db = vec![0f32; out_channels];
    for (pw, pb) in parts {
        dw.iter_mut().zip(&pw).for_each(|(a, b)| *a += b);
        db.iter_mut().zip(&pb).for_each(|(a, b)| *a += b);
    }
    (dw, db)
}

/// The gradient of [`forward`] with respect to its input, given the output's gradient.
pub fn input_gradient(x: Nchw, weight: &[f32], grad: &[f32], out_channels: usize) -> Vec<f32> {
    let y = output_shape(x, out_channels);
    assert_eq!(
        weight.len(),
        out_channels * x.channels * 9,
        "weights against [{out_channels}, {}, 3, 3]",
        x.channels
    );
    assert_eq!(
        grad.len(),
        y.len(),
        "gradient values against the output shape {y:?}"
    );
    let (k, p) = (x.channels * 9, y.height * y.width);
    let w = MatRef::from_row_major_slice(weight, out_channels, k);
    let mut dx = vec![0f32; x.len()];
    dx.par_chunks_mut(x.image_len())
        .zip(grad.par_chunks(y.image_len()))
        .for_each_init(
            || vec![0f32; k * p],
            |cols, (d, g)| {
                let dst = MatMut::from_row_major_slice_mut(cols, k, p);
                matmul(
                    dst,
                    Accum::Replace,
                    w.transpose(),
                    MatRef::from_row_major_slice(g, out_channels, p),
                    1.0,
                    Par::Seq,
                );
                col2im_add(cols, x, d);
            },
        );
    dx
}
