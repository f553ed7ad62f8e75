//! The bar phase (which beat is "1") from short context, its confidence, and the
//! `min_confidence` filter of the bars stage on it.

use eigentechno::audio::bars::{BarOptions, cut_bars};
use eigentechno::audio::evaluate::f_measure;
use eigentechno::audio::rhythm::{
    RhythmOptions, analyse, bar_phases, beat_grid, estimate_tempo, features,
};
use eigentechno::audio::signal::Signal;
use eigentechno::audio::synth::{SynthParams, synth_track};

const RATE: u32 = 8_820;

/// Track `index` of corpus `seed`, mono at [`RATE`], tempo drawn from `bpm`: samples,
/// beats and downbeats.
fn synth(
    seed: u64,
    index: u64,
    bpm: (f64, f64),
    seconds: f64,
    loud: f64,
) -> (Vec<f32>, Vec<f64>, Vec<f64>) {
    let params = SynthParams {
        bpm_min: bpm.0,
        bpm_max: bpm.1,
        seconds,
        rate: RATE,
        channels: 1,
        swing_share: 0.25,
        drift_share: 0.0,
        loud_offbeat_share: loud,
    };
    let t = synth_track(seed, index, &params);
    (t.samples, t.annotation.beats, t.annotation.downbeats)
}

/// Identical clicks on every beat: a pulse with nothing that marks a bar (no accent, no
/// harmony, no change), so no beat of the four can stand out as "1".
fn click_track(bpm: f64, seconds: f64) -> Vec<f32> {
    let n = (seconds * RATE as f64) as usize;
    let mut out = vec![0.0f32; n];
    let period = 60.0 / bpm;
    let click: Vec<f32> = (0..(0.03 * RATE as f64) as usize)
        .map(|i| {
            let t = i as f64 / RATE as f64;
            ((2.0 * std::f64::consts::PI * 60.0 * t).sin() * 0.8
                + (2.0 * std::f64::consts::PI * 1_500.0 * t).sin() * 0.3) as f32
                * (-t / 0.008).exp() as f32
        })
        .collect();
    let mut t = 0.25;
    while t < seconds {
        let at = (t * RATE as f64).round() as usize;
        for (i, c) in click.iter().enumerate() {
            if let Some(x) = out.get_mut(at + i) {
                *x += c;
            }
        }
        t += period;
    }
    out
}

/// 8- and 16-bar excerpts of synth tracks (100-150 bpm, several styles, swung and
/// straight, and the three loud off-beat variants: 108 excerpts of each length), cut
/// mid-beat at a random bar and tracked alone. Where the excerpt's beats are right, the
/// bar phase must be right in at least 98 % (issue #30), and a wrong phase must say so
/// (confidence below 0.3), since that is what `min_confidence` relies on.
///
/// Counting the excerpts whose beats are wrong too (a loud off-beat on 8 bars can put the
/// beat on the "and"), 99.1 % here are right, and 97.5 % (8 bars) and 97.8 % (16 bars)
/// over seeds 31-39: short of the 98 % through the beats, not the bar phase.
#[test]
fn short_excerpts_of_synth_tracks_get_the_bar_phase_right() {
    for bars in [8usize, 16] {
        let (mut beats_right, mut phase_right, mut total) = (0, 0, 0);
        let mut unflagged = Vec::new();
        for seed in 31..=33u64 {
            for loud in [0.0, 0.5, 1.0] {
                for index in 0..12u64 {
                    let (samples, beats, downbeats) =
                        synth(seed, index, (100.0, 150.0), 70.0, loud);
                    // Start mid-beat in the second to fifth bar, so the excerpt does not
                    // begin on a downbeat.
                    let period = beats[1] - beats[0];
                    let start = beats[4 + ((index + seed) as usize * 5) % 13] + 0.37 * period;
                    let end = start + bars as f64 * 4.0 * period;
                    let (a, b) = ((start * RATE as f64) as usize, (end * RATE as f64) as usize);
                    assert!(b <= samples.len());
                    let excerpt = Signal::new(RATE, samples[a..b].to_vec());
                    let r = analyse(&excerpt, &RhythmOptions::default()).expect("a beat");
                    let within = |v: &[f64]| -> Vec<f64> {
                        v.iter()
                            .filter(|&&x| x > start && x < end)
                            .map(|x| x - start)
                            .collect()
                    };
                    total += 1;
                    if f_measure(&r.beats, &within(&beats), 0.07) <= 0.9 {
                        continue;
                    }
                    beats_right += 1;
                    if f_measure(&r.downbeats, &within(&downbeats), 0.07) > 0.9 {
                        phase_right += 1;
                    } else if r.downbeat_confidence >= 0.3 {
                        unflagged.push((seed, loud, index, r.downbeat_confidence));
                    }
                }
            }
        }
        assert!(
            beats_right >= total * 9 / 10,
            "{bars} bars: beats right on only {beats_right} of {total}"
        );
        assert!(
            phase_right as f64 >= 0.98 * beats_right as f64,
            "{bars} bars: the phase right on {phase_right} of the {beats_right} with right beats"
        );
        assert!(
            unflagged.is_empty(),
            "{bars} bars: confidently wrong phases (seed, loud share, track, confidence): {unflagged:?}"
        );
    }
}

