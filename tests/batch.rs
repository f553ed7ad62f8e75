//! Running pipelines on real files: durations, bad files, strict mode, determinism,
//! resume, and the stage listing.

use crate::common;

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
    let (dir, _music, out, set) = music_run(mixed_folder);
    let o = eigentechno(&[
        "run",
        "pipelines/to-wav.toml",
        "--set",
        &set,
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    // Finished without some tracks: exit 3, the skipped files on stderr.
    assert_eq!(o.status.code(), Some(3), "{stdout}{stderr}");
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
        let line = stderr
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("{file} not among the skipped files: {stderr}"));
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
        if na == "summary.json" {
            // Equal but for the stages' wall times.
            assert_eq!(without_seconds(da), without_seconds(db), "{na}");
            continue;
        }
        assert!(da == db, "{na} differs between 1 and 2 threads");
    }
}

/// A summary.json without the stages' `seconds`.
fn without_seconds(json: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(json).unwrap();
    for st in v["stages"].as_array_mut().unwrap() {
        assert!(st["seconds"].is_number(), "{st}");
        st.as_object_mut().unwrap().remove("seconds");
    }
    v
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
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let listed = |stage: &str| -> Vec<String> {
        summary["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == stage)
            .unwrap_or_else(|| panic!("stage {stage}"))["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        listed("matrix"),
        ["matrix/bars.npy", "matrix/bars.csv", "matrix/report.json"]
    );
    assert_eq!(
        listed("bands"),
        ["bands/bands.npy", "bands/bands.labels.txt"]
    );
    assert!(listed("explorer").contains(&"index.html".to_string()));
}

/// The main job's eigentechno outputs: model, listening outputs, figures (issue #4,
/// acceptance 5).
#[test]
fn the_main_pipeline_writes_the_pca_listening_outputs_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("main");
    let o = eigentechno(&[
        "run",
        "pipelines/eigentechno.toml",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    let pca = out.join("pca");
    for f in [
        "mean.npy",
        "components.npy",
        "singular_values.npy",
        "explained_variance.npy",
        "explained_variance_ratio.npy",
        "scores.npy",
        "explained_variance.csv",
        "pca.json",
    ] {
        assert!(pca.join(f).exists(), "pca/{f}");
    }
    let csv = std::fs::read_to_string(pca.join("explained_variance.csv")).unwrap();
    assert!(csv.starts_with("k,variance,ratio,cumulative\n"));
    let last: f64 = csv
        .lines()
        .last()
        .unwrap()
        .split(',')
        .nth(3)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (last - 1.0).abs() < 1e-6,
        "every component explains everything: {last}"
    );
    for f in [
        "singular_values.png",
        "cumulative_variance.png",
        "component_spectra.png",
        "average_spectrum.png",
    ] {
        let bytes = std::fs::read(out.join("figures").join(f)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{f}");
    }
    let listen = out.join("listen");
    let d = 16_538u32;
    let check_wav = |p: &std::path::Path, frames: u32| -> f32 {
        let r = hound::WavReader::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let spec = r.spec();
        assert_eq!(
            (spec.sample_rate, spec.channels, spec.bits_per_sample),
            (8820, 1, 16),
            "{}",
            p.display()
        );
        assert_eq!(r.duration(), frames, "{}", p.display());
        r.into_samples::<i16>()
            .map(|s| s.unwrap().unsigned_abs() as f32 / 32767.0)
            .fold(0.0, f32::max)
    };
    check_wav(&listen.join("mean.wav"), d * 4);
    let comps: Vec<_> = std::fs::read_dir(listen.join("components"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let rows: usize = std::fs::read_to_string(out.join("matrix/bars.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(
        comps.len(),
        (rows - 1).min(400),
        "every component of a small corpus"
    );
    for c in &comps {
        let peak = check_wav(c, d * 4);
        assert!(
            peak > 0.8,
            "{} is peak-normalised, not silent ({peak})",
            c.display()
        );
    }
    let recon: Vec<String> = std::fs::read_dir(listen.join("reconstructions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        recon.iter().any(|n| n.ends_with("_k_00001.wav")),
        "{recon:?}"
    );
    assert!(recon.iter().any(|n| n.ends_with("_k_all.wav")), "{recon:?}");
    assert_eq!(
        recon
            .iter()
            .filter(|n| n.ends_with("_original.wav"))
            .count(),
        4
    );
    check_wav(&listen.join("morph.wav"), d * 32);
    // Probabilistic PCA: outliers ranked, bars sampled, k chosen.
    let outliers = std::fs::read_to_string(out.join("outliers/outliers.csv")).unwrap();
    assert!(outliers.starts_with("rank,row,track,start_s,log_likelihood,mahalanobis,residual\n"));
    assert_eq!(outliers.lines().count(), rows + 1, "every bar ranked");
    let lls: Vec<f64> = outliers
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap().parse().unwrap())
        .collect();
    assert!(lls.windows(2).all(|w| w[0] <= w[1]), "most unusual first");
    assert_eq!(
        std::fs::read_dir(out.join("outliers/unusual"))
            .unwrap()
            .count(),
        8
    );
    for i in 0..8 {
        check_wav(&out.join(format!("sample/sample_{i:03}.wav")), d * 4);
        assert!(check_wav(&out.join(format!("sample/sample_{i:03}_noise.wav")), d * 4) > 0.0);
    }
    let sk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("select_k/select_k.json")).unwrap())
            .unwrap();
    assert!(sk["best_k"].as_u64().unwrap() >= 1);
    // Correlation heatmaps of the band energies, and of the first 8 components' scores
    // beside the bars' 6 metadata columns and 24 band energies, with their JSON.
    for (stage, features) in [("band_correlation", 24), ("score_correlation", 38)] {
        let png = std::fs::read(out.join(stage).join(format!("{stage}.png"))).unwrap();
        assert_eq!(&png[1..4], b"PNG", "{stage}");
        let j: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join(stage).join(format!("{stage}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(j["order"].as_array().unwrap().len(), features, "{stage}");
    }
    // Every component with the mean added back is the bar itself (to 16-bit rounding).
    let read = |p: std::path::PathBuf| -> Vec<i32> {
        hound::WavReader::open(p)
            .unwrap()
            .into_samples::<i16>()
            .map(|s| s.unwrap() as i32)
            .collect()
    };
    let original = recon.iter().find(|n| n.ends_with("_original.wav")).unwrap();
    let all = original.replace("_original.wav", "_k_all.wav");
    let (a, b) = (
        read(listen.join("reconstructions").join(original)),
        read(listen.join("reconstructions").join(&all)),
    );
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).max().unwrap();
    assert!(worst <= 2, "{all} differs from the bar by {worst} LSB");
    let one = read(
        listen
            .join("reconstructions")
            .join(original.replace("_original.wav", "_k_00001.wav")),
    );
    assert!(
        a.iter()
            .zip(&one)
            .map(|(x, y)| (x - y).abs())
            .max()
            .unwrap()
            > 100,
        "k = 1 is not the bar"
    );
}
