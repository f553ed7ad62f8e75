//! FFT convolution: real FFTs (realfft) with cached plans and reused buffers.
//!
//! [`FftConvolver`] is the allocation-free core (its buffers grow to the largest
//! problem seen and are then reused); the free functions in [`super`] use one per
//! thread and float type. A long signal against a much shorter kernel goes through
//! overlap-add, so the FFT size follows the kernel, not the signal.

use std::sync::Arc;

use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

use super::{ConvError, Mode, Op, Real, check_finite, output_window};

/// The smallest even length >= `n` whose only prime factors are 2, 3 and 5: FFT sizes
/// that rustfft handles at full speed.
pub fn next_fast_len(n: usize) -> usize {
    let n = n.max(2);
    let mut best = usize::MAX;
    let mut p2 = 2usize;
    while p2 < best {
        let mut p23 = p2;
        while p23 < best {
            let mut p235 = p23;
            while p235 < n {
                p235 *= 5;
            }
            best = best.min(p235);
            if p23 >= n {
                break;
            }
            p23 *= 3;
        }
        if p2 >= n {
            break;
        }
        p2 *= 2;
    }
    best
}

/// Convolution by FFT with cached plans and reusable buffers.
///
/// ```
/// use eigentechno::engine::conv::{FftConvolver, Mode, Op};
/// let mut conv = FftConvolver::<f64>::new();
/// let mut out = vec![0.0; 5];
/// conv.process(&[1.0, 2.0, 3.0], &[0.0, 1.0, 0.5], Op::Convolve, Mode::Full, &mut out).unwrap();
/// let expect = [0.0, 1.0, 2.5, 4.0, 1.5];
/// assert!(out.iter().zip(expect).all(|(a, b)| (a - b).abs() < 1e-12));
/// ```
pub struct FftConvolver<T: Real> {
    real: RealFftPlanner<T>,
    complex: FftPlanner<T>,
    time: Vec<T>,
    spec: Vec<Complex<T>>,
    kspec: Vec<Complex<T>>,
    scratch: Vec<Complex<T>>,
    kernel: Vec<T>,
    grid_rows: Vec<Complex<T>>,
    grid: Vec<Complex<T>>,
    kgrid: Vec<Complex<T>>,
}

impl<T: Real> Default for FftConvolver<T> {
    fn default() -> Self {
        Self::new()
    }
}

fn grow<V: Clone + Default>(v: &mut Vec<V>, len: usize) {
    if v.len() < len {
        v.resize(len, V::default());
    }
}

impl<T: Real> FftConvolver<T> {
    /// A convolver with empty caches.
    pub fn new() -> Self {
        FftConvolver {
            real: RealFftPlanner::new(),
            complex: FftPlanner::new(),
            time: Vec::new(),
            spec: Vec::new(),
            kspec: Vec::new(),
            scratch: Vec::new(),
            kernel: Vec::new(),
            grid_rows: Vec::new(),
            grid: Vec::new(),
            kgrid: Vec::new(),
        }
    }

    fn plans(&mut self, len: usize) -> (Arc<dyn RealToComplex<T>>, Arc<dyn ComplexToReal<T>>) {
        (
            self.real.plan_fft_forward(len),
            self.real.plan_fft_inverse(len),
        )
    }

    /// Correlate or convolve `x` with `w` (scipy semantics) into `out`, whose length must
    /// be the mode's output length. Allocation-free once the buffers have grown.
    pub fn process(
        &mut self,
        x: &[T],
        w: &[T],
        op: Op,
        mode: Mode,
        out: &mut [T],
    ) -> Result<(), ConvError> {
        check_finite("in1", x, &[x.len()])?;
        check_finite("in2", w, &[w.len()])?;
        let (start, len) = output_window(x.len(), w.len(), mode);
        if out.len() != len {
            return Err(ConvError::Dimensions {
                expected: format!("an output of length {len} for mode '{mode}'"),
                actual: format!("length {}", out.len()),
            });
        }
        let mut kernel = std::mem::take(&mut self.kernel);
        kernel.clear();
        match op {
            Op::Convolve => kernel.extend_from_slice(w),
            Op::Correlate => kernel.extend(w.iter().rev()),
        }
        self.convolve_window(x, &kernel, start, out);
        self.kernel = kernel;
        Ok(())
    }

