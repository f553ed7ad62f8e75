//! Continuous DJ mixes of synthetic tracks, with ground truth per stretch.
//!
//! A mix plays N tracks at their own tempi, one after another, joined by
//! - hard cuts on a downbeat (the next track starts on its "1"), or
//! - crossfades of 8-32 bars between tracks that are not beat-matched: the incoming
//!   track's hats, claps and stabs fade in over the first half, the low end (kick and
//!   bass) swaps at the middle on the incoming track's downbeat, as DJs do, and the
//!   outgoing track's highs fade out over the second half.
//!
//! Within a track, a DJ's tempo ramp (2-4 % up or down over 16-32 bars) and a beatless
//! breakdown (8-16 bars of pad: no drums, no bass, and no longer the outgoing track's
//! highs) each happen once per mix, on tracks drawn at random. Every mix of three tracks or more has a cut and a crossfade.
//!
//! The truth: each moment belongs to the track whose kick plays (across a crossfade,
//! the outgoing track's beats until the swap, then the incoming one's). Beats run on
//! through a breakdown, since the track comes back on its grid; the breakdown is a
//! `beatless` stretch of [`Annotation::segments`].

use super::annotation::{Annotation, TruthSegment, TruthStatus};
use super::clock::Clock;
use super::params::SynthParams;
use super::render::{Mix, Rendered, downbeats_of, master, render};
use super::style::Style;
use super::track::SynthTrack;
use crate::audio::round6;
use crate::engine::Rng;

/// How a track comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Join {
    Start,
    Cut,
    Crossfade,
}

impl Join {
    fn name(self) -> &'static str {
        match self {
            Join::Start => "start",
            Join::Cut => "cut",
            Join::Crossfade => "crossfade",
        }
    }
}

/// One track of a mix, laid out in time.
struct Part {
    style: Style,
    clock: Clock,
    join: Join,
    /// First bar of the beatless breakdown, and its length in bars.
    breakdown: Option<(u64, u64)>,
    /// Beat positions where the ramp starts and ends.
    ramp: Option<(f64, f64)>,
    /// Where the track's kick starts and stops (its truth).
    own: (f64, f64),
    /// The highs' fade in (start, full) and out (start, silent); equal ends mean a cut.
    fade_in: (f64, f64),
    fade_out: (f64, f64),
}

impl Part {
    /// Time of the downbeat of `bar` (bars counted from the bar holding the first beat).
    fn downbeat(&self, bar: u64) -> f64 {
        self.clock
            .time(bar as f64 * 4.0 - self.style.first_beat_in_bar as f64)
    }

    /// The first bar whose downbeat falls at or after `t`.
    fn bar_from(&self, t: f64) -> u64 {
        let mut bar = 0;
        while self.downbeat(bar) < t - 1e-9 {
            bar += 1;
        }
        bar
    }
}

/// Linear fade: 0 before `a`, 1 after `b` (a step at `a` when they are equal).
fn ramp_up(t: f64, (a, b): (f64, f64)) -> f64 {
    if t < a {
        0.0
    } else if t >= b {
        1.0
    } else {
        (t - a) / (b - a)
    }
}

