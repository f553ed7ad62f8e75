//! Probabilistic PCA stages: planted odd bars come out on top of `outliers`, and
//! `select-k` finds the rank of a low-rank-plus-noise model (issue #5).

use std::path::Path;

use eigentechno::audio::synth::{SynthParams, synth_track};
use eigentechno::engine::Rng;
use eigentechno::engine::pca::{Method, PcaParams, RowSource, SubsetRows};
use eigentechno::engine::ppca::Ppca;
use eigentechno::ops::{
    OutlierParams, PcaJobParams, SelectKParams, fit_to_dir, outliers_to_dir, select_k_to_dir,
};
use eigentechno::store::{NpyMatrix, NpyRowWriter};

const RATE: u32 = 8_820;
const D: usize = 16_538;

/// One-bar clips of synthetic techno at exactly 128 bpm, cut at the annotated downbeats.
fn techno_bars(count: usize) -> Vec<Vec<f32>> {
    let params = SynthParams {
        bpm_min: 128.0,
        bpm_max: 128.0,
        seconds: 62.0,
        rate: RATE,
        channels: 1,
        ..Default::default()
    };
    let mut bars = Vec::new();
    let mut i = 0;
    while bars.len() < count {
        let t = synth_track(21, i, &params);
        for &db in &t.annotation.downbeats {
            let s = (db * RATE as f64).round() as usize;
            if s + D <= t.samples.len() && bars.len() < count {
                bars.push(t.samples[s..s + D].to_vec());
            }
        }
        i += 1;
    }
    bars
}

/// A different style: a drumless pad (three slow, swelling chord tones), at the same
/// loudness as the techno bars.
fn pad_bar(seed: u64, rms: f32) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let root = rng.range(110.0, 220.0);
    let mut x: Vec<f32> = (0..D)
        .map(|n| {
            let t = n as f64 / RATE as f64;
            let swell = (std::f64::consts::PI * n as f64 / D as f64).sin();
            ([1.0, 1.26, 1.5]
                .iter()
                .map(|r| (2.0 * std::f64::consts::PI * root * r * t).sin())
                .sum::<f64>()
                * swell) as f32
        })
        .collect();
    let r = (x.iter().map(|v| v * v).sum::<f32>() / D as f32).sqrt();
    x.iter_mut().for_each(|v| *v *= rms / r);
    x
}

#[test]
fn planted_bars_of_another_style_rank_among_the_most_unusual() {
    let dir = tempfile::tempdir().unwrap();
    let mut bars = techno_bars(495);
    let rms = (bars.iter().flatten().map(|v| v * v).sum::<f32>() / (bars.len() * D) as f32).sqrt();
    let planted = [40usize, 130, 250, 371, 460];
    for (j, &at) in planted.iter().enumerate() {
        bars.insert(at, pad_bar(j as u64, rms));
    }
    assert_eq!(bars.len(), 500);
    let matrix = dir.path().join("bars.npy");
    let mut w = NpyRowWriter::create(&matrix, D).unwrap();
    for b in &bars {
        w.push(b).unwrap();
    }
    w.finish().unwrap();
    let model = dir.path().join("pca");
    let job = PcaJobParams {
        params: PcaParams::default(),
        equalize: false,
        rate: Some(RATE),
    }
    .check()
    .unwrap();
    fit_to_dir(&matrix, None, &model, &job).unwrap();
    let out = dir.path().join("outliers");
    let opts = OutlierParams {
        k: 0,
        audio: 3,
        loops: 1,
    }
    .check()
    .unwrap();
    outliers_to_dir(&model, &out, &opts).unwrap();
    let csv = std::fs::read_to_string(out.join("outliers.csv")).unwrap();
    let top: Vec<usize> = csv
        .lines()
        .skip(1)
        .take(10)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    for p in planted {
        assert!(
            top.contains(&p),
            "planted row {p} not in the top 10 {top:?}"
        );
    }
    assert!(Path::new(&out.join("unusual")).read_dir().unwrap().count() == 3);
    assert!(Path::new(&out.join("typical")).read_dir().unwrap().count() == 3);
}

