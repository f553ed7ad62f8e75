//! Segments: stretches of one steady (or smoothly moving) beat grid, for music whose
//! tempo or phase changes (DJ mixes, live sets, edits) and whose pulse stops and starts.
//!
//! 1. One grid for the whole track, as for any steady track. When its beats are
//!    confirmed by the tracked onsets everywhere, that grid stands: a steady track costs
//!    nothing more and gives the same beats as before segments existed.
//! 2. Otherwise: the local tempo of 8-s windows (the global estimator on each window),
//!    grouped into runs of one tempo; a run changes where the tempo jumps by more than
//!    [`TEMPO_STEP`] from the run's start (a ramp becomes a few runs, rejoined below).
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

use super::beats::{
    BeatGrid, GridSegment, SegmentStatus, drift_of, fit_piece, local_tempo, median_bpm,
};
use super::tempo::estimate_tempo_near;
use super::{Features, RhythmOptions};

/// Tempo change (relative) that starts a new run of windows.
const TEMPO_STEP: f64 = 0.012;
/// Window and hop of the local tempo (seconds).
const WINDOW_SECONDS: f64 = 8.0;
const HOP_SECONDS: f64 = 2.0;
/// An unexplained stretch of this many grid beats or more sends a track to segmenting.
const UNEXPLAINED_BEATS: usize = 16;
/// Beatless: a beat's onset strength below this share of the track's median, for
/// [`BEATLESS_BEATS`] beats in a row or more.
const BEATLESS_SHARE: f64 = 0.15;
const BEATLESS_BEATS: usize = 16;
/// Neighbouring pieces within this tempo ratio (log) are one track's: always merged.
/// Up to 1 %, only when one grid explains nearly as many tracked beats
/// ([`MERGE_KEEPS`] of the two grids' share).
const SAME_TEMPO: f64 = 0.004;
const MERGE_KEEPS: f64 = 0.9;

/// The frames `a..b` of `f` (and the chroma frames of the same span).
fn slice(f: &Features, a: usize, b: usize) -> Features {
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
fn fit_frames(
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
fn confirmed(beats: &[f64], tracked: &[f64]) -> Vec<bool> {
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
fn longest_gap(v: &[bool]) -> (usize, usize) {
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
fn explains(g: &BeatGrid) -> bool {
    if !smooth(g) {
        return false;
    }
    let ok = confirmed(&g.beats, &g.tracked);
    let share = ok.iter().filter(|&&b| b).count() as f64 / ok.len().max(1) as f64;
    longest_gap(&ok).1 < UNEXPLAINED_BEATS && share >= 0.85
}

/// Whether a grid is a fitted curve, not the tracked beats themselves: nine in ten
/// beat intervals within 0.2 % of the one before.
fn smooth(g: &BeatGrid) -> bool {
    let ibi: Vec<f64> = g.beats.windows(2).map(|w| w[1] - w[0]).collect();
    let rough = ibi
        .windows(2)
        .filter(|w| (w[1] / w[0] - 1.0).abs() > 0.002)
        .count();
    rough * 10 <= ibi.len()
}

/// One grid piece on its frames.
struct Piece {
    a: usize,
    b: usize,
    grid: BeatGrid,
}

/// Local tempo per window: (first frame, bpm, or `None` where there is no pulse: too
/// little periodicity, or under a fifth of the track's typical onset strength).
fn local_tempi(f: &Features, opts: &RhythmOptions, global: f64) -> Vec<(usize, Option<f64>)> {
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
fn tempo_runs(f: &Features, wins: &[(usize, Option<f64>)]) -> Vec<(usize, usize, f64)> {
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
fn fit_run(
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

/// The means of the strength and of the kick-band rise over the track, which
/// [`evidence`] divides by.
fn evidence_norm(f: &Features) -> (f64, f64) {
    let mean = |sum: f64, n: usize| (sum / n.max(1) as f64).max(1e-12);
    (
        mean(f.strength.iter().sum(), f.strength.len()),
        mean(f.kick.iter().map(|&v| v as f64).sum(), f.kick.len()),
    )
}

/// Onset evidence at time `t`: strength plus kick-band rise, each over its mean.
fn evidence(f: &Features, norm: (f64, f64), t: f64) -> f64 {
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

/// How well beats sit on onsets: the sum over beats of the onset evidence at the beat
/// less its mean over the track (a beat between onsets counts against).
fn onset_score(f: &Features, beats: &[f64]) -> f64 {
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

/// Share of grid beats confirmed by tracked beats.
fn share(g: &BeatGrid) -> f64 {
    let ok = confirmed(&g.beats, &g.tracked);
    ok.iter().filter(|&&b| b).count() as f64 / ok.len().max(1) as f64
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

/// Pieces of a track whose tempo or phase changes.
fn segment_pieces(f: &Features, opts: &RhythmOptions, global: f64) -> Vec<Piece> {
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

/// Drop pieces that are mostly beatless (a breakdown whose pads the windows found a
/// tempo in): the grids of the music on either side run over them, as through any
/// breakdown, rather than a grid fitted to the tracker's wandering there.
fn drop_beatless(f: &Features, pieces: &mut Vec<Piece>) {
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

/// Where the onsets change from each piece's grid to the next one's: each piece's grid
/// extended over its neighbourhood, and the boundaries (the first at 0, the last at
/// infinity).
fn boundaries(f: &Features, pieces: &[Piece]) -> (Vec<Vec<f64>>, Vec<f64>) {
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

/// Join fitted pieces: boundaries where the onsets change grid, continuous grids into
/// sections, and the beats, local tempo and segments of the whole.
fn join(f: &Features, pieces: Vec<Piece>) -> BeatGrid {
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

/// Neighbours at one tempo are one piece of music: a phase jump between them is the
/// tracker losing the beat (in a breakdown, or onto the off-beat), not a change in the
/// music, so they are fitted again as one piece ([`SAME_TEMPO`], [`MERGE_KEEPS`]). Runs
/// of a ramp differ by more ([`TEMPO_STEP`] from their start) and stay apart, to be
/// joined as one section.
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

/// Split segments at beatless stretches and set each one's status.
fn mark_beatless(f: &Features, g: &mut BeatGrid, opts: &RhythmOptions) {
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
