//! The global tempo: the autocorrelation of the onset strength, scored with its
//! multiples under a prior on dance tempi.

use serde::{Deserialize, Serialize};

use super::{Features, RhythmOptions};
use crate::engine::conv::autocorrelate;

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

/// Weight of the half period in the tempo score.
const HALF_WEIGHT: f64 = 0.25;

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
    estimate_tempo_near(f, opts, None)
}

/// As [`estimate_tempo`], holding on to `prefer` (the tempo of the music just before):
/// the best tempo within 2.5 % of it wins when it scores at least 0.75 of the best.
/// Short windows of one track otherwise flip between its metrical relatives (x2, x3/2).
pub(super) fn estimate_tempo_near(
    f: &Features,
    opts: &RhythmOptions,
    prefer: Option<f64>,
) -> Option<TempoEstimate> {
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
    let (mut best_bpm, mut best) = grid.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
    if best <= 0.0 {
        return None;
    }
    if let Some(p) = prefer
        && let Some(near) = grid
            .iter()
            .copied()
            .filter(|(b, _)| (b / p).ln().abs() <= 0.025)
            .max_by(|a, b| a.1.total_cmp(&b.1))
        && near.1 >= 0.75 * best
    {
        (best_bpm, best) = near;
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
