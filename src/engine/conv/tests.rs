//! Checks against the textbook definitions, for every small length.

use ndarray::{Array2, Array3, Array4, array, s};

use super::*;

/// Full convolution by the definition, in f64.
fn naive_full(x: &[f64], w: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; x.len() + w.len() - 1];
    for (i, &a) in x.iter().enumerate() {
        for (j, &b) in w.iter().enumerate() {
            y[i + j] += a * b;
        }
    }
    y
}

/// scipy's windows, written independently: same = centred on the full output, valid =
/// where the shorter input overlaps completely.
fn naive(x: &[f64], w: &[f64], op: Op, mode: Mode) -> Vec<f64> {
    let k: Vec<f64> = match op {
        Op::Convolve => w.to_vec(),
        Op::Correlate => w.iter().rev().copied().collect(),
    };
    let full = naive_full(x, &k);
    let (n, m) = (x.len(), w.len());
    match mode {
        Mode::Full => full,
        Mode::Same => {
            let start = (full.len() - n) / 2;
            full[start..start + n].to_vec()
        }
        Mode::Valid => {
            let lo = n.min(m) - 1;
            full[lo..lo + n.max(m) - n.min(m) + 1].to_vec()
        }
    }
}

fn signal(n: usize, seed: u64) -> Vec<f64> {
    let mut r = crate::engine::Rng::new(seed);
    (0..n).map(|_| r.normal()).collect()
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    let scale = b.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol * scale)
}

