//! A synthetic techno corpus with exact ground truth.
//!
//! Each track: a kick on every beat, a clap on beats 2 and 4, off-beat open hats,
//! 16th closed hats (optionally swung), a bass line and chord stabs whose harmony
//! changes at every bar start, and a crash on the first beat of every 8-bar phrase.
//! The first beat falls at a random time and on a random beat of the bar; the tempo may
//! drift slowly (a linear ramp). Beat and downbeat times are written beside each track,
//! so tempo, beat and downbeat estimates can be scored exactly.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::round6;
use super::wav::{WavFormat, write_wav_interleaved};
use crate::engine::Rng;
use crate::error::{Error, Result};
use crate::store::write_atomic;

pub mod mix;

pub use mix::synth_mix;

/// Settings of a synthetic corpus.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthParams {
    /// Lowest tempo drawn (bpm).
    pub bpm_min: f64,
    /// Highest tempo drawn (bpm).
    pub bpm_max: f64,
    /// Track length in seconds.
    pub seconds: f64,
    /// Sample rate of the written files.
    pub rate: u32,
    /// 1 (mono) or 2 (stereo).
    pub channels: u16,
    /// Share of tracks with 16th-note swing (0..=1).
    pub swing_share: f64,
    /// Share of tracks whose tempo drifts (0..=1).
    pub drift_share: f64,
    /// Share of tracks whose off-beat hats, bass or claps (one of them, drawn) are louder
    /// than the kick (0..=1): the case that pulls beat trackers onto the "and".
    pub loud_offbeat_share: f64,
}

impl Default for SynthParams {
    fn default() -> Self {
        SynthParams {
            bpm_min: 120.0,
            bpm_max: 140.0,
            seconds: 30.0,
            rate: 44_100,
            channels: 2,
            swing_share: 0.0,
            drift_share: 0.0,
            loud_offbeat_share: 0.0,
        }
    }
}

impl SynthParams {
    /// Check the settings, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, expected: &str, actual: String| {
            Err(Error::InvalidArgument {
                name,
                expected: expected.into(),
                actual,
            })
        };
        if !(self.bpm_min >= 30.0 && self.bpm_max <= 400.0 && self.bpm_min <= self.bpm_max) {
            return bad(
                "bpm range",
                "30 <= MIN <= MAX <= 400",
                format!("{}..{}", self.bpm_min, self.bpm_max),
            );
        }
        if !(self.seconds >= 1.0 && self.seconds <= 3600.0) {
            return bad("seconds", "1 to 3600", self.seconds.to_string());
        }
        if !(8_000..=192_000).contains(&self.rate) {
            return bad("rate", "8000 to 192000 Hz", self.rate.to_string());
        }
        if !(1..=2).contains(&self.channels) {
            return bad("channels", "1 or 2", self.channels.to_string());
        }
        for (name, v) in [
            ("swing share", self.swing_share),
            ("drift share", self.drift_share),
            ("loud off-beat share", self.loud_offbeat_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(name, "a fraction from 0 to 1", v.to_string());
            }
        }
        Ok(())
    }
}

/// Ground truth of one synthetic track, written as JSON beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Always "eigentechno synth".
    pub generator: String,
    /// Corpus seed.
    pub seed: u64,
    /// Track number within the corpus.
    pub index: u64,
    /// Sample rate of the audio as generated.
    pub sample_rate: u32,
    /// Channels as generated.
    pub channels: u16,
    /// Length in seconds.
    pub duration: f64,
    /// Nominal tempo: the tempo at the middle of the track (bpm).
    pub bpm: f64,
    /// Tempo at the start (bpm); differs from `bpm_end` when the tempo drifts.
    pub bpm_start: f64,
    /// Tempo at the end (bpm).
    pub bpm_end: f64,
    /// Swing: delay of the off 16th notes, as a fraction of a 16th note (0 = straight).
    pub swing: f64,
    /// Beats per bar (4).
    pub beats_per_bar: u32,
    /// Beat times in seconds.
    pub beats: Vec<f64>,
    /// Position of each beat in its bar, 1 = downbeat.
    pub beat_positions: Vec<u32>,
    /// Downbeat (bar start) times in seconds.
    pub downbeats: Vec<f64>,
    /// The off-beat voice made louder than the kick, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loud_offbeat: Option<LoudOffbeat>,
    /// A mix's stretches (see [`mix::synth_mix`]), in time order; empty for one track.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<TruthSegment>,
}

