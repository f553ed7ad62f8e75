//! `eigentechno pca` and `audition` on files: outputs, the equalised round trip, and
//! clear errors for bad matrices (issue #4).

use crate::common;

use common::{eigentechno, root, text};

fn fixture_matrix() -> String {
    root().join("fixtures/pca/X.npy").display().to_string()
}

#[test]
fn equalised_pca_undoes_the_equalisation_for_listening() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("eq");
    let o = eigentechno(&[
        "pca",
        &fixture_matrix(),
        "--out",
        out.to_str().unwrap(),
        "--equalize",
        "--rate",
        "8820",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("exact") && stdout.contains(&out.display().to_string()),
        "{stdout}"
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("pca.json")).unwrap()).unwrap();
    assert_eq!(meta["equalize"], true);
    // Reconstruction with every component, de-equalised, is the row as stored.
    let row = 37usize;
    let o = eigentechno(&[
        "audition",
        out.to_str().unwrap(),
        "--reconstruct",
        &row.to_string(),
        "--k",
        "100000",
        "--loops",
        "1",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    let wav = stdout.trim();
    let back: Vec<f32> = hound::WavReader::open(wav)
        .unwrap()
        .into_samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32767.0)
        .collect();
    let m = eigentechno::store::NpyMatrix::open(std::path::Path::new(&fixture_matrix())).unwrap();
    let x = m.read_rows(row, 1).unwrap();
    assert_eq!(back.len(), x.len());
    // The fixture's values exceed [-1, 1]: compare where the WAV did not clip.
    let mut compared = 0;
    for (a, b) in back.iter().zip(&x) {
        if b.abs() < 0.99 {
            assert!((a - b).abs() < 2e-4, "{a} vs {b}");
            compared += 1;
        }
    }
    assert!(compared > 100, "{compared} samples compared");
    // The mean and a component, as sound.
    for args in [
        vec!["--mean"],
        vec!["--component", "1"],
        vec!["--morph", "3"],
    ] {
        let mut a = vec!["audition", out.to_str().unwrap()];
        a.extend(args);
        let o = eigentechno(&a);
        assert!(o.status.success(), "{:?}", text(&o));
        assert!(std::path::Path::new(text(&o).0.trim()).exists());
    }
    let o = eigentechno(&["audition", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "nothing asked for");
    // Components are numbered from 1: the first is component_001.wav, 0 is refused.
    let o = eigentechno(&["audition", out.to_str().unwrap(), "--component", "1"]);
    assert!(
        text(&o).0.trim().ends_with("component_001.wav"),
        "{:?}",
        text(&o)
    );
    let o = eigentechno(&["audition", out.to_str().unwrap(), "--component", "0"]);
    assert!(!o.status.success(), "--component 0 refused");
    assert!(text(&o).1.contains("numbered from 1"), "{:?}", text(&o));
}

#[test]
fn bad_matrices_are_clear_errors_naming_the_file() {
    use eigentechno::store::{NdArray, write_npy};
    use ndarray::{ArrayD, IxDyn};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cube = d.join("cube.npy");
    write_npy(&cube, &NdArray::F32(ArrayD::zeros(IxDyn(&[3, 4, 5])))).unwrap();
    let ints = d.join("ints.npy");
    ndarray_npy::write_npy(&ints, &ndarray::Array2::<i32>::zeros((5, 4))).unwrap();
    let nan = d.join("nan.npy");
    let mut v: Vec<f32> = (0..40).map(|i| (i * 7 % 11) as f32).collect();
    v[13] = f32::NAN;
    write_npy(
        &nan,
        &NdArray::F32(ArrayD::from_shape_vec(IxDyn(&[10, 4]), v).unwrap()),
    )
    .unwrap();
    let few = d.join("few.npy");
    write_npy(
        &few,
        &NdArray::F64(
            ArrayD::from_shape_vec(IxDyn(&[3, 4]), (0..12).map(|i| (i * i) as f64).collect())
                .unwrap(),
        ),
    )
    .unwrap();
    let flat = d.join("flat.npy");
    write_npy(&flat, &NdArray::F32(ArrayD::from_elem(IxDyn(&[6, 4]), 0.5))).unwrap();
    for (file, k, needle) in [
        (&cube, "2", "2-D"),
        (&ints, "2", "float32 or float64"),
        (&nan, "2", "row 3 holds a non-finite value"),
        (&few, "5", "5 components asked for"),
        (&flat, "1", "zero variance"),
    ] {
        let out = d.join("out");
        let o = eigentechno(&[
            "pca",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-k",
            k,
        ]);
        let (stdout, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{stdout}{stderr}");
        assert!(
            stderr.contains(file.file_name().unwrap().to_str().unwrap()),
            "names the file: {stderr}"
        );
        assert!(stderr.contains(needle), "{needle:?} in {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // NaN rows may be dropped instead, with the rows recorded.
    let out = d.join("dropped");
    let o = eigentechno(&[
        "pca",
        nan.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-k",
        "2",
        "--drop-nonfinite",
        "--model-only",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("pca.json")).unwrap()).unwrap();
    assert_eq!(meta["dropped_rows"], serde_json::json!([3]));
    assert_eq!(meta["n_samples"], 9);
}

#[test]
fn ppca_score_writes_one_log_likelihood_per_row() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m");
    let o = eigentechno(&[
        "pca",
        &fixture_matrix(),
        "--out",
        model.to_str().unwrap(),
        "-k",
        "30",
        "--model-only",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let ll = dir.path().join("ll.npy");
    let o = eigentechno(&[
        "ppca",
        "score",
        &fixture_matrix(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        ll.to_str().unwrap(),
        "-k",
        "10",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let eigentechno::store::NdArray::F64(a) = eigentechno::store::read_npy(&ll).unwrap() else {
        panic!("float64")
    };
    assert_eq!(a.shape(), &[300]);
    // The same as the library's score of the same row.
    let m = eigentechno::ops::PpcaModel::open(&model, 10).unwrap();
    let x = eigentechno::store::NpyMatrix::open(std::path::Path::new(&fixture_matrix())).unwrap();
    let want = m.ppca.score(&x.read_rows(123, 1).unwrap()).log_likelihood;
    assert!(
        (a[123] - want).abs() < 1e-9 * want.abs(),
        "{} vs {want}",
        a[123]
    );
    // A matrix of another width is a clear error naming it.
    let narrow = dir.path().join("narrow.npy");
    eigentechno::store::write_npy(
        &narrow,
        &eigentechno::store::NdArray::F32(ndarray::ArrayD::zeros(ndarray::IxDyn(&[4, 7]))),
    )
    .unwrap();
    let o = eigentechno(&[
        "ppca",
        "score",
        narrow.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        ll.to_str().unwrap(),
    ]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr.contains("narrow.npy") && stderr.contains("2000 columns"),
        "{stderr}"
    );
    // More components than the model has is refused, naming the model folder.
    let o = eigentechno(&[
        "ppca",
        "score",
        &fixture_matrix(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        ll.to_str().unwrap(),
        "-k",
        "31",
    ]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("at most the 30 components fitted"),
        "{stderr}"
    );
}

#[test]
fn a_pipeline_can_fit_and_score_any_npy_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("p.toml");
    std::fs::write(
        &toml,
        format!(
            "[pipeline]\nout = \"{out}\"\n[stages.x]\ntype = \"npy\"\npath = \"{x}\"\n[stages.pca]\ntype = \"pca\"\ninputs = [\"x\"]\nk = 10\n\
             [stages.outliers]\ntype = \"outliers\"\ninputs = [\"pca\"]\nk = 5\n[stages.corr]\ntype = \"corrmatrix\"\ninputs = [\"pca\"]\n",
            out = dir.path().join("out").display(),
            x = fixture_matrix()
        ),
    )
    .unwrap();
    let o = eigentechno(&["run", toml.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let csv = std::fs::read_to_string(dir.path().join("out/outliers/outliers.csv")).unwrap();
    assert_eq!(csv.lines().count(), 301);
    let summary = std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap();
    assert!(
        !summary.contains("fixtures/pca/X.npy\""),
        "the input is not listed as an output"
    );
}
