//! 2x2 max pooling, stride 2 (a last odd row or column is dropped, as frameworks do
//! without padding), and its gradient. A window's gradient goes to its largest value,
//! the first in row-major order on a tie (constant image regions tie often), and a NaN
//! anywhere in a window makes its maximum NaN (PyTorch's rule). Both passes work a
//! pair of rows at a time with selects, not branches, so they vectorise: on real
//! activations the winner is unpredictable.

use rayon::prelude::*;

use super::Nchw;

/// The output shape of 2x2 pooling of `x`.
pub fn output_shape(x: Nchw) -> Nchw {
    Nchw {
        height: x.height / 2,
        width: x.width / 2,
        ..x
    }
}

/// The maximum of one window, NaN if any value is.
#[inline(always)]
fn window_max(a: f32, b: f32, c: f32, d: f32) -> f32 {
    let m = a.max(b).max(c.max(d));
    if a.is_nan() | b.is_nan() | c.is_nan() | d.is_nan() {
        f32::NAN
    } else {
        m
    }
}

/// Planes per parallel task.
const PLANES_PER_TASK: usize = 64;

/// The window maxima of `input` into `out` (of [`output_shape`]).
pub fn forward(x: Nchw, input: &[f32], out: &mut [f32]) {
    assert_eq!(input.len(), x.len(), "input values against its shape {x:?}");
    let y = output_shape(x);
    assert_eq!(out.len(), y.len(), "output values against its shape {y:?}");
    let (plane, oplane, w, wo) = (x.height * x.width, y.height * y.width, x.width, y.width);
    if oplane == 0 {
        return;
    }
    input
        .par_chunks(plane * PLANES_PER_TASK)
        .zip(out.par_chunks_mut(oplane * PLANES_PER_TASK))
        .for_each(|(src, dst)| {
            for (p, o) in src.chunks_exact(plane).zip(dst.chunks_exact_mut(oplane)) {
                for (i, orow) in o.chunks_exact_mut(wo).enumerate() {
                    let (r0, r1) = (&p[2 * i * w..][..2 * wo], &p[(2 * i + 1) * w..][..2 * wo]);
                    for ((o, t), b) in orow
                        .iter_mut()
                        .zip(r0.chunks_exact(2))
                        .zip(r1.chunks_exact(2))
                    {
                        *o = window_max(t[0], t[1], b[0], b[1]);
                    }
                }
            }
        });
}

/// The gradient of [`forward`] with respect to its input: each window's gradient goes to
/// the value that won it.
pub fn input_gradient(x: Nchw, input: &[f32], grad: &[f32]) -> Vec<f32> {
    assert_eq!(input.len(), x.len(), "input values against its shape {x:?}");
    let y = output_shape(x);
    assert_eq!(
        grad.len(),
        y.len(),
        "gradient values against the output shape {y:?}"
    );
    let (plane, oplane, w, wo) = (x.height * x.width, y.height * y.width, x.width, y.width);
    let mut dx = vec![0f32; x.len()];
    if oplane == 0 {
        return dx;
    }
    dx.par_chunks_mut(plane * PLANES_PER_TASK)
        .zip(input.par_chunks(plane * PLANES_PER_TASK))
        .zip(grad.par_chunks(oplane * PLANES_PER_TASK))
        .for_each(|((d, src), g)| {
            for ((dp, p), gp) in d
                .chunks_exact_mut(plane)
                .zip(src.chunks_exact(plane))
                .zip(g.chunks_exact(oplane))
            {
                for (i, g) in gp.chunks_exact(wo).enumerate() {
                    let (r0, r1) = (&p[2 * i * w..][..2 * wo], &p[(2 * i + 1) * w..][..2 * wo]);
                    let (d0, d1) = dp[2 * i * w..].split_at_mut(w);
                    let (d0, d1) = (&mut d0[..2 * wo], &mut d1[..2 * wo]);
                    for j in 0..wo {
                        let (a, b, c, d) = (r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]);
                        let m = window_max(a, b, c, d);
                        // The winner: equal to the maximum (both NaN for a NaN one), first.
                        let is = |v: f32| (v == m) | (v.is_nan() & m.is_nan());
                        let w0 = is(a);
                        let w1 = is(b) & !w0;
                        let w2 = is(c) & !(w0 | w1);
                        let w3 = !(w0 | w1 | w2);
                        let gj = g[j];
                        d0[2 * j] = if w0 { gj } else { 0.0 };
                        d0[2 * j + 1] = if w1 { gj } else { 0.0 };
                        d1[2 * j] = if w2 { gj } else { 0.0 };
                        d1[2 * j + 1] = if w3 { gj } else { 0.0 };
                    }
                }
            }
        });
    dx
}