    /// `out[i] = (x * k)[start + i]` (full convolution indices).
    pub(super) fn convolve_window(&mut self, x: &[T], k: &[T], start: usize, out: &mut [T]) {
        // Convolution commutes: let `a` be the longer input.
        let (a, b) = if x.len() >= k.len() { (x, k) } else { (k, x) };
        let (n, m, len) = (a.len(), b.len(), out.len());
        let single = next_fast_len((start + len).max(n + m - 1 - start).max(n));
        let (block_fft, blocks) = overlap_add_plan(n, m);
        let cost_single = 3.0 * fft_cost(single);
        let cost_oa = fft_cost(block_fft) * (1.0 + 2.0 * blocks as f64);
        if blocks > 1 && cost_oa < cost_single {
            self.overlap_add(a, b, block_fft, start, out);
        } else {
            self.single(a, b, single, start, out);
        }
    }

    /// Plan length `p`, grow the buffers to fit, and put the spectrum of the kernel `b`
    /// in `kspec`. Returns the plans and the scratch length.
    fn prepare(
        &mut self,
        b: &[T],
        p: usize,
    ) -> (Arc<dyn RealToComplex<T>>, Arc<dyn ComplexToReal<T>>, usize) {
        let (fwd, inv) = self.plans(p);
        let c = p / 2 + 1;
        let scratch_len = fwd.get_scratch_len().max(inv.get_scratch_len());
        grow(&mut self.time, p);
        grow(&mut self.spec, c);
        grow(&mut self.kspec, c);
        grow(&mut self.scratch, scratch_len);
        load(&mut self.time[..p], b);
        fwd.process_with_scratch(
            &mut self.time[..p],
            &mut self.kspec[..c],
            &mut self.scratch[..scratch_len],
        )
        .expect("sizes match the plan");
        (fwd, inv, scratch_len)
    }

    fn single(&mut self, a: &[T], b: &[T], p: usize, start: usize, out: &mut [T]) {
        let (fwd, inv, scratch_len) = self.prepare(b, p);
        let c = p / 2 + 1;
        let time = &mut self.time[..p];
        let scratch = &mut self.scratch[..scratch_len];
        load(time, a);
        fwd.process_with_scratch(time, &mut self.spec[..c], scratch)
            .expect("sizes match the plan");
        multiply(&mut self.spec[..c], &self.kspec[..c], p);
        inv.process_with_scratch(&mut self.spec[..c], time, scratch)
            .expect("sizes match the plan");
        let scale = T::one() / T::from_usize(p).expect("small");
        for (i, o) in out.iter_mut().enumerate() {
            *o = time[(start + i) % p] * scale;
        }
    }

    fn overlap_add(&mut self, a: &[T], b: &[T], p: usize, start: usize, out: &mut [T]) {
        let (fwd, inv, scratch_len) = self.prepare(b, p);
        let c = p / 2 + 1;
        let m = b.len();
        let step = p - m + 1;
        let time = &mut self.time[..p];
        let scratch = &mut self.scratch[..scratch_len];
        let scale = T::one() / T::from_usize(p).expect("small");
        for v in out.iter_mut() {
            *v = T::zero();
        }
        let end = start + out.len();
        let mut o = 0;
        while o < a.len() {
            let block = &a[o..(o + step).min(a.len())];
            // This block feeds full indices [o, o + block.len() + m - 1).
            let (lo, hi) = (o, o + block.len() + m - 1);
            if hi > start && lo < end {
                load(time, block);
                fwd.process_with_scratch(time, &mut self.spec[..c], scratch)
                    .expect("sizes match the plan");
                multiply(&mut self.spec[..c], &self.kspec[..c], p);
                inv.process_with_scratch(&mut self.spec[..c], time, scratch)
                    .expect("sizes match the plan");
                let from = lo.max(start);
                let to = hi.min(end);
                for g in from..to {
                    out[g - start] += time[g - o] * scale;
                }
            }
            o += step;
        }
    }
}

/// Work of the FFT path for a 1-D window (in units of `p log2 p` real-FFT work),
/// choosing between one FFT and overlap-add as [`FftConvolver`] does.
pub(super) fn work_1d(n: usize, m: usize, start: usize, len: usize) -> f64 {
    let (n, m) = if n >= m { (n, m) } else { (m, n) };
    let single = 3.0 * fft_cost(next_fast_len((start + len).max(n + m - 1 - start).max(n)));
    let (p, blocks) = overlap_add_plan(n, m);
    let oa = fft_cost(p) * (1.0 + 2.0 * blocks as f64);
    if blocks > 1 { single.min(oa) } else { single }
}

