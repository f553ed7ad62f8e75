//! Tempo, beats, downbeats and the bar grid of a track.
//!
//! 1. Onset strength: log-magnitude spectral flux over a short STFT (29 ms windows,
//!    7 ms hop at 8,820 Hz), broadband and below 250 Hz; and a chromagram from a long
//!    STFT (232 ms) for harmonic change.
//! 2. Tempo: the autocorrelation of the onset strength (the engine's
//!    [`autocorrelate`](crate::engine::conv::autocorrelate)), scored at each candidate
//!    period with its multiples (2T, 4T: beats group into bars) and weighted by a
//!    log-normal prior centred on dance tempi. Half/double-tempo errors are the common
//!    failure: the multiples term and the prior address them, and the runner-up tempo
//!    is reported.
//! 3. Beats: Ellis's (2007) dynamic-programming tracker at that period, then a smooth
//!    grid fitted through the beats (a cubic in the beat index), so a steady track gets
//!    a grid precise to a fraction of a millisecond and a drifting one follows its drift.
//! 4. Downbeats: which beat of the bar is "1", from harmonic change (chords and bass
//!    change at bar starts), and low and broadband onset strength at the beat.
//! 5. Local tempo curve and a drift measure: the Legendre distance of the fitted local
//!    tempo curve from its mean.

use rustfft::FftPlanner;
use rustfft::num_complex::Complex;
use serde::{Deserialize, Serialize};

use super::signal::Signal;
use crate::engine::conv::autocorrelate;
use crate::engine::lanes::sum_zip;
use crate::engine::legendre::{legendre_distance, legendre_eval, legendre_fit};

/// Settings of the rhythm analysis.
#[derive(Clone, Debug, PartialEq)]
pub struct RhythmOptions {
    /// Slowest tempo considered (bpm).
    pub bpm_min: f64,
    /// Fastest tempo considered (bpm).
    pub bpm_max: f64,
    /// Centre of the tempo prior (bpm): where dance music sits.
    pub prior_bpm: f64,
    /// Width of the prior in octaves (standard deviation of log2 tempo).
    pub prior_octaves: f64,
    /// Beats per bar.
    pub beats_per_bar: usize,
    /// Local-tempo drift (bpm, Legendre distance from constant) above which a track
    /// counts as drifting.
    pub drift_threshold: f64,
    /// Periodicity below which a track has no steady beat ([`TempoEstimate::periodicity`]).
    pub min_periodicity: f64,
}

impl Default for RhythmOptions {
    fn default() -> Self {
        RhythmOptions {
            bpm_min: 60.0,
            bpm_max: 200.0,
            prior_bpm: 125.0,
            prior_octaves: 0.8,
            beats_per_bar: 4,
            drift_threshold: 0.25,
            min_periodicity: 0.06,
        }
    }
}

/// Onset-strength features of a track.
#[derive(Clone, Debug)]
pub struct Features {
    /// Frames per second of `flux` and `low`.
    pub fps: f64,
    /// Broadband spectral flux per frame.
    pub flux: Vec<f32>,
    /// Spectral flux below 250 Hz per frame.
    pub low: Vec<f32>,
    /// Frames per second of `chroma`.
    pub chroma_fps: f64,
    /// 12-bin chroma per long frame (unit sum).
    pub chroma: Vec<[f32; 12]>,
    /// The beat-defining onset strength (see [`beat_strength`]), detrended; computed once
    /// here and shared by the tempo estimate, the tracker and the beat refinement.
    pub strength: Vec<f64>,
    /// Rise of power in the kick band ([`KICK_HZ`]) per frame of `flux`: where the
    /// loudest low-frequency events start.
    pub kick: Vec<f32>,
}

