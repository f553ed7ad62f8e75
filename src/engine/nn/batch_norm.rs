//! Batch normalisation in training (statistics of the batch, per channel, over images and
//! pixels) and its gradients. Sums are taken in f64, channel by channel, in a fixed order:
//! the same bits whatever the thread count.

use rayon::prelude::*;

use super::Nchw;

/// `sum f(a_i, b_i)` over one plane, in f32 over 8 lanes (so it vectorises; a plane is a
/// few hundred values), returned as f64 for the sum over planes.
#[inline]
fn plane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f64 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            lanes[k] += f(x[k], y[k]);
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(&x, &y)| f(x, y)).sum();
    lanes.iter().map(|&v| v as f64).sum::<f64>() + tail as f64
}

/// Per channel: the mean and the biased variance of `input` over images and pixels.
fn statistics(x: Nchw, input: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let plane = x.height * x.width;
    let n = (x.batch * plane) as f64;
    (0..x.channels)
        .into_par_iter()
        .map(|c| {
            let planes =
                || (0..x.batch).map(move |b| &input[(b * x.channels + c) * plane..][..plane]);
            let mean = planes().map(|p| plane_sum(p, p, |v, _| v)).sum::<f64>() / n;
            let m = mean as f32;
            // Centred on the f32 mean: the deviations' squares carry no cancellation.
            let var = planes()
                .map(|p| plane_sum(p, p, |v, _| (v - m) * (v - m)))
                .sum::<f64>()
                / n;
            (mean, var)
        })
        .unzip()
}

/// `out = gamma (x - mean) / sqrt(var + eps) + beta` with the batch's own statistics;
/// returns the statistics (mean, biased variance), as f32 like the tensors.
pub fn train_forward(
    x: Nchw,
    input: &[f32],
    gamma: &[f32],
    beta: &[f32],
    epsilon: f64,
    out: &mut [f32],
) -> (Vec<f32>, Vec<f32>) {
    assert_eq!(input.len(), x.len(), "input values against its shape {x:?}");
    assert_eq!(
        out.len(),
        x.len(),
        "output values against the input shape {x:?}"
    );
    assert!(
        gamma.len() == x.channels && beta.len() == x.channels,
        "one gamma and one beta per channel"
    );
    let (mean, var) = statistics(x, input);
    let scale: Vec<f64> = (0..x.channels)
        .map(|c| gamma[c] as f64 / (var[c] + epsilon).sqrt())
        .collect();
    let shift: Vec<f64> = (0..x.channels)
        .map(|c| beta[c] as f64 - mean[c] * scale[c])
        .collect();
    let plane = x.height * x.width;
    if plane > 0 {
        out.par_chunks_mut(plane)
            .zip(input.par_chunks(plane))
            .enumerate()
            .for_each(|(i, (o, v))| {
                let c = i % x.channels;
                let (a, b) = (scale[c] as f32, shift[c] as f32);
                o.iter_mut().zip(v).for_each(|(o, &v)| *o = a * v + b);
            });
    }
    let f = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect();
    (f(mean), f(var))
}

/// The gradients of [`train_forward`] with respect to its input, gamma and beta, given
/// the output's gradient and the statistics the forward returned.
pub fn train_backward(
    x: Nchw,
    input: &[f32],
    gamma: &[f32],
    mean: &[f32],
    var: &[f32],
    epsilon: f64,
    grad: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    assert_eq!(input.len(), x.len(), "input values against its shape {x:?}");
    assert_eq!(
        grad.len(),
        x.len(),
        "gradient values against the input shape {x:?}"
    );
    let plane = x.height * x.width;
    let n = (x.batch * plane) as f64;
    let inv: Vec<f64> = var
        .iter()
        .map(|&v| 1.0 / (v as f64 + epsilon).sqrt())
        .collect();
    // Per channel: sum(g) and sum(g * xhat).
    let (sum_g, sum_gx): (Vec<f64>, Vec<f64>) = (0..x.channels)
        .into_par_iter()
        .map(|c| {
            let m = mean[c];
            let (mut sg, mut sgx) = (0f64, 0f64);
            for b in 0..x.batch {
                let at = (b * x.channels + c) * plane;
                let (g, v) = (&grad[at..at + plane], &input[at..at + plane]);
                sg += plane_sum(g, g, |g, _| g);
                sgx += plane_sum(g, v, |g, v| g * (v - m));
            }
            (sg, sgx * inv[c])
        })
        .unzip();
    // dx = gamma inv (g - mean(g) - xhat mean(g xhat)) = a g + b (x - mean) + k, per
    // channel (x - mean rather than x: no cancellation when the mean is large).
    let coef: Vec<(f32, f32, f32, f32)> = (0..x.channels)
        .map(|c| {
            let (gm, s) = (gamma[c] as f64, inv[c]);
            let (mg, mgx) = (sum_g[c] / n, sum_gx[c] / n);
            (
                mean[c],
                (gm * s) as f32,
                (-gm * s * s * mgx) as f32,
                (-gm * s * mg) as f32,
            )
        })
        .collect();
    let mut dx = vec![0f32; x.len()];
    if plane > 0 {
        dx.par_chunks_mut(plane)
            .zip(grad.par_chunks(plane).zip(input.par_chunks(plane)))
            .enumerate()
            .for_each(|(i, (d, (g, v)))| {
                let (m, a, b, k) = coef[i % x.channels];
                for ((d, &g), &v) in d.iter_mut().zip(g).zip(v) {
                    *d = a * g + b * (v - m) + k;
                }
            });
    }
    let f = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect();
    (dx, f(sum_gx), f(sum_g))
}