/// Work of the 2-D FFT path, in the same units as [`work_1d`].
pub(super) fn work_2d(
    s1: (usize, usize),
    s2: (usize, usize),
    start: (usize, usize),
    len: (usize, usize),
) -> f64 {
    let p0 = next_fast_len(
        (start.0 + len.0)
            .max(s1.0 + s2.0 - 1 - start.0)
            .max(s1.0.max(s2.0)),
    );
    let p1 = next_fast_len(
        (start.1 + len.1)
            .max(s1.1 + s2.1 - 1 - start.1)
            .max(s1.1.max(s2.1)),
    );
    // Two forward transforms and one inverse, each p0 x p1 real points.
    let n = (p0 * p1) as f64;
    3.0 * n * n.log2().max(1.0)
}

/// Relative cost of one real FFT of length `p`.
fn fft_cost(p: usize) -> f64 {
    let p = p as f64;
    p * p.log2().max(1.0)
}

/// FFT size and block count for overlap-add of `n` samples with an `m`-tap kernel:
/// the size that minimises FFT work per output sample.
fn overlap_add_plan(n: usize, m: usize) -> (usize, usize) {
    // Candidates 2^k and 3 * 2^k from 2m up to 64m (a dozen sizes, all fast).
    let mut best = (usize::MAX, f64::INFINITY);
    let lo = 2 * m;
    let hi = (64 * m).max(4096);
    let mut p2 = 2usize;
    while p2 <= hi {
        for p in [p2, 3 * p2] {
            if p >= lo && p <= hi {
                let per_sample = fft_cost(p) / (p - m + 1) as f64;
                if per_sample < best.1 {
                    best = (p, per_sample);
                }
            }
        }
        p2 *= 2;
    }
    let p = best.0;
    (p, n.div_ceil(p - m + 1))
}

fn load<T: Real>(time: &mut [T], data: &[T]) {
    time[..data.len()].copy_from_slice(data);
    for v in &mut time[data.len()..] {
        *v = T::zero();
    }
}

fn multiply<T: Real>(spec: &mut [Complex<T>], kspec: &[Complex<T>], p: usize) {
    for (s, k) in spec.iter_mut().zip(kspec) {
        *s = *s * *k;
    }
    // DC (and Nyquist for even lengths) are real for real inputs; make it exact, as
    // the inverse real FFT requires.
    spec[0].im = T::zero();
    if p.is_multiple_of(2) {
        let last = spec.len() - 1;
        spec[last].im = T::zero();
    }
}

/// Column block of the tiled transposes: 16 complex values = 256 bytes per row read.
const TILE: usize = 16;

/// `dst` (cols x p0, column-major) = transpose of the first `rows` rows of `src`
/// (rows x cols, row-major); rows `rows..p0` of every column become zero.
fn transpose_into_columns<T: Real>(
    src: &[Complex<T>],
    rows: usize,
    cols: usize,
    dst: &mut [Complex<T>],
    p0: usize,
) {
    dst.par_chunks_mut(TILE * p0)
        .enumerate()
        .for_each(|(tile, block)| {
            let c_lo = tile * TILE;
            let width = block.len() / p0;
            for r in 0..rows {
                let src_row = &src[r * cols + c_lo..r * cols + c_lo + width];
                for (k, &v) in src_row.iter().enumerate() {
                    block[k * p0 + r] = v;
                }
            }
            for k in 0..width {
                for v in &mut block[k * p0 + rows..(k + 1) * p0] {
                    *v = Complex::default();
                }
            }
        });
}

/// Spectrum of `a` (rows x cols real) on a p0 x p1 grid, column-major in `grid`
/// (`c = p1 / 2 + 1` columns of p0); `rowbuf` is scratch of rows x c.
#[allow(clippy::too_many_arguments)]
fn spectrum_2d<T: Real>(
    a: ArrayView2<T>,
    p0: usize,
    p1: usize,
    fwd: &Arc<dyn RealToComplex<T>>,
    col_fwd: &Arc<dyn rustfft::Fft<T>>,
    rowbuf: &mut [Complex<T>],
    grid: &mut [Complex<T>],
) {
    let c = p1 / 2 + 1;
    let rows = a.nrows();
    rowbuf[..rows * c]
        .par_chunks_mut(c)
        .zip(a.axis_iter(Axis(0)).into_par_iter())
        .for_each_init(
            || {
                (
                    vec![T::zero(); p1],
                    vec![Complex::<T>::default(); fwd.get_scratch_len()],
                )
            },
            |(time, scratch), (dst, row)| {
                for (t, v) in time
                    .iter_mut()
                    .zip(row.iter().copied().chain(std::iter::repeat(T::zero())))
                {
                    *t = v;
                }
                fwd.process_with_scratch(time, dst, scratch)
                    .expect("sizes match the plan");
            },
        );
    transpose_into_columns(rowbuf, rows, c, grid, p0);
    grid.par_chunks_mut(p0).for_each_init(
        || vec![Complex::<T>::default(); col_fwd.get_inplace_scratch_len()],
        |scratch, col| col_fwd.process_with_scratch(col, scratch),
    );
}

