//! Onset-strength features: the short and long STFTs, log-magnitude spectral flux,
//! the kick band and the chromagram.

use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

use super::Features;
use crate::audio::signal::{SampleStream, Signal};
use crate::engine::lanes::sum_zip;
use crate::error::Result;

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
/// Returns the number of frames.
fn stft(
    samples: &[f32],
    win: usize,
    hop: usize,
    bins: std::ops::Range<usize>,
    each: impl FnMut(usize, &[f32]),
) -> usize {
    let mut s = Stft::new(win, hop, bins);
    s.advance(samples, true, each);
    s.next
}

/// A short-time Fourier transform that can be run as the signal arrives: each
/// [`Stft::advance`] runs the frames whose windows the samples so far cover, and the
/// last (with `done`) the rest, zero-padded past the end. Frames are run in the same
/// pairs whatever the chunks, so the magnitudes are the same bits as in one go.
///
/// Frames go through the FFT in pairs, one as the real and one as the imaginary part of
/// a complex transform, and are told apart by the conjugate symmetry of real spectra:
/// cheaper than two real transforms, whose post-processing pass costs more than the
/// transform itself at these sizes.
struct Stft {
    win: usize,
    hop: usize,
    bins: std::ops::Range<usize>,
    fft: std::sync::Arc<dyn rustfft::Fft<f32>>,
    window: Vec<f32>,
    buf: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    mags: [Vec<f32>; 2],
    /// The next frame to run (always even until the last call).
    next: usize,
}

impl Stft {
    fn new(win: usize, hop: usize, bins: std::ops::Range<usize>) -> Self {
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
        let scratch = vec![Complex::<f32>::default(); fft.get_inplace_scratch_len()];
        Stft {
            win,
            hop,
            mags: [vec![0.0f32; bins.len()], vec![0.0f32; bins.len()]],
            bins,
            fft,
            window: hann(win),
            buf: vec![Complex::<f32>::default(); win],
            scratch,
            next: 0,
        }
    }

    /// Run the frames not yet run that `samples` (the signal so far) covers; with
    /// `done` (`samples` is the whole signal), every frame left.
    fn advance(&mut self, samples: &[f32], done: bool, mut each: impl FnMut(usize, &[f32])) {
        let (win, hop, half) = (self.win, self.hop, self.win / 2);
        let bins = self.bins.clone();
        // Frames of the whole signal; until it is whole, every frame is still to come.
        let frames = if done {
            samples.len().div_ceil(hop).max(1)
        } else {
            usize::MAX
        };
        // Bins other than 0 and N/2, whose partner N-k is another bin.
        let (inner_lo, inner_hi) = (bins.start.max(1), bins.end.min(half));
        // Whether frame `t` lies inside the signal (nearly all frames do).
        let interior = |t: usize| {
            let start = (t * hop) as isize - half as isize;
            t < frames && start >= 0 && start as usize + win <= samples.len()
        };
        let Stft {
            fft,
            window,
            buf,
            scratch,
            mags,
            ..
        } = self;
        // Windowed frame `t` (zeros past the last) into the real (`part` 0) or imaginary
        // (1) parts of `buf`, zero-padded where it runs past either end.
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
        let mut t = self.next;
        while t < frames {
            // Until the signal is whole, a pair waits for the samples its second window
            // reaches.
            if !done && (t + 1) * hop + half > samples.len() {
                break;
            }
            if interior(t) && interior(t + 1) {
                // Both frames inside the signal: one vectorised interleaving pass.
                let a = &samples[t * hop - half..t * hop - half + win];
                let b = &samples[(t + 1) * hop - half..(t + 1) * hop - half + win];
                for (((c, &x), &y), &w) in buf.iter_mut().zip(a).zip(b).zip(window.iter()) {
                    *c = Complex::new(x * w, y * w);
                }
            } else {
                fill(buf, t, 0);
                fill(buf, t + 1, 1);
            }
            fft.process_with_scratch(buf, scratch);
            // With Z = FFT(a + ib): A[k] = (Z[k] + conj Z[N-k]) / 2, B[k] = (Z[k] - conj Z[N-k]) / 2i.
            let [ma, mb] = mags;
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
            t += 2;
        }
        self.next = if done { frames } else { t };
    }
}

/// Onset strength and chroma of a signal (any rate; 8,820 Hz is the working rate).
pub fn features(signal: &Signal) -> Features {
    let mut f = FeatureFrames::new(signal.rate);
    f.advance(&signal.samples, true);
    f.finish()
}

/// [`features`] of a stream, computed as its chunks arrive: while a decoder fills the
/// stream on another thread, the transforms keep pace on this one. The same bits as
/// [`features`] of the whole signal.
pub fn features_of_stream(stream: &mut dyn SampleStream) -> Result<Features> {
    let mut f = FeatureFrames::new(stream.sample_rate());
    let (mut samples, mut chunk) = (Vec::new(), Vec::new());
    while stream.read_chunk(&mut chunk)? {
        samples.extend_from_slice(&chunk);
        f.advance(&samples, false);
    }
    f.advance(&samples, true);
    Ok(f.finish())
}