/// The analysis of one track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rhythm {
    /// Global tempo (bpm): 60 over the median beat period of the fitted grid.
    pub bpm: f64,
    /// The best tempo of another octave or ratio (bpm).
    pub runner_up_bpm: f64,
    /// Tempo confidence in [0, 1]: how much the winner beats the runner-up.
    pub confidence: f64,
    /// Beat times (seconds).
    pub beats: Vec<f64>,
    /// Index (into `beats`) of the first downbeat.
    pub first_downbeat: usize,
    /// Downbeat times (seconds).
    pub downbeats: Vec<f64>,
    /// Downbeat confidence in [0, 1].
    pub downbeat_confidence: f64,
    /// Local tempo: (time in seconds, bpm) at each beat interval's midpoint.
    pub local_tempo: Vec<(f64, f64)>,
    /// Legendre distance (bpm) of the fitted local-tempo curve from constant.
    pub drift: f64,
    /// Whether `drift` exceeds the threshold.
    pub drifting: bool,
}

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

/// Linear interpolation of `v` at fractional index `x` (0 outside).
fn interp(v: &[f64], x: f64) -> f64 {
    if x < 0.0 || x > (v.len() - 1) as f64 {
        return 0.0;
    }
    let i = x.floor() as usize;
    let f = x - i as f64;
    if i + 1 < v.len() {
        v[i] * (1.0 - f) + v[i + 1] * f
    } else {
        v[i]
    }
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
fn beat_strength(flux: &[f32], low: &[f32], fps: f64) -> Vec<f64> {
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

/// Kick-band evidence that the tracked beats sit on the off-beat ("and"): the log ratio
/// of kick-band rises at the midpoints between beats to those at the beats. Above
/// [`OFF_BEAT_SHIFT`] the beats move by half a period.
///
/// The broadband onset strength is what tracks real music best, but in music with loud
/// off-beat hats and bass it can settle half a beat late. In 4/4 dance music the kick
/// marks the beat and is the loudest low-frequency event, so its band decides.
fn off_beat_evidence(f: &Features, frames: &[usize]) -> f64 {
    let peak = |t: usize| -> f64 {
        let (lo, hi) = (t.saturating_sub(2), (t + 3).min(f.kick.len()));
        f.kick[lo..hi].iter().fold(0.0f32, |m, &v| m.max(v)) as f64
    };
    let (mut on, mut off) = (0.0, 0.0);
    for w in frames.windows(2) {
        on += peak(w[1]);
        off += peak((w[0] + w[1]) / 2);
    }
    if on <= 0.0 || off <= 0.0 {
        return 0.0;
    }
    (off / on).ln()
}

/// The [`off_beat_evidence`] above which the beats move to the midpoints. Measured on
/// real techno whose beats agree with essentia's tracker: -3.8 to +0.2; on synthetic
/// tracks tracked on the "and": +1.4 and more.
const OFF_BEAT_SHIFT: f64 = 0.7;

/// Weight of the half period in the tempo score.
const HALF_WEIGHT: f64 = 0.25;

/// Weight of the low band in [`beat_strength`]. Off-beat bass lines (common in techno
/// and in the synthetic corpus) put strong low-band onsets on the "and": measured on both,
/// the broadband flux alone tracks best, so the weight is 0.
const LOW_WEIGHT: f64 = 0.0;

/// A global tempo estimate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TempoEstimate {
    /// Tempo (bpm) on the 0.05 bpm candidate grid.
    pub bpm: f64,
    /// Best tempo of another octave or ratio (bpm).
    pub runner_up_bpm: f64,
    /// How much the winner beats the runner-up, in [0, 1].
    pub confidence: f64,
    /// Normalised autocorrelation of the onset strength at the beat period, in [-1, 1]:
    /// how periodic the track is at all (white noise: about 0; a steady beat: 0.3 and more).
    pub periodicity: f64,
}

/// Global tempo, or `None` for a signal with no
/// onsets (silence).
pub fn estimate_tempo(f: &Features, opts: &RhythmOptions) -> Option<TempoEstimate> {
    let env = &f.strength;
    let max_period = f.fps * 60.0 / opts.bpm_min;
    let max_lag = ((4.0 * max_period).ceil() as usize + 2).min(env.len().saturating_sub(1));
    if max_lag < 8 {
        return None;
    }
    let ac = autocorrelate(env, max_lag).ok()?;
    let score = |bpm: f64| -> f64 {
        let t = f.fps * 60.0 / bpm;
        let s = interp(&ac, t)
            + 0.5 * interp(&ac, 2.0 * t)
            + 0.25 * interp(&ac, 4.0 * t)
            + HALF_WEIGHT * interp(&ac, 0.5 * t);
        let z = (bpm / opts.prior_bpm).log2() / opts.prior_octaves;
        s.max(0.0) * (-0.5 * z * z).exp()
    };
    let step = 0.05;
    let n = ((opts.bpm_max - opts.bpm_min) / step) as usize + 1;
    let grid: Vec<(f64, f64)> = (0..n)
        .map(|i| opts.bpm_min + i as f64 * step)
        .map(|b| (b, score(b)))
        .collect();
    let (best_bpm, best) = grid.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
    if best <= 0.0 {
        return None;
    }
    // Runner-up: the best local maximum more than 8 % away from the winner.
    let runner = (1..grid.len() - 1)
        .filter(|&i| grid[i].1 >= grid[i - 1].1 && grid[i].1 >= grid[i + 1].1)
        .map(|i| grid[i])
        .filter(|(b, _)| (b / best_bpm - 1.0).abs() > 0.08)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((best_bpm, 0.0));
    let confidence = (1.0 - runner.1 / best).clamp(0.0, 1.0);
    // Periodicity on the mean-removed envelope: a positive envelope correlates with
    // itself at every lag, which says nothing about a beat.
    let mean = env.iter().sum::<f64>() / env.len() as f64;
    let centred: Vec<f64> = env.iter().map(|v| v - mean).collect();
    let period = f.fps * 60.0 / best_bpm;
    let periodicity = autocorrelate(&centred, period.ceil() as usize + 1)
        .map(|ac0| interp(&ac0, period))
        .unwrap_or(0.0);
    Some(TempoEstimate {
        bpm: best_bpm,
        runner_up_bpm: runner.0,
        confidence,
        periodicity,
    })
}

/// Ellis's dynamic-programming beat tracker: beat frames for a given period (frames).
pub fn track_beats(f: &Features, period: f64) -> Vec<usize> {
    let env = &f.strength;
    let n = env.len();
    if n == 0 || period < 2.0 {
        return Vec::new();
    }
    let sd = (env.iter().map(|v| v * v).sum::<f64>() / n as f64)
        .sqrt()
        .max(1e-12);
    let o: Vec<f64> = env.iter().map(|v| v / sd).collect();
    let tightness = 100.0;
    let (lo, hi) = (
        (period / 2.0).round() as usize,
        (2.0 * period).round() as usize,
    );
    let penalty: Vec<f64> = (0..=hi)
        .map(|d| {
            if d == 0 {
                f64::NEG_INFINITY
            } else {
                -tightness * ((d as f64 / period).ln()).powi(2)
            }
        })
        .collect();
    let mut cum = vec![0.0f64; n];
    let mut back = vec![usize::MAX; n];
    for t in 0..n {
        // The first best predecessor (penalties are finite for d >= lo >= 1).
        let mut best = f64::NEG_INFINITY;
        let mut arg = usize::MAX;
        if t >= lo {
            for d in lo..=hi.min(t) {
                let s = cum[t - d] + penalty[d];
                if s > best {
                    best = s;
                    arg = t - d;
                }
            }
        }
        cum[t] = o[t]
            + if arg == usize::MAX {
                0.0
            } else {
                best.max(0.0)
            };
        back[t] = if arg != usize::MAX && best > 0.0 {
            arg
        } else {
            usize::MAX
        };
    }
    // Last beat: the best cumulative score within the final period.
    let start = n.saturating_sub(period.ceil() as usize + 1);
    let mut t = (start..n)
        .max_by(|&a, &b| cum[a].total_cmp(&cum[b]))
        .expect("non-empty");
    let mut beats = vec![t];
    while back[t] != usize::MAX {
        t = back[t];
        beats.push(t);
    }
    beats.reverse();
    beats
}

/// Seconds by which the flux peak trails the onset it marks. Negative: with centred
/// 29 ms frames the rise shows before the onset itself. Measured as the mean beat error
/// against the kick onsets of the synthetic fixtures (3.4 ms early); a property of the
/// detector, not of the music.
const ONSET_LATENCY: f64 = -0.0034;

/// Full analysis: tempo, beats, downbeats, local tempo and drift. `None` when the
/// signal has no rhythm to speak of (silence, too short).
pub fn analyse(signal: &Signal, opts: &RhythmOptions) -> Option<Rhythm> {
    let f = features(signal);
    analyse_features(&f, opts)
}

/// As [`analyse`], from precomputed features.
pub fn analyse_features(f: &Features, opts: &RhythmOptions) -> Option<Rhythm> {
    let tempo = estimate_tempo(f, opts).filter(|t| t.periodicity >= opts.min_periodicity)?;
    let grid = beat_grid(f, tempo.bpm, opts)?;
    let (first_downbeat, downbeat_confidence) =
        find_downbeat_phase(f, &grid.beats, opts.beats_per_bar);
    Some(Rhythm::assemble(
        tempo,
        grid,
        first_downbeat,
        downbeat_confidence,
        opts.beats_per_bar,
    ))
}

/// Beats of a track: the fitted grid, the beats as tracked, the local tempo and drift.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BeatGrid {
    /// Beat times on the fitted grid (seconds).
    pub beats: Vec<f64>,
    /// Beat times as the tracker found them, before fitting (seconds).
    pub tracked: Vec<f64>,
    /// Global tempo (bpm): 60 over the median grid interval.
    pub bpm: f64,
    /// (time, bpm) at each grid interval's midpoint.
    pub local_tempo: Vec<(f64, f64)>,
    /// Legendre distance (bpm) of the local tempo curve from constant.
    pub drift: f64,
    /// Whether the drift exceeds the threshold.
    pub drifting: bool,
}

