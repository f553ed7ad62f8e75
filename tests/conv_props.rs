//! Properties of correlation and convolution, on random inputs.

use eigentechno::engine::conv::{Method, Mode, convolve, convolve2d, correlate, correlate2d};
use ndarray::{Array2, s};
use proptest::prelude::*;

fn close(a: &[f64], b: &[f64]) -> bool {
    let scale = b.iter().chain(a).fold(1.0f64, |m, v| m.max(v.abs()));
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-9 * scale)
}

fn vec_strategy(max: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-100.0f64..100.0, 1..max)
}

fn mode_strategy() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Full), Just(Mode::Same), Just(Mode::Valid)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn direct_and_fft_agree(x in vec_strategy(300), w in vec_strategy(60), mode in mode_strategy()) {
        let a = correlate(&x, &w, mode, Method::Direct).unwrap();
        let b = correlate(&x, &w, mode, Method::Fft).unwrap();
        prop_assert!(close(&a, &b));
        let a = convolve(&x, &w, mode, Method::Direct).unwrap();
        let b = convolve(&x, &w, mode, Method::Fft).unwrap();
        prop_assert!(close(&a, &b));
    }

    #[test]
    fn convolution_commutes_in_full_mode(x in vec_strategy(200), w in vec_strategy(200)) {
        let a = convolve(&x, &w, Mode::Full, Method::Auto).unwrap();
        let b = convolve(&w, &x, Mode::Full, Method::Auto).unwrap();
        prop_assert!(close(&a, &b));
    }

    #[test]
    fn correlation_is_convolution_with_the_reversed_kernel(x in vec_strategy(200), w in vec_strategy(40), mode in mode_strategy()) {
        let rev: Vec<f64> = w.iter().rev().copied().collect();
        let a = correlate(&x, &w, mode, Method::Auto).unwrap();
        let b = convolve(&x, &rev, mode, Method::Auto).unwrap();
        prop_assert!(close(&a, &b));
    }

    #[test]
    fn correlation_does_not_commute_but_reverses(x in vec_strategy(100), w in vec_strategy(100)) {
        // correlate(w, x) is correlate(x, w) reversed; equal only for palindromic results.
        let a = correlate(&x, &w, Mode::Full, Method::Auto).unwrap();
        let b = correlate(&w, &x, Mode::Full, Method::Auto).unwrap();
        let b_rev: Vec<f64> = b.iter().rev().copied().collect();
        prop_assert!(close(&a, &b_rev));
    }

    #[test]
    fn two_d_correlate_is_convolve_with_both_axes_flipped(
        h in 1usize..20, w in 1usize..20, kh in 1usize..6, kw in 1usize..6, seed in 0u64..1000, mode in mode_strategy()
    ) {
        let mut r = eigentechno::engine::Rng::new(seed);
        let x = Array2::from_shape_fn((h, w), |_| r.normal());
        let k = Array2::from_shape_fn((kh, kw), |_| r.normal());
        let flipped = k.slice(s![..;-1, ..;-1]).to_owned();
        let a = correlate2d(x.view(), k.view(), mode, Method::Auto);
        let b = convolve2d(x.view(), flipped.view(), mode, Method::Auto);
        match (a, b) {
            (Ok(a), Ok(b)) => prop_assert!(close(a.as_slice().unwrap(), b.as_slice().unwrap())),
            (Err(_), Err(_)) => prop_assert!(mode == Mode::Valid),
            _ => prop_assert!(false, "one failed and the other did not"),
        }
        let d = correlate2d(x.view(), k.view(), Mode::Full, Method::Direct).unwrap();
        let f = correlate2d(x.view(), k.view(), Mode::Full, Method::Fft).unwrap();
        prop_assert!(close(d.as_slice().unwrap(), f.as_slice().unwrap()));
    }
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
