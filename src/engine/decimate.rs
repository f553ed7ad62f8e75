//! Integer-factor decimation: an anti-aliasing low-pass FIR and keeping every `M`-th
//! sample, done in the frequency domain.
//!
//! Each block is filtered by overlap-save, and the decimation is folded into the
//! spectrum (summing the `M` bands of the filtered spectrum is exactly the spectrum of
//! every `M`-th sample), so the inverse transform is `M` times shorter than the forward
//! one. Two real blocks share one complex transform (one as the real part, one as the
//! imaginary part: filter and signal are real, so the outputs stay apart). Per input
//! sample this is about half the work of a general rational resampler, and the result
//! is the exact linear FIR output (to rounding), with no start-up delay: output `j` is
//! the filter centred on input `j * M`.
//!
//! ```
//! use eigentechno::engine::decimate::Decimator;
//! // 44.1 kHz -> 8,820 Hz: a 440 Hz tone stays, a 6 kHz tone (above the new Nyquist) goes.
//! let tone = |f: f32| -> Vec<f32> {
//!     (0..44_100).map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / 44_100.0).sin()).collect()
//! };
//! let kept = Decimator::new(5).decimate(&tone(440.0));
//! assert_eq!(kept.len(), 8_820);
//! assert!((kept[4_410] - (2.0 * std::f32::consts::PI * 440.0 * 0.5).sin()).abs() < 1e-3);
//! let gone = Decimator::new(5).decimate(&tone(6_000.0));
//! assert!(gone[1_000..7_000].iter().all(|x| x.abs() < 1e-3));
//! ```

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// Filter half-length in output samples: the filter spans `2 * HALF_TAPS * M + 1` inputs.
const HALF_TAPS: usize = 64;
/// Decimated samples per transform block (a power of two, fast to transform).
const BLOCK_OUT: usize = 2048;
/// Valid outputs per block: the rest is the filter's overlap.
const VALID_OUT: usize = BLOCK_OUT - 2 * HALF_TAPS;
/// Kaiser window parameter: about 86 dB of stopband attenuation.
const KAISER_BETA: f64 = 8.6;
/// Cut-off (-6 dB) as a fraction of the output Nyquist frequency. With this filter
/// length the transition band is about 8.5 % of the Nyquist frequency wide, so the
/// passband is flat to ~91 % of it and the stopband starts just below it.
const CUTOFF: f64 = 0.955;

/// The decimation filter's taps for factor `factor`: a Kaiser-windowed sinc with unit
/// gain at DC, `2 * 64 * factor + 1` taps, symmetric about the centre.
pub fn lowpass_taps(factor: usize) -> Vec<f64> {
    let half = HALF_TAPS * factor;
    let fc = CUTOFF * 0.5 / factor as f64; // cycles per input sample
    let i0_beta = bessel_i0(KAISER_BETA);
    let mut taps: Vec<f64> = (0..=2 * half)
        .map(|k| {
            let t = k as f64 - half as f64;
            let sinc = if t == 0.0 {
                2.0 * fc
            } else {
                (2.0 * std::f64::consts::PI * fc * t).sin() / (std::f64::consts::PI * t)
            };
            let r = t / half as f64;
            sinc * bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / i0_beta
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    for t in &mut taps {
        *t /= sum;
    }
    taps
}

/// Modified Bessel function of the first kind, order 0 (power series; converges fast
/// for the window's arguments, at most `KAISER_BETA`).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// A planned decimator by an integer factor `M >= 2`, shared by any number of streams.
#[derive(Clone)]
pub struct Decimator {
    factor: usize,
    /// Filter spectrum (length `BLOCK_OUT * M`), scaled for the inverse transform.
    spectrum: Arc<Vec<Complex<f32>>>,
    forward: Arc<dyn Fft<f32>>,
    inverse: Arc<dyn Fft<f32>>,
}

impl std::fmt::Debug for Decimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decimator")
            .field("factor", &self.factor)
            .finish()
    }
}

