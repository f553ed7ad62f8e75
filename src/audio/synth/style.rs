//! The sound of one track: tempo, swing, harmony and voices, drawn from its generator.

use super::annotation::LoudOffbeat;
use super::params::SynthParams;
use crate::engine::Rng;

/// The sound of one track, drawn once from its generator.
#[derive(Clone, Debug)]
pub(super) struct Style {
    pub(super) bpm: f64,
    pub(super) drift: f64,
    pub(super) swing: f64,
    pub(super) first_beat: f64,
    pub(super) first_beat_in_bar: u32,
    pub(super) key: f64,
    pub(super) progression: [f64; 4],
    pub(super) bass_steps: Vec<u32>,
    pub(super) stab_steps: Vec<u32>,
    pub(super) with_closed_hats: bool,
    pub(super) with_clap: bool,
    pub(super) kick_pitch: f64,
    pub(super) stab_cutoff: f64,
    pub(super) bass_cutoff: f64,
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