/// What a stretch of a mix is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TruthStatus {
    /// Steady tempo.
    Steady,
    /// A DJ's tempo ramp (linear in time).
    Ramp,
    /// A breakdown: no drums, the bar grid runs on.
    Beatless,
}

impl TruthStatus {
    /// Its name in the annotations: `steady`, `ramp` or `beatless`.
    pub fn as_str(self) -> &'static str {
        match self {
            TruthStatus::Steady => "steady",
            TruthStatus::Ramp => "ramp",
            TruthStatus::Beatless => "beatless",
        }
    }
}

/// One stretch of a mix's ground truth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthSegment {
    /// Start (seconds).
    pub start: f64,
    /// End (seconds).
    pub end: f64,
    /// Tempo at the start (bpm).
    pub bpm: f64,
    /// Tempo at the end (bpm).
    pub bpm_end: f64,
    /// What the stretch is.
    pub status: TruthStatus,
    /// Which track of the mix plays (0-based).
    pub track: usize,
    /// How this stretch's track came in: "start", "cut" or "crossfade"; "" within a track.
    pub join: String,
}

/// One generated track.
#[derive(Clone, Debug)]
pub struct SynthTrack {
    /// Interleaved samples in [-1, 1].
    pub samples: Vec<f32>,
    /// Its ground truth.
    pub annotation: Annotation,
}

/// One stretch of a [`Clock`]: from beat position `beat0` at time `t0`, beats per second
/// `b + 2 a (t - t0)` (a linear tempo ramp; steady when `a` is 0).
#[derive(Clone, Copy, Debug)]
pub(super) struct Piece {
    pub(super) beat0: f64,
    pub(super) t0: f64,
    /// Beats per second at `t0`.
    pub(super) b: f64,
    /// Half the rate of change of beats per second (per second).
    pub(super) a: f64,
}

impl Piece {
    fn time(&self, beat_pos: f64) -> f64 {
        let beats = beat_pos - self.beat0;
        // Solve a t^2 + b t = beats for t >= 0 (t measured from t0).
        let t = if self.a.abs() < 1e-12 {
            beats / self.b
        } else {
            let disc = self.b * self.b + 4.0 * self.a * beats;
            // Numerically stable root.
            2.0 * beats / (self.b + disc.max(0.0).sqrt())
        };
        self.t0 + t
    }
}

/// Musical time of a track: beat position (in beats since the first beat) to seconds,
/// through pieces of steady or linearly ramping tempo.
#[derive(Clone, Debug)]
pub(super) struct Clock {
    pub(super) pieces: Vec<Piece>,
}

impl Clock {
    /// A clock from `first_beat` at `bps` beats per second, ramping by `a` (see [`Piece`]).
    pub(super) fn new(first_beat: f64, bps: f64, a: f64) -> Clock {
        Clock {
            pieces: vec![Piece {
                beat0: 0.0,
                t0: first_beat,
                b: bps,
                a,
            }],
        }
    }

    /// Ramp the tempo linearly from beat position `from` to `bpm_to` over `beats` beats,
    /// then hold it. `from` must lie at or after the last piece's start.
    pub(super) fn ramp(&mut self, from: f64, beats: f64, bpm_to: f64) {
        let t0 = self.time(from);
        let b0 = self.bpm_at(t0) / 60.0;
        let b1 = bpm_to / 60.0;
        // The beats of a linear ramp are its mean rate times its length.
        let span = 2.0 * beats / (b0 + b1);
        let a = (b1 - b0) / (2.0 * span);
        self.pieces.push(Piece {
            beat0: from,
            t0,
            b: b0,
            a,
        });
        self.pieces.push(Piece {
            beat0: from + beats,
            t0: t0 + span,
            b: b1,
            a: 0.0,
        });
    }