impl BeatGrid {
    /// Share of grid beats `k..k + n` that a tracked beat confirms (within 10 % of a
    /// period): evidence that this part of the grid sits on real beats.
    pub fn support(&self, k: usize, n: usize) -> f64 {
        let period = 60.0 / self.bpm;
        let end = (k + n).min(self.beats.len());
        if end <= k {
            return 0.0;
        }
        let hits = self.beats[k..end]
            .iter()
            .filter(|&&b| {
                let i = self.tracked.partition_point(|&t| t < b);
                let near = |j: usize| {
                    self.tracked
                        .get(j)
                        .map(|t| (t - b).abs())
                        .unwrap_or(f64::INFINITY)
                };
                near(i).min(if i > 0 { near(i - 1) } else { f64::INFINITY }) < 0.1 * period
            })
            .count();
        hits as f64 / (end - k) as f64
    }
}

/// Track beats at the tempo `bpm` and fit the beat grid.
pub fn beat_grid(f: &Features, bpm: f64, opts: &RhythmOptions) -> Option<BeatGrid> {
    let period = f.fps * 60.0 / bpm;
    let mut frames = track_beats(f, period);
    if frames.len() < 4 {
        return None;
    }
    if off_beat_evidence(f, &frames) > OFF_BEAT_SHIFT {
        frames = frames.windows(2).map(|w| (w[0] + w[1]) / 2).collect();
    }
    // Sub-frame beat positions: parabolic peak of the onset strength near each beat.
    let o = &f.strength;
    let refined: Vec<f64> = frames
        .iter()
        .map(|&b| {
            let lo = b.saturating_sub(2);
            let hi = (b + 2).min(o.len() - 1);
            let m = (lo..=hi)
                .max_by(|&x, &y| o[x].total_cmp(&o[y]))
                .unwrap_or(b);
            if m == 0 || m + 1 >= o.len() {
                return m as f64;
            }
            let (a, c, e) = (o[m - 1], o[m], o[m + 1]);
            let den = a - 2.0 * c + e;
            let off = if den.abs() > 1e-12 {
                0.5 * (a - e) / den
            } else {
                0.0
            };
            m as f64 + off.clamp(-0.5, 0.5)
        })
        .collect();
    let tracked: Vec<f64> = refined
        .iter()
        .map(|fr| fr / f.fps - ONSET_LATENCY)
        .collect();
    let duration = f.flux.len() as f64 / f.fps;
    let beats: Vec<f64> = fit_grid(&tracked)
        .into_iter()
        .filter(|&t| (0.0..duration).contains(&t))
        .collect();
    if beats.len() < 4 {
        return None;
    }
    let mut ibis: Vec<f64> = beats.windows(2).map(|w| w[1] - w[0]).collect();
    ibis.sort_by(f64::total_cmp);
    let bpm = 60.0 / ibis[ibis.len() / 2];
    let local_tempo: Vec<(f64, f64)> = beats
        .windows(2)
        .map(|w| (0.5 * (w[0] + w[1]), 60.0 / (w[1] - w[0])))
        .collect();
    let drift = drift_of(&local_tempo);
    Some(BeatGrid {
        beats,
        tracked,
        bpm,
        local_tempo,
        drift,
        drifting: drift > opts.drift_threshold,
    })
}

