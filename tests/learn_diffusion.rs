//! `learn fit --diffusion` and `learn cv` through the binary on the committed blobs
//! (fixtures/learn/blobs): the folders and JSON keys scripts read, the ensemble's
//! evaluation, and bad options refused before any training.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::*;

fn stderr(o: &Output) -> String {
    text(o).1
}

fn blobs(name: &str) -> String {
    root()
        .join("fixtures/learn/blobs")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `learn fit` (or `cv`) on the blobs' training rows with a small MLP, and `more`.
fn blobs_run(command: &str, out: &Path, more: &[&str]) -> Output {
    let (x, y) = (blobs("x_train.npy"), blobs("y_train.npy"));
    let mut args = vec![
        "learn",
        command,
        &x,
        "--labels",
        &y,
        "--out",
        out.to_str().unwrap(),
        "--net",
        "mlp",
        "--hidden",
        "32",
        "--embed",
        "8",
        "--epochs",
        "12",
        "--batch",
        "32",
        "--learning-rate",
        "0.01",
        "--threads",
        "2",
        "-q",
    ];
    args.extend_from_slice(more);
    eigentechno(&args)
}

fn eval(dir: &Path) -> serde_json::Value {
    let (x, y) = (blobs("x_test.npy"), blobs("y_test.npy"));
    let o = eigentechno(&[
        "learn",
        "eval",
        dir.to_str().unwrap(),
        &x,
        "--labels",
        &y,
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn diffusion_writes_its_replicas_and_record_and_evaluates_as_an_ensemble() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ring");
    let o = blobs_run(
        "fit",
        &out,
        &["--diffusion", "4", "--coupling", "0.3", "--exchange", "4"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for i in 0..4 {
        let r = out.join(format!("replica_{i:02}"));
        assert!(r.join("model.safetensors").is_file() && r.join("learn.json").is_file());
    }
    assert!(out.join("diffusion.png").is_file());
    let d = json(&out.join("diffusion.json"));
    for key in [
        "estimate",
        "estimate_error",
        "disagreement",
        "replicas",
        "exchanges",
        "seconds",
    ] {
        assert!(d.get(key).is_some(), "diffusion.json has no {key}");
    }
    let (e, se) = (
        d["estimate"].as_f64().unwrap(),
        d["estimate_error"].as_f64().unwrap(),
    );
    assert!(
        (0.5..=1.0).contains(&e) && se > 0.0 && se < 0.1,
        "{e} +- {se}"
    );
    // The 300 training rows less every 10th (held back for disagreement): 270 in four
    // shards that partition them.
    let mut rows: Vec<u64> = d["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            assert!(r["estimate"].as_f64().unwrap() > 0.5);
            r["shard"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
        })
        .collect();
    rows.sort_unstable();
    assert_eq!(rows, (0..270).collect::<Vec<u64>>());
    // 68 rows in the largest shard, batches of 32 / 4 = 8: 9 steps an epoch, 108 in all,
    // an exchange every 4 steps, each with the four ring neighbours' distances.
    let ex = d["exchanges"].as_array().unwrap();
    assert_eq!(ex.len(), 27);
    let replica = json(&out.join("replica_00/learn.json"));
    assert_eq!(replica["options"]["batch"], 8);
    assert_eq!(ex[0]["step"], 4);
    assert_eq!(ex[0]["distances"].as_array().unwrap().len(), 4);
    let dis = d["disagreement"].as_f64().unwrap();
    assert!((0.0..0.5).contains(&dis));

    // The ensemble's report: each member as it scores alone, and the run's estimate.
    let r = eval(&out);
    let members = r["replicas"].as_array().unwrap();
    assert_eq!(members.len(), 4);
    for m in members {
        let alone = eval(&out.join(m["name"].as_str().unwrap()));
        assert_eq!(m["accuracy"], alone["accuracy"]);
        assert!(alone.get("replicas").is_none());
    }
    assert_eq!(r["estimate"], d["estimate"]);
    assert_eq!(r["estimate_error"], d["estimate_error"]);

    // The same seed trains the same replicas: every exchange saw the same distances.
    let again = dir.path().join("again");
    assert!(
        blobs_run(
            "fit",
            &again,
            &["--diffusion", "4", "--coupling", "0.3", "--exchange", "4"]
        )
        .status
        .success()
    );
    assert_eq!(
        json(&again.join("diffusion.json"))["exchanges"],
        d["exchanges"]
    );
}

#[test]
fn a_consensus_ensemble_scores_as_its_one_model() {
    // A = 1 on a complete graph, with an exchange after the last step: the replicas end
    // identical, so their mean is each of them.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("consensus");
    let o = blobs_run(
        "fit",
        &out,
        &[
            "--diffusion",
            "3",
            "--coupling",
            "1",
            "--topology",
            "complete",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let d = json(&out.join("diffusion.json"));
    // No replica is isolated from any shard.
    assert!(d["isolation"].as_f64().unwrap() < 1e-9);
    let all = eval(&out);
    let one = eval(&out.join("replica_01"));
    assert_eq!(all["accuracy"], one["accuracy"]);
    // The mean of three equal float32 values can differ from them in the last bit.
    let close = |a: &serde_json::Value, b: &serde_json::Value| {
        (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-6
    };
    assert!(close(&all["nll"], &one["nll"]) && close(&all["ece"], &one["ece"]));
    for (k, v) in one["rejection"].as_object().unwrap() {
        assert!(close(&all["rejection"][k], v), "rejection at {k}");
    }
}

#[test]
fn cross_validation_writes_its_folds_and_their_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cv");
    let o = blobs_run("cv", &out, &["--folds", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = json(&out.join("cv.json"));
    for key in ["estimate", "estimate_error", "seconds"] {
        assert!(c.get(key).is_some(), "cv.json has no {key}");
    }
    let folds = c["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    // Every row validated once: the estimate is the folds' accuracies weighted by size.
    let total: f64 = folds
        .iter()
        .map(|f| f["validation_rows"].as_f64().unwrap())
        .sum();
    assert_eq!(total, 300.0);
    let pooled: f64 = folds
        .iter()
        .map(|f| {
            f["validation_accuracy"].as_f64().unwrap() * f["validation_rows"].as_f64().unwrap()
        })
        .sum::<f64>()
        / total;
    assert!((pooled - c["estimate"].as_f64().unwrap()).abs() < 1e-12);
    let r = eval(&out);
    assert_eq!(r["replicas"].as_array().unwrap().len(), 3);
    assert_eq!(r["estimate"], c["estimate"]);
    assert!(r["accuracy"].as_f64().unwrap() > 0.8);
}

#[test]
fn bad_diffusion_options_are_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    for (more, says) in [
        (
            vec!["--diffusion", "271"],
            "at most one replica a training row (270 rows)",
        ),
        (vec!["--diffusion", "1"], "2 or more replicas"),
        (
            vec!["--diffusion", "4", "--coupling", "1.5"],
            "invalid coupling: expected in [0, 1], got 1.5",
        ),
        (
            vec!["--diffusion", "4", "--exchange", "0"],
            "invalid exchange: expected 1 or more steps",
        ),
        (
            vec!["--diffusion", "4", "--topology", "star"],
            "ring, oneway, complete",
        ),
    ] {
        let o = blobs_run("fit", &out, &more);
        assert_eq!(o.status.code(), Some(2), "{more:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{more:?}: {}", stderr(&o));
        assert!(!out.exists(), "{more:?} wrote {}", out.display());
    }
    // Diffusion options without --diffusion are a usage error too.
    let o = blobs_run("fit", &out, &["--coupling", "0.5"]);
    assert_eq!(o.status.code(), Some(2));
    let o = blobs_run("cv", &out, &["--folds", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--folds"), "{}", stderr(&o));
}

#[test]
fn a_bad_ensemble_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cv");
    assert!(blobs_run("cv", &out, &["--folds", "2"]).status.success());
    let file = out.join("cv.json");
    let good = std::fs::read_to_string(&file).unwrap();
    let (x, y) = (blobs("x_test.npy"), blobs("y_test.npy"));
    for (text, says) in [
        (
            good.replace("\"fold_01\"", "\"../fold_01\""),
            "member '../fold_01' is not a folder name",
        ),
        (
            good.replace("\"members\"", "\"others\""),
            "no `members` list of folder names",
        ),
        (
            good.replace("\"fold_01\"", "\"fold_09\""),
            "fold_09/learn.json",
        ),
        ("{".to_string(), "cv.json"),
    ] {
        std::fs::write(&file, &text).unwrap();
        let o = eigentechno(&["learn", "eval", out.to_str().unwrap(), &x, "--labels", &y]);
        assert_eq!(o.status.code(), Some(1), "{says}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{says}: {}", stderr(&o));
    }
}

/// Ctrl-C in the middle of `learn fit --diffusion` leaves a checkpoint of the last
/// exchange; the same command then goes on from it and ends with the replicas an
/// uninterrupted run gives, bit for bit.
#[test]
fn an_interrupted_diffusion_goes_on_from_its_checkpoint_to_the_same_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = (blobs("x_train.npy"), blobs("y_train.npy"));
    let args = |out: &Path| -> Vec<String> {
        [
            "learn",
            "fit",
            &x,
            "--labels",
            &y,
            "--out",
            out.to_str().unwrap(),
            "--net",
            "mlp",
            "--hidden",
            "32",
            "--embed",
            "8",
            "--epochs",
            "400",
            "--batch",
            "16",
            "--learning-rate",
            "0.001",
            "--threads",
            "2",
            "--diffusion",
            "3",
            "--coupling",
            "0.3",
            "--exchange",
            "7",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let whole = dir.path().join("whole");
    let w: Vec<String> = args(&whole);
    let o = eigentechno(&w.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let stopped = dir.path().join("stopped");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_eigentechno"))
        .args(args(&stopped))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before Ctrl-C: make it longer"
    );
    // SAFETY: kill with a valid pid and signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert!(stopped.join(".diffusion-checkpoint.safetensors").is_file());
    assert!(!stopped.join("diffusion.json").exists());
    let o = eigentechno(
        &args(&stopped)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        text(&o).0.contains("went on from the checkpoint"),
        "{}",
        text(&o).0
    );
    assert!(!stopped.join(".diffusion-checkpoint.safetensors").exists());
    let (a, b) = (
        json(&whole.join("diffusion.json")),
        json(&stopped.join("diffusion.json")),
    );
    assert!(a["resumed_at_step"].is_null());
    assert!(b["resumed_at_step"].as_u64().is_some());
    assert_eq!(a["exchanges"], b["exchanges"]);
    for i in 0..3 {
        let name = format!("replica_{i:02}/model.safetensors");
        assert_eq!(
            std::fs::read(whole.join(&name)).unwrap().len(),
            std::fs::read(stopped.join(&name)).unwrap().len()
        );
        assert_eq!(
            json(&whole.join(format!("replica_{i:02}/learn.json")))["epochs"]
                .as_array()
                .unwrap()
                .len(),
            400
        );
    }
    assert_eq!(a["replicas"], b["replicas"]);
    assert_eq!(a["estimate"], b["estimate"]);
}
