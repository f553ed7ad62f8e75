//! One synthetic track, generated.

use super::annotation::Annotation;
use super::clock::Clock;
use super::params::SynthParams;
use super::render::{Mix, downbeats_of, master, render};
use super::style::Style;
use crate::audio::round6;
use crate::engine::Rng;

/// One generated track.
#[derive(Clone, Debug)]
pub struct SynthTrack {
    /// Interleaved samples in [-1, 1].
    pub samples: Vec<f32>,
    /// Its ground truth.
    pub annotation: Annotation,
}

/// Generate track `index` of the corpus `seed`. Deterministic: the same arguments give
/// the same samples, whatever else is generated and in which order.
pub fn synth_track(seed: u64, index: u64, p: &SynthParams) -> SynthTrack {
    let mut rng = Rng::for_item(seed, index);
    let rate = p.rate as f64;
    let n = (p.seconds * rate).round() as usize;
    let duration = n as f64 / rate;
    let style = Style::draw(&mut rng, p);
    let bpm_start = style.bpm * (1.0 - style.drift / 2.0);
    let bpm_end_target = style.bpm * (1.0 + style.drift / 2.0);
    let span = (duration - style.first_beat).max(1e-3);
    let clock = Clock::new(
        style.first_beat,
        bpm_start / 60.0,
        (bpm_end_target - bpm_start) / 60.0 / (2.0 * span),
    );
    let mut mix = Mix::new(n, rate, 0.0, false);
    let r = render(&style, seed, index, &clock, duration, &|_| false, &mut mix);
    let samples = master(&mix.left, &mix.right, p.channels);
    let downbeats = downbeats_of(&r.beats, &r.positions);
    let mid = duration / 2.0;
    let annotation = Annotation {
        generator: "eigentechno synth".into(),
        seed,
        index,
        sample_rate: p.rate,
        channels: p.channels,
        duration: round6(duration),
        bpm: round6(clock.bpm_at(mid.max(style.first_beat))),
        bpm_start: round6(clock.bpm_at(style.first_beat)),
        bpm_end: round6(clock.bpm_at(duration)),
        swing: round6(style.swing),
        beats_per_bar: 4,
        beats: r.beats.into_iter().map(round6).collect(),
        beat_positions: r.positions,
        downbeats,
        loud_offbeat: style.loud,
        segments: Vec::new(),
    };
    SynthTrack {
        samples,
        annotation,
    }
}
