//! Downbeats: which beat of the bar is "1".

use super::{BeatGrid, Features};

/// Which beat of the bar is "1" over the whole grid, as if it were one section: (index
/// of the first downbeat, confidence in [0, 1]). [`bar_phases`] finds it per section.
pub fn downbeat_phase(f: &Features, grid: &BeatGrid, beats_per_bar: usize) -> (usize, f64) {
    find_downbeat_phase(f, &grid.beats, beats_per_bar)
}

/// The bar phase of each section of the grid: (index into `grid.beats` of the
/// section's first downbeat, confidence in [0, 1]). Sections are continuous grids, so
/// the bar runs on across a breakdown and restarts where the music changes grid.
pub fn bar_phases(f: &Features, grid: &BeatGrid, beats_per_bar: usize) -> Vec<(usize, f64)> {
    grid.sections
        .iter()
        .map(|s| {
            let (p, c) = find_downbeat_phase(f, &grid.beats[s.clone()], beats_per_bar);
            (s.start + p, c)
        })
        .collect()
}

/// Which beat of the bar is "1": the phase whose beats show the most harmonic change
/// (2-beat chroma before vs after), plus low and broadband onset strength.
pub(super) fn find_downbeat_phase(f: &Features, beats: &[f64], bpb: usize) -> (usize, f64) {
    let n = beats.len();
    if n < 2 * bpb || bpb < 2 {
        return (0, 0.0);
    }
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
                &chroma_sum(f, beats[k - 2], beats[k]),
                &chroma_sum(f, beats[k], beats[k + 2]),
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
    let score: Vec<f64> = (0..n).map(|k| zn[k] + 0.3 * zl[k] + 0.3 * zb[k]).collect();
    let mut means: Vec<(usize, f64)> = (0..bpb)
        .map(|p| {
            let ks: Vec<usize> = (p..n).step_by(bpb).collect();
            (
                p,
                ks.iter().map(|&k| score[k]).sum::<f64>() / ks.len() as f64,
            )
        })
        .collect();
    means.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (best, second) = (means[0].0, means[1].0);
    (best, phase_confidence(&score, best, second, bpb))
}

/// How sure the bar phase is: a paired t statistic of the best phase's beat scores over
/// the runner-up's, bar by bar, mapped to [0, 1]. The scores are z-scored per section,
/// so a plain margin of means turns noise into apparent structure when nothing marks
/// the bar (identical clicks); the bar-to-bar spread of the difference does not.
/// t below 2 (what the larger of two noise means often reaches) gives 0; t of 8 or
/// more, a phase every bar confirms, gives nearly 1.
pub(super) fn phase_confidence(score: &[f64], best: usize, second: usize, bpb: usize) -> f64 {
    let d: Vec<f64> = (0..score.len() / bpb)
        .filter_map(|bar| {
            let (a, b) = (bar * bpb + best, bar * bpb + second);
            (a < score.len() && b < score.len()).then(|| score[a] - score[b])
        })
        .collect();
    if d.len() < 2 {
        return 0.0;
    }
    let m = d.iter().sum::<f64>() / d.len() as f64;
    let var = d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (d.len() - 1) as f64;
    let t = if var > 1e-18 {
        m / (var / d.len() as f64).sqrt()
    } else if m > 1e-9 {
        f64::INFINITY
    } else {
        0.0
    };
    (1.0 - (-(t - 2.0).max(0.0) / 2.0).exp()).clamp(0.0, 1.0)
}

/// The chroma frames from `t0` to `t1` (seconds) summed: zeros for an empty span.
pub(super) fn chroma_sum(f: &Features, t0: f64, t1: f64) -> [f32; 12] {
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
}

/// Cosine distance of two chroma vectors (0 when either is all zeros).
pub(super) fn cos_dist(a: &[f32; 12], b: &[f32; 12]) -> f64 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        1.0 - (dot / (na * nb)) as f64
    }
}
