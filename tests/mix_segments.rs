//! Beat grids that follow a DJ mix: tempo changes, cuts, crossfades, ramps and a beatless
//! breakdown (`synth --mix`), scored against the mix's ground truth.

use eigentechno::audio::bars::bar_spans;
use eigentechno::audio::evaluate::f_measure;
use eigentechno::audio::resample::resample;
use eigentechno::audio::rhythm::{RhythmOptions, SegmentStatus, bar_phases, beat_grid, features};
use eigentechno::audio::signal::Signal;
use eigentechno::audio::synth::{SynthParams, TruthStatus, synth_mix};

#[test]
fn mixes_of_three_tracks_are_tracked_across_every_kind_of_join_and_no_bar_straddles_a_cut() {
    let params = SynthParams {
        bpm_min: 100.0,
        bpm_max: 150.0,
        rate: 22_050,
        channels: 1,
        ..Default::default()
    };
    let opts = RhythmOptions::default();
    let (mut beat_f, mut downbeat_f) = (Vec::new(), Vec::new());
    for index in 0..3 {
        let mix = synth_mix(5, index, &params, (3, 3));
        let truth = mix.annotation.clone();
        let signal = resample(Signal::new(22_050, mix.samples), 8_820).unwrap();
        let f = features(&signal);
        let tempo = eigentechno::audio::rhythm::estimate_tempo(&f, &opts).unwrap();
        let grid = beat_grid(&f, tempo.bpm, &opts).unwrap();
        let phases = bar_phases(&f, &grid, 4);
        let downbeats: Vec<f64> = eigentechno::audio::rhythm::downbeat_indices(&grid, &phases, 4)
            .map(|k| grid.beats[k])
            .collect();
        beat_f.push(f_measure(&grid.beats, &truth.beats, 0.07));
        downbeat_f.push(f_measure(&downbeats, &truth.downbeats, 0.07));
        // Where the music changes track (the kick swaps), no bar runs across.
        let joins: Vec<f64> = truth
            .segments
            .iter()
            .filter(|s| s.join == "cut" || s.join == "crossfade")
            .map(|s| s.start)
            .collect();
        assert!(joins.len() >= 2, "a cut and a crossfade");
        for (_, _, t0, t1) in bar_spans(&grid, &phases, 4) {
            for &j in &joins {
                assert!(
                    !(t0 < j - 0.07 && t1 > j + 0.07),
                    "mix {index}: the bar {t0:.2}-{t1:.2} s straddles the join at {j:.2} s"
                );
            }
        }
        // The breakdown is found: a beatless segment covers at least half of it. (Not
        // yet all of it: a track brought in by a crossfade just before its breakdown
        // leaves the grid of the track before running into the breakdown's start.)
        let breakdown = truth
            .segments
            .iter()
            .find(|s| s.status == TruthStatus::Beatless)
            .expect("a breakdown");
        let covered: f64 = grid
            .segments
            .iter()
            .filter(|s| s.status == SegmentStatus::Beatless)
            .map(|s| (s.end.min(breakdown.end) - s.start.max(breakdown.start)).max(0.0))
            .sum();
        assert!(
            covered > 0.5 * (breakdown.end - breakdown.start),
            "mix {index}: breakdown {breakdown:?} not among {:?}",
            grid.segments
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    // The single-grid tracker scored about 0.6-0.75 beat F on such mixes. Not yet the
    // 0.97 aimed at: a track crossfaded in just before its breakdown is still lost
    // (mix 2 here, 0.87).
    assert!(mean(&beat_f) >= 0.90, "beat F {beat_f:?}");
    assert!(mean(&downbeat_f) >= 0.85, "downbeat F {downbeat_f:?}");
}
