//! Beatless stretches: beats that carry almost no onset evidence.

use super::evidence::{evidence, evidence_norm};
use super::fit::Piece;
use crate::audio::rhythm::beats::{
    BeatGrid, GridSegment, SegmentStatus, drift_of, local_tempo, median_bpm,
};
use crate::audio::rhythm::{Features, RhythmOptions};

/// Beatless: a beat's onset strength below this share of the track's median, for
/// [`BEATLESS_BEATS`] beats in a row or more.
const BEATLESS_SHARE: f64 = 0.15;
const BEATLESS_BEATS: usize = 16;

/// Drop pieces that are mostly beatless (a breakdown whose pads the windows found a
/// tempo in): the grids of the music on either side run over them, as through any
/// breakdown, rather than a grid fitted to the tracker's wandering there.
pub(super) fn drop_beatless(f: &Features, pieces: &mut Vec<Piece>) {
    let norm = evidence_norm(f);
    let e: Vec<Vec<f64>> = pieces
        .iter()
        .map(|p| p.grid.beats.iter().map(|&t| evidence(f, norm, t)).collect())
        .collect();
    let Some(floor) = quiet_floor(e.iter().flatten().copied().collect()) else {
        return;
    };
    let beatless: Vec<bool> = e
        .iter()
        .map(|v| 2 * quiet_beats(v, floor).iter().filter(|&&q| q).count() > v.len())
        .collect();
    if beatless.iter().all(|&b| b) {
        return;
    }
    let mut keep = beatless.iter().map(|&b| !b);
    pieces.retain(|_| keep.next().expect("one flag per piece"));
}

/// The onset evidence under which a beat is quiet: [`BEATLESS_SHARE`] of the median of
/// the beats' evidence `e` (`None` without beats).
fn quiet_floor(mut e: Vec<f64>) -> Option<f64> {
    e.sort_by(f64::total_cmp);
    e.get(e.len() / 2).map(|m| BEATLESS_SHARE * m)
}

/// Whether each beat of `e` (onset evidence, beat by beat) is quiet: the most of it and
/// its neighbours (a bar, two beats either side) is under `floor`.
fn quiet_beats(e: &[f64], floor: f64) -> Vec<bool> {
    (0..e.len())
        .map(|k| {
            e[k.saturating_sub(2)..(k + 3).min(e.len())]
                .iter()
                .fold(0.0f64, |m, &v| m.max(v))
                < floor
        })
        .collect()
}

/// Split segments at beatless stretches and set each one's status.
pub(super) fn mark_beatless(f: &Features, g: &mut BeatGrid, opts: &RhythmOptions) {
    let norm = evidence_norm(f);
    let e: Vec<f64> = g.beats.iter().map(|&t| evidence(f, norm, t)).collect();
    // Against the whole track's typical beat: a section can be all breakdown.
    let floor = quiet_floor(e.clone()).unwrap_or(0.0);
    let mut out = Vec::new();
    for seg in std::mem::take(&mut g.segments) {
        let range = seg.beats.clone();
        let quiet = quiet_beats(&e[range.clone()], floor);
        // Runs of quiet beats long enough to be beatless.
        let mut runs = Vec::new();
        let mut k = 0;
        while k < quiet.len() {
            if quiet[k] {
                let s = k;
                while k < quiet.len() && quiet[k] {
                    k += 1;
                }
                if k - s >= BEATLESS_BEATS {
                    runs.push((range.start + s, range.start + k));
                }
            } else {
                k += 1;
            }
        }
        let mut from = range.start;
        let mut start = seg.start;
        let piece = |a: usize, b: usize, start: f64, end: f64, status: Option<SegmentStatus>| {
            let beats = &g.beats[a..b];
            let drift = drift_of(&local_tempo(beats));
            GridSegment {
                start,
                end,
                beats: a..b,
                bpm: if beats.len() >= 2 {
                    median_bpm(beats)
                } else {
                    seg.bpm
                },
                drift,
                status: status.unwrap_or(if drift > opts.drift_threshold {
                    SegmentStatus::Drifting
                } else {
                    SegmentStatus::Steady
                }),
                section: seg.section,
            }
        };
        for (a, b) in runs {
            if a > from {
                out.push(piece(from, a, start, g.beats[a], None));
            }
            let end = g.beats.get(b).copied().unwrap_or(seg.end);
            out.push(piece(
                a,
                b,
                g.beats[a].max(start),
                end,
                Some(SegmentStatus::Beatless),
            ));
            from = b;
            start = end;
        }
        if from < range.end {
            out.push(piece(from, range.end, start, seg.end, None));
        }
    }
    g.segments = out;
}
