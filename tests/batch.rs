//! Running pipelines on real files: durations, bad files, strict mode, determinism,
//! resume, and the stage listing.

mod common;

use std::path::Path;

use common::*;

fn run_to_wav(path: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let set = format!("tracks.path={}", path.display());
    let mut args = vec![
        "run",
        "pipelines/to-wav.toml",
        "--set",
        &set,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    eigentechno(&args)
}

fn wav_info(path: &Path) -> (u32, u16, u32) {
    let r = hound::WavReader::open(path).unwrap();
    let s = r.spec();
    (s.sample_rate, s.channels, r.duration())
}

#[test]
fn every_fixture_format_becomes_a_working_rate_wav_of_the_same_duration() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run_to_wav(&corpus(), &out, &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    let mut formats = std::collections::BTreeSet::new();
    for track in corpus_tracks() {
        let a = annotation(&track);
        let stem = track.file_stem().unwrap().to_str().unwrap();
        let wav = out.join("wavs").join(format!("{stem}.wav"));
        let (rate, channels, frames) = wav_info(&wav);
        assert_eq!((rate, channels), (8_820, 1), "{}", wav.display());
        let got = frames as f64 / 8_820.0;
        assert!(
            (got - a.duration).abs() <= 1.0 / 8_820.0,
            "{}: {got} s written, source {} s",
            track.display(),
            a.duration
        );
        formats.insert(track.extension().unwrap().to_str().unwrap().to_string());
    }
    let formats: Vec<_> = formats.into_iter().collect();
    assert_eq!(formats, ["flac", "mp3", "ogg", "wav"]);
}

#[test]
fn resampled_output_keeps_the_beat_timing() {
    // The kick onsets of the 8,820 Hz output still sit on the annotated beats.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(run_to_wav(&corpus(), &out, &[]).status.success());
    for track in corpus_tracks().into_iter().take(3) {
        let a = annotation(&track);
        let stem = track.file_stem().unwrap().to_str().unwrap();
        let sig = eigentechno::audio::decode_file(
            &out.join("wavs").join(format!("{stem}.wav")),
            &Default::default(),
        )
        .unwrap();
        let onsets = energy_onsets(&sig.samples, sig.rate);
        for &b in &a.beats {
            let near = onsets
                .iter()
                .map(|o| (o - b).abs())
                .fold(f64::INFINITY, f64::min);
            assert!(near < 0.005, "{stem}: beat {b} nearest onset {near}");
        }
    }
}

/// Two good tracks and three bad files.
fn mixed_folder(dir: &Path) {
    std::fs::copy(corpus().join("wav-0000.wav"), dir.join("good-a.wav")).unwrap();
    std::fs::copy(corpus().join("mp3-0000.mp3"), dir.join("good-b.mp3")).unwrap();
    // A corrupt MP3: an ID3 tag, then bytes that hold no MPEG frame.
    let mut corrupt = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
    let mut x = 0x1234_5678u32;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        corrupt.push((x & 0x7f) as u8); // no 0xFF bytes: no frame sync anywhere
    }
    std::fs::write(dir.join("corrupt.mp3"), corrupt).unwrap();
    std::fs::write(dir.join("empty.flac"), b"").unwrap();
    std::fs::write(
        dir.join("notes.ogg"),
        "These are liner notes, not audio.\n".repeat(20),
    )
    .unwrap();
    // Not audio and not named like audio: ignored, not reported.
    std::fs::write(dir.join("README.txt"), "hello").unwrap();
}