/// Which beat of the bar is "1": (index of the first downbeat, confidence in [0, 1]).
pub fn downbeat_phase(f: &Features, grid: &BeatGrid, beats_per_bar: usize) -> (usize, f64) {
    find_downbeat_phase(f, &grid.beats, beats_per_bar)
}

impl Rhythm {
    /// Put the three analyses together.
    pub fn assemble(
        tempo: TempoEstimate,
        grid: BeatGrid,
        first_downbeat: usize,
        downbeat_confidence: f64,
        beats_per_bar: usize,
    ) -> Rhythm {
        let downbeats = grid
            .beats
            .iter()
            .skip(first_downbeat)
            .step_by(beats_per_bar.max(1))
            .copied()
            .collect();
        Rhythm {
            bpm: grid.bpm,
            runner_up_bpm: tempo.runner_up_bpm,
            confidence: tempo.confidence,
            beats: grid.beats,
            first_downbeat,
            downbeats,
            downbeat_confidence,
            local_tempo: grid.local_tempo,
            drift: grid.drift,
            drifting: grid.drifting,
        }
    }
}

/// A polynomial of degree `degree` in `x` (grid positions scaled to [-1, 1]) fitted to
/// the beat `times`, starting from `init` (the grid's time at each beat) and refitted to
/// the beats within 0.15 of a period of it. Returns the Legendre coefficients and the
/// fitted times at the beats, or `None` when under a third fit.
fn robust_fit(
    x: &[f64],
    times: &[f64],
    degree: usize,
    period: f64,
    init: &[f64],
) -> Option<(Vec<f64>, Vec<f64>)> {
    let n = times.len();
    let mut grid = init.to_vec();
    let mut coef = Vec::new();
    for _ in 0..3 {
        let keep: Vec<usize> = (0..n)
            .filter(|&k| (times[k] - grid[k]).abs() < 0.15 * period)
            .collect();
        if keep.len() < (degree + 1).max(n / 3) {
            return None;
        }
        let xs: Vec<f64> = keep.iter().map(|&k| x[k]).collect();
        let ys: Vec<f64> = keep.iter().map(|&k| times[k]).collect();
        coef = legendre_fit(&xs, &ys, degree)?;
        grid = x.iter().map(|&xk| legendre_eval(&coef, xk)).collect();
    }
    Some((coef, grid))
}

