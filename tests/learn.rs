//! `learn fit`, `learn eval` and `learn predict` through the binary, on the committed
//! 1,000-image Fashion-MNIST subset and a committed model (fixtures/learn), and their
//! errors on bad input.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eigentechno"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn fixture(name: &str) -> String {
    root()
        .join("fixtures/learn")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `learn eval DIR DATA [more] --json`: its report, which must equal the eval.json it
/// writes into DIR.
fn eval_json(dir: &Path, data: &str, more: &[&str]) -> serde_json::Value {
    let mut args = vec!["learn", "eval", dir.to_str().unwrap(), data];
    args.extend_from_slice(more);
    args.push("--json");
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report, json(&dir.join("eval.json")));
    report
}

#[test]
fn skm_trains_on_1000_fashion_images_and_evaluates_with_confidence() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("skm");
    let o = run(&[
        "learn",
        "fit",
        &fixture("fashion-1000"),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "4",
        "--batch",
        "32",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "model.safetensors",
        "learn.json",
        "training.png",
        "embedding.png",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let record = json(&out.join("learn.json"));
    assert_eq!(record["architecture"]["head"], "skm");
    assert_eq!(record["architecture"]["support"], 100);
    assert_eq!(record["train_rows"], 1000);
    let epochs = record["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 4);
    let test = epochs[3]["test_accuracy"].as_f64().unwrap();
    // A CNN on 1,000 Fashion-MNIST images reaches about 75 % after a few epochs.
    assert!(test > 0.70, "test accuracy {test} after 4 epochs");

    let report = eval_json(
        &out,
        &fixture("fashion-1000"),
        &["--ood", &fixture("digits-500")],
    );
    assert!(out.join("rejection.png").is_file());
    let acc = report["accuracy"].as_f64().unwrap();
    assert!(
        (acc - test).abs() < 1e-9,
        "eval {acc} against fit's last test accuracy {test}"
    );
    assert!((report["error"].as_f64().unwrap() - (1.0 - acc)).abs() < 1e-12);
    for key in ["nll", "ece", "auroc_ood"] {
        let v = report[key].as_f64().unwrap();
        assert!(v.is_finite() && v >= 0.0, "{key} {v}");
    }
    let rejection = report["rejection"].as_object().unwrap();
    let keys: Vec<&str> = rejection.keys().map(|k| k.as_str()).collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    // Rejecting the least confident rows lowers the error.
    let e100 = rejection["100"].as_f64().unwrap();
    let e80 = rejection["80"].as_f64().unwrap();
    assert!((e100 - (1.0 - acc)).abs() < 1e-12);
    assert!(e80 < e100, "error at 80 % coverage {e80}, at 100 % {e100}");

    let csv = dir.path().join("pred.csv");
    let o = run(&[
        "learn",
        "predict",
        out.to_str().unwrap(),
        &fixture("fashion-1000"),
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("row,label,probability,confidence"));
    assert_eq!(lines.count(), 500);
}

/// `learn eval` on a committed model (an MLP + SKM trained on `fixtures/learn/blobs`,
/// int64 labels) gives the metrics `eval_reference.py` computes from the same weights
/// with numpy and scikit-learn, forward pass included.
#[test]
fn learn_eval_on_the_fixture_model_gives_the_independently_computed_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir_all(&model).unwrap();
    for f in ["model.safetensors", "learn.json"] {
        std::fs::copy(
            root().join("fixtures/learn/blobs-model").join(f),
            model.join(f),
        )
        .unwrap();
    }
    let want = json(&root().join("fixtures/learn/blobs-model/expected_eval.json"));
    let got = eval_json(
        &model,
        &fixture("blobs/x_test.npy"),
        &[
            "--labels",
            &fixture("blobs/y_test.npy"),
            "--ood",
            &fixture("blobs/x_ood.npy"),
        ],
    );
    // The nearest decision is far above float32 rounding, so the discrete metrics agree
    // exactly; the continuous ones to float32 precision.
    assert!(want["smallest_top_two_gap"].as_f64().unwrap() > 1e-3);
    let close = |key: &str, tol: f64| {
        let (g, w) = (got[key].as_f64().unwrap(), want[key].as_f64().unwrap());
        assert!((g - w).abs() <= tol, "{key}: {g} against {w}");
    };
    close("accuracy", 1e-12);
    close("error", 1e-12);
    close("nll", 1e-5);
    close("ece", 1e-5);
    close("auroc_ood", 1e-12);
    for c in ["100", "99", "95", "90", "80"] {
        let (g, w) = (
            got["rejection"][c].as_f64().unwrap(),
            want["rejection"][c].as_f64().unwrap(),
        );
        assert!((g - w).abs() < 1e-12, "rejection at {c} %: {g} against {w}");
    }
    assert_eq!(got["rows"], 150);
    assert!(model.join("rejection.png").exists());
}

/// `learn fit X --labels LABELS --out OUT --net mlp`.
fn mlp_fit<'a>(x: &'a str, labels: &'a Path, out: &'a str) -> Vec<&'a str> {
    let labels = labels.to_str().unwrap();
    vec![
        "learn", "fit", x, "--labels", labels, "--out", out, "--net", "mlp",
    ]
}

