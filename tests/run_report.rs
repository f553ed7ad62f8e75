//! The run report (`summary.json` and the printed summary) and resuming whole runs.

use crate::common;

use std::path::Path;

use common::*;
use eigentechno::pipeline::{TrackReport, TrackStatus};

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

/// Two good files and a corrupt one.
fn small_folder(dir: &Path) {
    std::fs::copy(corpus().join("wav-0000.wav"), dir.join("good-a.wav")).unwrap();
    std::fs::copy(corpus().join("mp3-0000.mp3"), dir.join("good-b.mp3")).unwrap();
    std::fs::write(dir.join("empty.flac"), b"").unwrap();
}

#[test]
fn track_status_is_written_as_the_same_words() {
    for (status, word) in [
        (TrackStatus::Ok, "ok"),
        (TrackStatus::Failed, "failed"),
        (TrackStatus::DoneBefore, "done-before"),
    ] {
        assert_eq!(serde_json::to_value(status).unwrap(), word);
        assert_eq!(status.to_string(), word);
        let back: TrackStatus = serde_json::from_value(word.into()).unwrap();
        assert_eq!(back, status);
    }
    let failed = TrackReport {
        path: "x.mp3".into(),
        status: TrackStatus::Failed,
        stage: Some("audio".into()),
        error: Some("empty file (0 bytes)".into()),
        warnings: Vec::new(),
    };
    assert_eq!(
        serde_json::to_string(&failed).unwrap(),
        r#"{"path":"x.mp3","status":"failed","stage":"audio","error":"empty file (0 bytes)"}"#
    );
}

#[test]
fn summary_json_keeps_its_track_keys_and_values_and_times_each_stage() {
    let (_dir, _music, out, set) = music_run(small_folder);
    let args = [
        "run",
        "pipelines/to-wav.toml",
        "--set",
        &set,
        "--out",
        out.to_str().unwrap(),
    ];
    let o = eigentechno(&args);
    let (stdout, stderr) = text(&o);
    // empty.flac is left out: exit 3.
    assert_eq!(o.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stdout.contains("slowest stages: "), "{stdout}");
    let statuses = |v: &serde_json::Value| -> Vec<(String, String)> {
        v["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let keys: Vec<&str> = t.as_object().unwrap().keys().map(|k| k.as_str()).collect();
                for k in &keys {
                    assert!(
                        ["path", "status", "stage", "error", "warnings"].contains(k),
                        "{k}"
                    );
                }
                let name = Path::new(t["path"].as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (name, t["status"].as_str().unwrap().to_string())
            })
            .collect()
    };
    let first = summary(&out);
    assert_eq!(
        statuses(&first),
        [
            ("empty.flac".to_string(), "failed".to_string()),
            ("good-a.wav".into(), "ok".into()),
            ("good-b.mp3".into(), "ok".into()),
        ]
    );
    let failed = &first["tracks"][0];
    assert_eq!(failed["stage"], "audio");
    assert_eq!(failed["error"], "empty file (0 bytes)");
    for st in first["stages"].as_array().unwrap() {
        assert!(st["seconds"].as_f64().unwrap() >= 0.0, "{st}");
    }
    // Again: the good tracks were done before; empty.flac still fails (exit 3).
    let o = eigentechno(&args);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        statuses(&summary(&out)),
        [
            ("empty.flac".to_string(), "failed".to_string()),
            ("good-a.wav".into(), "done-before".into()),
            ("good-b.mp3".into(), "done-before".into()),
        ]
    );
    // --quiet prints nothing on success, and no timings on failure.
    let mut quiet = args.to_vec();
    quiet.extend(["--quiet", "--strict"]);
    let o = eigentechno(&quiet);
    let (stdout, stderr) = text(&o);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("empty.flac"), "{stderr}");
    assert!(!stderr.contains("slowest"), "{stderr}");
}

