//! Onset-strength features: the short and long STFTs, log-magnitude spectral flux,
//! the kick band and the chromagram.

use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

use super::Features;
use crate::audio::signal::Signal;
use crate::engine::lanes::sum_zip;

/// Short-STFT geometry at a given rate: ~29 ms windows, quarter hop.
fn short_frames(rate: u32) -> (usize, usize) {
    let win = ((0.029 * rate as f64) as usize).next_power_of_two().max(64);
    (win, win / 4)
}

fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
        .collect()
}

/// Magnitude spectra of centred frames: calls `each(frame_index, magnitudes)` with the
/// magnitudes of the FFT bins in `bins` (`magnitudes[i]` is bin `bins.start + i`).
///
/// Frames go through the FFT in pairs, one as the real and one as the imaginary part of
/// a complex transform, and are told apart by the conjugate symmetry of real spectra:
/// cheaper than two real transforms, whose post-processing pass costs more than the
/// transform itself at these sizes.
fn stft(
    samples: &[f32],
    win: usize,
    hop: usize,
    bins: std::ops::Range<usize>,
    mut each: impl FnMut(usize, &[f32]),
) -> usize {
    // One planner per thread: `onset_envelope` runs once per bar, and planning a
    // transform (its twiddles) costs more than using it a hundred times.
    thread_local! {
        static PLANNER: std::cell::RefCell<FftPlanner<f32>> =
            std::cell::RefCell::new(FftPlanner::new());
    }
    assert!(win >= 4 && win.is_multiple_of(2), "even frame length");
    assert!(
        bins.start < bins.end && bins.end <= win / 2 + 1,
        "bins within the spectrum"
    );
    let fft = PLANNER.with(|p| p.borrow_mut().plan_fft_forward(win));
    let window = hann(win);
    let mut buf = vec![Complex::<f32>::default(); win];
    let mut scratch = vec![Complex::<f32>::default(); fft.get_inplace_scratch_len()];
    let half = win / 2;
    let mut mags = [vec![0.0f32; bins.len()], vec![0.0f32; bins.len()]];
    // Bins other than 0 and N/2, whose partner N-k is another bin.
    let (inner_lo, inner_hi) = (bins.start.max(1), bins.end.min(half));
    let frames = samples.len().div_ceil(hop).max(1);
    // Whether frame `t` lies inside the signal (nearly all frames do).
    let interior = |t: usize| {
        let start = (t * hop) as isize - half as isize;
        t < frames && start >= 0 && start as usize + win <= samples.len()
    };
    // Windowed frame `t` (zeros past the last) into the real (`part` 0) or imaginary (1)
    // parts of `buf`, zero-padded where it runs past either end.
    let fill = |buf: &mut [Complex<f32>], t: usize, part: usize| {
        let start = (t * hop) as isize - half as isize;
        for (i, c) in buf.iter_mut().enumerate() {
            let idx = start + i as isize;
            let v = if t < frames && idx >= 0 && (idx as usize) < samples.len() {
                samples[idx as usize] * window[i]
            } else {
                0.0
            };
            if part == 0 { c.re = v } else { c.im = v }
        }
    };
    for t in (0..frames).step_by(2) {
        if interior(t) && interior(t + 1) {
            // Both frames inside the signal: one vectorised interleaving pass.
            let a = &samples[t * hop - half..t * hop - half + win];
            let b = &samples[(t + 1) * hop - half..(t + 1) * hop - half + win];
            for (((c, &x), &y), &w) in buf.iter_mut().zip(a).zip(b).zip(&window) {
                *c = Complex::new(x * w, y * w);
            }
        } else {
            fill(&mut buf, t, 0);
            fill(&mut buf, t + 1, 1);
        }
        fft.process_with_scratch(&mut buf, &mut scratch);
        // With Z = FFT(a + ib): A[k] = (Z[k] + conj Z[N-k]) / 2, B[k] = (Z[k] - conj Z[N-k]) / 2i.
        let [ma, mb] = &mut mags;
        for k in [0, half] {
            if bins.contains(&k) {
                ma[k - bins.start] = buf[k].re.abs();
                mb[k - bins.start] = buf[k].im.abs();
            }
        }
        if inner_lo < inner_hi {
            let (a0, a1) = (inner_lo - bins.start, inner_hi - bins.start);
            // Partners of k = inner_lo..inner_hi, in reverse: N - inner_hi + 1 ..= N - inner_lo.
            let partners = &buf[win - inner_hi + 1..=win - inner_lo];
            for (((z, r), a), b) in buf[inner_lo..inner_hi]
                .iter()
                .zip(partners.iter().rev())
                .zip(&mut ma[a0..a1])
                .zip(&mut mb[a0..a1])
            {
                let (sr, si) = (z.re + r.re, z.im - r.im);
                let (dr, di) = (z.re - r.re, z.im + r.im);
                *a = 0.5 * (sr * sr + si * si).sqrt();
                *b = 0.5 * (dr * dr + di * di).sqrt();
            }
        }
        each(t, ma);
        if t + 1 < frames {
            each(t + 1, mb);
        }
    }
    frames
}