#[test]
fn bad_data_gets_a_clear_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("o");
    let x = d.join("x.npy");
    let rows: Vec<f32> = (0..12).map(|i| i as f32).collect();
    eigentechno::store::write_npy(
        &x,
        &eigentechno::store::NdArray::F32(
            ndarray::Array2::from_shape_vec((4, 3), rows)
                .unwrap()
                .into_dyn(),
        ),
    )
    .unwrap();
    let three = d.join("three.txt");
    std::fs::write(&three, "0\n1\n0\n").unwrap();
    // .npy labels: int64 (read as integers, so the error is the count), and floats
    // that are not whole.
    let three_npy = d.join("three.npy");
    ndarray_npy::write_npy(&three_npy, &ndarray::Array1::<i64>::from(vec![0, 1, 0])).unwrap();
    let halves = d.join("halves.npy");
    ndarray_npy::write_npy(
        &halves,
        &ndarray::Array1::<f64>::from(vec![0.0, 1.0, 0.5, 1.0]),
    )
    .unwrap();
    let words = d.join("words.txt");
    std::fs::write(&words, "0\ncat\n1\n0\n").unwrap();
    let lying = d.join("lying");
    std::fs::create_dir_all(&lying).unwrap();
    // 60,000 images of 28 x 28 declared, 3 bytes present.
    let mut head = vec![0u8, 0, 8, 3];
    for v in [60_000u32, 28, 28] {
        head.extend(v.to_be_bytes());
    }
    head.extend([1, 2, 3]);
    std::fs::write(lying.join("train-images-idx3-ubyte"), &head).unwrap();
    std::fs::write(
        lying.join("train-labels-idx1-ubyte"),
        [0u8, 0, 8, 1, 0, 0, 0, 1, 0],
    )
    .unwrap();
    let xs = x.to_str().unwrap();
    let o_s = out.to_str().unwrap();
    for (args, code, says) in [
        (mlp_fit(xs, &three, o_s), 1, "3 labels for the 4 rows"),
        (mlp_fit(xs, &three_npy, o_s), 1, "3 labels for the 4 rows"),
        (
            mlp_fit(xs, &halves, o_s),
            1,
            "label 0.5 (row 2) is not an integer",
        ),
        (
            mlp_fit(xs, &words, o_s),
            1,
            "line 2: 'cat' is not an integer label",
        ),
        (
            vec!["learn", "fit", lying.to_str().unwrap(), "--out", o_s],
            1,
            "but the file holds only 3 of that",
        ),
        (
            vec!["learn", "fit", xs, "--out", o_s, "--net", "mlp"],
            2,
            "--labels",
        ),
        (
            vec![
                "learn",
                "fit",
                xs,
                "--labels",
                three.to_str().unwrap(),
                "--out",
                o_s,
                "--head",
                "knn",
            ],
            2,
            "invalid head",
        ),
    ] {
        let o = run(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {e}");
        assert!(e.contains(says), "{args:?}: {e} should say {says}");
    }
    let o = run(&["learn", "fit", lying.to_str().unwrap(), "--out", o_s]);
    assert!(
        stderr(&o).contains("train-images-idx3-ubyte"),
        "{}",
        stderr(&o)
    );
    assert!(!out.join("model.safetensors").exists());
}
