//! `eigentechno audition DIR --tour N`: one WAV of N loops in de Bruijn order, checked
//! from its tour.json (issue #29).

use crate::common;

use std::collections::HashMap;

use common::{eigentechno, root, text};

/// A model of the fixture matrix with 8 components (the model only).
fn model(dir: &std::path::Path) -> String {
    let out = dir.join("pca");
    let matrix = root().join("fixtures/pca/X.npy");
    let o = eigentechno(&[
        "pca",
        matrix.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-k",
        "8",
        "--rate",
        "8820",
        "--model-only",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    out.display().to_string()
}

fn tour_json(model: &str) -> serde_json::Value {
    let path = std::path::Path::new(model).join("audition/tour.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn wav_len(path: &str) -> (usize, u32) {
    let r = hound::WavReader::open(path).unwrap();
    (r.len() as usize, r.spec().sample_rate)
}

#[test]
fn a_tour_of_four_plays_every_transition_once_in_17_bars() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let o = eigentechno(&["audition", &m, "--tour", "4"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    let wav = stdout.trim();
    assert!(wav.ends_with("audition/tour.wav"), "{stdout}");
    let json = tour_json(&m);
    let order: Vec<u64> = json["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(order.len(), 17);
    assert_eq!(json["bars"], 17);
    assert!(order.iter().all(|c| (1..=4).contains(c)), "{order:?}");
    let mut pairs: HashMap<(u64, u64), usize> = HashMap::new();
    for w in order.windows(2) {
        *pairs.entry((w[0], w[1])).or_default() += 1;
    }
    for a in 1..=4 {
        for b in 1..=4 {
            assert_eq!(pairs.get(&(a, b)), Some(&1), "{a} -> {b} in {order:?}");
        }
    }
    let bar = json["bar_samples"].as_u64().unwrap() as usize;
    let (len, rate) = wav_len(wav);
    assert_eq!(len, 17 * bar, "17 bars of {bar} samples");
    assert_eq!(rate, 8820);
    // The tour's bars are the components: the first bar is component 1 as auditioned.
    let one = eigentechno(&["audition", &m, "--component", "1", "--loops", "1"]);
    let one: Vec<i16> = hound::WavReader::open(text(&one).0.trim())
        .unwrap()
        .into_samples::<i16>()
        .map(|s| s.unwrap())
        .collect();
    let tour: Vec<i16> = hound::WavReader::open(wav)
        .unwrap()
        .into_samples::<i16>()
        .map(|s| s.unwrap())
        .collect();
    assert_eq!(order[0], 1);
    assert_eq!(&tour[..bar], &one[..]);
}

#[test]
fn a_tour_of_rows_and_bad_tours() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let o = eigentechno(&["audition", &m, "--tour", "3", "--rows", "5,9,2"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let order: Vec<u64> = tour_json(&m)["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(order, [5, 5, 9, 5, 2, 9, 9, 2, 2, 5]);
    let o = eigentechno(&["audition", &m, "--tour", "2", "--order", "3"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(
        tour_json(&m)["order"].as_array().unwrap().len(),
        10,
        "2^3 + 2"
    );
    for (args, says) in [
        (vec!["--tour", "0"], "at least 2"),
        (vec!["--tour", "1"], "at least 2"),
        (vec!["--tour", "9"], "8 components"),
        (vec!["--tour", "3", "--rows", "1,2"], "give N rows"),
        (vec!["--tour", "8", "--order", "4"], "at most 2000 bars"),
        (vec!["--tour", "2", "--order", "0"], "order"),
        (vec!["--tour", "2", "--rows", "1,100000"], "row"),
    ] {
        let mut a = vec!["audition", m.as_str()];
        a.extend(&args);
        let o = eigentechno(&a);
        let (stdout, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