    pub(super) fn time(&self, beat_pos: f64) -> f64 {
        let i = self
            .pieces
            .partition_point(|p| p.beat0 <= beat_pos)
            .saturating_sub(1);
        self.pieces[i].time(beat_pos)
    }

    pub(super) fn bpm_at(&self, t: f64) -> f64 {
        let i = self.pieces.partition_point(|p| p.t0 <= t).saturating_sub(1);
        let p = &self.pieces[i];
        60.0 * (p.b + 2.0 * p.a * (t - p.t0))
    }
}

/// Which part of a mix a voice belongs to: DJs swap the low end (kick and bass) at one
/// moment of a crossfade and fade the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Layer {
    Low,
    High,
}

/// Stereo output buffer with per-voice panning, from `origin` seconds on; the low layer
/// goes to its own buffers when `split`.
pub(super) struct Mix {
    pub(super) left: Vec<f64>,
    pub(super) right: Vec<f64>,
    pub(super) low_left: Vec<f64>,
    pub(super) low_right: Vec<f64>,
    pub(super) rate: f64,
    pub(super) origin: f64,
}

impl Mix {
    pub(super) fn new(samples: usize, rate: f64, origin: f64, split: bool) -> Mix {
        let low = if split { samples } else { 0 };
        Mix {
            left: vec![0.0; samples],
            right: vec![0.0; samples],
            low_left: vec![0.0; low],
            low_right: vec![0.0; low],
            rate,
            origin,
        }
    }

    /// Add `render(t)` from `start` seconds for `len` seconds, panned (-1 left .. 1 right).
    fn add(
        &mut self,
        layer: Layer,
        start: f64,
        len: f64,
        gain: f64,
        pan: f64,
        mut render: impl FnMut(f64) -> f64,
    ) {
        let start = start - self.origin;
        if start < 0.0 {
            return;
        }
        let (left, right) = if layer == Layer::Low && !self.low_left.is_empty() {
            (&mut self.low_left, &mut self.low_right)
        } else {
            (&mut self.left, &mut self.right)
        };
        let n = left.len();
        let i0 = (start * self.rate).round() as usize;
        let i1 = (((start + len) * self.rate).round() as usize).min(n);
        let gl = gain * (1.0 - pan).min(1.0);
        let gr = gain * (1.0 + pan).min(1.0);
        for i in i0..i1 {
            let t = (i - i0) as f64 / self.rate;
            let v = render(t);
            left[i] += gl * v;
            right[i] += gr * v;
        }
    }
}

/// One-pole low-pass coefficient for a cutoff in Hz.
fn lp_coef(cutoff: f64, rate: f64) -> f64 {
    1.0 - (-2.0 * PI * cutoff / rate).exp()
}

fn midi_hz(note: f64) -> f64 {
    440.0 * 2f64.powf((note - 69.0) / 12.0)
}

/// An off-beat voice made louder than the kick (see [`SynthParams::loud_offbeat_share`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoudOffbeat {
    /// The open hat on every "and".
    Hats,
    /// The bass on the off-beat 8ths.
    Bass,
    /// A clap on every "and".
    Claps,
}

/// The sound of one track, drawn once from its generator.
#[derive(Clone, Debug)]
pub(super) struct Style {
    pub(super) bpm: f64,
    pub(super) drift: f64,
    pub(super) swing: f64,
    pub(super) first_beat: f64,
    pub(super) first_beat_in_bar: u32,
    key: f64,
    progression: [f64; 4],
    bass_steps: Vec<u32>,
    stab_steps: Vec<u32>,
    with_closed_hats: bool,
    with_clap: bool,
    kick_pitch: f64,
    stab_cutoff: f64,
    bass_cutoff: f64,
    pub(super) loud: Option<LoudOffbeat>,
}