/// Grid position of each tracked beat, counted in periods from the first: each interval
/// adds its nearest whole number of periods. A beat the tracker lost (a 2-period gap)
/// or a stretch tracked half a beat off (one 0.5- or 1.5-period step in, one out) then
/// leaves the positions of the other beats where they belong, and a drifting tempo
/// (every interval near one period) keeps them in order.
fn grid_positions(times: &[f64], period: f64) -> Vec<i64> {
    let mut k = 0i64;
    let mut out = Vec::with_capacity(times.len());
    for (i, &t) in times.iter().enumerate() {
        if i > 0 {
            k += ((t - times[i - 1]) / period).round().max(0.0) as i64;
        }
        out.push(k);
    }
    out
}

/// A smooth beat grid, one beat per grid position from the first tracked beat to the
/// last. Most electronic music keeps one tempo: a straight line through the beats
/// (robust to beats tracked off-phase in a breakdown) gives a grid precise to a fraction
/// of a millisecond. A track whose tempo drifts is followed by a cubic instead, chosen
/// only when it explains clearly more beats than the line.
fn fit_grid(times: &[f64]) -> Vec<f64> {
    let n = times.len();
    if n < 8 {
        return times.to_vec();
    }
    let mut ibis: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    ibis.sort_by(f64::total_cmp);
    let median = ibis[ibis.len() / 2];
    // The straight line that puts the most beats in phase: scan periods within 3 % of the
    // median interval and score each by the number of beats whose phases fall within
    // 0.05 of a period of each other (ties: by how tightly all phases cluster). A count,
    // not a mean: beats tracked off-phase for a while can then neither pull the line nor
    // make a compromise period (slipping from one phase to the other) score best.
    const PHASE_BINS: usize = 100;
    const WINDOW_BINS: usize = 11;
    // Phase in [0, 1): exact, and without fmod's cost (t >= 0).
    let phase_of = |t: f64, p: f64| {
        let v = t / p;
        v - v.floor()
    };
    let phase_count = |p: f64| -> (usize, f64) {
        let mut hist = [0usize; PHASE_BINS];
        for &t in times {
            hist[((phase_of(t, p) * PHASE_BINS as f64) as usize).min(PHASE_BINS - 1)] += 1;
        }
        let mut count: usize = hist[..WINDOW_BINS].iter().sum();
        let (mut best, mut best_start) = (count, 0);
        for start in 1..PHASE_BINS {
            count = count + hist[(start + WINDOW_BINS - 1) % PHASE_BINS] - hist[start - 1];
            if count > best {
                (best, best_start) = (count, start);
            }
        }
        let centre = (best_start as f64 + WINDOW_BINS as f64 / 2.0) / PHASE_BINS as f64;
        (best, centre)
    };
    let resultant = |p: f64| -> f64 {
        let (mut c, mut s) = (0.0, 0.0);
        for &t in times {
            let a = 2.0 * std::f64::consts::PI * phase_of(t, p);
            c += a.cos();
            s += a.sin();
        }
        (c * c + s * s).sqrt() / n as f64
    };
    let steps = 600;
    let scanned: Vec<(f64, (usize, f64))> = (0..=steps)
        .map(|i| median * (0.97 + 0.06 * i as f64 / steps as f64))
        .map(|p| (p, phase_count(p)))
        .collect();
    let most = scanned
        .iter()
        .map(|(_, (c, _))| *c)
        .max()
        .expect("non-empty");
    let (period, (_, centre)) = scanned
        .into_iter()
        .filter(|(_, (c, _))| *c == most)
        .map(|(p, fit)| (p, fit, resultant(p)))
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .map(|(p, fit, _)| (p, fit))
        .expect("non-empty");
    // The phase: circular mean of the beats in the winning window.
    let (mut c, mut s) = (0.0, 0.0);
    for &t in times {
        let d = (phase_of(t, period) - centre + 0.5).rem_euclid(1.0) - 0.5;
        if d.abs() <= 0.5 * WINDOW_BINS as f64 / PHASE_BINS as f64 {
            let a = 2.0 * std::f64::consts::PI * (centre + d);
            c += a.cos();
            s += a.sin();
        }
    }
    let offset =
        s.atan2(c).rem_euclid(2.0 * std::f64::consts::PI) / (2.0 * std::f64::consts::PI) * period;
    let positions = grid_positions(times, period);
    let last = *positions.last().expect("n >= 8");
    if last < 1 {
        return times.to_vec();
    }
    let scale = |k: i64| -1.0 + 2.0 * k as f64 / last as f64;
    let x: Vec<f64> = positions.iter().map(|&k| scale(k)).collect();
    // The line through the phase found above: the whole number of periods between its
    // origin and position 0 is the one most beats agree on.
    let mut shifts: Vec<i64> = times
        .iter()
        .zip(&positions)
        .map(|(&t, &k)| ((t - offset) / period).round() as i64 - k)
        .collect();
    shifts.sort_unstable();
    let shift = mode(&shifts);
    let line0: Vec<f64> = positions
        .iter()
        .map(|&k| offset + (k + shift) as f64 * period)
        .collect();
    let line = robust_fit(&x, times, 1, period, &line0);
    let cubic = line
        .as_ref()
        .and_then(|(_, at_beats)| robust_fit(&x, times, 3, period, at_beats))
        .or_else(|| robust_fit(&x, times, 3, period, times));
    let chosen = match (line, cubic) {
        (Some((lc, l)), Some((cc, c))) => {
            // Beats within a tenth of a period of a grid.
            let near = |g: &[f64]| -> Vec<usize> {
                (0..n)
                    .filter(|&k| (times[k] - g[k]).abs() < 0.1 * period)
                    .collect()
            };
            // Judge both on the beats the line explains: the cubic wins only when it
            // follows them clearly better (a drift), not when it bends towards beats
            // tracked off-phase.
            let on_line = near(&l);
            let rms = |g: &[f64]| {
                (on_line
                    .iter()
                    .map(|&k| (times[k] - g[k]).powi(2))
                    .sum::<f64>()
                    / on_line.len().max(1) as f64)
                    .sqrt()
            };
            let (rl, rc) = (rms(&l), rms(&c));
            // A drift large enough to carry the line off the beats for a good part of
            // the track shows as many more beats near the cubic than near the line.
            let cubic_explains_more = near(&c).len() as f64 > 1.15 * on_line.len() as f64;
            if on_line.len() >= n / 2 && !cubic_explains_more && !(rc < 0.7 * rl && rl - rc > 0.004)
            {
                lc
            } else {
                cc
            }
        }
        (Some((lc, _)), None) => lc,
        (None, Some((cc, _))) => cc,
        (None, None) => return times.to_vec(),
    };
    (0..=last)
        .map(|k| legendre_eval(&chosen, scale(k)))
        .collect()
}