#[test]
fn bad_files_are_reported_and_skipped_and_strict_fails() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir(&music).unwrap();
    mixed_folder(&music);
    let out = dir.path().join("out");
    let set = format!("tracks.path={}", music.display());
    let o = eigentechno(&[
        "run",
        "pipelines/to-wav.toml",
        "--set",
        &set,
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(out.join("wavs/good-a.wav").exists() && out.join("wavs/good-b.wav").exists());
    assert_eq!(std::fs::read_dir(out.join("wavs")).unwrap().count(), 2);
    assert!(
        stdout.contains("5 tracks: 2 processed, 3 failed"),
        "{stdout}"
    );
    for (file, reason) in [
        (
            "corrupt.mp3",
            "starts like a mp3 file but no readable mp3 stream was found",
        ),
        ("empty.flac", "empty file (0 bytes)"),
        ("notes.ogg", "not an audio file: the content is text"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("{file} not in summary: {stdout}"));
        assert!(line.contains(reason), "{file}: {line}");
    }
    assert!(!stdout.contains("README.txt"));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let failed: Vec<&str> = summary["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "failed")
        .map(|t| t["path"].as_str().unwrap())
        .collect();
    assert_eq!(failed.len(), 3);

    // --strict: the same folder fails the run.
    let out2 = dir.path().join("out-strict");
    let o = eigentechno(&[
        "run",
        "pipelines/to-wav.toml",
        "--set",
        &set,
        "--out",
        out2.to_str().unwrap(),
        "--strict",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert!(text(&o).1.contains("corrupt.mp3"));
}

#[test]
fn one_and_two_threads_give_byte_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("t1"), dir.path().join("t2"));
    assert!(
        run_to_wav(&corpus(), &a, &["--threads", "1"])
            .status
            .success()
    );
    assert!(
        run_to_wav(&corpus(), &b, &["--threads", "2"])
            .status
            .success()
    );
    let (ta, tb) = (tree(&a), tree(&b));
    assert!(ta.len() > 10);
    assert_eq!(ta.len(), tb.len());
    for ((na, da), (nb, db)) in ta.iter().zip(&tb) {
        assert_eq!(na, nb);
        assert!(da == db, "{na} differs between 1 and 2 threads");
    }
}

#[test]
fn an_interrupted_batch_resumes_without_redoing_finished_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(run_to_wav(&corpus(), &out, &[]).status.success());
    let wavs = out.join("wavs");
    let before = tree(&wavs);
    // Simulate an interruption: one output missing.
    std::fs::remove_file(wavs.join("mp3-0001.wav")).unwrap();
    let o = eigentechno(&[
        "run",
        "pipelines/to-wav.toml",
        "--set",
        &format!("tracks.path={}", corpus().display()),
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, _) = text(&o);
    assert!(
        stdout.contains("10 tracks: 1 processed, 9 already done (skipped)"),
        "{stdout}"
    );
    assert_eq!(tree(&wavs), before);
    // A changed parameter redoes everything.
    let o = eigentechno(&[
        "run",
        "pipelines/to-wav.toml",
        "--set",
        &format!("tracks.path={}", corpus().display()),
        "--set",
        "working_rate.rate=11025",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        text(&o).0.contains("10 tracks: 10 processed"),
        "{:?}",
        text(&o)
    );
    assert_eq!(wav_info(&wavs.join("wav-0000.wav")).0, 11_025);
}

#[test]
fn stages_lists_every_type_with_parameters_and_defaults() {
    let o = eigentechno(&["stages"]);
    assert!(o.status.success());
    let (s, _) = text(&o);
    for needle in [
        "folder",
        "decode",
        "resample",
        "write-wav",
        "rate",
        "default 8820",
        "mix",
        "default \"mean\"",
        "format",
        "default \"pcm16\"",
        "consumes audio; produces files",
        "path",
        "required",
    ] {
        assert!(s.contains(needle), "'{needle}' missing from:\n{s}");
    }
    let o = eigentechno(&["stages", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let resample = v
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "resample")
        .unwrap();
    assert_eq!(resample["params"][0]["default"], "8820");
    assert_eq!(resample["consumes"][0], "audio");
}

#[test]
fn the_main_pipeline_runs_on_the_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("main");
    let o = eigentechno(&[
        "run",
        "pipelines/eigentechno.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("10 tracks: 10 processed"), "{stdout}");
    assert!(
        stdout.contains(&out.join("matrix").display().to_string()),
        "says where outputs went: {stdout}"
    );
    for f in ["bars.npy", "bars.csv", "report.json"] {
        assert!(out.join("matrix").join(f).exists(), "{f}");
    }
}
