//! Correlation-matrix heatmaps (issue #7): values against numpy.corrcoef, the colours
//! read back from the PNG, constant columns, and the CLI.

use crate::common;

use std::path::Path;

use common::{eigentechno, root, text};
use eigentechno::engine::corr::pearson;
use eigentechno::image::colormap::{ColorMap, luma};
use eigentechno::image::heatmap::{HeatmapStyle, render};
use eigentechno::store::{NdArray, NpyMatrix, read_npy};

fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn pearson_matches_numpy_corrcoef() {
    let x = NpyMatrix::open(&root().join("fixtures/corr/X.npy")).unwrap();
    let c = pearson(&x).unwrap();
    let NdArray::F64(want) = read_npy(&root().join("fixtures/corr/corrcoef.npy")).unwrap() else {
        panic!("float64")
    };
    assert_eq!(c.d, 12);
    for (i, w) in want.iter().enumerate() {
        assert!(
            (c.values[i] - w).abs() < 1e-6,
            "entry {i}: {} vs numpy {w}",
            c.values[i]
        );
    }
}

#[test]
fn rendered_colours_follow_the_rules() {
    // A 5 x 5 matrix holding 0, +m, -m and values beyond the limits.
    let m = 0.6;
    #[rustfmt::skip]
    let v = vec![
        1.0,  0.0,   m,    -m,   0.3,
        0.0,  1.0,   0.95, -0.9, 0.0,
        m,    0.95,  1.0,  0.0,  -0.3,
        -m,   -0.9,  0.0,  1.0,  0.0,
        0.3,  0.0,   -0.3, 0.0,  f64::NAN,
    ];
    let style = HeatmapStyle {
        map: ColorMap::DarkDiverging,
        limits: (-m, m),
        labels: None,
        title: "t".into(),
    };
    let (img, layout) = render(&v, 5, &style);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.png");
    img.write_png(&path).unwrap();
    let (w, h, px) = decode_png(&path);
    assert_eq!((w, h), (img.width, img.height));
    let at = |r: usize, c: usize| {
        let (x, y) = layout.centre(r, c);
        let i = ((y * w + x) * 3) as usize;
        [px[i], px[i + 1], px[i + 2]]
    };
    let (zero, plus, minus) = (at(0, 1), at(0, 2), at(0, 3));
    let brightest = luma(plus).max(luma(minus));
    assert!(luma(zero) < 0.25 * brightest, "zero is dark grey: {zero:?}");
    assert!(
        zero[0].abs_diff(zero[1]) < 8 && zero[1].abs_diff(zero[2]) < 8,
        "grey: {zero:?}"
    );
    // +m and -m: the ends of the map, the brightest of their hues.
    assert_eq!(plus, ColorMap::DarkDiverging.rgb(1.0));
    assert_eq!(minus, ColorMap::DarkDiverging.rgb(0.0));
    assert!(luma(at(0, 4)) < luma(plus) && luma(at(2, 4)) < luma(minus));
    // Symmetric: +0.3 and -0.3 are equally bright.
    assert!(
        (luma(at(0, 4)) - luma(at(2, 4))).abs() < 0.1 * luma(plus),
        "{:?} {:?}",
        at(0, 4),
        at(2, 4)
    );
    // Beyond the limits: saturated, equal to the ends.
    assert_eq!(at(1, 2), plus);
    assert_eq!(at(1, 3), minus);
    assert_eq!(at(0, 0), plus, "the diagonal saturates too");
    // Undefined (constant feature): mid grey, not a map colour.
    assert_eq!(at(4, 4), eigentechno::image::colormap::UNDEFINED);
}

#[test]
fn the_cli_orders_clips_and_reports_constant_columns() {
    let dir = tempfile::tempdir().unwrap();
    // A CSV with a header, 4 features in two pairs (permuted), and a constant column.
    let csv = dir.path().join("f.csv");
    let mut rng = eigentechno::engine::Rng::new(3);
    let mut s = String::from("a1,b1,flat,a2,b2\n");
    for _ in 0..200 {
        let (a, b) = (rng.normal(), rng.normal());
        s.push_str(&format!(
            "{},{},5,{},{}\n",
            a + 0.1 * rng.normal(),
            b + 0.1 * rng.normal(),
            a + 0.1 * rng.normal(),
            -b + 0.1 * rng.normal()
        ));
    }
    std::fs::write(&csv, s).unwrap();
    let out = dir.path().join("c.png");
    let o = eigentechno(&[
        "corrmatrix",
        csv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--order",
        "cluster",
        "--steps",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("f.csv") && stderr.contains("[2]") && stderr.contains("constant"),
        "{stderr}"
    );
    assert!(dir.path().join("c_steps.png").exists());
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("c.json")).unwrap()).unwrap();
    let order: Vec<usize> = j["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let pos = |c: usize| order.iter().position(|&o| o == c).unwrap();
    assert_eq!(pos(0).abs_diff(pos(3)), 1, "a1 beside a2: {order:?}");
    assert_eq!(pos(1).abs_diff(pos(4)), 1, "b1 beside b2: {order:?}");
    let lim = j["limits"].as_array().unwrap();
    assert_eq!(
        lim[0].as_f64().unwrap(),
        -lim[1].as_f64().unwrap(),
        "symmetric"
    );
    assert_eq!(j["constant_columns"], serde_json::json!([2]));
    assert_eq!(j["labels"][0], "a1");
    let (_, _, px) = decode_png(&out);
    assert!(!px.is_empty());
    // A file that is not numbers is a clear error.
    std::fs::write(&csv, "a,b\n1,x\n").unwrap();
    let o = eigentechno(&[
        "corrmatrix",
        csv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr.contains("f.csv") && stderr.contains("line 2, column 2 ('b'): 'x' is not a number"),
        "{stderr}"
    );
}