/// Onset strength and chroma of a signal (any rate; 8,820 Hz is the working rate).
pub fn features(signal: &Signal) -> Features {
    let rate = signal.rate;
    let (win, hop) = short_frames(rate);
    let bin_hz = rate as f64 / win as f64;
    let low_bins = ((250.0 / bin_hz).ceil() as usize).max(2);
    let mut log_flux = LogFlux::new(win);
    let mut flux = Vec::new();
    let mut low = Vec::new();
    let kick_bins = (KICK_HZ.0 / bin_hz).ceil() as usize..=(KICK_HZ.1 / bin_hz).floor() as usize;
    let mut kick = Vec::new();
    stft(&signal.samples, win, hop, 0..win / 2 + 1, |_, mags| {
        kick.push(mags[kick_bins.clone()].iter().map(|m| m * m).sum::<f32>());
        let (l, f) = log_flux.step(mags, low_bins);
        flux.push(f);
        low.push(l);
    });

    // Chroma from a long window: enough frequency resolution for bass notes. Half-window
    // hop: Hann windows at 50 % overlap weigh every sample alike, which is all the 2-beat
    // chroma means of the downbeat stage need (a quarter-window hop cost twice as much
    // and picked the same downbeats on every real-data track and synth track).
    let cwin = ((0.232 * rate as f64) as usize).next_power_of_two();
    let chop = cwin / 2;
    let cbin_hz = rate as f64 / cwin as f64;
    // (bin, pitch class) of the bins between 50 Hz and 2 kHz.
    let pitch_class: Vec<(usize, usize)> = (0..cwin / 2 + 1)
        .filter_map(|k| {
            let f = k as f64 * cbin_hz;
            if !(50.0..=2_000.0).contains(&f) {
                return None;
            }
            let midi = 69.0 + 12.0 * (f / 440.0).log2();
            Some((k, (midi.round() as i64).rem_euclid(12) as usize))
        })
        .collect();
    // Pitch class rises with the bin, so the bins come in runs of one class: each run is
    // summed as a slice (one bin at a time into a 12-value array stalls on every add).
    let mut runs: Vec<(std::ops::Range<usize>, usize)> = Vec::new();
    for &(k, pc) in &pitch_class {
        match runs.last_mut() {
            Some((r, p)) if *p == pc && r.end == k => r.end = k + 1,
            _ => runs.push((k..k + 1, pc)),
        }
    }
    let chroma_bins =
        pitch_class.first().map_or(0, |p| p.0)..pitch_class.last().map_or(1, |p| p.0 + 1);
    let mut chroma = Vec::new();
    stft(
        &signal.samples,
        cwin,
        chop,
        chroma_bins.clone(),
        |_, mags| {
            let mut c = [0.0f32; 12];
            for (r, pc) in &runs {
                c[*pc] += mags[r.start - chroma_bins.start..r.end - chroma_bins.start]
                    .iter()
                    .sum::<f32>();
            }
            let sum: f32 = c.iter().sum();
            if sum > 0.0 {
                for v in &mut c {
                    *v /= sum;
                }
            }
            chroma.push(c);
        },
    );
    let fps = rate as f64 / hop as f64;
    let strength = beat_strength(&flux, &low, fps);
    // Rises of kick-band power (linear, so the loudest low event, the kick, dominates).
    let mut previous = kick.first().copied().unwrap_or(0.0);
    for p in &mut kick {
        let rise = (*p - previous).max(0.0);
        previous = *p;
        *p = rise;
    }
    Features {
        fps,
        flux,
        low,
        chroma_fps: rate as f64 / chop as f64,
        chroma,
        strength,
        kick,
    }
}

