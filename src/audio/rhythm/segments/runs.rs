//! Runs of one tempo: the local tempo of overlapping windows, grouped, and each run
//! fitted (and split where its grid leaves the tracked beats unexplained).

use super::fit::{Piece, UNEXPLAINED_BEATS, confirmed, fit_frames, longest_gap, share, slice};
use crate::audio::rhythm::tempo::estimate_tempo_near;
use crate::audio::rhythm::{Features, RhythmOptions};

/// Tempo change (relative) that starts a new run of windows.
pub(super) const TEMPO_STEP: f64 = 0.012;
/// Window and hop of the local tempo (seconds).
const WINDOW_SECONDS: f64 = 8.0;
const HOP_SECONDS: f64 = 2.0;

/// Local tempo per window: (first frame, bpm, or `None` where there is no pulse: too
/// little periodicity, or under a fifth of the track's typical onset strength).
pub(super) fn local_tempi(
    f: &Features,
    opts: &RhythmOptions,
    global: f64,
) -> Vec<(usize, Option<f64>)> {
    let n = f.strength.len();
    let win = (WINDOW_SECONDS * f.fps) as usize;
    let hop = (HOP_SECONDS * f.fps) as usize;
    if n < win {
        return Vec::new();
    }
    let starts: Vec<usize> = (0..=(n - win) / hop).map(|w| w * hop).collect();
    let mean: Vec<f64> = starts
        .iter()
        .map(|&a| f.strength[a..a + win].iter().sum::<f64>() / win as f64)
        .collect();
    let mut sorted = mean.clone();
    sorted.sort_by(f64::total_cmp);
    let typical = sorted[sorted.len() / 2];
    let mut prefer = global;
    starts
        .iter()
        .zip(&mean)
        .map(|(&a, &m)| {
            let t = (m >= 0.2 * typical)
                .then(|| estimate_tempo_near(&slice(f, a, a + win), opts, Some(prefer)))
                .flatten()
                .filter(|t| t.periodicity >= opts.min_periodicity)
                .map(|t| t.bpm);
            if let Some(t) = t {
                prefer = t;
            }
            (a, t)
        })
        .collect()
}

/// Runs of windows of one tempo: (first frame, end frame, median bpm).
pub(super) fn tempo_runs(f: &Features, wins: &[(usize, Option<f64>)]) -> Vec<(usize, usize, f64)> {
    let hop = (HOP_SECONDS * f.fps) as usize;
    let win = (WINDOW_SECONDS * f.fps) as usize;
    let n = f.strength.len();
    // Each window stands for the hop around its centre.
    let centre = |a: usize| a + win / 2;
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // Smooth each tempo with its neighbours (a median of three).
    let bpm: Vec<Option<f64>> = (0..wins.len())
        .map(|i| {
            let mut v: Vec<f64> = wins[i.saturating_sub(1)..(i + 2).min(wins.len())]
                .iter()
                .filter_map(|w| w.1)
                .collect();
            wins[i].1.and((!v.is_empty()).then(|| median(&mut v)))
        })
        .collect();
    let mut runs: Vec<(usize, usize, Vec<f64>)> = Vec::new();
    for (i, &(a, t)) in wins.iter().enumerate() {
        let Some(t) = bpm[i].or(t) else { continue };
        let lo = if i == 0 { 0 } else { centre(a) - hop / 2 };
        let hi = if i + 1 == wins.len() {
            n
        } else {
            centre(a) + hop / 2
        };
        match runs.last_mut() {
            Some((_, end, v))
                if {
                    let mut head: Vec<f64> = v.iter().take(3).copied().collect();
                    (t / median(&mut head)).ln().abs() <= TEMPO_STEP
                } =>
            {
                *end = hi;
                v.push(t);
            }
            _ => runs.push((lo, hi, vec![t])),
        }
    }
    runs.into_iter()
        .map(|(a, b, mut v)| (a, b, median(&mut v)))
        .collect()
}

/// Fit a run, splitting it where its grid leaves a long stretch unexplained.
pub(super) fn fit_run(
    f: &Features,
    a: usize,
    b: usize,
    bpm: f64,
    opts: &RhythmOptions,
    depth: usize,
    out: &mut Vec<Piece>,
) {
    let Some(grid) = fit_frames(f, a, b, bpm, opts) else {
        return;
    };
    let ok = confirmed(&grid.beats, &grid.tracked);
    let (gap, len) = longest_gap(&ok);
    if depth < 3 && len >= UNEXPLAINED_BEATS {
        let frame =
            |k: usize| ((grid.beats[k.min(grid.beats.len() - 1)] * f.fps) as usize).clamp(a, b);
        let (s, e) = (frame(gap), frame(gap + len));
        let min = (8.0 * f.fps) as usize;
        // The unexplained stretch and what is left on either side, each fitted again.
        let mut cuts = vec![a];
        if s >= a + min {
            cuts.push(s);
        }
        if e + min <= b && e > *cuts.last().expect("non-empty") + min {
            cuts.push(e);
        }
        cuts.push(b);
        if cuts.len() > 2 {
            for w in cuts.windows(2) {
                let local = estimate_tempo_near(&slice(f, w[0], w[1]), opts, Some(bpm))
                    .map_or(bpm, |t| t.bpm);
                let local = if (local / bpm).ln().abs() < 0.1 {
                    local
                } else {
                    bpm
                };
                // A part its own grid does not explain either is messy music (a
                // breakdown tracked loosely), not a change: the run's grid goes on there.
                match fit_frames(f, w[0], w[1], local, opts) {
                    Some(part) if share(&part) >= 0.7 => {
                        fit_run(f, w[0], w[1], local, opts, depth + 1, out)
                    }
                    _ => out.push(Piece {
                        a: w[0],
                        b: w[1],
                        grid: grid.clone(),
                    }),
                }
            }
            return;
        }
    }
    out.push(Piece { a, b, grid });
}
