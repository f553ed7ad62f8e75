//! Segments: stretches of one steady (or smoothly moving) beat grid, for music whose
//! tempo or phase changes (DJ mixes, live sets, edits) and whose pulse stops and starts.
//!
//! 1. One grid for the whole track, as for any steady track. When its beats are
//!    confirmed by the tracked onsets everywhere, that grid stands: a steady track costs
//!    nothing more and gives the same beats as before segments existed.
//! 2. Otherwise: the local tempo of 8-s windows (the global estimator on each window),
//!    grouped into runs of one tempo; a run changes where the tempo jumps by more than
//!    [`TEMPO_STEP`](runs::TEMPO_STEP) from the run's start (a ramp becomes a few runs,
//!    rejoined below).
//! 3. Each run gets its own grid; where a run's grid leaves a long stretch of tracked
//!    beats unexplained (a phase change at one tempo), the run is split there and both
//!    parts are fitted again. A piece that is mostly beatless is dropped (its
//!    neighbours' grids run over it), and neighbours at one tempo are fitted again as
//!    one when one grid explains them.
//! 4. The boundary between neighbouring grids moves to where the onsets change from
//!    one grid to the other (the most onset strength on either side); each piece is
//!    fitted again between its boundaries, and the boundaries found again. Grids that
//!    continue each other (a ramp cut into runs, one track's tempo estimated twice)
//!    join into one section.
//! 5. Beatless stretches: at least four bars whose beats carry almost no onset strength.
//!    The section's grid runs on through them (the music comes back on it), no bars are
//!    cut from them, and they are segments of their own.

mod beatless;
mod boundaries;
mod evidence;
mod fit;
mod join;
mod pieces;
mod runs;

use super::beats::{BeatGrid, GridSegment, SegmentStatus, fit_piece};
use super::{Features, RhythmOptions};
use beatless::mark_beatless;
use evidence::onset_score;
use fit::{explains, share, smooth};
use join::join;
use pieces::segment_pieces;

/// The whole track as segments: one grid if it explains the track, else pieces.
pub fn beat_grid(f: &Features, bpm: f64, opts: &RhythmOptions) -> Option<BeatGrid> {
    let whole = fit_piece(f, bpm, opts);
    let pieces = match &whole {
        Some(g) if explains(g) => None,
        _ => Some(segment_pieces(f, opts, bpm)),
    };
    let duration = f.strength.len() as f64 / f.fps;
    let mut chosen = match pieces {
        None => one_section(whole?, duration),
        // One piece after all: the whole-track fit, as for a steady track.
        Some(pieces) if pieces.len() <= 1 => one_section(
            whole.or(pieces.into_iter().next().map(|p| p.grid))?,
            duration,
        ),
        Some(pieces) => {
            let joined = join(f, pieces);
            // Keep the whole-track grid when the segments are no clear gain: one
            // continuous grid after all that explains no more tracked beats, or a smooth
            // whole-track grid whose beats sit on onsets nearly as well (real tracks
            // whose tracker lost the beat for a while, not music that changed)
            // (Tracked beats that no curve fits score high on onsets by construction:
            // against them the segments must not fall far behind.)
            let keep_whole = |w: &BeatGrid| {
                let (sw, sj) = (onset_score(f, &w.beats), onset_score(f, &joined.beats));
                (joined.sections.len() == 1 && share(w) + 0.02 >= share(&joined))
                    || if smooth(w) {
                        sw >= 0.97 * sj
                    } else {
                        sj < 0.7 * sw
                    }
            };
            match whole {
                Some(w) if keep_whole(&w) => one_section(w, duration),
                _ => joined,
            }
        }
    };
    if chosen.beats.len() < 4 {
        return None;
    }
    mark_beatless(f, &mut chosen, opts);
    if chosen.sections.len() > 1 {
        // The track's tempo: its longest stretch with a pulse, steady if there is one.
        let longest = |steady: bool| {
            chosen
                .segments
                .iter()
                .filter(|s| s.status != SegmentStatus::Beatless)
                .filter(|s| !steady || s.status == SegmentStatus::Steady)
                .max_by(|a, b| (a.end - a.start).total_cmp(&(b.end - b.start)))
                .map(|s| (s.bpm, s.drift))
        };
        if let Some((bpm, drift)) = longest(true).or(longest(false)) {
            chosen.bpm = bpm;
            chosen.drift = drift;
            chosen.drifting = drift > opts.drift_threshold;
        }
    }
    Some(chosen)
}

/// A single grid as one section of one segment, spanning the track.
fn one_section(mut g: BeatGrid, duration: f64) -> BeatGrid {
    let n = g.beats.len();
    g.segments = vec![GridSegment {
        start: 0.0,
        end: duration,
        beats: 0..n,
        bpm: g.bpm,
        drift: g.drift,
        status: if g.drifting {
            SegmentStatus::Drifting
        } else {
            SegmentStatus::Steady
        },
        section: 0,
    }];
    g.sections = std::iter::once(0..n).collect();
    g
}