impl Style {
    /// Draw a style. The order of the draws is fixed: tracks generated before a draw was
    /// added (the loud off-beat, last) keep their samples.
    pub(super) fn draw(rng: &mut Rng, p: &SynthParams) -> Style {
        let bpm = rng.range(p.bpm_min, p.bpm_max);
        let drifts = rng.chance(p.drift_share);
        let swings = rng.chance(p.swing_share);
        // Drift: a linear ramp of 1.5 to 4 % over the track, up or down, centred on `bpm`.
        let drift = if drifts {
            rng.range(0.015, 0.04) * if rng.chance(0.5) { 1.0 } else { -1.0 }
        } else {
            0.0
        };
        let swing = if swings { rng.range(0.12, 0.33) } else { 0.0 };
        let first_beat = rng.range(0.05, 0.9);
        let first_beat_in_bar = rng.below(4) as u32; // 0 = the track starts on a downbeat
        // Harmony: a minor key, a 4-bar progression of chord roots (semitones from the key).
        let key = 33.0 + rng.below(12) as f64; // A1 .. G#2 as MIDI notes
        const PROGRESSIONS: [[f64; 4]; 6] = [
            [0.0, 3.0, 5.0, 7.0],
            [0.0, 5.0, 3.0, 10.0],
            [0.0, -2.0, -4.0, -5.0],
            [0.0, 7.0, 3.0, 5.0],
            [0.0, 3.0, -2.0, 5.0],
            [0.0, 8.0, 5.0, 3.0],
        ];
        let progression = PROGRESSIONS[rng.below(PROGRESSIONS.len() as u64) as usize];
        // Bass rhythm over 16 sixteenths: always the off-beat 8ths, plus some extra steps.
        let mut bass_steps: Vec<u32> = vec![2, 6, 10, 14];
        for s in [3u32, 7, 11, 13, 15] {
            if rng.chance(0.3) {
                bass_steps.push(s);
            }
        }
        // Stabs: on the bar's first step, plus one or two syncopated hits.
        let mut stab_steps: Vec<u32> = vec![0];
        for s in [3u32, 6, 10, 11] {
            if rng.chance(0.35) {
                stab_steps.push(s);
            }
        }
        let with_closed_hats = rng.chance(0.8);
        let with_clap = rng.chance(0.75);
        let kick_pitch = rng.range(42.0, 55.0);
        let stab_cutoff = rng.range(1_200.0, 3_500.0);
        let bass_cutoff = rng.range(300.0, 900.0);
        let loud = rng
            .chance(p.loud_offbeat_share)
            .then(|| match rng.below(3) {
                0 => LoudOffbeat::Hats,
                1 => LoudOffbeat::Bass,
                _ => LoudOffbeat::Claps,
            });
        Style {
            bpm,
            drift,
            swing,
            first_beat,
            first_beat_in_bar,
            key,
            progression,
            bass_steps,
            stab_steps,
            with_closed_hats,
            with_clap,
            kick_pitch,
            stab_cutoff,
            bass_cutoff,
            loud,
        }
    }
}

/// The beats a [`render`] call laid down: times, positions in the bar (1 = downbeat).
#[derive(Clone, Debug, Default)]
pub(super) struct Rendered {
    pub(super) beats: Vec<f64>,
    pub(super) positions: Vec<u32>,
}

