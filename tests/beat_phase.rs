//! Beats on the beat, not on the "and", and bars whose drums stay in place when stretched.

use eigentechno::audio::evaluate::f_measure;
use eigentechno::audio::resample::resample;
use eigentechno::audio::rhythm::{Rhythm, RhythmOptions, analyse};
use eigentechno::audio::signal::Signal;
use eigentechno::audio::stretch::{StretchMethod, stretch};
use eigentechno::audio::synth::{Annotation, SynthParams, synth_track};

/// A track of a corpus made as acceptance 1's (100-160 bpm, 60 s, 44.1 kHz stereo, a
/// quarter swung and a quarter drifting), mixed down and analysed at 8,820 Hz.
fn analysed_synth_track(seed: u64, index: u64) -> (Rhythm, Annotation) {
    let params = SynthParams {
        bpm_min: 100.0,
        bpm_max: 160.0,
        seconds: 60.0,
        rate: 44_100,
        channels: 2,
        swing_share: 0.25,
        drift_share: 0.25,
        loud_offbeat_share: 0.0,
    };
    let track = synth_track(seed, index, &params);
    let mono: Vec<f32> = track
        .samples
        .chunks(2)
        .map(|lr| 0.5 * (lr[0] + lr[1]))
        .collect();
    let signal = resample(Signal::new(params.rate, mono), 8_820).unwrap();
    let rhythm = analyse(&signal, &RhythmOptions::default()).expect("a beat");
    (rhythm, track.annotation)
}

/// Tracks of the acceptance corpus (seed 7, 100-160 bpm, 60 s, a quarter swung and a
/// quarter drifting) whose loud off-beat hats and bass once pulled the tracker half a
/// beat late (beat F-measure 0): the kick band must put the beats back on the kicks.
#[test]
fn loud_off_beats_do_not_pull_the_beats_onto_the_and() {
    for index in [8, 21, 47, 111, 148] {
        let (rhythm, annotation) = analysed_synth_track(7, index);
        let truth = &annotation.beats;
        let f = f_measure(&rhythm.beats, truth, 0.07);
        assert!(f > 0.95, "track {index}: beat F {f:.3}");
        let fd = f_measure(&rhythm.downbeats, &annotation.downbeats, 0.07);
        assert!(fd > 0.9, "track {index}: downbeat F {fd:.3}");
    }
}

/// `synth --loud-offbeat`: off-beat hats, bass or claps louder than the kick. Tracks 25
/// and 29 of this corpus have a loud off-beat bass whose notes fall in the kick band,
/// where the kick-band check alone picked the wrong phase (beat F 0); the harmony (chords
/// change on the bar line) decides there. The others cover the three variants.
#[test]
fn louder_off_beat_hats_bass_or_claps_than_kicks_leave_the_beats_on_the_kicks() {
    let params = SynthParams {
        bpm_min: 100.0,
        bpm_max: 150.0,
        seconds: 60.0,
        rate: 22_050,
        channels: 1,
        swing_share: 0.0,
        drift_share: 0.0,
        loud_offbeat_share: 1.0,
    };
    let mut kinds = std::collections::BTreeSet::new();
    for index in [0, 1, 2, 3, 4, 25, 29] {
        let track = synth_track(9, index, &params);
        kinds.insert(format!(
            "{:?}",
            track.annotation.loud_offbeat.expect("loud")
        ));
        let signal = resample(Signal::new(22_050, track.samples), 8_820).unwrap();
        let rhythm = analyse(&signal, &RhythmOptions::default()).expect("a beat");
        let f = f_measure(&rhythm.beats, &track.annotation.beats, 0.07);
        assert!(
            f >= 0.97,
            "track {index} ({:?}): beat F {f:.3}",
            track.annotation.loud_offbeat
        );
    }
    assert_eq!(kinds.len(), 3, "hats, bass and claps: {kinds:?}");
}

/// Onset times (samples) in `y`: the first sample of each burst above `threshold`
/// after at least `gap` quiet samples.
fn onsets(y: &[f32], threshold: f32, gap: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut quiet = gap;
    for (i, v) in y.iter().enumerate() {
        if v.abs() > threshold {
            if quiet >= gap {
                out.push(i);
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    out
}

/// A bar of 16th-note clicks over a sustained bass: after the pitch-preserving stretch
/// every click starts within 1 ms of its place in the stretched bar, in both directions.
/// (A free ±10 ms similarity search let them wander by up to 10 ms, which blurred the
/// groove of consecutive real bars.)
#[test]
fn pitch_stretch_keeps_every_click_in_its_place() {
    let rate = 8_820u32;
    let n = 17_640usize; // one 4/4 bar at 120 bpm
    let step = n as f64 / 16.0;
    let mut x: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / rate as f64;
            (0.05 * (2.0 * std::f64::consts::PI * 55.0 * t).sin()) as f32
        })
        .collect();
    let mut seed = 0x1234_5678u32;
    for k in 0..16 {
        let start = (k as f64 * step).round() as usize;
        for i in 0..60 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed as f32 / u32::MAX as f32) * 2.0 - 1.0;
            x[start + i] += noise * (-(i as f32) / 12.0).exp();
        }
    }
    for d in [16_538usize, 18_900] {
        let y = stretch(&x, d, StretchMethod::Pitch, rate);
        // Clicks only: the bass stays below 0.06, the click bursts start near 1.
        let found = onsets(&y, 0.3, 200);
        assert_eq!(found.len(), 16, "d {d}: onsets at {found:?}");
        let tolerance = (0.001 * rate as f64).ceil() as isize;
        for (k, &at) in found.iter().enumerate() {
            let want = (k as f64 * d as f64 / 16.0).round() as isize;
            assert!(
                (at as isize - want).abs() <= tolerance,
                "d {d}: click {k} at {at}, want {want} (±{tolerance})"
            );
        }
    }
}

/// A track drifting from 142.3 to 137.0 bpm (seed 11, track 486 of a 500-track corpus)
/// whose straight-line grid still explained half its beats, so the line was kept and the
/// bars slipped off the beat (beat F 0.62, groove 0.06). The cubic now wins when it
/// explains clearly more beats than the line.
#[test]
fn a_strong_drift_gets_a_grid_that_follows_it() {
    let (rhythm, annotation) = analysed_synth_track(11, 486);
    assert!(rhythm.drifting, "drift {}", rhythm.drift);
    let f = f_measure(&rhythm.beats, &annotation.beats, 0.07);
    assert!(f > 0.72, "beat F {f:.3}");
}