/// Onset envelope of a clip: log-magnitude spectral flux with the windows of
/// [`features`] (~29 ms) at half their hop's resolution (half-window hop, ~15 ms), one
/// value per frame: enough to compare clips, at half the cost.
pub fn onset_envelope(samples: &[f32], rate: u32) -> Vec<f32> {
    let (win, _) = short_frames(rate);
    let hop = win / 2;
    let mut log_flux = LogFlux::new(win);
    let mut out = Vec::with_capacity(samples.len() / hop + 1);
    stft(samples, win, hop, 0..win / 2 + 1, |_, mags| {
        out.push(log_flux.step(mags, 0).1);
    });
    out
}

/// Log-magnitude spectral flux, frame after frame: [`LogFlux::step`] sums each bin's
/// rise in log magnitude since the previous frame (none for the first frame).
struct LogFlux {
    scale: f32,
    prev: Vec<f32>,
    cur: Vec<f32>,
    started: bool,
}

impl LogFlux {
    fn new(win: usize) -> Self {
        LogFlux {
            scale: 1000.0 / win as f32,
            prev: vec![0.0; win / 2 + 1],
            cur: vec![0.0; win / 2 + 1],
            started: false,
        }
    }

    /// Takes one frame's magnitudes; returns the summed rises of the bins below `split`
    /// and of all bins (zeros for the first frame).
    fn step(&mut self, mags: &[f32], split: usize) -> (f32, f32) {
        for (c, m) in self.cur.iter_mut().zip(mags) {
            *c = ln_at_least_one(1.0 + self.scale * m);
        }
        let sums = if self.started {
            let split = split.min(self.cur.len());
            let rises = |c: &[f32], p: &[f32]| sum_zip(c, p, |c, p| (c - p).max(0.0));
            let low = rises(&self.cur[..split], &self.prev[..split]);
            let high = rises(&self.cur[split..], &self.prev[split..]);
            (low, low + high)
        } else {
            (0.0, 0.0)
        };
        self.started = true;
        std::mem::swap(&mut self.prev, &mut self.cur);
        sums
    }
}

/// Natural log of `x >= 1` (finite), branch-free so a loop over bins vectorises: libm's
/// `logf` one bin at a time was 7 % of a whole ingest. Exponent from the bits, mantissa
/// folded into [sqrt(1/2), sqrt(2)), then the atanh series to t^9: error below 1e-6.
#[inline(always)]
fn ln_at_least_one(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let fold = m > std::f32::consts::SQRT_2;
    m = if fold { 0.5 * m } else { m };
    e += fold as i32;
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let series = t * (2.0 + t2 * (2.0 / 3.0 + t2 * (0.4 + t2 * (2.0 / 7.0 + t2 * (2.0 / 9.0)))));
    e as f32 * std::f32::consts::LN_2 + series
}

/// The onset strength with its slow trend removed (1 s moving mean), half-wave rectified.
fn detrended(flux: &[f32], fps: f64) -> Vec<f64> {
    let half = (fps * 0.5) as usize;
    let n = flux.len();
    let mut cum = vec![0.0f64; n + 1];
    for (i, &v) in flux.iter().enumerate() {
        cum[i + 1] = cum[i] + v as f64;
    }
    (0..n)
        .map(|i| {
            let (lo, hi) = (i.saturating_sub(half), (i + half + 1).min(n));
            let mean = (cum[hi] - cum[lo]) / (hi - lo) as f64;
            (flux[i] as f64 - mean).max(0.0)
        })
        .collect()
}

