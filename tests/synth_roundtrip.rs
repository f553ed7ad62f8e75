//! `synth` round trip: decoding a synthesized track and reading its JSON gives the
//! stated bpm and beat times; kick onsets found by a plain energy detector fall
//! within 5 ms of the annotated beats. Also on the committed lossy fixtures, which
//! checks gapless MP3/Vorbis decoding keeps the timing.

use crate::common;

use common::*;
use eigentechno::audio::{DecodeOptions, decode_file};

/// Every annotated beat has an onset within 5 ms; the median beat period gives the bpm.
fn check_track(audio: &std::path::Path, tol_s: f64) {
    let a = annotation(audio);
    let sig = decode_file(audio, &DecodeOptions::default()).unwrap();
    assert_eq!(sig.rate, a.sample_rate, "{}", audio.display());
    let onsets = energy_onsets(&sig.samples, sig.rate);
    let mut worst = 0.0f64;
    for &b in &a.beats {
        let nearest = onsets
            .iter()
            .map(|o| (o - b).abs())
            .fold(f64::INFINITY, f64::min);
        worst = worst.max(nearest);
        assert!(
            nearest <= tol_s,
            "{}: no onset within {} ms of beat {b:.3} s (nearest {:.1} ms)",
            audio.display(),
            tol_s * 1e3,
            nearest * 1e3
        );
    }
    // Downbeats are beats at position 1, every 4 beats.
    for (i, (&t, &p)) in a.beats.iter().zip(&a.beat_positions).enumerate() {
        if p == 1 {
            assert!(a.downbeats.contains(&t));
        }
        if i + 4 < a.beats.len() {
            assert_eq!(a.beat_positions[i + 4], p);
        }
    }
    // The stated bpm is the tempo of the beats at mid-track (drift included).
    let mid = a.duration / 2.0;
    let k = a.beats.iter().position(|&b| b >= mid).unwrap();
    let local = 60.0 / (a.beats[k] - a.beats[k - 1]);
    assert!(
        (local - a.bpm).abs() < 0.05 * a.bpm / 100.0 + 0.05,
        "{}: bpm {} vs beats {local}",
        audio.display(),
        a.bpm
    );
    eprintln!(
        "{}: {} beats, worst onset error {:.2} ms",
        audio.display(),
        a.beats.len(),
        worst * 1e3
    );
}

#[test]
fn synthesized_wav_and_flac_kicks_fall_on_the_annotated_beats() {
    // Four tracks, WAV and FLAC in turn, half swung and half drifting.
    let synth = |out: &std::path::Path| {
        eigentechno(&[
            "synth",
            "--out",
            out.to_str().unwrap(),
            "--tracks",
            "4",
            "--seed",
            "99",
            "--bpm",
            "100..160",
            "--seconds",
            "20",
            "--formats",
            "wav,flac",
            "--swing",
            "0.5",
            "--drift",
            "0.5",
            "--quiet",
        ])
    };
    let dir = tempfile::tempdir().unwrap();
    let o = synth(dir.path());
    assert!(o.status.success(), "{:?}", text(&o));
    for n in [
        "synth-0000.wav",
        "synth-0001.flac",
        "synth-0002.wav",
        "synth-0003.flac",
    ] {
        check_track(&dir.path().join(n), 0.005);
    }
    // Same seed, same bytes.
    let dir2 = tempfile::tempdir().unwrap();
    assert!(synth(dir2.path()).status.success());
    assert_eq!(tree(dir.path()), tree(dir2.path()));
}

#[test]
fn committed_fixtures_keep_their_timing_through_decoding() {
    for t in corpus_tracks() {
        check_track(&t, 0.005);
    }
}

#[test]
fn synth_rejects_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for args in [
        vec!["synth", "--out", out, "--bpm", "fast"],
        vec!["synth", "--out", out, "--formats", "mp3"],
        vec!["synth", "--out", out, "--channels", "3"],
        vec!["synth", "--out", out, "--swing", "2"],
    ] {
        let o = eigentechno(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(text(&o).1.contains("error:"), "{args:?}");
    }
}
