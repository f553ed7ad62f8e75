//! The engine from the shell and from pipelines: `eigentechno correlate|convolve` and
//! the `npy`, `correlate`, `convolve` stages.

use crate::common;

use common::*;
use eigentechno::engine::conv::{Method, Mode, correlate};
use eigentechno::store::{NdArray, read_npy, write_npy};
use ndarray::{ArrayD, IxDyn};

fn arr32(shape: &[usize], f: impl Fn(usize) -> f32) -> NdArray {
    let n: usize = shape.iter().product();
    NdArray::F32(ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).unwrap())
}

#[test]
fn correlate_command_keeps_float32_and_matches_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.npy"),
        dir.path().join("b.npy"),
        dir.path().join("c.npy"),
    );
    let x: Vec<f32> = (0..500)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 10.0)
        .collect();
    let w: Vec<f32> = (0..9).map(|i| i as f32 - 4.0).collect();
    write_npy(
        &a,
        &NdArray::F32(ArrayD::from_shape_vec(IxDyn(&[500]), x.clone()).unwrap()),
    )
    .unwrap();
    write_npy(
        &b,
        &NdArray::F32(ArrayD::from_shape_vec(IxDyn(&[9]), w.clone()).unwrap()),
    )
    .unwrap();
    let o = eigentechno(&[
        "correlate",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--mode",
        "same",
        "--out",
        c.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let NdArray::F32(got) = read_npy(&c).unwrap() else {
        panic!("float32 in, float32 out")
    };
    let want = correlate(&x, &w, Mode::Same, Method::Direct).unwrap();
    assert_eq!(got.shape(), &[500]);
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-4);
    }
    // A float64 kernel promotes the result to float64, as numpy does.
    write_npy(
        &b,
        &NdArray::F64(
            ArrayD::from_shape_vec(IxDyn(&[9]), w.iter().map(|&v| v as f64).collect()).unwrap(),
        ),
    )
    .unwrap();
    let o = eigentechno(&[
        "convolve",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        c.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert!(matches!(read_npy(&c).unwrap(), NdArray::F64(ref r) if r.shape() == [508]));
}

#[test]
fn bad_arrays_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    write_npy(&p("cube.npy"), &arr32(&[2, 2, 2], |i| i as f32)).unwrap();
    write_npy(&p("vec.npy"), &arr32(&[4], |i| i as f32)).unwrap();
    write_npy(&p("img.npy"), &arr32(&[10, 3], |i| i as f32)).unwrap();
    write_npy(&p("k.npy"), &arr32(&[5, 5], |i| i as f32)).unwrap();
    write_npy(
        &p("nan.npy"),
        &arr32(&[4], |i| if i == 2 { f32::NAN } else { 1.0 }),
    )
    .unwrap();
    let out = p("out.npy");
    let run = |a: &str, b: &str, mode: &str| {
        let o = eigentechno(&[
            "correlate",
            p(a).to_str().unwrap(),
            p(b).to_str().unwrap(),
            "--mode",
            mode,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{a} {b}");
        text(&o).1
    };
    assert!(run("cube.npy", "cube.npy", "full").contains("two 1-D or two 2-D arrays"));
    assert!(run("vec.npy", "k.npy", "full").contains("two 1-D or two 2-D arrays"));
    assert!(run("img.npy", "k.npy", "valid").contains("mode 'valid' has no output"));
    assert!(
        run("nan.npy", "vec.npy", "full")
            .contains("in1 holds a non-finite value (NaN) at index [2]")
    );
    assert!(run("missing.npy", "vec.npy", "full").contains("missing.npy"));
    assert!(!out.exists());
}

#[test]
fn the_correlate_pipeline_shows_the_two_operations_shift_opposite_ways() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = eigentechno(&[
        "run",
        "pipelines/correlate.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let peak = |name: &str| {
        let NdArray::F32(a) = read_npy(&out.join(name).join(format!("{name}.npy"))).unwrap() else {
            panic!()
        };
        assert_eq!(a.shape(), &[16, 16]);
        let (i, _) = a
            .iter()
            .enumerate()
            .max_by(|x, y| x.1.total_cmp(y.1))
            .unwrap();
        (i / 16, i % 16)
    };
    assert_eq!(peak("convolved"), (7, 9), "convolution: up and right");
    assert_eq!(peak("correlated"), (9, 7), "correlation: down and left");
}