/// Render the track `index` of `seed` in `style` on `clock`, every beat before `until`
/// (seconds); bars for which `beatless(bar)` holds get a sustained pad instead of drums,
/// bass and stabs (a breakdown: the bar grid runs on, nothing marks it).
pub(super) fn render(
    style: &Style,
    seed: u64,
    index: u64,
    clock: &Clock,
    until: f64,
    beatless: &dyn Fn(u64) -> bool,
    mix: &mut Mix,
) -> Rendered {
    let s = style;
    let rate = mix.rate;
    let beats_per_bar = 4u32;
    let mut out = Rendered::default();
    let loud = |v: LoudOffbeat| s.loud == Some(v);
    let mut k = 0u64;
    loop {
        let t = clock.time(k as f64);
        if t >= until {
            break;
        }
        let in_bar = (s.first_beat_in_bar + k as u32) % beats_per_bar;
        let bar = (s.first_beat_in_bar as u64 + k) / beats_per_bar as u64;
        out.beats.push(t);
        out.positions.push(in_bar + 1);
        let beat_len = 60.0 / clock.bpm_at(t);
        // Harmony of this bar.
        let root = s.key + s.progression[(bar % 4) as usize];
        if beatless(bar) {
            if in_bar == 0 {
                pad(mix, seed, index, t, 4.0 * beat_len, root);
            }
            k += 1;
            continue;
        }

        // Kick: pitch sweep with exponential decay and a short click.
        let mut phase = 0.0;
        let mut click = Rng::for_item(seed ^ 0x4b, index * 1_000_003 + k);
        mix.add(Layer::Low, t, 0.42, 0.95, 0.0, |tt| {
            let f = s.kick_pitch + 120.0 * (-tt / 0.028).exp();
            phase += 2.0 * PI * f / rate;
            let env = (-tt / 0.22).exp() * (tt / 0.001).min(1.0);
            let c = if tt < 0.004 {
                0.35 * (2.0 * click.uniform() - 1.0)
            } else {
                0.0
            };
            env * phase.sin() + c
        });

        // Clap on beats 2 and 4 (and, loud, on every "and" in that variant): three quick
        // noise bursts, band-limited.
        let t_off = clock.time(k as f64 + 0.5);
        let mut claps = Vec::new();
        if s.with_clap && (in_bar == 1 || in_bar == 3) {
            claps.push((t, 0.35, 0u64));
        }
        if loud(LoudOffbeat::Claps) && t_off < until {
            claps.push((t_off, 1.3, 1));
        }
        for (tc, gain, salt) in claps {
            let mut nr = Rng::for_item(seed ^ 0xc1a9 ^ salt, index * 1_000_003 + k);
            let (mut lp1, mut lp2) = (0.0, 0.0);
            let (c1, c2) = (lp_coef(2_500.0, rate), lp_coef(900.0, rate));
            mix.add(Layer::High, tc, 0.2, gain, 0.1, |tt| {
                let x = 2.0 * nr.uniform() - 1.0;
                lp1 += c1 * (x - lp1);
                lp2 += c2 * (lp1 - lp2);
                let burst = [0.0, 0.011, 0.022]
                    .iter()
                    .map(|&o| {
                        if tt >= o {
                            (-(tt - o) / 0.006).exp()
                        } else {
                            0.0
                        }
                    })
                    .sum::<f64>()
                    + 0.6 * (-tt / 0.07).exp();
                (lp1 - lp2) * burst
            });
        }

        // Open hat on the off-beat 8th.
        if t_off < until {
            let mut nr = Rng::for_item(seed ^ 0x0fa7, index * 1_000_003 + k);
            let mut lp = 0.0;
            let c = lp_coef(6_000.0, rate);
            let (gain, decay) = if loud(LoudOffbeat::Hats) {
                (1.6, 0.08)
            } else {
                (0.22, 0.045)
            };
            mix.add(Layer::High, t_off, 0.12, gain, -0.25, |tt| {
                let x = 2.0 * nr.uniform() - 1.0;
                lp += c * (x - lp);
                (x - lp) * (-tt / decay).exp()
            });
        }
        // Closed hats on the off 16ths (swung) and quietly on the on 16ths.
        if s.with_closed_hats {
            for (frac, gain) in [(0.25, 0.09), (0.75, 0.09)] {
                let th = clock.time(k as f64 + frac + s.swing * 0.25);
                if th >= until {
                    continue;
                }
                let mut nr = Rng::for_item(
                    seed ^ 0xc105,
                    index * 4_000_037 + k * 4 + (frac * 4.0) as u64,
                );
                let mut lp = 0.0;
                let c = lp_coef(8_000.0, rate);
                mix.add(Layer::High, th, 0.04, gain, 0.3, |tt| {
                    let x = 2.0 * nr.uniform() - 1.0;
                    lp += c * (x - lp);
                    (x - lp) * (-tt / 0.012).exp()
                });
            }
        }

        // Bass: saw through a low-pass on this beat's share of the bar's 16 steps.
        for step in s.bass_steps.iter().filter(|st| **st / 4 == in_bar) {
            let pos = k as f64
                + (step % 4) as f64 * 0.25
                + if step % 2 == 1 { s.swing * 0.25 } else { 0.0 };
            let tb = clock.time(pos);
            if tb >= until {
                continue;
            }
            let f = midi_hz(root + 12.0);
            let mut ph = 0.0;
            let mut lp = 0.0;
            let c = lp_coef(s.bass_cutoff, rate);
            // Louder off-beat 8ths (steps 2, 6, 10, 14) in that variant.
            let gain = if loud(LoudOffbeat::Bass) && step % 4 == 2 {
                1.5
            } else {
                0.5
            };
            mix.add(Layer::Low, tb, beat_len * 0.45, gain, 0.0, |tt| {
                ph = (ph + f / rate).fract();
                let saw = 2.0 * ph - 1.0;
                lp += c * (saw - lp);
                lp * (-tt / 0.09).exp() * (tt / 0.002).min(1.0)
            });
        }
        // Chord stabs: minor triad an octave and a half up.
        for step in s.stab_steps.iter().filter(|st| **st / 4 == in_bar) {
            let pos = k as f64 + (step % 4) as f64 * 0.25;
            let ts = clock.time(pos);
            if ts >= until {
                continue;
            }
            let notes = [root + 24.0, root + 27.0, root + 31.0];
            let mut phases = [0.0f64; 3];
            let mut lp = 0.0;
            let c = lp_coef(s.stab_cutoff, rate);
            let gain = if *step == 0 { 0.32 } else { 0.22 };
            mix.add(Layer::High, ts, 0.35, gain, 0.15, |tt| {
                let mut sum = 0.0;
                for (ph, note) in phases.iter_mut().zip(notes) {
                    *ph = (*ph + midi_hz(note) / rate).fract();
                    sum += 2.0 * *ph - 1.0;
                }
                lp += c * (sum / 3.0 - lp);
                lp * (-tt / 0.11).exp() * (tt / 0.003).min(1.0)
            });
        }
        // Crash on the first beat of every 8-bar phrase.
        if in_bar == 0 && bar.is_multiple_of(8) {
            let mut nr = Rng::for_item(seed ^ 0xc7a5, index * 1_000_003 + k);
            let mut lp = 0.0;
            let c = lp_coef(4_000.0, rate);
            mix.add(Layer::High, t, 1.6, 0.3, -0.35, |tt| {
                let x = 2.0 * nr.uniform() - 1.0;
                lp += c * (x - lp);
                (x - lp) * (-tt / 0.5).exp()
            });
        }
        k += 1;
    }
    out
}

