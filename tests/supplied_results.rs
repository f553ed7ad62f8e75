//! A run given results made elsewhere (the distributed front supplies the bar matrix and
//! the PCA it made on a cluster): the stages after them write what a run that made them
//! itself writes, nothing before them runs, and a supply that does not fit the pipeline
//! is refused before any work. The stages that read the matrix also take a distributed
//! ingest's `manifest.json` in place of `bars.npy`, with the same results.

use crate::common;

use std::path::{Path, PathBuf};

use eigentechno::engine::pca::RowSource;
use eigentechno::ops::{self, RunOutcome, RunSettings, SelectKParams};
use eigentechno::pipeline::StoredPayload;
use eigentechno::store::{NpyMatrix, NpyRowWriter};

fn pipeline_file(dir: &Path) -> PathBuf {
    let text = format!(
        r#"
[stages.tracks]
type = "folder"
path = "{corpus}"

[stages.audio]
type = "decode"
inputs = ["tracks"]

[stages.working_rate]
type = "resample"
inputs = ["audio"]
rate = 8820

[stages.tempo]
type = "tempo"
inputs = ["working_rate"]

[stages.beats]
type = "beats"
inputs = ["tempo"]

[stages.downbeats]
type = "downbeats"
inputs = ["beats"]

[stages.bars]
type = "bars"
inputs = ["downbeats"]

[stages.stretch]
type = "stretch"
inputs = ["bars"]
target_bpm = 128

[stages.matrix]
type = "matrix"
inputs = ["stretch"]

[stages.pca]
type = "pca"
inputs = ["matrix"]
k = 4

[stages.select_k]
type = "select-k"
inputs = ["matrix"]
ks = [1, 2, 3, 5]

[stages.bands]
type = "band-energies"
inputs = ["matrix"]
bands = 8

[stages.features]
type = "bar-features"
inputs = ["pca", "matrix", "bands"]
components = 4
"#,
        corpus = common::corpus().display()
    );
    let file = dir.join("p.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn run(
    file: &Path,
    out: &Path,
    supplied: Vec<(String, StoredPayload)>,
) -> eigentechno::Result<RunOutcome> {
    let settings = RunSettings {
        out: Some(out.to_path_buf()),
        quiet: true,
        supplied,
        ..Default::default()
    };
    ops::run_file(file, &[], &settings)
}

/// The matrix and model of the run into `one`, as results made elsewhere.
fn made_by(one: &Path) -> Vec<(String, StoredPayload)> {
    vec![
        (
            "matrix".to_string(),
            StoredPayload::Matrix {
                npy: one.join("matrix/bars.npy"),
                csv: Some(one.join("matrix/bars.csv")),
                rate: Some(8820),
            },
        ),
        (
            "pca".to_string(),
            StoredPayload::Model {
                dir: one.join("pca"),
            },
        ),
    ]
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn supplied_matrix_and_model_give_the_stages_after_them_the_same_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline_file(dir.path());
    let one = dir.path().join("one");
    let made = run(&file, &one, Vec::new()).unwrap();
    assert!(
        !made.report.has_failures(),
        "{}",
        made.report.problems_text()
    );
    let rows = NpyMatrix::open(&one.join("matrix/bars.npy"))
        .unwrap()
        .nrows();
    assert!(rows > 10, "the corpus gives bars: {rows}");

    let given = dir.path().join("given");
    let done = run(&file, &given, made_by(&one)).unwrap();
    let report = &done.report;
    assert!(!report.has_failures(), "{}", report.problems_text());
    // Nothing before the supplied results ran: no track was read, no matrix or model
    // written into this run's folder.
    assert!(report.tracks.is_empty(), "{:?}", report.tracks);
    assert!(!given.join("matrix").exists() && !given.join("pca").exists());
    for st in &report.stages {
        match st.name.as_str() {
            "matrix" | "pca" => assert!(st.already_done && !st.files.is_empty(), "{st:?}"),
            "select_k" | "bands" | "features" => {
                assert!(!st.already_done && !st.files.is_empty(), "{st:?}")
            }
            _ => assert!(st.files.is_empty() && st.error.is_none(), "{st:?}"),
        }
    }
    for f in [
        "select_k/select_k.json",
        "select_k/select_k.csv",
        "bands/bands.npy",
        "bands/bands.labels.txt",
        "features/features.npy",
        "features/features.labels.txt",
    ] {
        assert!(read(one.join(f)) == read(given.join(f)), "{f} differs");
    }

    // The same run again resumes every stage; a changed supplied file redoes them.
    let again = run(&file, &given, made_by(&one)).unwrap();
    assert!(
        again
            .report
            .stages
            .iter()
            .filter(|s| s.name == "bands")
            .all(|s| s.already_done)
    );
}

#[test]
fn a_supply_that_does_not_fit_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline_file(dir.path());
    let model = StoredPayload::Model {
        dir: dir.path().join("m"),
    };
    let cases = [
        ("nope", model.clone(), "'nope'"),
        ("matrix", model.clone(), "a matrix for 'matrix'"),
        ("beats", model, "runs per track"),
    ];
    for (name, stored, says) in cases {
        let out = dir.path().join(format!("out-{name}"));
        let e = run(&file, &out, vec![(name.to_string(), stored)]).unwrap_err();
        assert!(e.to_string().contains(says), "{name}: {e}");
        assert!(
            !out.join("summary.json").exists(),
            "{name}: nothing was run"
        );
    }
}