/// 2-D: `out[a][b] = (x * k)[a + r0][b + c0]` (full convolution indices).
pub fn convolve_2d<T: Real>(
    x: ArrayView2<T>,
    k: ArrayView2<T>,
    (r0, c0): (usize, usize),
    mut out: ArrayViewMut2<T>,
) {
    let (h, w) = x.dim();
    let (kh, kw) = k.dim();
    let (oh, ow) = out.dim();
    let p0 = next_fast_len((r0 + oh).max(h + kh - 1 - r0).max(h.max(kh)));
    let p1 = next_fast_len((c0 + ow).max(w + kw - 1 - c0).max(w.max(kw)));
    let c = p1 / 2 + 1;
    // Plans and the large buffers come from this thread's convolver and go back to it,
    // so repeated calls neither re-plan nor fault in fresh pages.
    let (fwd, inv, col_fwd, col_inv, mut rowbuf, mut grid, mut kgrid) = T::with_fft(|conv| {
        let (f, i) = conv.plans(p1);
        let cf = conv.complex.plan_fft_forward(p0);
        let ci = conv.complex.plan_fft_inverse(p0);
        (
            f,
            i,
            cf,
            ci,
            std::mem::take(&mut conv.grid_rows),
            std::mem::take(&mut conv.grid),
            std::mem::take(&mut conv.kgrid),
        )
    });
    grow(&mut rowbuf, h.max(kh).max(oh) * c);
    grow(&mut grid, c * p0);
    grow(&mut kgrid, c * p0);
    let (grid_s, kgrid_s) = (&mut grid[..c * p0], &mut kgrid[..c * p0]);

    spectrum_2d(x, p0, p1, &fwd, &col_fwd, &mut rowbuf, grid_s);
    spectrum_2d(k, p0, p1, &fwd, &col_fwd, &mut rowbuf, kgrid_s);
    grid_s
        .par_chunks_mut(p0)
        .zip(kgrid_s.par_chunks(p0))
        .for_each_init(
            || vec![Complex::<T>::default(); col_inv.get_inplace_scratch_len()],
            |scratch, (s, ks)| {
                for (a, b) in s.iter_mut().zip(ks) {
                    *a = *a * *b;
                }
                col_inv.process_with_scratch(s, scratch);
            },
        );
    // Rows r0..r0+oh of the result, back to row-major (tiled over columns).
    let grid_ro: &[Complex<T>] = grid_s;
    let rows_out = &mut rowbuf[..oh * c];
    rows_out
        .par_chunks_mut(c * TILE.min(oh).max(1))
        .enumerate()
        .for_each(|(blk, dst)| {
            let a_lo = blk * TILE.min(oh).max(1);
            let nrows = dst.len() / c;
            for col in 0..c {
                let src_col = &grid_ro[col * p0..(col + 1) * p0];
                for i in 0..nrows {
                    dst[i * c + col] = src_col[(a_lo + i + r0) % p0];
                }
            }
        });
    let scale = T::one() / T::from_usize(p0 * p1).expect("small");
    let rows_ro: &mut [Complex<T>] = rows_out;
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(rows_ro.par_chunks_mut(c))
        .for_each_init(
            || {
                (
                    vec![T::zero(); p1],
                    vec![Complex::<T>::default(); inv.get_scratch_len()],
                )
            },
            |(time, scratch), (mut dst, row_spec)| {
                row_spec[0].im = T::zero();
                if p1.is_multiple_of(2) {
                    row_spec[c - 1].im = T::zero();
                }
                inv.process_with_scratch(row_spec, time, scratch)
                    .expect("sizes match the plan");
                for (b, d) in dst.iter_mut().enumerate() {
                    *d = time[(b + c0) % p1] * scale;
                }
            },
        );
    T::with_fft(|conv| {
        conv.grid_rows = rowbuf;
        conv.grid = grid;
        conv.kgrid = kgrid;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_lengths() {
        assert_eq!(next_fast_len(1), 2);
        assert_eq!(next_fast_len(7), 8);
        assert_eq!(next_fast_len(1087), 1152);
        assert_eq!(next_fast_len(2_097_151), 2_097_152);
        for n in 2..2000 {
            let f = next_fast_len(n);
            assert!(f >= n && f.is_multiple_of(2));
            let mut r = f;
            for p in [2, 3, 5] {
                while r.is_multiple_of(p) {
                    r /= p;
                }
            }
            assert_eq!(r, 1, "{f}");
        }
    }
}