/// A breakdown bar: the bar's minor chord as a soft pad (slow attack and release, no
/// onset to speak of), overlapping into the next bar.
fn pad(mix: &mut Mix, seed: u64, index: u64, t: f64, bar_len: f64, root: f64) {
    let rate = mix.rate;
    let notes = [root + 12.0, root + 15.0, root + 19.0, root + 24.0];
    let mut phases = [0.0f64; 4];
    let mut detune = Rng::for_item(seed ^ 0x9ad, index);
    let cents: Vec<f64> = (0..4).map(|_| detune.range(-0.08, 0.08)).collect();
    let mut lp = 0.0;
    let c = lp_coef(900.0, rate);
    let len = bar_len + 0.6;
    mix.add(Layer::High, t - 0.3, len, 0.3, 0.0, |tt| {
        let mut sum = 0.0;
        for ((ph, note), d) in phases.iter_mut().zip(notes).zip(&cents) {
            *ph = (*ph + midi_hz(note + d) / rate).fract();
            sum += 2.0 * *ph - 1.0;
        }
        lp += c * (sum / 4.0 - lp);
        // Raised-cosine attack and release of 0.6 s each: no onset.
        let edge = |x: f64| 0.5 - 0.5 * (PI * (x / 0.6).clamp(0.0, 1.0)).cos();
        lp * edge(tt) * edge(len - tt)
    });
}