#[test]
fn select_k_and_band_energies_read_a_manifest_of_shards_as_the_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let x = common::root().join("fixtures/pca/X.npy");
    let m = NpyMatrix::open(&x).unwrap();
    let (n, d) = (m.nrows(), m.ncols());
    // Three shards of uneven size, and an empty one, as a distributed ingest writes them.
    let cuts = [0, 70, 70, 190, n];
    let mut shards = Vec::new();
    for (i, w) in cuts.windows(2).enumerate() {
        let sub = dir.path().join(format!("shards/{i:05}"));
        std::fs::create_dir_all(&sub).unwrap();
        let mut writer = NpyRowWriter::create(&sub.join("bars.npy"), d).unwrap();
        let rows = m.read_rows(w[0], w[1] - w[0]).unwrap();
        for r in rows.chunks(d) {
            writer.push(r).unwrap();
        }
        writer.finish().unwrap();
        shards.push(serde_json::json!({"dir": format!("shards/{i:05}"), "rows": w[1] - w[0]}));
    }
    let manifest = dir.path().join("manifest.json");
    std::fs::write(
        &manifest,
        serde_json::json!({ "shards": shards }).to_string(),
    )
    .unwrap();

    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for o in [&a, &b] {
        std::fs::create_dir_all(o).unwrap();
    }
    ops::band_energies(&x, 8_820, 12, &a).unwrap();
    ops::band_energies(&manifest, 8_820, 12, &b).unwrap();
    assert!(read(a.join("bands.npy")) == read(b.join("bands.npy")));
    let opts = SelectKParams {
        ks: vec![1, 2, 4, 8],
        ..Default::default()
    }
    .check()
    .unwrap();
    let (one, _) = ops::select_k_to_dir(&x, &a, &opts).unwrap();
    let (sharded, _) = ops::select_k_to_dir(&manifest, &b, &opts).unwrap();
    // The same rows read in other blocks: sums may be added in another order.
    assert_eq!(one.best_k, sharded.best_k);
    assert_eq!(one.curve.len(), sharded.curve.len());
    for (x, y) in one.curve.iter().zip(&sharded.curve) {
        assert_eq!(x.0, y.0);
        assert!((x.1 - y.1).abs() <= 1e-9 * x.1.abs() && (x.2 - y.2).abs() <= 1e-9 * x.2.abs());
    }
}
