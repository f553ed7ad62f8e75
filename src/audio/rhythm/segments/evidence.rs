//! Onset evidence at a beat: what grids are scored by and beatless beats are found by.

use crate::audio::rhythm::Features;

/// The means of the strength and of the kick-band rise over the track, which
/// [`evidence`] divides by.
pub(super) fn evidence_norm(f: &Features) -> (f64, f64) {
    let mean = |sum: f64, n: usize| (sum / n.max(1) as f64).max(1e-12);
    (
        mean(f.strength.iter().sum(), f.strength.len()),
        mean(f.kick.iter().map(|&v| v as f64).sum(), f.kick.len()),
    )
}

/// Onset evidence at time `t`: strength plus kick-band rise, each over its mean.
pub(super) fn evidence(f: &Features, norm: (f64, f64), t: f64) -> f64 {
    let c = (t * f.fps).round() as isize;
    let peak = |v: &dyn Fn(usize) -> f64, len: usize| {
        (c - 2..=c + 2)
            .filter(|&i| i >= 0 && (i as usize) < len)
            .map(|i| v(i as usize))
            .fold(0.0, f64::max)
    };
    peak(&|i| f.strength[i], f.strength.len()) / norm.0
        + peak(&|i| f.kick[i] as f64, f.kick.len()) / norm.1
}

/// How well beats sit on onsets: the sum over beats of the onset evidence at the beat
/// less its mean over the track (a beat between onsets counts against).
pub(super) fn onset_score(f: &Features, beats: &[f64]) -> f64 {
    let norm = evidence_norm(f);
    let n = f.strength.len();
    // The mean evidence at any frame (the same peak-of-five-frames measure).
    let step = 7;
    let baseline = (0..n)
        .step_by(step)
        .map(|i| evidence(f, norm, i as f64 / f.fps))
        .sum::<f64>()
        / n.div_ceil(step).max(1) as f64;
    beats.iter().map(|&t| evidence(f, norm, t) - baseline).sum()
}
