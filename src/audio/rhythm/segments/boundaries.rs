//! Where the onsets change from one piece's grid to the next one's.

use super::evidence::{evidence, evidence_norm};
use super::fit::Piece;
use crate::audio::rhythm::Features;
use crate::audio::rhythm::beats::BeatGrid;

/// Beats of `g` extended by whole periods to cover `lo..hi` (seconds) at both ends.
fn extended(g: &BeatGrid, lo: f64, hi: f64) -> Vec<f64> {
    let b = &g.beats;
    let mut out = Vec::new();
    if b.len() >= 2 {
        let p0 = b[1] - b[0];
        let mut t = b[0] - p0;
        while t >= lo {
            out.push(t);
            t -= p0;
        }
        out.reverse();
    }
    out.extend(b.iter().copied());
    if b.len() >= 2 {
        let p1 = b[b.len() - 1] - b[b.len() - 2];
        let mut t = b[b.len() - 1] + p1;
        while t < hi {
            out.push(t);
            t += p1;
        }
    }
    out
}

/// Where the onsets change from each piece's grid to the next one's: each piece's grid
/// extended over its neighbourhood, and the boundaries (the first at 0, the last at
/// infinity).
pub(super) fn boundaries(f: &Features, pieces: &[Piece]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let norm = evidence_norm(f);
    let duration = f.strength.len() as f64 / f.fps;
    // Each piece's grid over its frames and 8 s either side, to find the boundary.
    // (Across a gap without pulse, up to the neighbour's start.)
    let grids: Vec<Vec<f64>> = (0..pieces.len())
        .map(|i| {
            let lo = if i == 0 {
                0
            } else {
                pieces[i - 1].b.min(pieces[i].a)
            };
            let hi = pieces
                .get(i + 1)
                .map_or(f.strength.len(), |q| q.a.max(pieces[i].b));
            extended(
                &pieces[i].grid,
                lo as f64 / f.fps - 8.0,
                hi as f64 / f.fps + 8.0,
            )
        })
        .collect();
    let mut bounds = vec![0.0];
    for i in 1..pieces.len() {
        let (g0, g1) = (&grids[i - 1], &grids[i]);
        // From 8 s before the earlier piece ends (across any gap without pulse between
        // them: a track brought in just before its breakdown) to 8 s into the later one.
        let junction = pieces[i].a as f64 / f.fps;
        let end_before = pieces[i - 1].b.min(pieces[i].a) as f64 / f.fps;
        let (lo, hi) = (
            (end_before - 8.0).max(*bounds.last().expect("non-empty")),
            (junction + 8.0).min(duration),
        );
        // The cut: before it the earlier grid's beats, from it the later one's; the most
        // evidence wins. Candidates: the later grid's beats (a cut lands on its beat).
        let left: Vec<f64> = g0.iter().copied().filter(|&t| t >= lo && t < hi).collect();
        let right: Vec<f64> = g1.iter().copied().filter(|&t| t >= lo && t < hi).collect();
        let e = |t: f64| evidence(f, norm, t);
        let mut best = (f64::NEG_INFINITY, junction);
        for &c in right.iter().chain(std::iter::once(&hi)) {
            let s: f64 = left.iter().filter(|&&t| t < c).map(|&t| e(t)).sum::<f64>()
                + right
                    .iter()
                    .filter(|&&t| t >= c)
                    .map(|&t| e(t))
                    .sum::<f64>();
            if s > best.0 {
                best = (s, c);
            }
        }
        bounds.push(best.1);
    }
    bounds.push(f64::INFINITY);
    (grids, bounds)
}
