//! Fitted pieces joined into one grid: its beats, sections and segments.

use super::boundaries::boundaries;
use super::fit::Piece;
use crate::audio::rhythm::Features;
use crate::audio::rhythm::beats::{
    BeatGrid, GridSegment, SegmentStatus, drift_of, local_tempo, median_bpm,
};

/// Join fitted pieces: boundaries where the onsets change grid, continuous grids into
/// sections, and the beats, local tempo and segments of the whole.
pub(super) fn join(f: &Features, pieces: Vec<Piece>) -> BeatGrid {
    let duration = f.strength.len() as f64 / f.fps;
    let (grids, bounds) = boundaries(f, &pieces);
    // Beats, piece by piece, within its bounds.
    let mut beats = Vec::new();
    let mut tracked = Vec::new();
    let mut spans = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        let (lo, hi) = (bounds[i], bounds[i + 1]);
        let start = beats.len();
        beats.extend(
            grids[i]
                .iter()
                .copied()
                .filter(|&t| t >= lo && t < hi && t < duration),
        );
        tracked.extend(
            p.grid
                .tracked
                .iter()
                .copied()
                .filter(|&t| t >= lo - 0.05 && t < hi - 0.05),
        );
        spans.push(start..beats.len());
    }
    tracked.sort_by(f64::total_cmp);
    tracked.dedup();
    // Sections: a piece continues the previous one when the earlier grid's next beat
    // falls on the later grid's first (a tenth of a period) at nearly the same tempo.
    let mut section_of = vec![0usize; pieces.len()];
    for i in 1..pieces.len() {
        let (prev, here) = (&spans[i - 1], &spans[i]);
        let continues = prev.len() >= 2 && here.len() >= 2 && {
            let p0 = beats[prev.end - 1] - beats[prev.end - 2];
            let p1 = beats[here.start + 1] - beats[here.start];
            let next = beats[prev.end - 1] + p0;
            (p1 / p0).ln().abs() < 0.03 && (beats[here.start] - next).abs() < 0.1 * p0.min(p1)
        };
        section_of[i] =
            section_of[i - 1] + usize::from(!continues || prev.is_empty() || here.is_empty());
    }
    let mut sections: Vec<std::ops::Range<usize>> = Vec::new();
    let mut segments = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        if span.is_empty() {
            continue;
        }
        match sections.get_mut(section_of[i]) {
            Some(s) => s.end = span.end,
            None => sections.push(span.clone()),
        }
        let section = sections.len() - 1;
        // Neighbouring pieces of one section (a ramp cut into runs) are one segment.
        let same = segments
            .last()
            .is_some_and(|s: &GridSegment| s.section == section);
        if same {
            let s = segments.last_mut().expect("checked");
            s.beats.end = span.end;
            s.end = bounds[i + 1].min(duration);
        } else {
            segments.push(GridSegment {
                start: bounds[i].max(0.0),
                end: bounds[i + 1].min(duration),
                beats: span.clone(),
                // Tempo and drift below, once the segment has all its beats.
                bpm: 0.0,
                drift: 0.0,
                status: SegmentStatus::Steady,
                section,
            });
        }
    }
    for s in &mut segments {
        let local = local_tempo(&beats[s.beats.clone()]);
        s.bpm = median_bpm(&beats[s.beats.clone()]);
        s.drift = drift_of(&local);
    }
    let local_tempo = local_tempo(&beats);
    let longest = segments
        .iter()
        .max_by(|a, b| (a.end - a.start).total_cmp(&(b.end - b.start)))
        .cloned();
    let (bpm, drift) = longest.map_or((median_bpm(&beats), 0.0), |s| (s.bpm, s.drift));
    BeatGrid {
        beats,
        tracked,
        bpm,
        local_tempo,
        drift,
        drifting: false,
        segments,
        sections,
    }
}
