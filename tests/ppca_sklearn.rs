//! Probabilistic PCA against scikit-learn's `PCA.score_samples` (fixtures/ppca, made by
//! make_ppca_fixtures.py), several k including d - 1; sampling statistics; errors.

use std::path::Path;

use eigentechno::engine::Rng;
use eigentechno::engine::pca::{MemoryRows, PcaModel, PcaParams};
use eigentechno::engine::ppca::{Ppca, mean_log_likelihoods};
use eigentechno::store::{NdArray, NpyMatrix, read_npy};

fn fixture(name: &str) -> Vec<f64> {
    match read_npy(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/ppca")
            .join(name),
    )
    .unwrap()
    {
        NdArray::F64(a) => a.iter().copied().collect(),
        NdArray::F32(a) => a.iter().map(|&v| v as f64).collect(),
    }
}

fn fitted() -> (NpyMatrix, PcaModel) {
    let m = NpyMatrix::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ppca/X.npy"))
        .unwrap();
    let fit = PcaParams::default().check(&m).unwrap().fit(&m).unwrap();
    (m, fit.model)
}

#[test]
fn log_likelihoods_match_scikit_learn() {
    let (m, model) = fitted();
    for k in [1usize, 5, 6, 20, 39] {
        let want = fixture(&format!("ll_k{k}.npy"));
        let p = Ppca::new(&model, k).unwrap();
        let mut got = Vec::new();
        p.score_rows(&m, &mut |_, s| {
            got.extend(s.iter().map(|s| s.log_likelihood));
            Ok(())
        })
        .unwrap();
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-9 * w.abs(),
                "k {k}, row {i}: {g} vs scikit-learn {w}"
            );
        }
        let mean = p.mean_log_likelihood(&m).unwrap();
        let want_mean = want.iter().sum::<f64>() / want.len() as f64;
        assert!((mean - want_mean).abs() <= 1e-9 * want_mean.abs());
    }
}

/// select-k's fast path: one projection onto the top 39 components gives scikit-learn's
/// mean `score` for every k at once.
#[test]
fn every_k_from_one_projection_matches_scikit_learn() {
    let (m, model) = fitted();
    let ks = [1usize, 5, 6, 20, 39];
    let z = Ppca::new(&model, 39).unwrap().project(&m).unwrap();
    let got = mean_log_likelihoods(&model, &ks, &z);
    for (k, g) in ks.iter().zip(&got) {
        let want = fixture(&format!("ll_k{k}.npy"));
        let want = want.iter().sum::<f64>() / want.len() as f64;
        let g = g.expect("a model for every k < d");
        assert!(
            (g - want).abs() <= 1e-9 * want.abs(),
            "k {k}: {g} vs scikit-learn {want}"
        );
    }
    // k = d has no model; a k beyond the projection is not guessed at.
    assert_eq!(mean_log_likelihoods(&model, &[40], &z), vec![None]);
    let z5 = Ppca::new(&model, 5).unwrap().project(&m).unwrap();
    assert_eq!(mean_log_likelihoods(&model, &[6], &z5), vec![None]);
}

#[test]
fn samples_reproduce_the_mean_and_top_eigenvalues() {
    // A known Gaussian: variances 9, 4, 1 along three orthonormal directions, 0.01
    // elsewhere, in 10 dimensions.
    let (n, d) = (20_000, 10);
    let mut rng = Rng::new(5);
    let scales = [3.0, 2.0, 1.0];
    let mean: Vec<f64> = (0..d).map(|j| j as f64 * 0.5 - 1.0).collect();
    let mut x = vec![0f32; n * d];
    for i in 0..n {
        for j in 0..d {
            let v = if j < 3 {
                scales[j] * rng.normal()
            } else {
                0.1 * rng.normal()
            };
            x[i * d + j] = (mean[j] + v) as f32;
        }
    }
    let rows = MemoryRows::f32(&x, n, d).unwrap();
    let fit = PcaParams::default()
        .check(&rows)
        .unwrap()
        .fit(&rows)
        .unwrap();
    let p = Ppca::new(&fit.model, 3).unwrap();
    let samples = p.sample(20_000, false, 9);
    let flat: Vec<f32> = samples.concat();
    let srows = MemoryRows::f32(&flat, 20_000, d).unwrap();
    let refit = PcaParams {
        k: Some(3),
        ..Default::default()
    }
    .check(&srows)
    .unwrap()
    .fit(&srows)
    .unwrap();
    for (j, (got, want)) in refit.model.mean.iter().zip(&mean).enumerate() {
        // Within 3 % of the largest standard deviation.
        assert!((*got as f64 - want).abs() < 0.03 * 3.0, "mean {j}");
    }
    for (i, want) in [9.0, 4.0, 1.0].iter().enumerate() {
        let got = refit.model.explained_variance[i];
        assert!(
            (got - want).abs() <= 0.03 * want,
            "eigenvalue {i}: {got} vs {want}"
        );
    }
    // Without noise the samples lie in the subspace; with noise they do not.
    let rows_noise = p.sample(200, true, 9);
    let off = p.score(&rows_noise[0]).residual;
    assert!(off > 1.0, "noise leaves the subspace ({off})");
    assert!(p.score(&samples[0]).residual < 1e-6);
    // Same seed, same samples.
    assert_eq!(p.sample(3, true, 9), p.sample(3, true, 9));
}

#[test]
fn bad_models_and_matrices_are_clear_errors() {
    let (_, model) = fitted();
    let e = Ppca::new(&model, 40).unwrap_err().to_string();
    assert!(e.contains("k") && e.contains("40"), "{e}");
    let p = Ppca::new(&model, 3).unwrap();
    let narrow = vec![0f32; 30];
    let rows = MemoryRows::f32(&narrow, 3, 10).unwrap();
    let e = p
        .score_rows(&rows, &mut |_, _| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("40 columns") && e.contains("10 columns"), "{e}");
    // Rank-2 data: k = 2 leaves no noise variance.
    let (u, w) = (
        [1.0, 2.0, 0.0, 0.0, 1.0, 3.0],
        [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
    );
    let x: Vec<f64> = (0..50 * 6)
        .map(|i| (i / 6) as f64 * u[i % 6] + ((i / 6) % 3) as f64 * w[i % 6])
        .collect();
    let rows = MemoryRows::f64(&x, 50, 6).unwrap();
    let fit = PcaParams::default()
        .check(&rows)
        .unwrap()
        .fit(&rows)
        .unwrap();
    let e = Ppca::new(&fit.model, 2).unwrap_err().to_string();
    assert!(e.contains("noise variance"), "{e}");
}