/// Each stage's `already_done` in summary.json.
fn done_flags(out: &Path) -> Vec<(String, bool)> {
    summary(out)["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["already_done"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// The stages not done before, in pipeline order.
fn redone(out: &Path) -> Vec<String> {
    done_flags(out)
        .into_iter()
        .filter(|(_, done)| !done)
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn a_rerun_skips_every_stage_and_a_change_redoes_only_what_it_touches() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("main");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "pipelines/eigentechno.toml",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = eigentechno(&args);
        let (stdout, stderr) = text(&o);
        assert!(o.status.success(), "{stdout}{stderr}");
        stdout
    };
    let first = run(&[]);
    assert!(!first.contains("already done"), "{first}");
    assert!(done_flags(&out).len() > 15);
    assert_eq!(redone(&out).len(), done_flags(&out).len());
    let npy_before = std::fs::read(out.join("matrix/bars.npy")).unwrap();
    let csv = out.join("select_k/select_k.csv");
    let csv_before = std::fs::read(&csv).unwrap();

    // The same again: every stage is already done, and says so.
    let second = run(&[]);
    assert!(
        second.contains("10 tracks: 0 processed, 10 already done (skipped)"),
        "{second}"
    );
    assert_eq!(redone(&out), Vec::<String>::new(), "{second}");
    for (name, _) in done_flags(&out) {
        let line = second
            .lines()
            .find(|l| l.starts_with(&format!("  {name} (")))
            .unwrap_or_else(|| panic!("no line for {name}: {second}"));
        assert!(line.contains("already done"), "{line}");
    }
    assert_eq!(
        std::fs::read(out.join("matrix/bars.npy")).unwrap(),
        npy_before
    );
    let tracks = summary(&out)["tracks"].as_array().unwrap().clone();
    assert_eq!(tracks.len(), 10);
    assert!(tracks.iter().all(|t| t["status"] == "done-before"));
    // The summary still lists every stage's files.
    let files = |name: &str| -> usize {
        summary(&out)["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["files"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(files("matrix"), 3);
    assert_eq!(files("pca"), 8);

    // A changed PCA parameter redoes the PCA and what reads it, nothing else.
    let third = run(&["--set", "pca.k=8"]);
    assert_eq!(
        redone(&out),
        [
            "pca",
            "listen",
            "figures",
            "outliers",
            "sample",
            "features",
            "score_correlation",
            "explorer"
        ],
        "{third}"
    );
    let pca: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("pca/pca.json")).unwrap()).unwrap();
    assert_eq!(pca["k"], 8, "{pca}");
    // Unchanged, it is done again.
    run(&["--set", "pca.k=8"]);
    assert_eq!(redone(&out), Vec::<String>::new());

    // A deleted output redoes its stage; so does a file whose size changed.
    let png = out.join("figures/average_spectrum.png");
    std::fs::remove_file(&png).unwrap();
    std::fs::write(&csv, "damaged\n").unwrap();
    let fourth = run(&["--set", "pca.k=8"]);
    assert_eq!(redone(&out), ["figures", "select_k"], "{fourth}");
    assert!(png.is_file());
    assert_eq!(std::fs::read(&csv).unwrap(), csv_before);

    // A deleted matrix redoes the tracks (their cache was dropped once the matrix was
    // written: it would have been a second copy of it) and the matrix, the same bytes,
    // and the stages that read it are done already (same inputs, same parameters).
    std::fs::remove_file(out.join("matrix/bars.npy")).unwrap();
    let fifth = run(&["--set", "pca.k=8"]);
    assert_eq!(
        redone(&out),
        [
            "tracks",
            "audio",
            "working_rate",
            "tempo",
            "beats",
            "downbeats",
            "bars",
            "stretch",
            "matrix"
        ],
        "{fifth}"
    );
    assert_eq!(
        std::fs::read(out.join("matrix/bars.npy")).unwrap(),
        npy_before
    );
}
