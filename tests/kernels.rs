//! CNN kernel pictures (issue #7): the same weights from every file form give the same
//! figures, the numbers behind them match numpy's, and bad weights files fail clearly.

use crate::common;

use std::path::{Path, PathBuf};

use common::{eigentechno, root, text, tree};
use eigentechno::image::kernels::{mode_energy_of, slice_pca};
use eigentechno::store::weights::{Layout, WeightsFormat, load_weights};

fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/kernels").join(name)
}

fn reference() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixture("reference.json")).unwrap()).unwrap()
}

fn draw(weights: &Path, out: &Path) -> String {
    let o = eigentechno(&[
        "kernels",
        weights.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{}: {stderr}", weights.display());
    stdout
}

/// Every PNG under `dir`, by relative path.
fn pngs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    tree(dir)
        .into_iter()
        .filter(|(p, _)| p.ends_with(".png"))
        .collect()
}

#[test]
fn weights_match_numpy_in_every_form() {
    let want = reference();
    for (file, format) in [
        ("tiny_cnn.npz", WeightsFormat::Npz),
        ("tiny_cnn.safetensors", WeightsFormat::Safetensors),
        ("tiny_cnn.onnx", WeightsFormat::Onnx),
        ("tiny_cnn_constants.onnx", WeightsFormat::Onnx),
    ] {
        let w = load_weights(&fixture(file), Layout::Auto).unwrap();
        assert_eq!(w.format, format, "{file}");
        assert_eq!(w.layers.len(), 3, "{file}: conv layers only");
        for (layer, r) in w.layers.iter().zip(want["layers"].as_array().unwrap()) {
            assert_eq!(layer.name, r["name"].as_str().unwrap(), "{file}");
            let shape: Vec<usize> = r["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(
                [layer.out_channels, layer.in_channels, layer.kh, layer.kw],
                shape[..],
                "{file} {}",
                layer.name
            );
            let sum: f64 = layer.weights.iter().map(|&v| v as f64).sum();
            let sq: f64 = layer.weights.iter().map(|&v| (v as f64).powi(2)).sum();
            assert!((sum - r["sum"].as_f64().unwrap()).abs() < 1e-4, "{file}");
            assert!(
                (sq / r["sum_of_squares"].as_f64().unwrap() - 1.0).abs() < 1e-6,
                "{file}"
            );
            for (a, b) in layer
                .kernel(0, 0)
                .iter()
                .zip(r["kernel_0_0"].as_array().unwrap())
            {
                assert_eq!(*a, b.as_f64().unwrap() as f32, "{file}: exact float32");
            }
        }
    }
}

#[test]
fn mode_energy_and_slice_pca_match_numpy() {
    let want = reference();
    let w = load_weights(&fixture("tiny_cnn.onnx"), Layout::Auto).unwrap();
    for (layer, r) in w.layers.iter().zip(want["layers"].as_array().unwrap()) {
        let e = mode_energy_of(layer).unwrap();
        for (m, (a, b)) in e
            .layer_share
            .iter()
            .zip(r["mode_energy_share"].as_array().unwrap())
            .enumerate()
        {
            assert!(
                (a - b.as_f64().unwrap()).abs() < 1e-6,
                "{} mode {m}: {a} vs numpy {b}",
                layer.name
            );
        }
        let pca = slice_pca(layer, 8).unwrap();
        for (a, b) in pca
            .explained_variance_ratio
            .iter()
            .zip(r["pca_explained_variance_ratio"].as_array().unwrap())
        {
            assert!(
                (a - b.as_f64().unwrap()).abs() < 1e-5,
                "{}: PCA ratio {a} vs numpy {b}",
                layer.name
            );
        }
    }
}

#[test]
fn every_form_draws_identical_figures() {
    let dir = tempfile::tempdir().unwrap();
    let forms = [
        "tiny_cnn.npz",
        "tiny_cnn.safetensors",
        "tiny_cnn.onnx",
        "tiny_cnn_constants.onnx",
    ];
    let mut drawn = Vec::new();
    for f in forms {
        let out = dir.path().join(f);
        let stdout = draw(&fixture(f), &out);
        assert!(stdout.contains("3 conv layers"), "{stdout}");
        drawn.push(pngs(&out));
    }
    let names: Vec<&str> = drawn[0].iter().map(|(p, _)| p.as_str()).collect();
    for want in [
        "network.png",
        "layer01_conv1.weight/grid.png",
        "layer01_conv1.weight/rgb.png",
        "layer01_conv1.weight/modes.png",
        "layer01_conv1.weight/pca.png",
        "layer01_conv1.weight/norms.png",
        "layer03_conv3.weight/pca.png",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(
        !names
            .iter()
            .any(|n| n.contains("layer02") && n.ends_with("rgb.png"))
    );
    for (f, d) in forms.iter().zip(&drawn).skip(1) {
        assert!(d == &drawn[0], "{f} draws differently from {}", forms[0]);
    }
    // The first layer alone, as .npy in PyTorch's OIHW and in Keras' HWIO layout,
    // under the tensor's own name: the same first-layer figures.
    for single in ["conv1.npy", "conv1_hwio.npy"] {
        let sub = dir.path().join(single.replace('.', "_"));
        std::fs::create_dir_all(&sub).unwrap();
        let file = sub.join("conv1.weight.npy");
        std::fs::copy(fixture(single), &file).unwrap();
        let out = sub.join("out");
        draw(&file, &out);
        let layer1: Vec<(String, Vec<u8>)> = drawn[0]
            .iter()
            .filter(|(p, _)| p.starts_with("layer01_"))
            .cloned()
            .collect();
        let got: Vec<(String, Vec<u8>)> = pngs(&out)
            .into_iter()
            .filter(|(p, _)| p.starts_with("layer01_"))
            .collect();
        assert!(got == layer1, "{single} draws layer 1 differently");
    }
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("tiny_cnn.onnx/kernels.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["format"], "onnx");
    assert_eq!(json["layers"][0]["layout"], "oihw");
    assert_eq!(json["layers"][0]["layout_guessed"], false);
    assert_eq!(json["layers"][2]["kernel"], serde_json::json!([3, 3]));
}

#[test]
fn the_kernels_pipeline_runs() {
    let dir = tempfile::tempdir().unwrap();
    let o = eigentechno(&[
        "run",
        "pipelines/kernels.toml",
        "--out",
        dir.path().to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    for f in [
        "kernels/network.png",
        "kernels/kernels.json",
        "kernels/layer01_conv1.weight/rgb.png",
        "kernels/layer02_conv2.weight/modes.png",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
}

fn fails_with(file: &Path, words: &[&str]) {
    let out = tempfile::tempdir().unwrap();
    let o = eigentechno(&[
        "kernels",
        file.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{}: {stderr}", file.display());
    assert!(!stderr.contains("panicked"), "{stderr}");
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(stderr.contains(name.as_ref()), "names the file: {stderr}");
    for w in words {
        assert!(stderr.contains(w), "'{w}' not in: {stderr}");
    }
}

#[test]
fn bad_weights_files_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    // No conv layers: an .npz of a bias and a dense matrix.
    {
        let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(p("dense.npz")).unwrap());
        npz.add_array("fc.bias", &ndarray::Array1::<f32>::zeros(4))
            .unwrap();
        npz.add_array("fc.weight", &ndarray::Array2::<f32>::zeros((4, 8)))
            .unwrap();
        npz.finish().unwrap();
    }
    fails_with(
        &p("dense.npz"),
        &["no convolution layers", "fc.weight [4, 8]"],
    );
    // A 1-D tensor.
    ndarray_npy::write_npy(p("bias.npy"), &ndarray::Array1::<f32>::zeros(16)).unwrap();
    fails_with(&p("bias.npy"), &["1-D tensor", "not a convolution kernel"]);
    // A 128-byte .npy whose header claims 4 TB: refused, nothing allocated.
    let mut huge = b"\x93NUMPY\x01\x00".to_vec();
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }";
    let pad = 128 - 10 - dict.len() - 1;
    huge.extend_from_slice(&((dict.len() + pad + 1) as u16).to_le_bytes());
    huge.extend_from_slice(dict.as_bytes());
    huge.extend(std::iter::repeat_n(b' ', pad));
    huge.push(b'\n');
    std::fs::write(p("huge.npy"), &huge).unwrap();
    fails_with(&p("huge.npy"), &["huge.npy"]);
    // Truncated safetensors and ONNX.
    let st = std::fs::read(fixture("tiny_cnn.safetensors")).unwrap();
    std::fs::write(p("cut.safetensors"), &st[..st.len() / 2]).unwrap();
    fails_with(&p("cut.safetensors"), &["safetensors", "truncated"]);
    let onnx = std::fs::read(fixture("tiny_cnn.onnx")).unwrap();
    std::fs::write(p("cut.onnx"), &onnx[..onnx.len() - 1000]).unwrap();
    fails_with(&p("cut.onnx"), &["ONNX", "truncated"]);
    // Pickles, by name and by content.
    std::fs::write(p("model.pt"), b"PK\x03\x04 whatever").unwrap();
    fails_with(&p("model.pt"), &["arbitrary code", "safetensors"]);
    std::fs::write(p("weights.bin"), b"\x80\x04\x95 pickle").unwrap();
    fails_with(&p("weights.bin"), &["arbitrary code"]);
    // Empty, and not weights at all.
    std::fs::write(p("empty.npz"), b"").unwrap();
    fails_with(&p("empty.npz"), &["empty"]);
    std::fs::write(p("notes.txt"), b"hello").unwrap();
    fails_with(&p("notes.txt"), &["not a weights file"]);
}

#[test]
fn ragged_and_non_numeric_csv_cells_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.png");
    let run = |name: &str, body: &str| {
        let f = dir.path().join(name);
        std::fs::write(&f, body).unwrap();
        let o = eigentechno(&[
            "corrmatrix",
            f.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1));
        let e = text(&o).1;
        assert!(!e.contains("panicked") && e.contains(name), "{e}");
        e
    };
    let e = run("ragged.csv", "a,b,c\n1,2,3\n4,5\n7,8,9\n");
    assert!(e.contains("line 3: 2 fields, expected 3"), "{e}");
    let e = run("words.csv", "a,b,c\n1,2,3\n\n4,five,6\n");
    assert!(
        e.contains("line 4, column 2 ('b'): 'five' is not a number"),
        "{e}"
    );
}
