//! Grids fitted on stretches of frames, and how far the tracked beats confirm them.

use crate::audio::rhythm::beats::{BeatGrid, fit_piece};
use crate::audio::rhythm::{Features, RhythmOptions};

/// An unexplained stretch of this many grid beats or more sends a track to segmenting.
pub(super) const UNEXPLAINED_BEATS: usize = 16;

/// The frames `a..b` of `f` (and the chroma frames of the same span).
pub(super) fn slice(f: &Features, a: usize, b: usize) -> Features {
    Features {
        fps: f.fps,
        flux: f.flux[a..b].to_vec(),
        low: f.low[a..b].to_vec(),
        chroma_fps: f.chroma_fps,
        chroma: {
            let at = |fr: usize| ((fr as f64 / f.fps * f.chroma_fps) as usize).min(f.chroma.len());
            f.chroma[at(a)..at(b)].to_vec()
        },
        strength: f.strength[a..b].to_vec(),
        kick: f.kick[a..b].to_vec(),
    }
}

/// A grid fitted on frames `a..b`, in the track's time.
pub(super) fn fit_frames(
    f: &Features,
    a: usize,
    b: usize,
    bpm: f64,
    opts: &RhythmOptions,
) -> Option<BeatGrid> {
    if b <= a + (4.0 * f.fps) as usize {
        return None;
    }
    let mut g = fit_piece(&slice(f, a, b), bpm, opts)?;
    let offset = a as f64 / f.fps;
    for t in g.beats.iter_mut().chain(g.tracked.iter_mut()) {
        *t += offset;
    }
    Some(g)
}

/// Whether each grid beat has a tracked beat within a tenth of its period.
pub(super) fn confirmed(beats: &[f64], tracked: &[f64]) -> Vec<bool> {
    (0..beats.len())
        .map(|k| {
            let period = if k + 1 < beats.len() {
                beats[k + 1] - beats[k]
            } else if k > 0 {
                beats[k] - beats[k - 1]
            } else {
                return false;
            };
            let i = tracked.partition_point(|&t| t < beats[k]);
            let near = |j: usize| {
                tracked
                    .get(j)
                    .map_or(f64::INFINITY, |t| (t - beats[k]).abs())
            };
            near(i).min(if i > 0 { near(i - 1) } else { f64::INFINITY }) < 0.1 * period
        })
        .collect()
}

/// The longest run of `false` in `v`: (start, length).
pub(super) fn longest_gap(v: &[bool]) -> (usize, usize) {
    let (mut best, mut start) = ((0, 0), None);
    for (k, &ok) in v.iter().chain([&true]).enumerate() {
        match (ok, start) {
            (false, None) => start = Some(k),
            (true, Some(s)) => {
                if k - s > best.1 {
                    best = (s, k - s);
                }
                start = None;
            }
            _ => {}
        }
    }
    best
}

/// Whether one grid explains the whole track: a smooth grid (not the tracked beats
/// themselves, which the fit hands back when neither a line nor a cubic fits) that the
/// tracked beats confirm nearly everywhere.
pub(super) fn explains(g: &BeatGrid) -> bool {
    if !smooth(g) {
        return false;
    }
    let ok = confirmed(&g.beats, &g.tracked);
    let share = ok.iter().filter(|&&b| b).count() as f64 / ok.len().max(1) as f64;
    longest_gap(&ok).1 < UNEXPLAINED_BEATS && share >= 0.85
}

/// Whether a grid is a fitted curve, not the tracked beats themselves: nine in ten
/// beat intervals within 0.2 % of the one before.
pub(super) fn smooth(g: &BeatGrid) -> bool {
    let ibi: Vec<f64> = g.beats.windows(2).map(|w| w[1] - w[0]).collect();
    let rough = ibi
        .windows(2)
        .filter(|w| (w[1] / w[0] - 1.0).abs() > 0.002)
        .count();
    rough * 10 <= ibi.len()
}

/// One grid piece on its frames.
pub(super) struct Piece {
    pub(super) a: usize,
    pub(super) b: usize,
    pub(super) grid: BeatGrid,
}

/// Share of grid beats confirmed by tracked beats.
pub(super) fn share(g: &BeatGrid) -> f64 {
    let ok = confirmed(&g.beats, &g.tracked);
    ok.iter().filter(|&&b| b).count() as f64 / ok.len().max(1) as f64
}
