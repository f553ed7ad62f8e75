//! Ingest: tempo, beats, downbeats, bars, stretch and the matrix, on synthetic tracks
//! with exact ground truth, and on the bad inputs a music folder holds.

use crate::common;

use std::path::Path;

use common::*;
use eigentechno::audio::synth::{SynthParams, synth_track};
use eigentechno::audio::{WavFormat, write_wav_interleaved};
use eigentechno::store::{NdArray, read_npy};

fn eval_json(dir: &Path) -> serde_json::Value {
    let o = eigentechno(&["eval-tempo", dir.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{:?}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn synthetic_corpus_meets_the_tempo_beat_and_downbeat_targets() {
    // A smaller version of the 200-track acceptance run: 20 tracks, 100-160 bpm, WAV and
    // FLAC, a quarter swung and a quarter drifting.
    let dir = tempfile::tempdir().unwrap();
    let o = eigentechno(&[
        "synth",
        "--out",
        dir.path().to_str().unwrap(),
        "--tracks",
        "20",
        "--seed",
        "7",
        "--bpm",
        "100..160",
        "--seconds",
        "30",
        "--formats",
        "wav,flac",
        "--swing",
        "0.25",
        "--drift",
        "0.25",
        "--rate",
        "22050",
        "--channels",
        "1",
        "--quiet",
    ]);
    assert!(o.status.success());
    let r = eval_json(dir.path());
    let f = |k: &str| r[k].as_f64().unwrap();
    assert!(f("accuracy1") >= 0.95, "{r:#}");
    assert!(f("median_abs_bpm_error") <= 0.2, "{r:#}");
    assert!(f("beat_f") >= 0.97, "{r:#}");
    assert!(f("downbeat_f") >= 0.90, "{r:#}");
}

#[test]
fn every_fixture_track_has_its_tempo_and_downbeats() {
    let r = eval_json(&corpus());
    let tracks = r["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 10);
    for t in tracks {
        assert_eq!(t["acc1"], true, "{t}");
        assert_eq!(
            t["downbeat_f"].as_f64(),
            Some(1.0),
            "downbeats within 70 ms: {t}"
        );
        assert!(t["beat_f"].as_f64().unwrap() >= 0.98, "{t}");
    }
}

#[test]
fn ingest_writes_a_matrix_whose_bars_start_on_the_downbeats() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = eigentechno(&[
        "ingest",
        corpus().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("10 tracks: 10 processed"), "{stdout}");
    let m = out.join("matrix");
    let NdArray::F32(bars) = read_npy(&m.join("bars.npy")).unwrap() else {
        panic!("float32")
    };
    let bars = bars.into_dimensionality::<ndarray::Ix2>().expect("2-D");
    let csv = std::fs::read_to_string(m.join("bars.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "row,track,bar,start_s,bpm,tempo_confidence,downbeat_confidence,stretch_ratio,segment"
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(bars.shape(), &[rows.len(), 16_538]);
    assert!(rows.len() >= 100);
    let mut last = (String::new(), -1.0f64);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0], i.to_string());
        let (track, start): (String, f64) = (r[1].clone(), r[3].parse().unwrap());
        assert!(
            track > last.0 || (track == last.0 && start > last.1),
            "rows ordered by track, then time"
        );
        // Beat 1 of every bar is a true downbeat, within 10 ms.
        let a = annotation(&root().join(&track));
        let err = a
            .downbeats
            .iter()
            .map(|d| (d - start).abs())
            .fold(f64::INFINITY, f64::min);
        assert!(
            err < 0.010,
            "{track} bar {}: start {start} is {:.1} ms from a downbeat",
            r[2],
            err * 1e3
        );
        let ratio: f64 = r[7].parse().unwrap();
        let bpm: f64 = r[4].parse().unwrap();
        assert!(
            (ratio - bpm / 128.0).abs() < 0.02,
            "stretch ratio {ratio} for {bpm} bpm"
        );
        let row = bars.row(i);
        assert!(
            row.iter().map(|v| v.abs()).fold(0.0, f32::max) > 0.1,
            "bar {i} is not silent"
        );
        last = (track, start);
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(m.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["rows"].as_u64().unwrap() as usize, rows.len());
    assert_eq!(report["bar_samples"], 16_538);
    for t in report["tracks"].as_array().unwrap() {
        assert_eq!(t["status"], "ok", "{t}");
        for k in [
            "bpm",
            "runner_up_bpm",
            "confidence",
            "downbeat_confidence",
            "drift",
            "bars",
            "groove",
        ] {
            assert!(t.get(k).is_some(), "{k} missing in {t}");
        }
        // Consecutive bars' onset envelopes line up (0.43 to 0.94 before onset frames
        // were pinned in the pitch-preserving stretch; 0.95 to 0.99 after).
        let groove = t["groove"].as_f64().unwrap();
        assert!(groove >= 0.9, "groove {groove} in {t}");
        // The tempo curve: a cubic in the Legendre basis whose mean is near the tempo,
        // and whose embedding without its constant is as long as the drift (one
        // segment: the drift is the whole track's).
        let curve = &t["tempo_curve"];
        assert_eq!(curve["basis"], "legendre", "{t}");
        let num = |v: &serde_json::Value| -> Vec<f64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        let (c, e) = (num(&curve["coefficients"]), num(&curve["embedding"]));
        assert_eq!((c.len(), e.len()), (4, 4), "{t}");
        let bpm = t["bpm"].as_f64().unwrap();
        assert!((c[0] - bpm).abs() < 0.05 * bpm, "mean {} vs {bpm}", c[0]);
        for (k, (ck, ek)) in c.iter().zip(&e).enumerate() {
            assert!((ck / ((2 * k + 1) as f64).sqrt() - ek).abs() < 1e-12);
        }
        let domain = num(&curve["domain"]);
        assert!(domain[0] < domain[1], "{t}");
        if t["segments"].as_array().is_none_or(|s| s.len() == 1) {
            let moving = e[1..].iter().map(|v| v * v).sum::<f64>().sqrt();
            let drift = t["drift"].as_f64().unwrap();
            assert!((moving - drift).abs() < 1e-9, "{moving} vs drift {drift}");
        }
    }

    // Played back to back, a track's bars keep the groove: consecutive bars' energy
    // envelopes correlate best at lag 0.
    let env = |i: usize| -> Vec<f64> {
        bars.row(i)
            .as_slice()
            .unwrap()
            .chunks(88)
            .map(|c| c.iter().map(|v| (v * v) as f64).sum::<f64>().sqrt())
            .collect()
    };
    let corr = |a: &[f64], b: &[f64], lag: isize| -> f64 {
        let (ma, mb) = (
            a.iter().sum::<f64>() / a.len() as f64,
            b.iter().sum::<f64>() / b.len() as f64,
        );
        let mut s = 0.0;
        for i in 0..a.len() as isize {
            let j = i + lag;
            if j >= 0 && (j as usize) < b.len() {
                s += (a[i as usize] - ma) * (b[j as usize] - mb);
            }
        }
        s
    };
    for i in 0..rows.len() - 1 {
        if rows[i][1] != rows[i + 1][1] {
            continue;
        }
        let (a, b) = (env(i), env(i + 1));
        let best = (-20..=20)
            .max_by(|&x, &y| corr(&a, &b, x).total_cmp(&corr(&a, &b, y)))
            .unwrap();
        assert!(
            best.abs() <= 1,
            "bars {i} and {}: envelopes align at lag {best} (10 ms frames)",
            i + 1
        );
    }

    // Resume: a second run redoes nothing and writes the same bytes.
    let before: Vec<Vec<u8>> = ["bars.npy", "bars.csv", "report.json"]
        .iter()
        .map(|f| std::fs::read(m.join(f)).unwrap())
        .collect();
    let o = eigentechno(&[
        "ingest",
        corpus().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(text(&o).0.contains("10 already done"), "{:?}", text(&o));
    let after: Vec<Vec<u8>> = ["bars.npy", "bars.csv", "report.json"]
        .iter()
        .map(|f| std::fs::read(m.join(f)).unwrap())
        .collect();
    assert!(before == after, "a resumed run gives the same matrix");
}

#[test]
fn bad_inputs_get_a_status_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir(&music).unwrap();
    let p = |n: &str| music.join(n);
    write_wav_interleaved(
        &p("silent.wav"),
        22_050,
        1,
        &vec![0.0; 22_050 * 10],
        WavFormat::Pcm16,
    )
    .unwrap();
    let mut x = 0x2545_f491u32;
    let noise: Vec<f32> = (0..22_050 * 15)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as f32 / u32::MAX as f32 - 0.5) * 0.5
        })
        .collect();
    write_wav_interleaved(&p("noise.wav"), 22_050, 1, &noise, WavFormat::Pcm16).unwrap();
    let base = SynthParams {
        seconds: 20.0,
        rate: 8_000,
        channels: 1,
        ..Default::default()
    };
    let lo = synth_track(3, 0, &base);
    write_wav_interleaved(
        &p("lo-8k-mono.wav"),
        8_000,
        1,
        &lo.samples,
        WavFormat::Pcm16,
    )
    .unwrap();
    let short = synth_track(
        3,
        1,
        &SynthParams {
            seconds: 1.0,
            rate: 22_050,
            ..base.clone()
        },
    );
    write_wav_interleaved(
        &p("one-second.wav"),
        22_050,
        1,
        &short.samples,
        WavFormat::Pcm16,
    )
    .unwrap();
    let hi = synth_track(
        3,
        2,
        &SynthParams {
            seconds: 12.0,
            rate: 96_000,
            channels: 2,
            ..base.clone()
        },
    );
    let six: Vec<f32> = hi
        .samples
        .chunks(2)
        .flat_map(|f| [f[0], f[1], 0.5 * f[0], 0.5 * f[1], 0.2 * f[0], 0.2 * f[1]])
        .collect();
    write_wav_interleaved(&p("hi-96k-6ch.wav"), 96_000, 6, &six, WavFormat::Pcm16).unwrap();
    let flac = std::fs::read(corpus().join("flac-0001.flac")).unwrap();
    std::fs::write(p("truncated.flac"), &flac[..flac.len() / 2]).unwrap();

    let out = dir.path().join("out");
    let o = eigentechno(&[
        "ingest",
        music.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{stdout}{stderr}");
    assert!(!stderr.contains("panick"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("matrix/report.json")).unwrap()).unwrap();
    let status = |name: &str| {
        let t = report["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["path"].as_str().unwrap().ends_with(name))
            .unwrap()
            .clone();
        (
            t["status"].as_str().unwrap().to_string(),
            t["error"].as_str().unwrap_or("").to_string(),
            t["bars"].as_u64().unwrap(),
        )
    };
    let (s, e, _) = status("silent.wav");
    assert_eq!(s, "failed");
    assert!(e.contains("silent"), "{e}");
    let (s, e, _) = status("one-second.wav");
    assert!(s == "failed" && e.contains("too short"), "{e}");
    let (s, e, _) = status("noise.wav");
    assert!(s == "failed" && e.contains("no steady beat"), "{e}");
    for ok in ["lo-8k-mono.wav", "hi-96k-6ch.wav", "truncated.flac"] {
        let (s, e, bars) = status(ok);
        assert!(s == "ok" && bars > 0, "{ok}: {s} {e}");
    }
    assert!(
        stderr.contains("truncated") && !stdout.contains("truncated"),
        "the truncation is reported as a warning, on stderr: {stderr}"
    );
    // --strict turns the bad tracks into a failed run.
    let o = eigentechno(&[
        "ingest",
        music.to_str().unwrap(),
        "--out",
        dir.path().join("strict").to_str().unwrap(),
        "--strict",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn tempo_command_prints_json_per_file() {
    let files = [corpus().join("wav-0000.wav"), corpus().join("mp3-0002.mp3")];
    let o = eigentechno(&[
        "tempo",
        "--json",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for (entry, f) in v.as_array().unwrap().iter().zip(&files) {
        assert_eq!(entry["file"], f.to_str().unwrap());
        let a = annotation(f);
        assert!((entry["bpm"].as_f64().unwrap() / a.bpm - 1.0).abs() < 0.01);
        for k in ["confidence", "runner_up_bpm", "beats", "downbeats"] {
            assert!(entry.get(k).is_some(), "{k}");
        }
        let first = entry["downbeats"][0].as_f64().unwrap();
        assert!(
            a.downbeats.iter().any(|d| (d - first).abs() < 0.02),
            "first downbeat {first}"
        );
    }
    let o = eigentechno(&["tempo", "--json", "/no/such/file.wav"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v[0]["error"]
            .as_str()
            .unwrap()
            .contains("/no/such/file.wav")
    );
}