/// Mix `index` of the mix corpus `seed`: `tracks` (lowest, highest) tracks drawn at tempi
/// in `p`'s range (its `seconds` and drift are not used: a mix's length follows from its
/// tracks' bars, about a minute each). Deterministic like [`super::synth_track`].
pub fn synth_mix(seed: u64, index: u64, p: &SynthParams, tracks: (u32, u32)) -> SynthTrack {
    let mut rng = Rng::for_item(seed ^ 0x6d_6978, index);
    let (lo, hi) = (tracks.0.max(1) as u64, tracks.1.max(tracks.0.max(1)) as u64);
    let n = (lo + rng.below(hi - lo + 1)) as usize;
    let first_crossfade = rng.chance(0.5);
    let ramp_track = rng.below(n as u64) as usize;
    let breakdown_track = if n > 1 {
        (ramp_track + 1 + rng.below(n as u64 - 1) as usize) % n
    } else {
        ramp_track
    };
    let rate = p.rate as f64;
    let mut parts: Vec<Part> = Vec::with_capacity(n);
    for i in 0..n {
        let mut style = Style::draw(
            &mut Rng::for_item(seed ^ 0x7261_636b, index * 64 + i as u64),
            p,
        );
        style.drift = 0.0;
        let period = 60.0 / style.bpm;
        let join = match i {
            0 => Join::Start,
            _ if (i % 2 == 1) == first_crossfade => Join::Crossfade,
            _ => Join::Cut,
        };
        let end_before = parts.last().map_or(0.0, |q: &Part| q.own.1);
        // Where the kick starts, and the fade of the highs.
        let (first_beat, own_start, fade_in, crossfade_end) = match join {
            Join::Start => (style.first_beat, 0.0, (0.0, 0.0), None),
            Join::Cut => {
                style.first_beat_in_bar = 0;
                (end_before, end_before, (end_before, end_before), None)
            }
            Join::Crossfade => {
                let bars = (8 + rng.below(25)) as f64;
                let start = end_before;
                let first_beat = start + rng.uniform() * period;
                (first_beat, start, (start, start), Some((start, bars)))
            }
        };
        let mut part = Part {
            clock: Clock::new(first_beat, style.bpm / 60.0, 0.0),
            style,
            join,
            breakdown: None,
            ramp: None,
            own: (own_start, own_start),
            fade_in,
            fade_out: (0.0, 0.0),
        };
        // Where the outgoing track's highs have faded out.
        let mut faded = None;
        if let Some((start, bars)) = crossfade_end {
            // The low end swaps on the incoming track's first downbeat past half the fade.
            let swap = part.downbeat(part.bar_from(start + bars / 2.0 * 4.0 * period));
            let end = start + bars * 4.0 * period;
            part.own.0 = swap;
            part.fade_in = (start, swap);
            let prev = parts.last_mut().expect("a crossfade follows a track");
            prev.own.1 = swap;
            prev.fade_out = (swap, end);
            faded = Some(end);
        }
        // The body: 24-40 bars from the first full bar of its own, plus its events.
        let b0 = part.bar_from(part.own.0);
        let mut bar = b0 + 4 + rng.below(5);
        if i == ramp_track {
            let bars = 16 + rng.below(17);
            let change = rng.range(0.02, 0.04) * if rng.chance(0.5) { 1.0 } else { -1.0 };
            let from = bar as f64 * 4.0 - part.style.first_beat_in_bar as f64;
            let bpm = part.style.bpm;
            part.clock
                .ramp(from, bars as f64 * 4.0, bpm * (1.0 + change));
            part.ramp = Some((from, from + bars as f64 * 4.0));
            bar += bars + 8;
        }
        if i == breakdown_track {
            let bars = 8 + rng.below(9);
            // Not before the outgoing track's highs have faded out: a breakdown under
            // another track's hats would not be beatless.
            if let Some(faded) = faded {
                bar = bar.max(part.bar_from(faded));
            }
            part.breakdown = Some((bar, bars));
            bar += bars + 8;
        }
        let end_bar = bar.max(b0 + 24) + rng.below(17);
        let end = part.downbeat(end_bar);
        part.own.1 = end;
        part.fade_out = (end, end);
        parts.push(part);
    }
    let duration = parts.last().map_or(1.0, |q| q.own.1) + 0.5;
    let len = (duration * rate).round() as usize;
    let (mut left, mut right) = (vec![0.0f64; len], vec![0.0f64; len]);
    let mut beats = Vec::new();
    let mut positions = Vec::new();
    let mut segments = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let until = part.fade_out.1;
        let origin = (part.clock.time(0.0) - 0.5).max(0.0);
        let samples = (((until - origin) + 2.0) * rate).round() as usize;
        let mut voices = Mix::new(samples, rate, origin, true);
        let breakdown = part.breakdown;
        let beatless = move |bar: u64| breakdown.is_some_and(|(b, d)| (b..b + d).contains(&bar));
        let Rendered {
            beats: b,
            positions: pos,
        } = render(
            &part.style,
            seed ^ 0x6d_6978,
            index * 64 + i as u64,
            &part.clock,
            until,
            &beatless,
            &mut voices,
        );
        let i0 = (origin * rate).round() as usize;
        for j in 0..samples.min(len.saturating_sub(i0)) {
            let t = (i0 + j) as f64 / rate;
            let low = if t >= part.own.0 && t < part.own.1 {
                1.0
            } else {
                0.0
            };
            let high = ramp_up(t, part.fade_in) * (1.0 - ramp_up(t, part.fade_out));
            left[i0 + j] += low * voices.low_left[j] + high * voices.left[j];
            right[i0 + j] += low * voices.low_right[j] + high * voices.right[j];
        }
        for (t, q) in b.into_iter().zip(pos) {
            if t >= part.own.0 && t < part.own.1 {
                beats.push(t);
                positions.push(q);
            }
        }
        // The stretches: cut where the ramp and the breakdown start and end.
        let mut marks = vec![(part.own.0, TruthStatus::Steady)];
        if let Some((from, to)) = part.ramp {
            marks.push((part.clock.time(from), TruthStatus::Ramp));
            marks.push((part.clock.time(to), TruthStatus::Steady));
        }
        if let Some((b, d)) = part.breakdown {
            marks.push((part.downbeat(b), TruthStatus::Beatless));
            marks.push((part.downbeat(b + d), TruthStatus::Steady));
        }
        marks.sort_by(|x, y| x.0.total_cmp(&y.0));
        for (m, &(start, status)) in marks.iter().enumerate() {
            let end = marks.get(m + 1).map_or(part.own.1, |x| x.0);
            if end <= start {
                continue;
            }
            segments.push(TruthSegment {
                start: round6(start),
                end: round6(end),
                bpm: round6(part.clock.bpm_at(start)),
                bpm_end: round6(part.clock.bpm_at(end - 1e-6)),
                status,
                track: i,
                join: if m == 0 { part.join.name() } else { "" }.into(),
            });
        }
    }
    let samples = master(&left, &right, p.channels);
    let downbeats = downbeats_of(&beats, &positions);
    // The nominal tempo: the longest steady stretch's, as the beat tracker reports it.
    let longest = segments
        .iter()
        .filter(|s| s.status == TruthStatus::Steady)
        .max_by(|a, b| (a.end - a.start).total_cmp(&(b.end - b.start)));
    let bpm = longest.map_or(parts[0].style.bpm, |s| s.bpm);
    let annotation = Annotation {
        generator: "eigentechno synth".into(),
        seed,
        index,
        sample_rate: p.rate,
        channels: p.channels,
        duration: round6(len as f64 / rate),
        bpm: round6(bpm),
        bpm_start: segments.first().map_or(bpm, |s| s.bpm),
        bpm_end: segments.last().map_or(bpm, |s| s.bpm_end),
        swing: round6(parts[0].style.swing),
        beats_per_bar: 4,
        beats: beats.into_iter().map(round6).collect(),
        beat_positions: positions,
        downbeats,
        loud_offbeat: None,
        segments,
    };
    SynthTrack {
        samples,
        annotation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_has_every_kind_of_join_and_consistent_truth() {
        let p = SynthParams {
            bpm_min: 100.0,
            bpm_max: 150.0,
            rate: 11_025,
            channels: 1,
            ..Default::default()
        };
        let m = synth_mix(4, 0, &p, (3, 3));
        let a = &m.annotation;
        assert_eq!(m.samples.len(), (a.duration * 11_025.0).round() as usize);
        let joins: Vec<&str> = a.segments.iter().map(|s| s.join.as_str()).collect();
        for kind in ["start", "cut", "crossfade"] {
            assert!(joins.contains(&kind), "{kind} in {joins:?}");
        }
        for status in [
            TruthStatus::Steady,
            TruthStatus::Ramp,
            TruthStatus::Beatless,
        ] {
            assert!(a.segments.iter().any(|s| s.status == status), "{status:?}");
        }
        // The stretches tile the mix in order, and beats are increasing.
        for w in a.segments.windows(2) {
            assert!((w[0].end - w[1].start).abs() < 1e-6, "{w:?}");
        }
        assert!(a.beats.windows(2).all(|w| w[1] > w[0]));
        // Inside a steady stretch the beats keep its tempo; a ramp moves 2-4 %.
        for s in &a.segments {
            let inside: Vec<f64> = a
                .beats
                .iter()
                .copied()
                .filter(|&t| t >= s.start && t < s.end)
                .collect();
            match s.status {
                TruthStatus::Steady => {
                    for w in inside.windows(2) {
                        assert!((60.0 / (w[1] - w[0]) - s.bpm).abs() < 0.01, "{s:?}");
                    }
                }
                TruthStatus::Ramp => {
                    let change = (s.bpm_end / s.bpm - 1.0).abs();
                    assert!((0.019..=0.041).contains(&change), "{s:?}");
                }
                TruthStatus::Beatless => assert!(inside.len() >= 32, "8 bars or more"),
            }
        }
        // A cut lands on a downbeat of the incoming track.
        for s in a.segments.iter().filter(|s| s.join == "cut") {
            assert!(
                a.downbeats.iter().any(|&d| (d - s.start).abs() < 1e-6),
                "{s:?}"
            );
        }
    }
}
