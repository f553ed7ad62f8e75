//! Beats: Ellis's dynamic-programming tracker, the off-beat correction, and the smooth
//! grid fitted through the tracked beats (local tempo and drift).

use serde::{Deserialize, Serialize};

use super::downbeats::{chroma_sum, cos_dist};
use super::{Features, RhythmOptions};
use crate::audio::round6;
use crate::engine::legendre::{legendre_distance, legendre_eval, legendre_fit};

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

/// The kick-band evidence between these bounds leaves the off-beat question open:
/// measured on real techno whose beats agree with essentia's, -3.8 to +0.2; on synthetic
/// tracks whose off-beat bass is louder than the kick and falls in its band, 0.6-0.9
/// either way round.
const KICK_UNSURE: (f64, f64) = (0.3, 1.2);

/// Harmonic evidence that the tracked beats sit on the off-beat: the log ratio of the
/// clearest bar-line harmonic change (chroma before against after, one beat either side,
/// at every 4th point, the best of the four phases) at the midpoints between beats to
/// that at the beats. `None` without chroma (or too few beats).
fn harmonic_off_beat_evidence(f: &Features, frames: &[usize]) -> Option<f64> {
    if f.chroma.is_empty() || frames.len() < 16 {
        return None;
    }
    let change = |t: f64, period: f64| -> f64 {
        cos_dist(&chroma_sum(f, t - period, t), &chroma_sum(f, t, t + period))
    };
    let times: Vec<f64> = frames.iter().map(|&fr| fr as f64 / f.fps).collect();
    let best_phase = |points: &[f64]| -> f64 {
        (0..4)
            .map(|p| {
                let v: Vec<f64> = points
                    .windows(2)
                    .skip(p)
                    .step_by(4)
                    .map(|w| change(w[0], w[1] - w[0]))
                    .collect();
                v.iter().sum::<f64>() / v.len().max(1) as f64
            })
            .fold(0.0, f64::max)
    };
    let mids: Vec<f64> = times.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
    let (on, off) = (best_phase(&times), best_phase(&mids));
    (on > 0.0 && off > 0.0).then(|| (off / on).ln())
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
    /// Stretches of steady tempo, drift or no beat, in time order; they tile the
    /// analysed span (see [`GridSegment`]).
    #[serde(default)]
    pub segments: Vec<GridSegment>,
    /// Runs of `beats` on one continuous grid (the bar phase is found per section); a
    /// section holds one or more segments.
    #[serde(default)]
    pub sections: Vec<std::ops::Range<usize>>,
}

/// What a stretch of a track is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentStatus {
    /// A steady tempo (the grid is a line or nearly so).
    Steady,
    /// The tempo moves (a ramp or a drift): the grid follows the beats.
    Drifting,
    /// No pulse (a breakdown, an intro or outro without drums): the section's grid runs
    /// on through it, but no bars are cut from it.
    Beatless,
}

impl SegmentStatus {
    /// Its name in the reports: `steady`, `drifting` or `beatless`.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentStatus::Steady => "steady",
            SegmentStatus::Drifting => "drifting",
            SegmentStatus::Beatless => "beatless",
        }
    }
}

/// One stretch of a track's beat grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridSegment {
    /// Start (seconds).
    pub start: f64,
    /// End (seconds).
    pub end: f64,
    /// Its beats: indices into [`BeatGrid::beats`].
    pub beats: std::ops::Range<usize>,
    /// Tempo (bpm): 60 over the median beat interval.
    pub bpm: f64,
    /// Legendre distance (bpm) of its local tempo from constant.
    pub drift: f64,
    /// What it is.
    pub status: SegmentStatus,
    /// Its section (index into [`BeatGrid::sections`]).
    pub section: usize,
}

/// A segment as reports give it (`tempo --json`, `report.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentSummary {
    /// Start (seconds).
    pub start: f64,
    /// End (seconds).
    pub end: f64,
    /// Tempo (bpm).
    pub bpm: f64,
    /// Legendre distance (bpm) of its local tempo from constant.
    pub drift: f64,
    /// `steady`, `drifting` or `beatless`.
    pub status: SegmentStatus,
    /// Confidence (0 to 1) in the bar phase of the section the segment lies in: how
    /// clearly one beat of the bar stands out as "1" (0 when beatless or unknown).
    #[serde(default)]
    pub downbeat_confidence: f64,
}

impl SegmentSummary {
    /// The summary of `s`, with its section's bar-phase confidence from
    /// `phase_confidence` (one per section; see [`bar_phases`](super::bar_phases)).
    pub fn of(s: &GridSegment, phase_confidence: &[f64]) -> SegmentSummary {
        let mut out = SegmentSummary::from(s);
        if s.status != SegmentStatus::Beatless {
            out.downbeat_confidence =
                round6(phase_confidence.get(s.section).copied().unwrap_or(0.0));
        }
        out
    }
}