/// The confidence says when the bar phase is a guess: on clicks with no bar-level cue it
/// is near zero, on music whose chords change on the bar line it is high.
#[test]
fn the_phase_confidence_falls_where_nothing_marks_the_bar() {
    let clicks = Signal::new(RATE, click_track(126.0, 40.0));
    let r = analyse(&clicks, &RhythmOptions::default()).expect("a beat");
    assert!((r.bpm - 126.0).abs() < 0.5, "the clicks' tempo: {}", r.bpm);
    assert!(
        r.downbeat_confidence < 0.1,
        "clicks alone give no bar phase, yet confidence {:.3}",
        r.downbeat_confidence
    );
    let (samples, _, _) = synth(31, 2, (118.0, 142.0), 40.0, 0.0);
    let music = analyse(&Signal::new(RATE, samples), &RhythmOptions::default()).expect("a beat");
    assert!(
        music.downbeat_confidence > 0.5,
        "chords on the bar line, yet confidence {:.3}",
        music.downbeat_confidence
    );
}

/// A synth track, then clicks at another tempo: two sections, one whose bar phase is
/// sure and one whose is a guess. `min_confidence` keeps exactly the bars of the first
/// (all of them), and none of the second.
#[test]
fn min_confidence_drops_exactly_the_bars_whose_phase_is_unsure() {
    let (mut samples, beats, _) = synth(31, 3, (118.0, 142.0), 30.0, 0.0);
    let join = samples.len() as f64 / RATE as f64;
    samples.extend(click_track(100.0, 30.0));
    let signal = Signal::new(RATE, samples);
    let opts = RhythmOptions::default();
    let f = features(&signal);
    let tempo = estimate_tempo(&f, &opts).expect("a tempo");
    let grid = beat_grid(&f, tempo.bpm, &opts).expect("a grid");
    let phases = bar_phases(&f, &grid, 4);
    assert_eq!(phases.len(), 2, "two sections: {:?}", grid.sections);
    let (music, clicks) = (phases[0].1, phases[1].1);
    assert!(
        music > 0.5 && clicks < 0.1,
        "phase confidences {music:.3}, {clicks:.3}"
    );

    let all = cut_bars(&signal, &grid, &phases, 4, &BarOptions::default());
    let threshold = 0.3;
    let kept = cut_bars(
        &signal,
        &grid,
        &phases,
        4,
        &BarOptions {
            min_confidence: threshold,
            ..Default::default()
        },
    );
    // Independent of the filter's own bookkeeping: by time, the bars of the music are
    // those that end by the join (within a beat).
    let slack = 60.0 / tempo.bpm.max(100.0);
    let of_music: Vec<f64> = all
        .iter()
        .filter(|b| b.start + b.samples.len() as f64 / RATE as f64 <= join + slack)
        .map(|b| b.start)
        .collect();
    let kept_starts: Vec<f64> = kept.iter().map(|b| b.start).collect();
    assert!(of_music.len() >= 10, "the music's bars: {}", of_music.len());
    assert!(
        all.len() > of_music.len() + 8,
        "the clicks' bars are cut too"
    );
    assert_eq!(kept_starts, of_music, "kept bars against the music's bars");
    assert!(kept.iter().all(|b| b.downbeat_confidence >= threshold));
    assert!(beats.len() > 40);
}
