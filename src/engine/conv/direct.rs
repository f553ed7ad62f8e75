//! Direct (sum-of-products) convolution. Written as "output block += tap * shifted
//! input" (axpy) rather than one dot product per output: the inner loop then has
//! independent lanes and vectorises, and a block of outputs stays in L1 while every
//! tap passes over it.

use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use super::Real;

/// Outputs per block: 4096 f64 = 32 KiB, an L1's worth.
const BLOCK: usize = 4096;
/// Below this much work (multiply-adds), stay on one thread.
const PARALLEL_WORK: usize = 1 << 18;

/// `out[i] = full[start + i]` where `full = x * k` (convolution, full length n + m - 1).
pub fn convolve_1d<T: Real>(x: &[T], k: &[T], start: usize, out: &mut [T]) {
    let (n, m) = (x.len(), k.len());
    // y[t] = sum_j x[t - j] k[j]  =  sum_i xp[t + i] kr[i], with xp = x padded by m-1
    // zeros on each side and kr = k reversed. Only the padded span the window touches
    // is built.
    let kr: Vec<T> = k.iter().rev().copied().collect();
    let len = out.len();
    let span = len + m - 1;
    let mut xp = vec![T::zero(); span];
    // xp[u] corresponds to x[start + u - (m - 1)].
    for (u, v) in xp.iter_mut().enumerate() {
        let idx = start as isize + u as isize - (m as isize - 1);
        if idx >= 0 && (idx as usize) < n {
            *v = x[idx as usize];
        }
    }
    let work = len * m;
    let run = |(b, chunk): (usize, &mut [T])| {
        let off = b * BLOCK;
        for v in chunk.iter_mut() {
            *v = T::zero();
        }
        for (i, &tap) in kr.iter().enumerate() {
            let src = &xp[off + i..off + i + chunk.len()];
            for (o, &s) in chunk.iter_mut().zip(src) {
                *o += tap * s;
            }
        }
    };
    if work >= PARALLEL_WORK {
        out.par_chunks_mut(BLOCK).enumerate().for_each(run);
    } else {
        out.chunks_mut(BLOCK).enumerate().for_each(run);
    }
}

/// `out[k] = sum_j x[k + j] w[j]` (valid correlation; lengths checked by the caller).
/// Eight independent partial sums per dot product let the compiler vectorise it.
pub fn correlate_valid<T: Real>(x: &[T], w: &[T], out: &mut [T]) {
    let m = w.len();
    for (k, o) in out.iter_mut().enumerate() {
        let seg = &x[k..k + m];
        let mut acc = [T::zero(); 8];
        let (wc, sc) = (w.chunks_exact(8), seg.chunks_exact(8));
        let (wr, sr) = (wc.remainder(), sc.remainder());
        for (a, b) in wc.zip(sc) {
            for i in 0..8 {
                acc[i] += a[i] * b[i];
            }
        }
        let mut total = T::zero();
        for (a, b) in wr.iter().zip(sr) {
            total += *a * *b;
        }
        *o = acc.iter().fold(total, |t, &v| t + v);
    }
}

/// 2-D: `out[a][b] = full[a + r0][b + c0]` where `full = x * k` (convolution).
pub fn convolve_2d<T: Real>(
    x: ArrayView2<T>,
    k: ArrayView2<T>,
    (r0, c0): (usize, usize),
    mut out: ArrayViewMut2<T>,
) {
    let (h, w) = x.dim();
    let (kh, kw) = k.dim();
    let (oh, ow) = out.dim();
    // Padded input span touched by the window, as in 1-D, on both axes.
    let (ph, pw) = (oh + kh - 1, ow + kw - 1);
    let mut xp = vec![T::zero(); ph * pw];
    for r in 0..ph {
        let src_r = r as isize + r0 as isize - (kh as isize - 1);
        if src_r < 0 || src_r as usize >= h {
            continue;
        }
        let row = x.row(src_r as usize);
        for c in 0..pw {
            let src_c = c as isize + c0 as isize - (kw as isize - 1);
            if src_c >= 0 && (src_c as usize) < w {
                xp[r * pw + c] = row[src_c as usize];
            }
        }
    }
    // Reversed kernel on both axes (row-major order, reversed).
    let mut kr: Vec<T> = k.iter().copied().collect();
    kr.reverse();
    let work = oh * ow * kh * kw;
    let run = |(a, mut row): (usize, ndarray::ArrayViewMut1<T>)| {
        let row = row.as_slice_mut().expect("output rows are contiguous");
        for v in row.iter_mut() {
            *v = T::zero();
        }
        for i in 0..kh {
            let src_row = &xp[(a + i) * pw..(a + i + 1) * pw];
            for j in 0..kw {
                let tap = kr[i * kw + j];
                if tap == T::zero() {
                    continue;
                }
                for (o, &s) in row.iter_mut().zip(&src_row[j..j + ow]) {
                    *o += tap * s;
                }
            }
        }
    };
    if work >= PARALLEL_WORK {
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(run);
    } else {
        out.axis_iter_mut(Axis(0)).enumerate().for_each(run);
    }
}