/// The most frequent value of a sorted, non-empty slice (the smallest on a tie).
fn mode(sorted: &[i64]) -> i64 {
    let (mut best, mut best_run) = (sorted[0], 0);
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..].partition_point(|&v| v == sorted[i]) + i;
        if j - i > best_run {
            best = sorted[i];
            best_run = j - i;
        }
        i = j;
    }
    best
}

/// Legendre distance (bpm) of a cubic fit of the local tempo from its mean.
fn drift_of(local: &[(f64, f64)]) -> f64 {
    if local.len() < 8 {
        return 0.0;
    }
    let (t0, t1) = (local[0].0, local[local.len() - 1].0);
    let x: Vec<f64> = local
        .iter()
        .map(|(t, _)| -1.0 + 2.0 * (t - t0) / (t1 - t0).max(1e-9))
        .collect();
    let y: Vec<f64> = local.iter().map(|(_, b)| *b).collect();
    match legendre_fit(&x, &y, 3) {
        Some(c) => legendre_distance(&c, &c[..1]),
        None => 0.0,
    }
}

/// Which beat of the bar is "1": the phase whose beats show the most harmonic change
/// (2-beat chroma before vs after), plus low and broadband onset strength.
fn find_downbeat_phase(f: &Features, beats: &[f64], bpb: usize) -> (usize, f64) {
    let n = beats.len();
    if n < 2 * bpb || bpb < 2 {
        return (0, 0.0);
    }
    let chroma_mean = |t0: f64, t1: f64| -> [f32; 12] {
        let (a, b) = (
            (t0 * f.chroma_fps).round().max(0.0) as usize,
            (t1 * f.chroma_fps).round().max(0.0) as usize,
        );
        let b = b.min(f.chroma.len());
        let mut m = [0.0f32; 12];
        if a >= b {
            return m;
        }
        for c in &f.chroma[a..b] {
            for (x, y) in m.iter_mut().zip(c) {
                *x += y;
            }
        }
        m
    };
    let cos_dist = |a: &[f32; 12], b: &[f32; 12]| -> f64 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        if na == 0.0 || nb == 0.0 {
            0.0
        } else {
            1.0 - (dot / (na * nb)) as f64
        }
    };
    let at = |v: &[f32], t: f64| -> f64 {
        let c = (t * f.fps).round() as isize;
        (c - 2..=c + 2)
            .filter(|&i| i >= 0 && (i as usize) < v.len())
            .map(|i| v[i as usize] as f64)
            .fold(0.0, f64::max)
    };
    let mut novelty = vec![0.0; n];
    let mut low = vec![0.0; n];
    let mut broad = vec![0.0; n];
    for k in 0..n {
        if k >= 2 && k + 2 < n {
            novelty[k] = cos_dist(
                &chroma_mean(beats[k - 2], beats[k]),
                &chroma_mean(beats[k], beats[k + 2]),
            );
        }
        low[k] = at(&f.low, beats[k]);
        broad[k] = at(&f.flux, beats[k]);
    }
    let z = |v: &[f64]| -> Vec<f64> {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        v.iter()
            .map(|x| if sd > 1e-12 { (x - m) / sd } else { 0.0 })
            .collect()
    };
    let (zn, zl, zb) = (z(&novelty), z(&low), z(&broad));
    let mut scores: Vec<(usize, f64)> = (0..bpb)
        .map(|p| {
            let ks: Vec<usize> = (p..n).step_by(bpb).collect();
            let s = ks
                .iter()
                .map(|&k| zn[k] + 0.3 * zl[k] + 0.3 * zb[k])
                .sum::<f64>()
                / ks.len() as f64;
            (p, s)
        })
        .collect();
    scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    let margin = scores[0].1 - scores[1].1;
    (scores[0].0, (1.0 - (-2.0 * margin).exp()).clamp(0.0, 1.0))
}