impl Decimator {
    /// Plan decimation by `factor` (panics below 2: nothing to decimate).
    pub fn new(factor: usize) -> Self {
        assert!(factor >= 2, "decimation factor {factor} < 2");
        let n = BLOCK_OUT * factor;
        let mut planner = FftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(n);
        let inverse = planner.plan_fft_inverse(BLOCK_OUT);
        let taps = lowpass_taps(factor);
        let mut spectrum: Vec<Complex<f32>> = (0..n)
            .map(|k| Complex::new(taps.get(k).map_or(0.0, |&t| t as f32), 0.0))
            .collect();
        forward.process(&mut spectrum);
        // ifft of the folded spectrum gives n / factor * (every factor-th sample); fold
        // in the 1 / n of the full-length inverse.
        let scale = 1.0 / n as f32;
        for c in &mut spectrum {
            *c *= scale;
        }
        Decimator {
            factor,
            spectrum: Arc::new(spectrum),
            forward,
            inverse,
        }
    }

    /// The decimation factor.
    pub fn factor(&self) -> usize {
        self.factor
    }

    /// Decimate a whole signal: `ceil(len / M)` samples.
    pub fn decimate(&self, input: &[f32]) -> Vec<f32> {
        let mut stream = DecimatorStream::new(self.clone());
        let mut out = Vec::with_capacity(input.len().div_ceil(self.factor));
        stream.push(input, &mut out);
        stream.finish(&mut out);
        out
    }
}

/// Streaming decimation: [`push`](Self::push) input as it comes, then
/// [`finish`](Self::finish); the concatenated output is what [`Decimator::decimate`]
/// gives for the concatenated input.
pub struct DecimatorStream {
    plan: Decimator,
    /// Input from absolute position `buf_start` on (negative: the zeros before the start).
    buf: Vec<f32>,
    buf_start: i64,
    /// Input samples pushed so far.
    consumed: u64,
    /// Output samples produced so far.
    produced: u64,
    work: Vec<Complex<f32>>,
    folded: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl DecimatorStream {
    /// A stream through `plan`.
    pub fn new(plan: Decimator) -> Self {
        let n = BLOCK_OUT * plan.factor;
        let half = (HALF_TAPS * plan.factor) as i64;
        let scratch_len = plan
            .forward
            .get_inplace_scratch_len()
            .max(plan.inverse.get_inplace_scratch_len());
        DecimatorStream {
            buf: vec![0.0; half as usize],
            buf_start: -half,
            consumed: 0,
            produced: 0,
            work: vec![Complex::default(); n],
            folded: vec![Complex::default(); BLOCK_OUT],
            scratch: vec![Complex::default(); scratch_len],
            plan,
        }
    }

    /// Input samples one pair of blocks needs, and how far a pair advances.
    fn pair_span(&self) -> (usize, usize) {
        let hop = VALID_OUT * self.plan.factor;
        (hop + BLOCK_OUT * self.plan.factor, 2 * hop)
    }

    /// Add input; appends every output it completes to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.consumed += input.len() as u64;
        let (span, advance) = self.pair_span();
        // Keep the buffer from growing when fed in large pieces: work through it as
        // soon as there is a pair's worth.
        let mut rest = input;
        loop {
            let need = span.saturating_sub(self.buf.len());
            let take = need.min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() < span {
                break;
            }
            self.run_pair(0, out);
            self.buf.drain(..advance);
            self.buf_start += advance as i64;
        }
    }