/// Soft-clip the sum and peak-normalise it to -1 dBFS: interleaved samples.
pub(super) fn master(left: &[f64], right: &[f64], channels: u16) -> Vec<f32> {
    let soft = |x: f64| x.tanh();
    let peak = left
        .iter()
        .chain(right)
        .map(|&x| soft(x).abs())
        .fold(1e-9, f64::max);
    let g = 0.891 / peak;
    if channels == 1 {
        left.iter()
            .zip(right)
            .map(|(l, r)| (g * soft(0.5 * (l + r))) as f32)
            .collect()
    } else {
        left.iter()
            .zip(right)
            .flat_map(|(l, r)| [(g * soft(*l)) as f32, (g * soft(*r)) as f32])
            .collect()
    }
}

/// The beats at position 1 (rounded as the annotations are).
pub(super) fn downbeats_of(beats: &[f64], positions: &[u32]) -> Vec<f64> {
    beats
        .iter()
        .zip(positions)
        .filter(|(_, p)| **p == 1)
        .map(|(t, _)| round6(*t))
        .collect()
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

/// Audio container for a synthetic track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthFormat {
    /// 16-bit PCM WAV.
    Wav,
    /// 16-bit FLAC.
    Flac,
}

impl SynthFormat {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            SynthFormat::Wav => "wav",
            SynthFormat::Flac => "flac",
        }
    }
}

/// Write a track (audio + `.json` annotation) as `dir/name.ext`; returns the audio path.
pub fn write_synth_track(
    dir: &Path,
    name: &str,
    format: SynthFormat,
    track: &SynthTrack,
) -> Result<PathBuf> {
    let a = &track.annotation;
    let audio_path = dir.join(format!("{name}.{}", format.extension()));
    match format {
        SynthFormat::Wav => {
            write_wav_interleaved(
                &audio_path,
                a.sample_rate,
                a.channels,
                &track.samples,
                WavFormat::Pcm16,
            )?;
        }
        SynthFormat::Flac => {
            let bytes =
                encode_flac16(&track.samples, a.channels, a.sample_rate).map_err(|reason| {
                    Error::Encode {
                        path: audio_path.clone(),
                        reason,
                    }
                })?;
            write_atomic(&audio_path, &bytes)?;
        }
    }
    let json_path = dir.join(format!("{name}.json"));
    let json = serde_json::to_vec_pretty(a).map_err(|e| Error::Encode {
        path: json_path.clone(),
        reason: e.to_string(),
    })?;
    write_atomic(&json_path, &json)?;
    Ok(audio_path)
}

