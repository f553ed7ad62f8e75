//! PCA against numpy's SVD (fixtures/pca, made by make_pca_fixtures.py): singular
//! values, components (sign rule applied), explained-variance ratios, for the exact and
//! randomized methods, plus reconstruction with every component.

use std::path::Path;

use eigentechno::engine::pca::{Method, PcaFit, PcaParams};
use eigentechno::store::{NdArray, NpyMatrix, read_npy};

fn fixture(name: &str) -> Vec<f64> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/pca")
        .join(name);
    match read_npy(&p).unwrap() {
        NdArray::F64(a) => a.iter().copied().collect(),
        NdArray::F32(a) => a.iter().map(|&v| v as f64).collect(),
    }
}

fn matrix() -> NpyMatrix {
    NpyMatrix::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pca/X.npy")).unwrap()
}

fn fit(params: PcaParams) -> PcaFit {
    let m = matrix();
    params.check(&m).unwrap().fit(&m).unwrap()
}

fn check_against_numpy(f: &PcaFit, k: usize) {
    let sv = fixture("singular_values.npy");
    let ratio = fixture("explained_variance_ratio.npy");
    let comps = fixture("components.npy");
    let d = 2000;
    assert_eq!(f.model.k(), k);
    for i in 0..k {
        let (a, b) = (f.model.singular_values[i], sv[i]);
        assert!((a - b).abs() <= 1e-4 * b, "sigma {i}: {a} vs numpy {b}");
        let (a, b) = (f.model.explained_variance_ratio[i], ratio[i]);
        assert!((a - b).abs() <= 1e-5, "ratio {i}: {a} vs numpy {b}");
    }
    for i in 0..k.min(40) {
        let c = f.model.component(i);
        let err = c
            .iter()
            .zip(&comps[i * d..(i + 1) * d])
            .map(|(&a, &b)| (a as f64 - b).abs())
            .fold(0.0, f64::max);
        assert!(err <= 1e-3, "component {i}: max abs difference {err:.2e}");
    }
    let mean = fixture("mean.npy");
    for (a, b) in f.model.mean.iter().zip(&mean) {
        assert!((*a as f64 - b).abs() < 1e-5);
    }
}

#[test]
fn exact_matches_numpy_svd_for_every_component() {
    let f = fit(PcaParams {
        method: Method::Exact,
        ..Default::default()
    });
    check_against_numpy(&f, 299);
}

#[test]
fn exact_in_float32_matches_numpy_on_leading_components() {
    let f = fit(PcaParams {
        k: Some(40),
        method: Method::Exact,
        precision: eigentechno::engine::pca::Precision::F32,
        ..Default::default()
    });
    check_against_numpy(&f, 40);
}

#[test]
fn randomized_matches_numpy_for_k_well_below_the_rank() {
    for (k, memory_budget) in [(20, usize::MAX), (40, 0)] {
        // memory_budget 0: the rows are streamed from the file on every pass.
        let f = fit(PcaParams {
            k: Some(k),
            method: Method::Randomized,
            memory_budget,
            block_rows: Some(64),
            ..Default::default()
        });
        check_against_numpy(&f, k);
    }
}

#[test]
fn reconstruction_with_every_component_returns_the_bar() {
    let f = fit(PcaParams::default());
    let m = matrix();
    let k = f.model.k();
    let scores = f.scores.as_ref().expect("the Gram route gives scores");
    for row in [0usize, 150, 299] {
        let x = m.read_rows(row, 1).unwrap();
        let s: Vec<f64> = scores[row * k..(row + 1) * k]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let back = f.model.reconstruct(&s, k);
        let err: f64 = back
            .iter()
            .zip(&x)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        let norm: f64 = x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
        assert!(
            err <= 1e-4 * norm,
            "row {row}: relative error {:.2e}",
            err / norm
        );
        // With one component it is far from the bar: the test can fail.
        let one = f.model.reconstruct(&s, 1);
        let err1: f64 = one
            .iter()
            .zip(&x)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(err1 > 1e-2 * norm);
    }
}
