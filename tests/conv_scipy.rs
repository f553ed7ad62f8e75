//! The correlation/convolution engine against scipy.signal's results, committed by
//! fixtures/conv/make_conv_fixtures.py: every case, mode, method, in f64 and f32.

use crate::common;

use eigentechno::engine::conv::{ConvError, Method, Mode, Op, Real, apply, apply2d};
use ndarray::Array2;
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    op: String,
    mode: String,
    shape1: Vec<usize>,
    shape2: Vec<usize>,
    seed1: i64,
    seed2: i64,
    out_shape: Option<Vec<usize>>,
    offset: Option<usize>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Meta {
    cases: Vec<Case>,
}

/// The fixture's input formula, exact in f32 and f64.
fn make<T: Real>(len: usize, seed: i64) -> Vec<T> {
    (0..len as i64)
        .map(|i| T::from(((i * 7919 + seed * 104_729) % 1000 - 500) as f64 / 256.0).unwrap())
        .collect()
}

fn load() -> (Meta, Vec<f64>) {
    let dir = common::root().join("fixtures/conv");
    let meta: Meta =
        serde_json::from_slice(&std::fs::read(dir.join("scipy_ref.json")).unwrap()).unwrap();
    let bin = std::fs::read(dir.join("scipy_ref.bin")).unwrap();
    let values = bin
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f64 / 65_536.0)
        .collect();
    (meta, values)
}

fn run_case<T: Real>(c: &Case, method: Method) -> Result<(Vec<usize>, Vec<f64>), ConvError> {
    let op = if c.op == "correlate" {
        Op::Correlate
    } else {
        Op::Convolve
    };
    let mode: Mode = c.mode.parse().unwrap();
    let n1: usize = c.shape1.iter().product();
    let n2: usize = c.shape2.iter().product();
    let a = make::<T>(n1, c.seed1);
    let b = make::<T>(n2, c.seed2);
    let to64 = |v: &[T]| v.iter().map(|x| x.to_f64().unwrap()).collect::<Vec<f64>>();
    if c.shape1.len() == 1 {
        let out = apply(&a, &b, op, mode, method)?;
        Ok((vec![out.len()], to64(&out)))
    } else {
        let a = Array2::from_shape_vec((c.shape1[0], c.shape1[1]), a).unwrap();
        let b = Array2::from_shape_vec((c.shape2[0], c.shape2[1]), b).unwrap();
        let out = apply2d(a.view(), b.view(), op, mode, method)?;
        Ok((
            vec![out.nrows(), out.ncols()],
            to64(out.as_slice().unwrap()),
        ))
    }
}

fn check_all<T: Real>(tol: f64) {
    let (meta, values) = load();
    assert!(meta.cases.len() > 3_000);
    let mut checked = 0;
    for c in &meta.cases {
        for method in [Method::Direct, Method::Fft, Method::Auto] {
            let what = format!("{} {} {:?} {:?} {method}", c.op, c.mode, c.shape1, c.shape2);
            match (&c.error, run_case::<T>(c, method)) {
                (Some(_), Err(ConvError::NoOutput { .. })) => {}
                (Some(e), other) => {
                    panic!("{what}: scipy says '{e}', we gave {:?}", other.map(|o| o.0))
                }
                (None, Err(e)) => panic!("{what}: {e}"),
                (None, Ok((shape, got))) => {
                    assert_eq!(&shape, c.out_shape.as_ref().unwrap(), "{what}");
                    let off = c.offset.unwrap();
                    let want = &values[off..off + got.len()];
                    let scale = want.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
                    let err = got
                        .iter()
                        .zip(want)
                        .map(|(g, w)| (g - w).abs())
                        .fold(0.0, f64::max)
                        / scale;
                    assert!(err <= tol, "{what}: relative error {err:e}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 9_000);
}

#[test]
fn f64_matches_scipy_within_1e_10() {
    check_all::<f64>(1e-10);
}

#[test]
fn f32_matches_scipy_within_1e_5() {
    check_all::<f32>(1e-5);
}