#[test]
fn select_k_finds_the_rank_of_a_low_rank_plus_noise_model() {
    let dir = tempfile::tempdir().unwrap();
    let (n, d, rank) = (2000, 50, 10);
    let mut rng = Rng::new(77);
    // Orthonormal-ish directions: random Gaussian rows (nearly orthogonal in 50-D is not
    // needed: any rank-10 signal will do).
    let dirs: Vec<f64> = (0..rank * d).map(|_| rng.normal()).collect();
    let path = dir.path().join("x.npy");
    let mut w = NpyRowWriter::create(&path, d).unwrap();
    for _ in 0..n {
        let z: Vec<f64> = (0..rank)
            .map(|j| rng.normal() * (6.0 - 0.4 * j as f64))
            .collect();
        let row: Vec<f32> = (0..d)
            .map(|c| {
                ((0..rank).map(|j| z[j] * dirs[j * d + c]).sum::<f64>() / (d as f64).sqrt() * 3.0
                    + rng.normal()) as f32
            })
            .collect();
        w.push(&row).unwrap();
    }
    w.finish().unwrap();
    let opts = SelectKParams {
        ks: (1..=30).collect(),
        test_fraction: 0.2,
        seed: 1,
        equalize: false,
        rate: RATE,
    }
    .check()
    .unwrap();
    let (r, files) = select_k_to_dir(&path, &dir.path().join("sk"), &opts).unwrap();
    assert_eq!(r.best_k, 10, "{:?}", r.curve);
    assert_eq!(files.len(), 3);
    assert!(r.test_rows > 300 && r.test_rows < 500, "{}", r.test_rows);
}

/// select-k scores every k from one decomposition and one pass over the rows; each
/// point of its curve must equal a separate exact fit with that k on the same split,
/// scored row by row. Fewer rows than features, so the largest candidates sit at the
/// training rows' rank.
#[test]
fn select_k_equals_a_separate_fit_per_k() {
    select_k_against_separate_fits(false);
}

/// float64 data: select-k takes the Gram-space route (fewer training rows than
/// features: the components are never formed), checked against the same fits.
#[test]
fn select_k_in_the_gram_space_equals_a_separate_fit_per_k() {
    select_k_against_separate_fits(true);
}

fn select_k_against_separate_fits(float64: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (n, d) = (60, 90);
    let mut rng = Rng::new(5);
    let path = dir.path().join("x.npy");
    let mut rows: Vec<f64> = Vec::with_capacity(n * d);
    for _ in 0..n {
        let z: Vec<f64> = (0..4).map(|j| rng.normal() * (4.0 - j as f64)).collect();
        for c in 0..d {
            let v = z
                .iter()
                .enumerate()
                .map(|(j, zj)| zj * ((c * (j + 1)) as f64 * 0.1).sin())
                .sum::<f64>()
                + 0.5 * rng.normal();
            rows.push(if float64 { v } else { v as f32 as f64 });
        }
    }
    if float64 {
        let a = ndarray::Array2::from_shape_vec((n, d), rows).unwrap();
        eigentechno::store::write_npy(&path, &eigentechno::store::NdArray::F64(a.into_dyn()))
            .unwrap();
    } else {
        let mut w = NpyRowWriter::create(&path, d).unwrap();
        for r in rows.chunks(d) {
            let row: Vec<f32> = r.iter().map(|&v| v as f32).collect();
            w.push(&row).unwrap();
        }
        w.finish().unwrap();
    }
    let (seed, fraction) = (3, 0.25);
    // Every k select-k accepts (it drops those beyond the training rows' rank - 1).
    let opts = SelectKParams {
        ks: (1..=n).collect(),
        test_fraction: fraction,
        seed,
        equalize: false,
        rate: RATE,
    }
    .check()
    .unwrap();
    let (r, _) = select_k_to_dir(&path, &dir.path().join("sk"), &opts).unwrap();
    // The same split as select-k's.
    let test: Vec<bool> = (0..n)
        .map(|i| Rng::for_item(seed, i as u64).uniform() < fraction)
        .collect();
    let m = NpyMatrix::open(&path).unwrap();
    let train = SubsetRows::new(&m, test.iter().map(|t| !t).collect()).unwrap();
    let held = SubsetRows::new(&m, test).unwrap();
    assert_eq!((r.train_rows, r.test_rows), (train.nrows(), held.nrows()));
    let ks: Vec<usize> = r.curve.iter().map(|c| c.0).collect();
    assert_eq!(
        ks,
        (1..=train.nrows() - 2).collect::<Vec<_>>(),
        "1..=rows-2"
    );
    for &(k, h, t) in &r.curve {
        let fit = PcaParams {
            k: Some(k),
            method: Method::Exact,
            ..Default::default()
        }
        .check(&train)
        .unwrap()
        .fit(&train)
        .unwrap();
        let p = Ppca::new(&fit.model, k).unwrap();
        let (wh, wt) = (
            p.mean_log_likelihood(&held).unwrap(),
            p.mean_log_likelihood(&train).unwrap(),
        );
        assert!(
            (h - wh).abs() <= 1e-7 * wh.abs(),
            "k {k} held out: {h} vs {wh}"
        );
        assert!(
            (t - wt).abs() <= 1e-7 * wt.abs(),
            "k {k} train: {t} vs {wt}"
        );
    }
    let best = r.curve.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    assert_eq!(r.best_k, best.0);
}