/// The frame-by-frame half of [`features`]: both transforms and what each frame adds.
struct FeatureFrames {
    rate: u32,
    short: Stft,
    low_bins: usize,
    kick_bins: std::ops::RangeInclusive<usize>,
    log_flux: LogFlux,
    flux: Vec<f32>,
    low: Vec<f32>,
    kick: Vec<f32>,
    long: Stft,
    /// Runs of chroma bins of one pitch class (their range, the class).
    runs: Vec<(std::ops::Range<usize>, usize)>,
    chroma: Vec<[f32; 12]>,
}

impl FeatureFrames {
    fn new(rate: u32) -> Self {
        let (win, hop) = short_frames(rate);
        let bin_hz = rate as f64 / win as f64;
        let low_bins = ((250.0 / bin_hz).ceil() as usize).max(2);
        let kick_bins =
            (KICK_HZ.0 / bin_hz).ceil() as usize..=(KICK_HZ.1 / bin_hz).floor() as usize;

        // Chroma from a long window: enough frequency resolution for bass notes. Half-
        // window hop: Hann windows at 50 % overlap weigh every sample alike, which is all
        // the 2-beat chroma means of the downbeat stage need (a quarter-window hop cost
        // twice as much and picked the same downbeats on every real-data track and synth
        // track).
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
        // Pitch class rises with the bin, so the bins come in runs of one class: each run
        // is summed as a slice (one bin at a time into a 12-value array stalls on every
        // add). Runs are kept relative to the first chroma bin.
        let chroma_bins =
            pitch_class.first().map_or(0, |p| p.0)..pitch_class.last().map_or(1, |p| p.0 + 1);
        let mut runs: Vec<(std::ops::Range<usize>, usize)> = Vec::new();
        for &(k, pc) in &pitch_class {
            let k = k - chroma_bins.start;
            match runs.last_mut() {
                Some((r, p)) if *p == pc && r.end == k => r.end = k + 1,
                _ => runs.push((k..k + 1, pc)),
            }
        }
        FeatureFrames {
            rate,
            short: Stft::new(win, hop, 0..win / 2 + 1),
            low_bins,
            kick_bins,
            log_flux: LogFlux::new(win),
            flux: Vec::new(),
            low: Vec::new(),
            kick: Vec::new(),
            long: Stft::new(cwin, chop, chroma_bins),
            runs,
            chroma: Vec::new(),
        }
    }

    fn advance(&mut self, samples: &[f32], done: bool) {
        let FeatureFrames {
            short,
            low_bins,
            kick_bins,
            log_flux,
            flux,
            low,
            kick,
            long,
            runs,
            chroma,
            ..
        } = self;
        short.advance(samples, done, |_, mags| {
            kick.push(mags[kick_bins.clone()].iter().map(|m| m * m).sum::<f32>());
            let (l, f) = log_flux.step(mags, *low_bins);
            flux.push(f);
            low.push(l);
        });
        long.advance(samples, done, |_, mags| {
            let mut c = [0.0f32; 12];
            for (r, pc) in runs.iter() {
                c[*pc] += mags[r.clone()].iter().sum::<f32>();
            }
            let sum: f32 = c.iter().sum();
            if sum > 0.0 {
                for v in &mut c {
                    *v /= sum;
                }
            }
            chroma.push(c);
        });
    }

    fn finish(self) -> Features {
        let FeatureFrames {
            rate,
            short,
            long,
            flux,
            low,
            mut kick,
            chroma,
            ..
        } = self;
        let fps = rate as f64 / short.hop as f64;
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
            chroma_fps: rate as f64 / long.hop as f64,
            chroma,
            strength,
            kick,
        }
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

    /// A signal read back in chunks of the given sizes, in turn.
    struct Chunked {
        samples: Vec<f32>,
        sizes: Vec<usize>,
        at: usize,
        turn: usize,
    }

    impl SampleStream for Chunked {
        fn sample_rate(&self) -> u32 {
            8_820
        }
        fn read_chunk(&mut self, out: &mut Vec<f32>) -> Result<bool> {
            out.clear();
            let n = self.sizes[self.turn % self.sizes.len()];
            self.turn += 1;
            let end = (self.at + n).min(self.samples.len());
            out.extend_from_slice(&self.samples[self.at..end]);
            self.at = end;
            Ok(!out.is_empty())
        }
    }

    #[test]
    fn features_of_a_stream_are_the_bits_of_features_of_the_whole() {
        let mut r = crate::engine::Rng::new(11);
        // Noise with a click every half second, and lengths that end mid-frame, on a
        // frame, and shorter than one long window.
        for len in [8_820 * 7 + 37, 8_820 * 3, 1_000, 1] {
            let samples: Vec<f32> = (0..len)
                .map(|i| 0.1 * r.normal() as f32 + if i % 4_410 == 0 { 1.0 } else { 0.0 })
                .collect();
            let whole = features(&Signal::new(8_820, samples.clone()));
            for sizes in [vec![16_384], vec![1, 77, 1_000, 3], vec![len]] {
                let mut stream = Chunked {
                    samples: samples.clone(),
                    sizes,
                    at: 0,
                    turn: 0,
                };
                let f = features_of_stream(&mut stream).unwrap();
                assert!(!whole.flux.is_empty() && !whole.chroma.is_empty());
                assert_eq!(f.flux, whole.flux, "{len}");
                assert_eq!(f.low, whole.low);
                assert_eq!(f.kick, whole.kick);
                assert_eq!(f.chroma, whole.chroma);
                assert_eq!(f.strength, whole.strength);
                assert_eq!((f.fps, f.chroma_fps), (whole.fps, whole.chroma_fps));
            }
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