/// The onset strength that defines the beat: broadband flux plus the low band (kick and
/// bass) weighted up, since in dance music the kick marks the beat and the off-beat hats
/// must not pull the tracker onto the "and".
pub(super) fn beat_strength(flux: &[f32], low: &[f32], fps: f64) -> Vec<f64> {
    let mean =
        |v: &[f32]| (v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64).max(1e-12);
    let (mf, ml) = (mean(flux), mean(low));
    let combined: Vec<f32> = flux
        .iter()
        .zip(low)
        .map(|(&a, &b)| (a as f64 / mf + LOW_WEIGHT * b as f64 / ml) as f32)
        .collect();
    detrended(&combined, fps)
}

/// The kick drum's fundamental band (Hz): 808-style and techno kicks sit at 45-100 Hz,
/// below most bass lines' fundamentals.
pub const KICK_HZ: (f64, f64) = (50.0, 110.0);

/// Weight of the low band in [`beat_strength`]. Off-beat bass lines (common in techno
/// and in the synthetic corpus) put strong low-band onsets on the "and": measured on both,
/// the broadband flux alone tracks best, so the weight is 0.
const LOW_WEIGHT: f64 = 0.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_stft_matches_a_naive_dft_of_each_centred_frame() {
        let mut r = crate::engine::Rng::new(5);
        let win = 64;
        let hop = 16;
        // 7 frames (odd: the last pair is half empty), edge frames zero-padded.
        let x: Vec<f32> = (0..100).map(|_| r.normal() as f32).collect();
        let window = hann(win);
        // The whole spectrum, and ranges with and without the DC and Nyquist bins.
        for bins in [0..33, 0..1, 32..33, 3..20, 1..32, 20..33] {
            let mut seen = 0;
            let frames = stft(&x, win, hop, bins.clone(), |t, mags| {
                assert_eq!(t, seen);
                seen += 1;
                let frame: Vec<f64> = (0..win)
                    .map(|i| {
                        let idx = (t * hop + i) as isize - (win / 2) as isize;
                        if (0..x.len() as isize).contains(&idx) {
                            (x[idx as usize] * window[i]) as f64
                        } else {
                            0.0
                        }
                    })
                    .collect();
                assert_eq!(mags.len(), bins.len());
                for (i, &m) in mags.iter().enumerate() {
                    let k = bins.start + i;
                    let (re, im) =
                        frame
                            .iter()
                            .enumerate()
                            .fold((0.0, 0.0), |(re, im), (j, &v)| {
                                let a = -2.0 * std::f64::consts::PI * (k * j) as f64 / win as f64;
                                (re + v * a.cos(), im + v * a.sin())
                            });
                    let want = (re * re + im * im).sqrt();
                    assert!(
                        (m as f64 - want).abs() < 1e-4 * (1.0 + want),
                        "frame {t} bin {k}"
                    );
                }
            });
            assert_eq!((frames, seen), (7, 7));
        }
    }

    #[test]
    fn fast_log_matches_libm() {
        // From 1 to 1e9 in small multiplicative steps, and just above 1.
        let mut x = 1.0f32;
        let mut worst = 0.0f64;
        while x < 1e9 {
            let sqrt2 = std::f32::consts::SQRT_2;
            // Either side of the fold at sqrt(2).
            for v in [
                x,
                x * 1.000_001,
                x * sqrt2 * 0.999_999,
                x * sqrt2 * 1.000_001,
            ] {
                let err = (ln_at_least_one(v) as f64 - (v as f64).ln()).abs();
                worst = worst.max(err);
            }
            x *= 1.003;
        }
        assert!(worst < 2e-6, "worst error {worst}");
        assert_eq!(ln_at_least_one(1.0), 0.0);
    }
}