impl From<&GridSegment> for SegmentSummary {
    fn from(s: &GridSegment) -> Self {
        // Six decimals: microseconds and micro-bpm, as the other reports.
        SegmentSummary {
            start: round6(s.start),
            end: round6(s.end),
            bpm: round6(s.bpm),
            drift: round6(s.drift),
            status: s.status,
            downbeat_confidence: 0.0,
        }
    }
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

/// Track beats at the tempo `bpm` and fit one grid (a line or a cubic) through them:
/// the whole track as one piece. [`beat_grid`](super::beat_grid) splits a track into
/// segments where one grid does not fit.
pub(super) fn fit_piece(f: &Features, bpm: f64, opts: &RhythmOptions) -> Option<BeatGrid> {
    let period = f.fps * 60.0 / bpm;
    let mut frames = track_beats(f, period);
    if frames.len() < 4 {
        return None;
    }
    let kick = off_beat_evidence(f, &frames);
    // Where the kick band cannot tell (a loud off-beat bass in its band), the harmony
    // decides: chords and bass notes change on the bar line, which is on a beat.
    let shift = if (KICK_UNSURE.0..KICK_UNSURE.1).contains(&kick) {
        harmonic_off_beat_evidence(f, &frames).map_or(kick > OFF_BEAT_SHIFT, |h| h > 0.0)
    } else {
        kick > OFF_BEAT_SHIFT
    };
    if shift {
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
    let bpm = median_bpm(&beats);
    let local_tempo = local_tempo(&beats);
    let drift = drift_of(&local_tempo);
    Some(BeatGrid {
        beats,
        tracked,
        bpm,
        local_tempo,
        drift,
        drifting: drift > opts.drift_threshold,
        segments: Vec::new(),
        sections: Vec::new(),
    })
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

/// (time, bpm) at each beat interval's midpoint.
pub(super) fn local_tempo(beats: &[f64]) -> Vec<(f64, f64)> {
    beats
        .windows(2)
        .map(|w| (0.5 * (w[0] + w[1]), 60.0 / (w[1] - w[0])))
        .collect()
}

/// 60 over the median beat interval (0 with fewer than two beats).
pub(super) fn median_bpm(beats: &[f64]) -> f64 {
    let mut d: Vec<f64> = beats.windows(2).map(|w| w[1] - w[0]).collect();
    if d.is_empty() {
        return 0.0;
    }
    d.sort_by(f64::total_cmp);
    60.0 / d[d.len() / 2]
}

/// A track's local tempo as a curve: the cubic least-squares fit that the drift check
/// measures, in the Legendre basis. `t` in [-1, 1] maps `domain` (seconds, from the
/// first beat interval's midpoint to the last one's); the coefficients are in bpm.
/// Its [`embedding`](crate::engine::legendre::legendre_embedding) puts tracks whose
/// tempo moves alike close together (`eigentechno curves RUN_DIR`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TempoCurve {
    /// The span fitted (seconds).
    pub domain: [f64; 2],
    /// Legendre coefficients (bpm), ascending: `c_0` is the mean tempo over the span.
    pub coefficients: Vec<f64>,
}

/// The cubic fit of a local tempo curve ((time, bpm) at each beat interval's midpoint, as
/// [`BeatGrid::local_tempo`]); `None` under 8 intervals.
pub fn tempo_curve(local: &[(f64, f64)]) -> Option<TempoCurve> {
    if local.len() < 8 {
        return None;
    }
    let (t0, t1) = (local[0].0, local[local.len() - 1].0);
    let x: Vec<f64> = local
        .iter()
        .map(|(t, _)| -1.0 + 2.0 * (t - t0) / (t1 - t0).max(1e-9))
        .collect();
    let y: Vec<f64> = local.iter().map(|(_, b)| *b).collect();
    legendre_fit(&x, &y, 3).map(|coefficients| TempoCurve {
        domain: [t0, t1],
        coefficients,
    })
}

/// Legendre distance (bpm) of a cubic fit of the local tempo from its mean.
pub(super) fn drift_of(local: &[(f64, f64)]) -> f64 {
    tempo_curve(local).map_or(0.0, |c| {
        legendre_distance(&c.coefficients, &c.coefficients[..1])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_status_names_are_the_json_names() {
        for s in [
            SegmentStatus::Steady,
            SegmentStatus::Drifting,
            SegmentStatus::Beatless,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
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