    /// No more input: appends the remaining outputs to `out`.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        let total = self.consumed.div_ceil(self.plan.factor as u64);
        let (span, advance) = self.pair_span();
        while self.produced < total {
            let pad = span.saturating_sub(self.buf.len());
            self.buf.resize(self.buf.len() + pad, 0.0);
            let left = (total - self.produced) as usize;
            self.run_pair(left, out);
            self.buf.drain(..advance.min(self.buf.len()));
            self.buf_start += advance as i64;
        }
    }

    /// Filter and decimate the two blocks at the front of the buffer, appending their
    /// valid outputs (at most `limit` of them, if not 0).
    fn run_pair(&mut self, limit: usize, out: &mut Vec<f32>) {
        let m = self.plan.factor;
        let n = BLOCK_OUT * m;
        let hop = VALID_OUT * m;
        let (first, second) = (&self.buf[..n], &self.buf[hop..hop + n]);
        for ((w, &a), &b) in self.work.iter_mut().zip(first).zip(second) {
            *w = Complex::new(a, b);
        }
        self.plan
            .forward
            .process_with_scratch(&mut self.work, &mut self.scratch);
        // Filter and fold the M bands onto the decimated spectrum in one pass.
        self.folded.fill(Complex::default());
        for (band, filter) in self
            .work
            .chunks_exact(BLOCK_OUT)
            .zip(self.plan.spectrum.chunks_exact(BLOCK_OUT))
        {
            for ((f, &z), &h) in self.folded.iter_mut().zip(band).zip(filter) {
                *f += z * h;
            }
        }
        self.plan
            .inverse
            .process_with_scratch(&mut self.folded, &mut self.scratch);
        let valid = &self.folded[2 * HALF_TAPS..];
        let limit = if limit == 0 { usize::MAX } else { limit };
        let first_n = VALID_OUT.min(limit);
        let second_n = VALID_OUT.min(limit - first_n);
        out.extend(valid[..first_n].iter().map(|c| c.re));
        out.extend(valid[..second_n].iter().map(|c| c.im));
        self.produced += (first_n + second_n) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Rng;

    /// The definition: y[j] = sum_k h[k] x[j M + C - k], zeros outside the input.
    fn naive(x: &[f32], factor: usize) -> Vec<f64> {
        let h = lowpass_taps(factor);
        let c = (h.len() - 1) / 2;
        (0..x.len().div_ceil(factor))
            .map(|j| {
                h.iter()
                    .enumerate()
                    .filter_map(|(k, &hk)| {
                        let i = (j * factor + c).checked_sub(k)?;
                        x.get(i).map(|&v| hk * v as f64)
                    })
                    .sum()
            })
            .collect()
    }

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut r = Rng::new(seed);
        (0..n).map(|_| r.normal() as f32).collect()
    }

    #[test]
    fn matches_the_direct_fir_for_every_kind_of_length() {
        for factor in [2usize, 5, 10] {
            let block = VALID_OUT * factor;
            for n in [
                0,
                1,
                factor - 1,
                factor + 1,
                777,
                block - 1,
                block,
                block + 1,
                2 * block,
                2 * block + 3,
                5 * block + 17,
            ] {
                let x = noise(n, (factor * 1000 + n) as u64);
                let got = Decimator::new(factor).decimate(&x);
                let want = naive(&x, factor);
                assert_eq!(got.len(), want.len(), "factor {factor}, {n} samples");
                let err = got
                    .iter()
                    .zip(&want)
                    .map(|(&a, &b)| (a as f64 - b).abs())
                    .fold(0.0, f64::max);
                assert!(err < 2e-5, "factor {factor}, {n} samples: max error {err}");
            }
        }
    }

    #[test]
    fn streaming_in_any_pieces_gives_the_one_shot_result() {
        let x = noise(123_457, 3);
        let plan = Decimator::new(5);
        let whole = plan.decimate(&x);
        let mut r = Rng::new(9);
        for _ in 0..4 {
            let mut s = DecimatorStream::new(plan.clone());
            let mut out = Vec::new();
            let mut pos = 0;
            while pos < x.len() {
                let len = ((r.uniform() * 30_000.0) as usize).min(x.len() - pos);
                s.push(&x[pos..pos + len], &mut out);
                pos += len;
            }
            s.finish(&mut out);
            assert_eq!(out, whole);
        }
    }

    /// |H(f)| of the taps at `f` cycles per input sample.
    fn gain(h: &[f64], f: f64) -> f64 {
        let (re, im) = h.iter().enumerate().fold((0.0, 0.0), |(re, im), (k, &t)| {
            let w = 2.0 * std::f64::consts::PI * f * k as f64;
            (re + t * w.cos(), im - t * w.sin())
        });
        (re * re + im * im).sqrt()
    }

    #[test]
    fn flat_passband_and_deep_stopband() {
        for factor in [2usize, 5] {
            let h = lowpass_taps(factor);
            let nyquist = 0.5 / factor as f64;
            for i in 0..=200 {
                let f = 0.9 * nyquist * i as f64 / 200.0;
                let db = 20.0 * gain(&h, f).log10();
                assert!(db.abs() < 0.01, "factor {factor}: {db} dB at {f}");
            }
            // Everything that would fold into the output band is gone.
            for i in 0..=400 {
                let f = nyquist + (0.5 - nyquist) * i as f64 / 400.0;
                let db = 20.0 * gain(&h, f).log10();
                assert!(db < -80.0, "factor {factor}: {db} dB at {f}");
            }
        }
    }
}
