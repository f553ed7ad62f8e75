//! Fortran-ordered `.npy` files written by numpy (`np.save(p, a.T)`) read exactly like
//! their C-order twins: whole (read_npy), streamed in row blocks (NpyMatrix), and by the
//! pca and corrmatrix commands. Fixtures: fixtures/npy/make_npy_fixtures.py.

use crate::common;

use std::path::{Path, PathBuf};

use common::{eigentechno, root, text};
use eigentechno::engine::pca::{RowSource, Rows};
use eigentechno::store::{Dtype, NdArray, NpyMatrix, read_npy};

fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/npy").join(name)
}

fn header_says_fortran(p: &Path) -> bool {
    let bytes = std::fs::read(p).unwrap();
    String::from_utf8_lossy(&bytes[..128.min(bytes.len())]).contains("'fortran_order': True")
}

#[test]
fn read_npy_returns_fortran_files_in_c_order_exactly() {
    for (f, c, dtype, shape) in [
        (
            "m37x23_f32_f.npy",
            "m37x23_f32_c.npy",
            "float32",
            &[37, 23][..],
        ),
        ("m37x23_f64_f.npy", "m37x23_f64_c.npy", "float64", &[37, 23]),
        (
            "m37x23_f64be_f.npy",
            "m37x23_f64_c.npy",
            "float64",
            &[37, 23],
        ),
        (
            "a4x3x2_f64_f.npy",
            "a4x3x2_f64_c.npy",
            "float64",
            &[4, 3, 2],
        ),
    ] {
        assert!(header_says_fortran(&fixture(f)), "{f}");
        assert!(!header_says_fortran(&fixture(c)), "{c}");
        let (a, b) = (
            read_npy(&fixture(f)).unwrap(),
            read_npy(&fixture(c)).unwrap(),
        );
        assert_eq!((a.dtype(), a.shape()), (dtype, shape), "{f}");
        // Same values, bit for bit, and a C-order (standard layout) array.
        assert_eq!(a, b, "{f}");
        match &a {
            NdArray::F32(x) => assert!(x.is_standard_layout()),
            NdArray::F64(x) => assert!(x.is_standard_layout()),
        }
        let flat = |n: &NdArray| match n {
            NdArray::F32(x) => x
                .as_slice()
                .unwrap()
                .iter()
                .map(|v| v.to_bits() as u64)
                .collect(),
            NdArray::F64(x) => x
                .as_slice()
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>(),
        };
        assert_eq!(flat(&a), flat(&b), "{f}");
    }
    let v = read_npy(&fixture("v7_f32_f.npy")).unwrap();
    assert_eq!((v.dtype(), v.shape()), ("float32", &[7][..]));
}

/// Every block a visit hands out: (first row, values as f64 bits).
fn blocks(m: &NpyMatrix, max_rows: usize) -> Vec<(usize, Vec<u64>)> {
    let mut out = Vec::new();
    m.visit(max_rows, &mut |start, rows| {
        let bits = match rows {
            Rows::F32(v) => v.iter().map(|x| x.to_bits() as u64).collect(),
            Rows::F64(v) => v.iter().map(|x| x.to_bits()).collect(),
        };
        out.push((start, bits));
        Ok(())
    })
    .unwrap();
    out
}

#[test]
fn streamed_fortran_blocks_equal_the_c_order_blocks() {
    for (f, c, dtype) in [
        ("m37x23_f32_f.npy", "m37x23_f32_c.npy", Dtype::F32),
        ("m37x23_f64_f.npy", "m37x23_f64_c.npy", Dtype::F64),
        ("m37x23_f64be_f.npy", "m37x23_f64_c.npy", Dtype::F64),
    ] {
        let mf = NpyMatrix::open(&fixture(f)).unwrap();
        let mc = NpyMatrix::open(&fixture(c)).unwrap();
        assert_eq!((mf.nrows(), mf.ncols(), mf.dtype()), (37, 23, dtype), "{f}");
        for max_rows in [1, 2, 5, 7, 10, 36, 37, 64] {
            let (bf, bc) = (blocks(&mf, max_rows), blocks(&mc, max_rows));
            assert_eq!(bf.len(), 37usize.div_ceil(max_rows), "{f} {max_rows}");
            assert_eq!(bf, bc, "{f}, blocks of {max_rows}");
        }
        for (start, count) in [(0, 37), (5, 9), (36, 1), (30, 100), (37, 1)] {
            assert_eq!(
                mf.read_rows(start, count).unwrap(),
                mc.read_rows(start, count).unwrap(),
                "{f} rows {start}+{count}"
            );
        }
    }
}

#[test]
fn pca_and_corrmatrix_read_fortran_matrices() {
    let dir = tempfile::tempdir().unwrap();
    for tag in ["f32", "f64"] {
        let mut outputs = Vec::new();
        for order in ["c", "f"] {
            let input = fixture(&format!("m37x23_{tag}_{order}.npy"));
            let out = dir.path().join(format!("pca_{tag}_{order}"));
            let o = eigentechno(&[
                "pca",
                input.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--model-only",
                "--method",
                "exact",
            ]);
            let (stdout, stderr) = text(&o);
            assert!(o.status.success(), "{tag} {order}: {stdout}{stderr}");
            let png = dir.path().join(format!("corr_{tag}_{order}.png"));
            let o = eigentechno(&[
                "corrmatrix",
                input.to_str().unwrap(),
                "--out",
                png.to_str().unwrap(),
            ]);
            let (stdout, stderr) = text(&o);
            assert!(o.status.success(), "{tag} {order}: {stdout}{stderr}");
            outputs.push((out, png));
        }
        let [(pc, cc), (pf, cf)] = &outputs[..] else {
            unreachable!()
        };
        let mut compared = 0;
        for entry in std::fs::read_dir(pc).unwrap() {
            let name = entry.unwrap().file_name();
            if name.to_string_lossy().ends_with(".npy") {
                assert_eq!(
                    read_npy(&pc.join(&name)).unwrap(),
                    read_npy(&pf.join(&name)).unwrap(),
                    "{tag}: {name:?}"
                );
                compared += 1;
            }
        }
        assert!(compared > 0, "{tag}: no .npy in {}", pc.display());
        assert_eq!(
            std::fs::read(cc).unwrap(),
            std::fs::read(cf).unwrap(),
            "{tag}"
        );
    }
}
