//! Properties of correlation and convolution, on random inputs: 256 cases each, drawn
//! from a seeded generator, so a failure names the case that reproduces it.

use eigentechno::engine::Rng;
use eigentechno::engine::conv::{Method, Mode, convolve, convolve2d, correlate, correlate2d};
use ndarray::{Array2, s};

const CASES: u64 = 256;

fn close(a: &[f64], b: &[f64]) -> bool {
    let scale = b.iter().chain(a).fold(1.0f64, |m, v| m.max(v.abs()));
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-9 * scale)
}

/// A vector of 1 to `max - 1` values in [-100, 100), lengths uniform.
fn vector(r: &mut Rng, max: u64) -> Vec<f64> {
    let n = 1 + r.below(max - 1) as usize;
    (0..n).map(|_| r.range(-100.0, 100.0)).collect()
}

fn mode(r: &mut Rng) -> Mode {
    [Mode::Full, Mode::Same, Mode::Valid][r.below(3) as usize]
}

/// Run `check` on `CASES` cases, each with its own generator (seeded by the property's
/// name and the case number).
fn for_cases(property: u64, check: impl Fn(u64, &mut Rng)) {
    for case in 0..CASES {
        check(case, &mut Rng::new(property * 1_000_003 + case));
    }
}

#[test]
fn direct_and_fft_agree() {
    for_cases(1, |case, r| {
        let (x, w, mode) = (vector(r, 300), vector(r, 60), mode(r));
        let a = correlate(&x, &w, mode, Method::Direct).unwrap();
        let b = correlate(&x, &w, mode, Method::Fft).unwrap();
        assert!(
            close(&a, &b),
            "case {case}: correlate {mode:?}, {} x {}",
            x.len(),
            w.len()
        );
        let a = convolve(&x, &w, mode, Method::Direct).unwrap();
        let b = convolve(&x, &w, mode, Method::Fft).unwrap();
        assert!(
            close(&a, &b),
            "case {case}: convolve {mode:?}, {} x {}",
            x.len(),
            w.len()
        );
    });
}

#[test]
fn convolution_commutes_in_full_mode() {
    for_cases(2, |case, r| {
        let (x, w) = (vector(r, 200), vector(r, 200));
        let a = convolve(&x, &w, Mode::Full, Method::Auto).unwrap();
        let b = convolve(&w, &x, Mode::Full, Method::Auto).unwrap();
        assert!(close(&a, &b), "case {case}: {} x {}", x.len(), w.len());
    });
}

#[test]
fn correlation_is_convolution_with_the_reversed_kernel() {
    for_cases(3, |case, r| {
        let (x, w, mode) = (vector(r, 200), vector(r, 40), mode(r));
        let rev: Vec<f64> = w.iter().rev().copied().collect();
        let a = correlate(&x, &w, mode, Method::Auto).unwrap();
        let b = convolve(&x, &rev, mode, Method::Auto).unwrap();
        assert!(
            close(&a, &b),
            "case {case}: {mode:?}, {} x {}",
            x.len(),
            w.len()
        );
    });
}

#[test]
fn correlation_does_not_commute_but_reverses() {
    for_cases(4, |case, r| {
        // correlate(w, x) is correlate(x, w) reversed; equal only for palindromic results.
        let (x, w) = (vector(r, 100), vector(r, 100));
        let a = correlate(&x, &w, Mode::Full, Method::Auto).unwrap();
        let b = correlate(&w, &x, Mode::Full, Method::Auto).unwrap();
        let b_rev: Vec<f64> = b.iter().rev().copied().collect();
        assert!(close(&a, &b_rev), "case {case}: {} x {}", x.len(), w.len());
    });
}

#[test]
fn two_d_correlate_is_convolve_with_both_axes_flipped() {
    for_cases(5, |case, r| {
        let (h, w) = (1 + r.below(19) as usize, 1 + r.below(19) as usize);
        let (kh, kw) = (1 + r.below(5) as usize, 1 + r.below(5) as usize);
        let mode = mode(r);
        let x = Array2::from_shape_fn((h, w), |_| r.normal());
        let k = Array2::from_shape_fn((kh, kw), |_| r.normal());
        let flipped = k.slice(s![..;-1, ..;-1]).to_owned();
        let a = correlate2d(x.view(), k.view(), mode, Method::Auto);
        let b = convolve2d(x.view(), flipped.view(), mode, Method::Auto);
        let shape = format!("case {case}: {mode:?}, {h}x{w} by {kh}x{kw}");
        match (a, b) {
            (Ok(a), Ok(b)) => assert!(
                close(a.as_slice().unwrap(), b.as_slice().unwrap()),
                "{shape}"
            ),
            (Err(_), Err(_)) => assert_eq!(mode, Mode::Valid, "{shape}"),
            _ => panic!("{shape}: one failed and the other did not"),
        }
        let d = correlate2d(x.view(), k.view(), Mode::Full, Method::Direct).unwrap();
        let f = correlate2d(x.view(), k.view(), Mode::Full, Method::Fft).unwrap();
        assert!(
            close(d.as_slice().unwrap(), f.as_slice().unwrap()),
            "{shape}"
        );
    });
}

#[test]
fn correlation_is_not_commutative_on_an_example() {
    let x = [1.0, 2.0, 3.0];
    let w = [0.0, 1.0, 0.5];
    assert_ne!(
        correlate(&x, &w, Mode::Full, Method::Direct).unwrap(),
        correlate(&w, &x, Mode::Full, Method::Direct).unwrap()
    );
    assert_eq!(
        convolve(&x, &w, Mode::Full, Method::Direct).unwrap(),
        convolve(&w, &x, Mode::Full, Method::Direct).unwrap()
    );
}