#[test]
fn every_small_length_every_mode_and_method_matches_the_definition() {
    for n in 1..=40 {
        for m in 1..=12 {
            let x = signal(n, n as u64);
            let w = signal(m, 100 + m as u64);
            for op in [Op::Correlate, Op::Convolve] {
                for mode in [Mode::Full, Mode::Same, Mode::Valid] {
                    let want = naive(&x, &w, op, mode);
                    for method in [Method::Direct, Method::Fft, Method::Auto] {
                        let got = apply(&x, &w, op, mode, method).unwrap();
                        assert!(
                            close(&got, &want, 1e-12),
                            "n={n} m={m} {op:?} {mode} {method}: {got:?} vs {want:?}"
                        );
                        // Kernel longer than the signal.
                        let got = apply(&w, &x, op, mode, method).unwrap();
                        let want2 = naive(&w, &x, op, mode);
                        assert!(
                            close(&got, &want2, 1e-12),
                            "swapped n={m} m={n} {op:?} {mode} {method}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn overlap_add_and_large_single_ffts_match_the_definition() {
    for (n, m) in [
        (20_000, 100),
        (5_000, 1_000),
        (3_001, 7),
        (4_096, 4_096),
        (50_000, 513),
    ] {
        let x = signal(n, 1);
        let w = signal(m, 2);
        for mode in [Mode::Full, Mode::Same, Mode::Valid] {
            let want = naive(&x, &w, Op::Correlate, mode);
            let fft = correlate(&x, &w, mode, Method::Fft).unwrap();
            let direct = correlate(&x, &w, mode, Method::Direct).unwrap();
            assert!(close(&fft, &want, 1e-11), "fft n={n} m={m} {mode}");
            assert!(close(&direct, &want, 1e-12), "direct n={n} m={m} {mode}");
        }
    }
}

#[test]
fn f32_agrees_with_f64() {
    let x = signal(3_000, 5);
    let w = signal(200, 6);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
    for method in [Method::Direct, Method::Fft] {
        let a = correlate(&x32, &w32, Mode::Same, method).unwrap();
        let b = correlate(&x, &w, Mode::Same, Method::Direct).unwrap();
        let a64: Vec<f64> = a.iter().map(|&v| v as f64).collect();
        assert!(close(&a64, &b, 1e-5), "{method}");
    }
}

fn naive_2d(x: &Array2<f64>, w: &Array2<f64>, op: Op, mode: Mode) -> Array2<f64> {
    let k = match op {
        Op::Convolve => w.clone(),
        Op::Correlate => w.slice(s![..;-1, ..;-1]).to_owned(),
    };
    let (h, wd) = x.dim();
    let (kh, kw) = k.dim();
    let mut full = Array2::zeros((h + kh - 1, wd + kw - 1));
    for ((i, j), &a) in x.indexed_iter() {
        for ((p, q), &b) in k.indexed_iter() {
            full[[i + p, j + q]] += a * b;
        }
    }
    let (r0, rl) = output_window(h, kh, mode);
    let (c0, cl) = output_window(wd, kw, mode);
    full.slice(s![r0..r0 + rl, c0..c0 + cl]).to_owned()
}

#[test]
fn two_d_matches_the_definition() {
    let shapes = [
        ((1, 1), (1, 1)),
        ((5, 7), (3, 3)),
        ((8, 8), (2, 4)),
        ((3, 4), (5, 6)),
        ((16, 9), (9, 9)),
        ((33, 20), (4, 1)),
    ];
    for (k, &(s1, s2)) in shapes.iter().enumerate() {
        let x = Array2::from_shape_vec(s1, signal(s1.0 * s1.1, k as u64)).unwrap();
        let w = Array2::from_shape_vec(s2, signal(s2.0 * s2.1, 50 + k as u64)).unwrap();
        for op in [Op::Correlate, Op::Convolve] {
            for mode in [Mode::Full, Mode::Same, Mode::Valid] {
                let want = naive_2d(&x, &w, op, mode);
                for method in [Method::Direct, Method::Fft] {
                    let got = apply2d(x.view(), w.view(), op, mode, method).unwrap();
                    assert_eq!(
                        got.dim(),
                        want.dim(),
                        "{s1:?} {s2:?} {op:?} {mode} {method}"
                    );
                    assert!(
                        close(got.as_slice().unwrap(), want.as_slice().unwrap(), 1e-12),
                        "{s1:?} {s2:?} {op:?} {mode} {method}"
                    );
                }
            }
        }
    }
}

#[test]
fn correlation_is_convolution_with_the_kernel_flipped_on_both_axes() {
    let x = Array2::from_shape_vec((12, 10), signal(120, 3)).unwrap();
    let w = Array2::from_shape_vec((3, 4), signal(12, 4)).unwrap();
    let flipped = w.slice(s![..;-1, ..;-1]).to_owned();
    for mode in [Mode::Full, Mode::Same, Mode::Valid] {
        let a = correlate2d(x.view(), w.view(), mode, Method::Direct).unwrap();
        let b = convolve2d(x.view(), flipped.view(), mode, Method::Direct).unwrap();
        assert!(close(a.as_slice().unwrap(), b.as_slice().unwrap(), 1e-14));
    }
}

#[test]
fn one_hot_kernel_shifts_opposite_ways() {
    let mut img = Array2::<f64>::zeros((7, 7));
    img[[3, 3]] = 1.0;
    // Tap at row 0, column 2 of a 3x3 kernel: up-right of the centre.
    let k = array![[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]];
    for method in [Method::Direct, Method::Fft] {
        let conv = convolve2d(img.view(), k.view(), Mode::Same, method).unwrap();
        let corr = correlate2d(img.view(), k.view(), Mode::Same, method).unwrap();
        let argmax = |a: &Array2<f64>| {
            a.indexed_iter()
                .max_by(|x, y| x.1.total_cmp(y.1))
                .unwrap()
                .0
        };
        assert_eq!(
            argmax(&conv),
            (2, 4),
            "convolution moves the pixel up and right"
        );
        assert_eq!(argmax(&corr), (4, 2), "correlation moves it down and left");
    }
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let empty: [f64; 0] = [];
    assert_eq!(
        correlate(&empty, &[1.0], Mode::Full, Method::Auto),
        Err(ConvError::Empty { which: "in1" })
    );
    assert_eq!(
        convolve(&[1.0], &empty, Mode::Full, Method::Auto),
        Err(ConvError::Empty { which: "in2" })
    );
    let e = correlate(&[1.0, f64::NAN], &[1.0], Mode::Full, Method::Auto).unwrap_err();
    assert!(
        matches!(e, ConvError::NonFinite { which: "in1", ref index, .. } if index == &vec![1]),
        "{e}"
    );
    let x = Array2::<f64>::zeros((10, 3));
    let w = Array2::<f64>::zeros((5, 5));
    let e = correlate2d(x.view(), w.view(), Mode::Valid, Method::Auto).unwrap_err();
    assert!(matches!(e, ConvError::NoOutput { .. }), "{e}");
    // 'same' and 'full' still work for those shapes, as in scipy.
    assert_eq!(
        correlate2d(x.view(), w.view(), Mode::Same, Method::Auto)
            .unwrap()
            .dim(),
        (10, 3)
    );
    let mut out = vec![0.0; 3];
    let e = FftConvolver::<f64>::new()
        .process(&[1.0, 2.0], &[1.0], Op::Convolve, Mode::Full, &mut out)
        .unwrap_err();
    assert!(matches!(e, ConvError::Dimensions { .. }));
    assert_eq!(autocorrelate(&[0.0f64; 16], 4), Err(ConvError::ZeroEnergy));
    let mut inf = Array2::<f32>::zeros((2, 2));
    inf[[1, 0]] = f32::INFINITY;
    let e = correlate2d(
        inf.view(),
        Array2::<f32>::ones((1, 1)).view(),
        Mode::Full,
        Method::Auto,
    )
    .unwrap_err();
    assert!(matches!(e, ConvError::NonFinite { ref index, .. } if index == &vec![1, 0]));
}

#[test]
fn autocorrelation_matches_the_definition() {
    // A few lags go the direct way, more through the FFT.
    let x = signal(500, 9);
    for max_lag in [5, 40] {
        let r = autocorrelate(&x, max_lag).unwrap();
        assert_eq!(r.len(), max_lag + 1);
        let r0: f64 = x.iter().map(|v| v * v).sum();
        for (k, &rk) in r.iter().enumerate() {
            let want: f64 = (0..x.len() - k).map(|i| x[i] * x[i + k]).sum::<f64>() / r0;
            assert!((rk - want).abs() < 1e-12, "max lag {max_lag}, lag {k}");
        }
    }
    // Long signals go through the FFT.
    let y = signal(100_000, 10);
    let r = autocorrelate(&y, 2_000).unwrap();
    let r0: f64 = y.iter().map(|v| v * v).sum();
    let want: f64 = (0..y.len() - 1_234)
        .map(|i| y[i] * y[i + 1_234])
        .sum::<f64>()
        / r0;
    assert!((r[1_234] - want).abs() < 1e-12);
}

#[test]
fn batch_rows_equal_one_by_one() {
    let x = Array2::from_shape_vec((7, 300), signal(2_100, 11)).unwrap();
    let w = signal(31, 12);
    let all = correlate_rows(x.view(), &w, Mode::Valid, Method::Auto).unwrap();
    for (i, row) in x.outer_iter().enumerate() {
        let one = correlate(&row.to_vec(), &w, Mode::Valid, Method::Direct).unwrap();
        assert!(close(all.row(i).as_slice().unwrap(), &one, 1e-12));
    }
}

#[test]
fn conv_layer_matches_a_naive_layer() {
    // 2 groups, 4 input channels, 6 output channels, 3x2 kernels, stride (2, 1), padding (1, 2).
    let (c, h, w, o, kh, kw) = (4, 9, 7, 6, 3, 2);
    let input = Array3::from_shape_vec((c, h, w), signal(c * h * w, 20)).unwrap();
    let weights = Array4::from_shape_vec((o, c / 2, kh, kw), signal(o * 2 * kh * kw, 21)).unwrap();
    let bias = signal(o, 22);
    let layer = Conv2dLayer::new(weights.clone(), Some(bias.clone()), (2, 1), (1, 2), 2).unwrap();
    let out = layer.forward(input.view()).unwrap();
    let (oh, ow) = ((h + 2 - kh) / 2 + 1, (w + 4 - kw) + 1);
    assert_eq!(out.dim(), (o, oh, ow));
    for oc in 0..o {
        let g = oc / 3;
        for a in 0..oh {
            for b in 0..ow {
                let mut acc = bias[oc];
                for ci in 0..2 {
                    for i in 0..kh {
                        for j in 0..kw {
                            let (y, x) = ((a * 2 + i) as isize - 1, (b + j) as isize - 2);
                            if y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w {
                                acc += weights[[oc, ci, i, j]]
                                    * input[[g * 2 + ci, y as usize, x as usize]];
                            }
                        }
                    }
                }
                assert!((out[[oc, a, b]] - acc).abs() < 1e-12);
            }
        }
    }
    // Stride 1, no padding, one channel: the layer is correlate2d 'valid'.
    let single = Conv2dLayer::new(
        weights.slice(s![0..1, 0..1, .., ..]).to_owned(),
        None,
        (1, 1),
        (0, 0),
        1,
    )
    .unwrap();
    let a = single.forward(input.slice(s![0..1, .., ..])).unwrap();
    let b = correlate2d(
        input.slice(s![0, .., ..]),
        weights.slice(s![0, 0, .., ..]),
        Mode::Valid,
        Method::Direct,
    )
    .unwrap();
    assert!(close(
        a.index_axis(ndarray::Axis(0), 0)
            .as_standard_layout()
            .as_slice()
            .unwrap(),
        b.as_slice().unwrap(),
        1e-13
    ));
    // Geometry errors.
    assert!(matches!(
        layer.forward(Array3::zeros((3, 9, 7)).view()),
        Err(ConvError::Layer(_))
    ));
    assert!(matches!(
        Conv2dLayer::new(weights.clone(), None, (0, 1), (0, 0), 2),
        Err(ConvError::Layer(_))
    ));
    assert!(matches!(
        Conv2dLayer::new(weights, None, (1, 1), (0, 0), 4),
        Err(ConvError::Layer(_))
    ));
}

#[test]
fn allocation_free_valid_correlation_matches_the_definition() {
    for n in 1..=40 {
        for m in 1..=n.min(20) {
            let (x, w) = (signal(n, 3 * n as u64), signal(m, 7 * m as u64 + 1));
            let want = naive(&x, &w, Op::Correlate, Mode::Valid);
            let mut got = vec![0.0; n - m + 1];
            correlate_valid_into(&x, &w, &mut got).unwrap();
            assert!(close(&got, &want, 1e-12), "n={n} m={m}");
        }
    }
    let mut out = [0.0f32; 2];
    assert!(matches!(
        correlate_valid_into(&[1.0f32, 2.0], &[1.0f32, 2.0, 3.0], &mut out),
        Err(ConvError::NoOutput { .. })
    ));
    assert!(matches!(
        correlate_valid_into(&[1.0f32, 2.0, 3.0], &[1.0f32], &mut out),
        Err(ConvError::Dimensions { .. })
    ));
    assert!(matches!(
        correlate_valid_into(&[] as &[f32], &[1.0f32], &mut out),
        Err(ConvError::Empty { which: "in1" })
    ));
}
