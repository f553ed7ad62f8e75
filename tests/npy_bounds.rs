//! No `.npy` header can make the readers allocate more than the file holds: sizes read
//! from the header are checked against the file's length first, and a file shorter
//! than its header claims is an error naming it (a test that allocated what these
//! headers claim would abort the process, not fail).

use std::path::{Path, PathBuf};

use eigentechno::store::{NpyMatrix, read_npy, read_npy_from};

/// A `.npy` file: `version` 1, 2 or 3, the dict padded to 64 bytes, then `data` zero
/// bytes. `hlen`: the header length to claim instead of the real one.
fn npy(version: u8, dict: &str, data: usize, hlen: Option<u32>) -> Vec<u8> {
    let pre = if version == 1 { 10 } else { 12 };
    let mut d = dict.to_string();
    while !(pre + d.len() + 1).is_multiple_of(64) {
        d.push(' ');
    }
    d.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version, 0]);
    let len = hlen.unwrap_or(d.len() as u32);
    if version == 1 {
        out.extend_from_slice(&(len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(d.as_bytes());
    out.resize(out.len() + data, 0);
    out
}

fn dict(descr: &str, shape: &str) -> String {
    format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Both readers refuse `bytes` with an error naming the file and containing `why`.
fn refused(dir: &Path, name: &str, bytes: &[u8], why: &str) {
    let p = write(dir, name, bytes);
    let e = read_npy(&p).unwrap_err().to_string();
    assert!(e.contains(name) && e.contains(why), "read_npy {name}: {e}");
    let e = read_npy_from(&p, bytes, bytes.len() as u64)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(name) && e.contains(why),
        "read_npy_from {name}: {e}"
    );
    let e = NpyMatrix::open(&p).unwrap_err().to_string();
    assert!(e.contains(name) && e.contains(why), "NpyMatrix {name}: {e}");
}

#[test]
fn headers_claiming_more_than_the_file_holds_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Terabytes of data in a few hundred bytes, each dtype, each version.
    for (i, (v, descr)) in [(1, "<f4"), (2, "<f8"), (3, ">f4")].into_iter().enumerate() {
        let name = format!("huge{i}.npy");
        let bytes = npy(v, &dict(descr, "(1000000000, 1000000)"), 256, None);
        refused(d, &name, &bytes, "shorter than its header says");
    }
    // One element short, and Fortran order (same check).
    let bytes = npy(1, &dict("<f8", "(37, 23)"), 37 * 23 * 8 - 8, None);
    refused(d, "short.npy", &bytes, "shorter than its header says");
    let fortran = "{'descr': '<f4', 'fortran_order': True, 'shape': (37, 23), }";
    let bytes = npy(1, fortran, 37 * 23 * 4 - 1, None);
    refused(d, "short_f.npy", &bytes, "shorter than its header says");
    // A 4 GB header length (version 2) and a 64 KB one (version 1) in small files.
    let bytes = npy(2, &dict("<f4", "(2, 2)"), 16, Some(u32::MAX));
    refused(d, "hlen2.npy", &bytes, "truncated");
    let bytes = npy(1, &dict("<f4", "(2, 2)"), 16, Some(u16::MAX as u32));
    refused(d, "hlen1.npy", &bytes, "truncated");
    // Element counts past usize, or whose bytes are: no wrap-around to a small size.
    for (i, shape) in [
        "(18446744073709551615, 2)",
        "(4611686018427387904,)",
        "(4294967296, 4294967296)",
        "(0, 4294967296, 4294967296)",
        "(18446744073709551616,)",
    ]
    .into_iter()
    .enumerate()
    {
        let bytes = npy(1, &dict("<f4", shape), 64, None);
        refused(
            d,
            &format!("overflow{i}.npy"),
            &bytes,
            "more elements than can be addressed",
        );
    }
    // Too short for even the header.
    refused(
        d,
        "stub.npy",
        b"\x93NUMPY\x01\x00",
        "too short for a header",
    );
    refused(d, "empty.npy", b"", "too short for a header");
}

#[test]
fn a_zero_sized_shape_reads_without_data() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = npy(1, &dict("<f4", "(0, 1000000000000)"), 0, None);
    let p = write(dir.path(), "empty_rows.npy", &bytes);
    assert_eq!(read_npy(&p).unwrap().shape(), &[0, 1_000_000_000_000]);
    let m = NpyMatrix::open(&p).unwrap();
    assert_eq!(m.read_rows(0, 10).unwrap(), Vec::<f32>::new());
    // No columns: nothing to stream, refused by the matrix reader.
    let bytes = npy(1, &dict("<f4", "(1000000000000, 0)"), 0, None);
    let p = write(dir.path(), "no_cols.npy", &bytes);
    assert_eq!(read_npy(&p).unwrap().shape(), &[1_000_000_000_000, 0]);
    let e = NpyMatrix::open(&p).unwrap_err().to_string();
    assert!(e.contains("no_cols.npy") && e.contains("no columns"), "{e}");
}
