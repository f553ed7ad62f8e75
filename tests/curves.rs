//! `eigentechno curves` (#29 part 2): curve distances against analytic values, sampled
//! curves fitted first, a run folder's tempo curves, and bad input refused clearly.

use crate::common;

use std::path::Path;

use common::{eigentechno, text};
use eigentechno::store::{NdArray, read_npy, write_npy};

fn save(path: &Path, rows: &[Vec<f64>]) {
    let d = rows.first().map_or(0, |r| r.len());
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let a = ndarray::Array2::from_shape_vec((rows.len(), d), flat).unwrap();
    write_npy(path, &NdArray::F64(a.into_dyn())).unwrap();
}

fn matrix(path: &Path) -> (Vec<f64>, usize) {
    let NdArray::F64(a) = read_npy(path).unwrap() else {
        panic!("float64")
    };
    assert_eq!(a.shape()[0], a.shape()[1]);
    (a.iter().copied().collect(), a.shape()[0])
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = eigentechno(args);
    let (out, err) = text(&o);
    (o.status.code().unwrap_or(-1), out, err)
}

#[test]
fn coefficient_rows_give_the_analytic_distances() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("c.npy");
    // x, x^3, 1, 0 on [-1, 1].
    save(
        &npy,
        &[
            vec![0.0, 1.0, 0.0, 0.0],
            vec![0.0, 0.0, 0.0, 1.0],
            vec![1.0, 0.0, 0.0, 0.0],
            vec![0.0, 0.0, 0.0, 0.0],
        ],
    );
    std::fs::write(dir.path().join("c.labels.txt"), "x\nx^3\none\nzero\n").unwrap();
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(&[
        "curves",
        npy.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (d, n) = matrix(&out.join("distances.npy"));
    let (naive, _) = matrix(&out.join("naive.npy"));
    assert_eq!(n, 4);
    let want = [
        (0, 1, (8.0f64 / 105.0).sqrt()),
        (0, 2, (1.0f64 + 1.0 / 3.0).sqrt()),
        (0, 3, (1.0f64 / 3.0).sqrt()),
        (1, 3, (1.0f64 / 7.0).sqrt()),
        (2, 3, 1.0),
    ];
    for (i, j, v) in want {
        assert!(
            (d[i * n + j] - v).abs() < 1e-15,
            "d[{i},{j}] = {} vs {v}",
            d[i * n + j]
        );
        assert_eq!(d[i * n + j], d[j * n + i]);
    }
    // The naive distance: x and x^3 as far apart as 1 and 0, though their curves are 3x nearer.
    assert_eq!(naive[1], 2f64.sqrt());
    assert_eq!(naive[2 * n + 3], 1.0);
    let report = json(&out.join("curves.json"));
    assert_eq!(report["names"][1], "x^3");
    assert_eq!(report["source"], "coefficients");
    // x's nearest curve is x^3; by the naive distance it is zero.
    assert_eq!(report["nearest"][0]["curve"], "x^3");
    assert_eq!(report["nearest"][0]["naive"], "zero");
    assert!(out.join("curves.png").is_file());

    // The same curves on [0, 2]: x is 1 + t there, so distances change; the Legendre
    // basis ignores the domain.
    let out2 = dir.path().join("out2");
    let (code, ..) = run(&[
        "curves",
        npy.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--domain",
        "0,2",
    ]);
    assert_eq!(code, 0);
    let (d2, _) = matrix(&out2.join("distances.npy"));
    // x vs 0 on [0, 2]: mean of x^2 is 4/3.
    assert!((d2[3] - (4.0f64 / 3.0).sqrt()).abs() < 1e-15, "{}", d2[3]);
}

#[test]
fn sampled_curves_are_fitted_on_their_domain() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("s.npy");
    // Three cubics sampled at 40 points over [-3, 5], and one with noise-free offset.
    let x: Vec<f64> = (0..40).map(|i| -3.0 + 8.0 * i as f64 / 39.0).collect();
    let cubics = [
        [1.0, -0.5, 0.25, 0.05],
        [0.0, 1.0, 0.0, -0.02],
        [2.0, 0.0, -0.1, 0.0],
    ];
    let rows: Vec<Vec<f64>> = cubics
        .iter()
        .map(|p| {
            x.iter()
                .map(|&v| p[0] + p[1] * v + p[2] * v * v + p[3] * v.powi(3))
                .collect()
        })
        .collect();
    save(&npy, &rows);
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(&[
        "curves",
        npy.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--samples",
        "--domain",
        "-3,5",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (d, n) = matrix(&out.join("distances.npy"));
    // The dense RMS difference of the true cubics over [-3, 5].
    for i in 0..n {
        for j in 0..n {
            let m = 400_000;
            let ms = (0..m)
                .map(|k| {
                    let v = -3.0 + 8.0 * (k as f64 + 0.5) / m as f64;
                    let f = |p: &[f64; 4]| p[0] + p[1] * v + p[2] * v * v + p[3] * v.powi(3);
                    (f(&cubics[i]) - f(&cubics[j])).powi(2)
                })
                .sum::<f64>()
                / m as f64;
            assert!(
                (d[i * n + j] - ms.sqrt()).abs() < 1e-6 * ms.sqrt().max(1.0),
                "{i},{j}"
            );
        }
    }
    // The naive matrix compares the fitted power coefficients in x: the cubics' own.
    let (naive, _) = matrix(&out.join("naive.npy"));
    let e: f64 = cubics[0]
        .iter()
        .zip(&cubics[1])
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!((naive[1] - e).abs() < 1e-9, "{} vs {e}", naive[1]);
    let report = json(&out.join("curves.json"));
    assert_eq!(report["degree"], 3);
    assert_eq!(report["domain"], serde_json::json!([-3.0, 5.0]));
}

#[test]
fn a_run_folder_compares_its_tracks_tempo_curves_centred() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("run/matrix");
    std::fs::create_dir_all(&m).unwrap();
    let curve = |c: [f64; 4]| {
        serde_json::json!({"domain": [0.5, 200.0], "basis": "legendre", "coefficients": c,
            "embedding": c.iter().enumerate().map(|(k, v)| v / ((2 * k + 1) as f64).sqrt()).collect::<Vec<_>>()})
    };
    let report = serde_json::json!({"rate": 8820, "bar_samples": 16538, "rows": 3, "tracks": [
        {"path": "music/a.flac", "status": "ok", "tempo_curve": curve([128.0, 1.0, 0.0, 0.0])},
        {"path": "music/b.flac", "status": "ok", "tempo_curve": curve([120.0, 1.0, 0.0, 0.0])},
        {"path": "music/c.flac", "status": "ok", "tempo_curve": curve([128.0, 0.0, 0.0, 0.0])},
        {"path": "music/broken.flac", "status": "failed", "bars": 0},
    ]});
    std::fs::write(m.join("report.json"), serde_json::to_vec(&report).unwrap()).unwrap();
    let out = dir.path().join("fig");
    let run_dir = dir.path().join("run");
    let (code, stdout, stderr) = run(&[
        "curves",
        run_dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("broken.flac"), "{stdout}");
    let r = json(&out.join("curves.json"));
    assert_eq!(r["names"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(r["skipped"], serde_json::json!(["music/broken.flac"]));
    assert_eq!(r["centred"], true);
    let (d, n) = matrix(&out.join("distances.npy"));
    // a and b drift alike (their mean tempos differ): distance 0; c is steady: a line of
    // slope 1 bpm on [-1, 1] away, RMS 1/sqrt(3).
    assert_eq!(d[1], 0.0);
    assert!((d[2] - (1.0f64 / 3.0).sqrt()).abs() < 1e-15);
    assert_eq!(n, 3);
    assert!(out.join("curves.png").is_file());
    // A run folder takes no domain, basis or samples.
    let (code, _, stderr) = run(&[
        "curves",
        run_dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--domain",
        "0,1",
    ]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let out = p("out");
    let out = out.to_str().unwrap();
    save(&p("nan.npy"), &[vec![1.0, 2.0], vec![3.0, f64::NAN]]);
    save(&p("ok.npy"), &[vec![1.0, 2.0, 3.0, 4.0, 5.0], vec![0.0; 5]]);
    save(&p("long.npy"), &[vec![0.0; 200]]);
    write_npy(
        &p("empty.npy"),
        &NdArray::F64(ndarray::Array2::<f64>::zeros((0, 4)).into_dyn()),
    )
    .unwrap();
    write_npy(
        &p("flat.npy"),
        &NdArray::F64(ndarray::Array1::<f64>::zeros(4).into_dyn()),
    )
    .unwrap();
    std::fs::create_dir_all(p("no-run")).unwrap();
    let arg = |name: &str| p(name).to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (vec![arg("nan.npy")], 1, "NaN at row 1, column 1"),
        (vec![arg("empty.npy")], 1, "no curves"),
        (vec![arg("flat.npy")], 1, "expected 2-D"),
        (vec![arg("long.npy")], 1, "give --samples"),
        (vec![arg("missing.npy")], 1, "missing.npy"),
        (vec![arg("no-run")], 1, "no report.json"),
        (
            vec![
                arg("ok.npy"),
                "--samples".into(),
                "--degree".into(),
                "5".into(),
            ],
            2,
            "invalid degree",
        ),
        (
            vec![arg("ok.npy"), "--domain".into(), "1,1".into()],
            2,
            "A < B",
        ),
        (
            vec![arg("ok.npy"), "--domain".into(), "0,x".into()],
            2,
            "two numbers",
        ),
        (
            vec![arg("ok.npy"), "--domain".into(), "-1,nan".into()],
            2,
            "A < B",
        ),
        (
            vec![arg("ok.npy"), "--degree".into(), "2".into()],
            2,
            "--samples",
        ),
        (
            vec![
                arg("ok.npy"),
                "--samples".into(),
                "--basis".into(),
                "legendre".into(),
            ],
            2,
            "no basis with samples",
        ),
    ];
    for (args, want_code, want_text) in cases {
        let mut all = vec!["curves".to_string()];
        all.extend(args.iter().cloned());
        all.extend(["--out".to_string(), out.to_string()]);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = run(&refs);
        assert_eq!(code, want_code, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(want_text), "{args:?}: {stderr}");
        if want_code == 1 && !want_text.contains("report") && args[0].ends_with(".npy") {
            let file = Path::new(&args[0]).file_name().unwrap().to_str().unwrap();
            assert!(stderr.contains(file), "names the file: {stderr}");
        }
    }
    assert!(
        !Path::new(out).join("distances.npy").exists(),
        "nothing written"
    );
}
