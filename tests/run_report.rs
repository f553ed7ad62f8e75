//! The run report (`summary.json` and the printed summary) and resuming whole runs.

mod common;

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
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir(&music).unwrap();
    small_folder(&music);
    let out = dir.path().join("out");
    let set = format!("tracks.path={}", music.display());
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
    assert!(o.status.success(), "{stdout}{stderr}");
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
    // Again: the good tracks were done before.
    let o = eigentechno(&args);
    assert!(o.status.success());
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