/// Decode a file, resample it to `rate` and analyse it.
pub fn analyse_file(
    path: &std::path::Path,
    rate: u32,
    opts: &RhythmOptions,
) -> crate::error::Result<Option<Rhythm>> {
    let stream = super::DecodeStream::open(
        path,
        &super::DecodeOptions::default(),
        crate::error::Warnings::new(),
    )?;
    let mut rs = super::ResampleStream::new(Box::new(stream), rate)?;
    let signal = Signal::from_stream(&mut rs)?;
    Ok(analyse(&signal, opts))
}

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

    /// Largest distance (s) from a true beat to the nearest grid beat.
    fn worst_miss(grid: &[f64], truth: &[f64]) -> f64 {
        truth
            .iter()
            .map(|t| {
                grid.iter()
                    .map(|g| (g - t).abs())
                    .fold(f64::INFINITY, f64::min)
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn a_long_stretch_tracked_off_phase_and_a_lost_beat_leave_the_grid_on_the_beats() {
        // machine_wars: 120 bpm throughout, tracked half a beat late for its first 90 s
        // (in through a 1.5-period step, out through a 0.5-period one), and a beat lost
        // later on. The old grid indexed beats by their rank, so every beat after the
        // first step sat one position off and the fit bent through both phases.
        let period = 0.5;
        let truth: Vec<f64> = (0..580).map(|k| 1.0 + k as f64 * period).collect();
        let jitter = |k: usize| 0.004 * ((k as f64 * 1.7).sin());
        let mut tracked: Vec<f64> = truth
            .iter()
            .enumerate()
            .map(|(k, &t)| {
                t + jitter(k)
                    + if (3..180).contains(&k) {
                        0.5 * period
                    } else {
                        0.0
                    }
            })
            .collect();
        tracked.remove(400);
        let grid = fit_grid(&tracked);
        assert_eq!(grid.len(), truth.len() - 1, "one beat per position");
        let miss = worst_miss(&grid, &truth[1..]);
        assert!(miss < 0.01, "a true beat is {miss:.3} s from the grid");
    }
}
