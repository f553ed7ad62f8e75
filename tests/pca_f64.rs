//! A PCA fitted in float64 keeps float64 fidelity: its mean and components, in memory
//! and in `mean.npy` / `components.npy`, and PPCA log-likelihoods against
//! scikit-learn's `PCA.score_samples` (fixtures/pca64, made by make_pca64_fixtures.py)
//! to 1e-9 relative. Float32 data keeps a float32 model and float32 files.

use crate::common;

use std::path::{Path, PathBuf};

use common::{eigentechno, root, text};
use eigentechno::engine::pca::{MemoryRows, PcaModel, PcaParams, Precision};
use eigentechno::engine::ppca::Ppca;
use eigentechno::store::pca_model::{PcaMeta, load_model, save_model};
use eigentechno::store::{NdArray, NpyMatrix, read_npy};

const KS: [usize; 5] = [1, 8, 12, 40, 119];
/// Largest relative difference from scikit-learn's log-likelihoods allowed.
const TOLERANCE: f64 = 1e-9;

fn fixture_path(name: &str) -> PathBuf {
    root().join("fixtures/pca64").join(name)
}

/// Values and whether the file is float64.
fn npy(path: &Path) -> (Vec<f64>, bool) {
    match read_npy(path).unwrap() {
        NdArray::F64(a) => (a.iter().copied().collect(), true),
        NdArray::F32(a) => (a.iter().map(|&v| v as f64).collect(), false),
    }
}

fn fixture(name: &str) -> Vec<f64> {
    npy(&fixture_path(name)).0
}

/// Largest `|got - want| / |want|`.
fn worst_relative(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / w.abs())
        .fold(0.0, f64::max)
}

fn log_likelihoods(model: &PcaModel, m: &NpyMatrix, k: usize) -> Vec<f64> {
    let p = Ppca::new(model, k).unwrap();
    let mut got = Vec::new();
    p.score_rows(m, &mut |_, s| {
        got.extend(s.iter().map(|s| s.log_likelihood));
        Ok(())
    })
    .unwrap();
    got
}

#[test]
fn a_float64_fit_scores_like_scikit_learn_to_1e_9() {
    let m = NpyMatrix::open(&fixture_path("X.npy")).unwrap();
    let fit = PcaParams::default().check(&m).unwrap().fit(&m).unwrap();
    let model = &fit.model;
    let parts = model
        .f64_parts
        .as_ref()
        .expect("a float64 fit keeps float64 parts");
    let (d, n) = (120, 800);
    assert_eq!((model.n_features, model.n_samples), (d, n));
    // The mean, as numpy computes it.
    let mean = fixture("mean.npy");
    let scale = mean.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (j, (a, b)) in parts.mean.iter().zip(&mean).enumerate() {
        assert!((a - b).abs() <= 1e-13 * scale, "mean {j}: {a} vs {b}");
    }
    // The structured components (well-separated eigenvalues), up to sign.
    let comps = fixture("components.npy");
    for i in 0..12 {
        let dot: f64 = parts.components[i * d..(i + 1) * d]
            .iter()
            .zip(&comps[i * d..(i + 1) * d])
            .map(|(a, b)| a * b)
            .sum();
        assert!((dot.abs() - 1.0).abs() < 1e-9, "component {i}: |dot| {dot}");
    }
    let ev = fixture("explained_variance.npy");
    for (i, (a, b)) in model.explained_variance.iter().zip(&ev).enumerate() {
        assert!((a - b).abs() <= 1e-9 * b.abs(), "variance {i}: {a} vs {b}");
    }
    for k in KS {
        let want = fixture(&format!("ll_k{k}.npy"));
        let worst = worst_relative(&log_likelihoods(model, &m, k), &want);
        eprintln!("in memory, k = {k}: worst relative difference {worst:.2e}");
        assert!(worst <= TOLERANCE, "k {k}: {worst:e} relative");
    }
}

#[test]
fn the_cli_writes_float64_models_and_scores_them_like_scikit_learn() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    let x = fixture_path("X.npy");
    let o = eigentechno(&[
        "pca",
        x.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--model-only",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(npy(&out.join("mean.npy")).1, "mean.npy is float64");
    assert!(
        npy(&out.join("components.npy")).1,
        "components.npy is float64"
    );
    // Read back: still float64.
    let (model, _) = load_model(&out).unwrap();
    assert!(model.f64_parts.is_some());
    for k in KS {
        let ll = dir.path().join(format!("ll{k}.npy"));
        let o = eigentechno(&[
            "ppca",
            "score",
            x.to_str().unwrap(),
            "--model",
            out.to_str().unwrap(),
            "-k",
            &k.to_string(),
            "--out",
            ll.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{:?}", text(&o));
        let want = fixture(&format!("ll_k{k}.npy"));
        let worst = worst_relative(&npy(&ll).0, &want);
        eprintln!("through the files, k = {k}: worst relative difference {worst:.2e}");
        assert!(worst <= TOLERANCE, "k {k}: {worst:e} relative");
    }
}

fn meta(model: &PcaModel) -> PcaMeta {
    PcaMeta {
        source: "X.npy".into(),
        source_csv: None,
        n_samples: model.n_samples,
        n_features: model.n_features,
        k: model.k(),
        method: "exact".into(),
        method_reason: "test".into(),
        precision: "f64".into(),
        oversampling: 0,
        power_iterations: 0,
        seed: 0,
        total_variance: model.total_variance,
        equalize: false,
        rate: None,
        dropped_rows: Vec::new(),
        seconds: 0.0,
    }
}

#[test]
fn float32_data_keeps_float32_files_unless_float64_is_asked_for() {
    let x: Vec<f32> = fixture("X.npy").iter().map(|&v| v as f32).collect();
    let rows = MemoryRows::f32(&x, 800, 120).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (precision, float64) in [
        (Precision::Auto, false),
        (Precision::F32, false),
        (Precision::F64, true),
    ] {
        let fit = PcaParams {
            precision,
            ..Default::default()
        }
        .check(&rows)
        .unwrap()
        .fit(&rows)
        .unwrap();
        assert_eq!(fit.model.f64_parts.is_some(), float64, "{precision}");
        let out = dir.path().join(precision.to_string());
        std::fs::create_dir_all(&out).unwrap();
        save_model(&out, &fit.model, &meta(&fit.model)).unwrap();
        assert_eq!(npy(&out.join("mean.npy")).1, float64, "{precision}");
        assert_eq!(npy(&out.join("components.npy")).1, float64, "{precision}");
        let (back, _) = load_model(&out).unwrap();
        assert_eq!(
            back, fit.model,
            "{precision}: the model reads back as written"
        );
    }
}
