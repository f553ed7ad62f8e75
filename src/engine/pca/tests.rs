use super::*;
use crate::engine::Rng;

/// `n x d` data of rank `r` with singular values decaying as 1 / (1 + i), plus an offset.
fn low_rank(n: usize, d: usize, r: usize, seed: u64) -> Vec<f32> {
    low_rank_f64(n, d, r, seed)
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

fn low_rank_f64(n: usize, d: usize, r: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let a: Vec<f64> = (0..n * r).map(|_| rng.normal()).collect();
    let b: Vec<f64> = (0..r * d).map(|_| rng.normal()).collect();
    let mut x = vec![0f64; n * d];
    for i in 0..n {
        for j in 0..d {
            let mut v = 3.0 + j as f64 * 0.01;
            for t in 0..r {
                v += a[i * r + t] * b[t * d + j] / (1.0 + t as f64);
            }
            x[i * d + j] = v;
        }
    }
    x
}

fn fit(x: &[f32], n: usize, d: usize, params: PcaParams) -> PcaFit {
    let rows = MemoryRows::f32(x, n, d).unwrap();
    params.check(&rows).unwrap().fit(&rows).unwrap()
}

#[test]
fn exact_gram_and_covariance_routes_agree() {
    let (n, d) = (30, 40);
    // Exactly rank 8 in float64 (float32 storage would add rounding noise of full rank).
    let x = low_rank_f64(n, d, 8, 1);
    let rows = MemoryRows::f64(&x, n, d).unwrap();
    let p = PcaParams {
        method: Method::Exact,
        ..Default::default()
    };
    let gram = p.check(&rows).unwrap().fit(&rows).unwrap();
    // A zero memory budget forces the streamed covariance route.
    let p = PcaParams {
        method: Method::Exact,
        memory_budget: 0,
        block_rows: Some(7),
        ..Default::default()
    };
    let cov = p.check(&rows).unwrap().fit(&rows).unwrap();
    assert_eq!(gram.model.k(), 29, "every component, as scikit-learn");
    assert_eq!(cov.model.k(), 29);
    for i in 0..8 {
        let (a, b) = (gram.model.singular_values[i], cov.model.singular_values[i]);
        assert!((a - b).abs() < 1e-9 * a, "sigma {i}: {a} vs {b}");
        for (u, v) in gram.model.component(i).iter().zip(cov.model.component(i)) {
            assert!((u - v).abs() < 1e-5, "component {i}");
        }
    }
    let sum: f64 = gram.model.explained_variance_ratio[..8].iter().sum();
    assert!(
        (sum - 1.0).abs() < 1e-9,
        "rank-8 data: 8 components explain all ({sum})"
    );
}

#[test]
fn randomized_matches_exact_on_top_components() {
    let (n, d) = (120, 90);
    let x = low_rank(n, d, 30, 2);
    let exact = fit(
        &x,
        n,
        d,
        PcaParams {
            method: Method::Exact,
            ..Default::default()
        },
    );
    let rand = fit(
        &x,
        n,
        d,
        PcaParams {
            k: Some(5),
            method: Method::Randomized,
            block_rows: Some(16),
            memory_budget: 0,
            ..Default::default()
        },
    );
    assert_eq!(rand.model.k(), 5);
    for i in 0..5 {
        let (a, b) = (
            exact.model.singular_values[i],
            rand.model.singular_values[i],
        );
        assert!((a - b).abs() < 1e-6 * a, "sigma {i}: {a} vs {b}");
        assert!(
            (exact.model.explained_variance_ratio[i] - rand.model.explained_variance_ratio[i])
                .abs()
                < 1e-8
        );
    }
    // Scores equal the projections of the data.
    let row = &x[17 * d..18 * d];
    let p = rand.model.project(row, 5);
    let s = rand.scores.as_ref().unwrap();
    for j in 0..5 {
        assert!(
            (p[j] - s[17 * 5 + j] as f64).abs() < 1e-3 * p[0].abs(),
            "score {j}: projected {} vs fitted {}",
            p[j],
            s[17 * 5 + j]
        );
    }
}

#[test]
fn full_reconstruction_returns_the_row() {
    let (n, d) = (25, 60);
    let mut rng = Rng::new(5);
    let x: Vec<f32> = (0..n * d).map(|_| rng.normal() as f32).collect();
    let f = fit(&x, n, d, PcaParams::default());
    assert_eq!(f.model.k(), n - 1);
    let scores = f.scores.as_ref().unwrap();
    let k = f.model.k();
    for r in [0, 7, 24] {
        let s: Vec<f64> = scores[r * k..(r + 1) * k]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let back = f.model.reconstruct(&s, k);
        let row = &x[r * d..(r + 1) * d];
        let err: f64 = back
            .iter()
            .zip(row)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        let norm: f64 = row.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
        assert!(err < 1e-5 * norm, "row {r}: relative error {}", err / norm);
    }
}

#[test]
fn bad_inputs_are_clear_errors() {
    let x = vec![1f32; 6];
    let rows = MemoryRows::f32(&x, 2, 3).unwrap();
    let e = PcaParams {
        k: Some(2),
        ..Default::default()
    }
    .check(&rows)
    .unwrap_err();
    assert!(
        matches!(e, PcaError::TooManyComponents { k: 2, max: 1, .. }),
        "{e}"
    );
    let e = PcaParams::default()
        .check(&rows)
        .unwrap()
        .fit(&rows)
        .unwrap_err();
    assert_eq!(e, PcaError::ZeroVariance);
    let mut y = vec![0f32, 1., 2., 3., 4., 5., 6., f32::NAN, 8., 1., 1., 2.];
    let rows = MemoryRows::f32(&y, 4, 3).unwrap();
    let e = PcaParams::default()
        .check(&rows)
        .unwrap()
        .fit(&rows)
        .unwrap_err();
    assert_eq!(e, PcaError::NonFinite { row: 2, col: 1 });
    let p = PcaParams {
        drop_nonfinite: true,
        k: Some(1),
        ..Default::default()
    };
    let f = p.check(&rows).unwrap().fit(&rows).unwrap();
    assert_eq!(f.dropped_rows, vec![2]);
    assert_eq!(f.model.n_samples, 3);
    y[7] = 7.0;
    assert!(MemoryRows::f32(&y, 5, 3).is_err());
}

#[test]
fn sign_rule_makes_the_largest_entry_positive() {
    let (n, d) = (30, 12);
    let x = low_rank(n, d, 4, 9);
    let f = fit(&x, n, d, PcaParams::default());
    for i in 0..f.model.k() {
        let c = f.model.component(i);
        let big = c
            .iter()
            .copied()
            .fold(0f32, |m, v| if v.abs() > m.abs() { v } else { m });
        assert!(big > 0.0, "component {i}");
        let norm: f32 = c.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
    }
}

#[test]
fn randomized_float32_near_the_rank_never_explains_more_than_everything() {
    // Rank 60 plus a little noise, k = 80 > rank: the tail components are noise, and
    // their variances must still leave the total above the kept sum (PPCA needs it).
    let (n, d) = (1500, 400);
    let mut x = low_rank(n, d, 60, 31);
    let mut rng = Rng::new(8);
    x.iter_mut()
        .for_each(|v| *v += (rng.normal() * 1e-3) as f32);
    let f = fit(
        &x,
        n,
        d,
        PcaParams {
            k: Some(80),
            method: Method::Randomized,
            precision: Precision::F32,
            ..Default::default()
        },
    );
    let exact = fit(
        &x,
        n,
        d,
        PcaParams {
            method: Method::Exact,
            precision: Precision::F64,
            ..Default::default()
        },
    );
    let kept: f64 = f.model.explained_variance_ratio.iter().sum();
    assert!(kept <= 1.0 + 1e-9, "kept ratio {kept}");
    for i in 0..80 {
        let (a, b) = (f.model.singular_values[i], exact.model.singular_values[i]);
        assert!(a <= b * (1.0 + 1e-4), "sigma {i}: {a} above the exact {b}");
    }
}

#[test]
fn randomized_float32_survives_a_basis_larger_than_the_rank() {
    // Rank 30, no noise; the Krylov basis (4 blocks of 50) is far larger than the rank,
    // so later blocks are pure rounding noise.
    let (n, d) = (600, 300);
    let x = low_rank(n, d, 30, 12);
    let f = fit(
        &x,
        n,
        d,
        PcaParams {
            k: Some(40),
            method: Method::Randomized,
            precision: Precision::F32,
            ..Default::default()
        },
    );
    let exact = fit(
        &x,
        n,
        d,
        PcaParams {
            method: Method::Exact,
            precision: Precision::F64,
            ..Default::default()
        },
    );
    let kept: f64 = f.model.explained_variance_ratio.iter().sum();
    assert!(kept <= 1.0 + 1e-6, "kept ratio {kept}");
    for i in 0..30 {
        let (a, b) = (f.model.singular_values[i], exact.model.singular_values[i]);
        assert!((a - b).abs() <= 1e-3 * b, "sigma {i}: {a} vs {b}");
    }
}

/// `n x d` float64 data whose spectrum falls slowly (weights 1 / (1 + t)^0.2 over rank
/// r), as bars' spectra do: a few power iterations leave the k-th value visibly off.
fn flat_spectrum(n: usize, d: usize, r: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let a: Vec<f64> = (0..n * r).map(|_| rng.normal()).collect();
    let b: Vec<f64> = (0..r * d).map(|_| rng.normal()).collect();
    let mut x = vec![0f64; n * d];
    for i in 0..n {
        for t in 0..r {
            let w = a[i * r + t] / (1.0 + t as f64).powf(0.2);
            for j in 0..d {
                x[i * d + j] += w * b[t * d + j];
            }
        }
    }
    x
}

#[test]
fn randomized_power_iterations_stop_once_the_top_k_settle() {
    let (n, d, k) = (500, 300, 20);
    let x = flat_spectrum(n, d, 250, 9);
    let rows = MemoryRows::f64(&x, n, d).unwrap();
    let run = |p: PcaParams| p.check(&rows).unwrap().fit(&rows).unwrap();
    let exact = run(PcaParams {
        method: Method::Exact,
        ..Default::default()
    });
    let worst = |f: &PcaFit| {
        (0..k)
            .map(|i| {
                let (a, b) = (exact.model.singular_values[i], f.model.singular_values[i]);
                (a - b).abs() / a
            })
            .fold(0.0, f64::max)
    };
    for krylov in [true, false] {
        let base = PcaParams {
            k: Some(k),
            method: Method::Randomized,
            krylov,
            ..Default::default()
        };
        // A fixed count is run in full (tolerance 0), and one iteration is not enough
        // on this spectrum.
        let one = run(PcaParams {
            power_iterations: 1,
            tolerance: 0.0,
            ..base.clone()
        });
        assert_eq!(one.power_iterations, 1);
        assert!(
            worst(&one) > 1e-4,
            "krylov {krylov}: q = 1 is already {:.1e} off",
            worst(&one)
        );
        // The default stops on its own, before its cap, with every top-k value within
        // a few times the tolerance of exact (the sketch's values rise towards the true
        // ones, so the last step's move bounds what is left only roughly).
        let auto = run(base.clone());
        let used = auto.power_iterations;
        if krylov {
            assert!((2..12).contains(&used), "{used} power iterations");
            assert!(
                worst(&auto) < 5e-5,
                "{used} iterations leave the top {k} {:.1e} off",
                worst(&auto)
            );
        } else {
            // Plain subspace iteration converges as (sigma_l / sigma_k)^2q, slowly on
            // a flat spectrum (the reason block Krylov is the default): here it runs to
            // its cap, and is still better than one iteration.
            assert_eq!(used, 12);
            assert!(worst(&auto) < worst(&one) / 10.0);
        }
        // Running the same number of iterations with no tolerance gives the same fit.
        let fixed = run(PcaParams {
            power_iterations: used,
            tolerance: 0.0,
            ..base.clone()
        });
        assert_eq!(fixed.model.singular_values, auto.model.singular_values);
        // A looser tolerance stops no later.
        let loose = run(PcaParams {
            tolerance: 1e-2,
            ..base
        });
        assert!(loose.power_iterations <= used);
    }
    let bad = PcaParams {
        k: Some(k),
        tolerance: -1.0,
        ..Default::default()
    };
    let e = bad.check(&rows).unwrap_err().to_string();
    assert!(e.contains("tolerance"), "{e}");
}