/// Encode interleaved samples as 16-bit FLAC (pure Rust, flacenc).
pub fn encode_flac16(
    samples: &[f32],
    channels: u16,
    rate: u32,
) -> std::result::Result<Vec<u8>, String> {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;
    let ints: Vec<i32> = samples
        .iter()
        .map(|&s| (s.clamp(-1.0, 1.0) * 32_767.0).round() as i32)
        .collect();
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|e| format!("FLAC encoder configuration: {e:?}"))?;
    let source =
        flacenc::source::MemSource::from_samples(&ints, channels as usize, 16, rate as usize);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size)
        .map_err(|e| format!("FLAC encoding: {e}"))?;
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream
        .write(&mut sink)
        .map_err(|e| format!("FLAC encoding: {e:?}"))?;
    let mut bytes = sink.as_slice().to_vec();
    // flacenc 0.5 records the short final block as the stream's minimum block size.
    // The FLAC format excludes the last block from that field, and strict readers
    // (symphonia) reject the file; every other block has the fixed size, so set
    // min = max in STREAMINFO (bytes 8-9 min, 10-11 max, after "fLaC" and the
    // 4-byte block header).
    if bytes.len() > 12 && &bytes[..4] == b"fLaC" && bytes[4] & 0x7f == 0 {
        let (max_hi, max_lo) = (bytes[10], bytes[11]);
        bytes[8] = max_hi;
        bytes[9] = max_lo;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_status_names_are_the_json_names() {
        for s in [
            TruthStatus::Steady,
            TruthStatus::Ramp,
            TruthStatus::Beatless,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    fn params() -> SynthParams {
        SynthParams {
            seconds: 12.0,
            rate: 22_050,
            channels: 1,
            ..Default::default()
        }
    }

    #[test]
    fn beats_follow_the_stated_tempo() {
        let t = synth_track(3, 0, &params());
        let a = &t.annotation;
        assert_eq!(t.samples.len(), 12 * 22_050);
        let d: Vec<f64> = a.beats.windows(2).map(|w| w[1] - w[0]).collect();
        for x in d {
            assert!((x - 60.0 / a.bpm).abs() < 1e-5);
        }
        // Downbeats are every 4th beat.
        for w in a.downbeats.windows(2) {
            assert!((w[1] - w[0] - 240.0 / a.bpm).abs() < 1e-5);
        }
        assert!(a.bpm >= 120.0 && a.bpm < 140.0);
    }

    #[test]
    fn drift_changes_the_tempo_smoothly() {
        let p = SynthParams {
            drift_share: 1.0,
            seconds: 60.0,
            ..params()
        };
        let a = synth_track(5, 1, &p).annotation;
        assert!((a.bpm_end - a.bpm_start).abs() > 0.01 * a.bpm);
        let ibi: Vec<f64> = a.beats.windows(2).map(|w| w[1] - w[0]).collect();
        let first = 60.0 / ibi[0];
        let last = 60.0 / ibi[ibi.len() - 1];
        assert!(
            (first - a.bpm_start).abs() < 0.3,
            "{first} vs {}",
            a.bpm_start
        );
        assert!((last - a.bpm_end).abs() < 0.3, "{last} vs {}", a.bpm_end);
    }

    #[test]
    fn deterministic_and_distinct() {
        let a = synth_track(1, 2, &params());
        let b = synth_track(1, 2, &params());
        let c = synth_track(1, 3, &params());
        assert_eq!(a.samples, b.samples);
        assert_ne!(a.samples, c.samples);
        let peak = a.samples.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(peak > 0.8 && peak <= 0.8911);
    }

    #[test]
    fn flac_round_trip_is_lossless_at_16_bits() {
        let t = synth_track(
            2,
            0,
            &SynthParams {
                seconds: 2.0,
                ..params()
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let path = write_synth_track(dir.path(), "x", SynthFormat::Flac, &t).unwrap();
        let sig = crate::audio::decode_file(&path, &Default::default()).unwrap();
        assert_eq!(sig.rate, 22_050);
        assert_eq!(sig.samples.len(), t.samples.len());
        // Lossless: the decoded integers are exactly the encoded ones (decoders scale by 1/32768).
        for (a, b) in sig.samples.iter().zip(&t.samples) {
            assert_eq!(
                (a * 32_768.0).round() as i32,
                (b.clamp(-1.0, 1.0) * 32_767.0).round() as i32
            );
        }
    }
}
