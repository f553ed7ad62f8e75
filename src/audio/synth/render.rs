//! Laying down a track's voices on its clock, and mastering the sum.

use std::f64::consts::PI;

use super::annotation::LoudOffbeat;
use super::clock::Clock;
use super::style::Style;
use crate::audio::round6;
use crate::engine::Rng;

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
