//! The pieces of a track whose tempo or phase changes: runs fitted, beatless and short
//! end pieces dropped, neighbours at one tempo merged, each fitted within its bounds.

use super::beatless::drop_beatless;
use super::boundaries::boundaries;
use super::fit::{Piece, fit_frames, share, slice, smooth};
use super::runs::{fit_run, local_tempi, tempo_runs};
use crate::audio::rhythm::beats::BeatGrid;
use crate::audio::rhythm::tempo::estimate_tempo_near;
use crate::audio::rhythm::{Features, RhythmOptions};

/// Neighbouring pieces within this tempo ratio (log) are one track's: always merged.
/// Up to 1 %, only when one grid explains nearly as many tracked beats
/// ([`MERGE_KEEPS`] of the two grids' share).
const SAME_TEMPO: f64 = 0.004;
const MERGE_KEEPS: f64 = 0.9;

/// Pieces of a track whose tempo or phase changes.
pub(super) fn segment_pieces(f: &Features, opts: &RhythmOptions, global: f64) -> Vec<Piece> {
    let wins = local_tempi(f, opts, global);
    let mut pieces = Vec::new();
    for (a, b, bpm) in tempo_runs(f, &wins) {
        // The run's tempo from all of it, as for a track of its own: more evidence
        // against the metrical relatives (3:4, 1:2) than its windows had one by one.
        let bpm = estimate_tempo_near(&slice(f, a, b), opts, None)
            .filter(|t| t.periodicity >= opts.min_periodicity)
            .map_or(bpm, |t| t.bpm);
        fit_run(f, a, b, bpm, opts, 0, &mut pieces);
    }
    drop_beatless(f, &mut pieces);
    // A piece under 12 s at its own tempo at either end of the track is a fade, an
    // outro's fill or a tracker's slip: its neighbour's grid runs over it. (Inside a mix
    // a short piece can be real: a track brought in just before its breakdown.)
    let min = (12.0 * f.fps) as usize;
    let mut pieces = merge_phase_jumps(f, opts, pieces);
    if pieces.len() > 1 && pieces.last().is_some_and(|p| p.b - p.a < min) {
        pieces.pop();
    }
    if pieces.len() > 1 && pieces.first().is_some_and(|p| p.b - p.a < min) {
        pieces.remove(0);
    }
    let pieces = merge_phase_jumps(f, opts, pieces);
    if pieces.len() > 1 {
        refit_within_bounds(f, opts, pieces)
    } else {
        pieces
    }
}

/// Each piece fitted again on the stretch between its boundaries, where its music is
/// alone: a piece found by its windows can hold a few seconds of its neighbour (a
/// crossfade's highs, the next track past a cut), which pull its line away from its
/// beats at its far end.
fn refit_within_bounds(f: &Features, opts: &RhythmOptions, pieces: Vec<Piece>) -> Vec<Piece> {
    let (_, bounds) = boundaries(f, &pieces);
    let n = f.strength.len();
    let frame = |t: f64| ((t * f.fps).round().max(0.0) as usize).min(n);
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let (a, b) = (frame(bounds[i]), frame(bounds[i + 1].min(n as f64 / f.fps)));
            match fit_frames(f, a, b, p.grid.bpm, opts) {
                Some(grid) if (a, b) != (p.a, p.b) && smooth(&grid) => Piece { a, b, grid },
                _ => p,
            }
        })
        .collect()
}

/// Neighbours at one tempo are one piece of music: a phase jump between them is the
/// tracker losing the beat (in a breakdown, or onto the off-beat), not a change in the
/// music, so they are fitted again as one piece ([`SAME_TEMPO`], [`MERGE_KEEPS`]). Runs
/// of a ramp differ by more ([`TEMPO_STEP`](super::runs::TEMPO_STEP) from their start)
/// and stay apart, to be joined as one section.
fn merge_phase_jumps(f: &Features, opts: &RhythmOptions, pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    for p in pieces {
        let Some(prev) = out.last() else {
            out.push(p);
            continue;
        };
        let apart = (p.grid.bpm / prev.grid.bpm).ln().abs();
        if apart < 0.01 {
            let prev = out.pop().expect("checked");
            let bpm = if prev.grid.beats.len() >= p.grid.beats.len() {
                prev.grid.bpm
            } else {
                p.grid.bpm
            };
            // Beyond a hair's difference in tempo, merged only when one grid explains
            // about as many tracked beats as the two did: two tracks at nearly one tempo
            // (not beat-matched) keep their own grids. (Not on onset strength: a real
            // track's stretch whose loudest onsets fall off the beat would win there.)
            let parts = || {
                let n = |g: &BeatGrid| g.beats.len() as f64;
                (share(&prev.grid) * n(&prev.grid) + share(&p.grid) * n(&p.grid))
                    / (n(&prev.grid) + n(&p.grid)).max(1.0)
            };
            match fit_frames(f, prev.a, p.b, bpm, opts) {
                Some(grid) if apart < SAME_TEMPO || share(&grid) >= MERGE_KEEPS * parts() => out
                    .push(Piece {
                        a: prev.a,
                        b: p.b,
                        grid,
                    }),
                _ => {
                    out.push(prev);
                    out.push(p);
                }
            }
        } else {
            out.push(p);
        }
    }
    out
}
