//! The `skm` stage (#27): which track is this bar from, learned from the PCA scores of the
//! fixture corpus; the confidence is low on the bars of tracks held out entirely; bad
//! settings and a missing column are refused clearly.

use crate::common;

use common::{eigentechno, text};

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn the_skm_stage_tells_tracks_apart_and_flags_tracks_it_never_saw() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = eigentechno(&[
        "run",
        "pipelines/skm.toml",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let r = json(&out.join("skm/skm.json"));
    let classes = r["classes"].as_array().unwrap().len();
    assert_eq!(r["held_out"].as_array().unwrap().len(), 3);
    assert_eq!(classes + 3, 10, "the corpus has 10 tracks");
    // Chance is 1/7; the bars of one synthetic track share its pattern and sounds.
    let acc = r["accuracy"].as_f64().unwrap();
    assert!(acc >= 0.6, "test accuracy {acc}");
    let auroc = r["auroc_ood"].as_f64().unwrap();
    assert!(
        auroc >= 0.75,
        "AUROC of the confidence, test vs held-out bars: {auroc}"
    );

    // predictions.csv: one line a bar, the splits skm.json counts, and confidence lower
    // on held-out tracks than on the test bars of known ones.
    let text = std::fs::read_to_string(out.join("skm/predictions.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("row,label,predicted,probability,confidence,split")
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let bars = std::fs::read_to_string(out.join("matrix/bars.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(rows.len(), bars);
    let of = |split: &str| {
        rows.iter()
            .filter(|r| r[5] == split)
            .map(|r| r[4].parse::<f64>().unwrap())
            .collect::<Vec<_>>()
    };
    let (train, test, held) = (of("train"), of("test"), of("held-out"));
    assert_eq!(train.len() as u64, r["train_rows"].as_u64().unwrap());
    assert_eq!(test.len() as u64, r["test_rows"].as_u64().unwrap());
    assert_eq!(held.len() as u64, r["held_out_rows"].as_u64().unwrap());
    assert!(
        median(held.clone()) < median(test.clone()),
        "held-out {} vs test {}",
        median(held),
        median(test)
    );
    // Held-out bars are never predicted as themselves: their track is no class.
    let names: Vec<&str> = r["held_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(rows.iter().all(|r| !names.contains(&r[2].as_str())));
    // The model folder is one `learn eval` reads.
    let learn = json(&out.join("skm/model/learn.json"));
    assert_eq!(learn["architecture"]["head"], "skm");
    assert!(out.join("skm/model/model.safetensors").is_file());
    assert!(out.join("skm/embedding.png").is_file());
}

#[test]
fn bad_skm_settings_and_columns_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = eigentechno(&[
        "run",
        "pipelines/skm.toml",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "skm.test_fraction=2",
        "-q",
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("test_fraction"), "{err}");

    let o = eigentechno(&[
        "run",
        "pipelines/skm.toml",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "skm.labels=artist",
        "-q",
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bars.csv") && err.contains("no column 'artist'") && err.contains("track"),
        "{err}"
    );
}
