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
