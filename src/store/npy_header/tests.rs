use super::*;

fn file(dict: &str, data_len: usize) -> Vec<u8> {
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    let mut d = dict.to_string();
    while !(10 + d.len() + 1).is_multiple_of(64) {
        d.push(' ');
    }
    d.push('\n');
    h.extend_from_slice(&(d.len() as u16).to_le_bytes());
    h.extend_from_slice(d.as_bytes());
    h.resize(h.len() + data_len, 0);
    h
}

fn header(dict: &str, data_len: usize) -> Result<NpyHeader> {
    let bytes = file(dict, data_len);
    read_header(Path::new("h.npy"), &mut &bytes[..], bytes.len() as u64)
}

fn shape(s: &str) -> std::result::Result<Vec<usize>, String> {
    header(
        &format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {s}, }}"),
        4 * 1000,
    )
    .map(|h| h.shape)
    .map_err(|e| e.to_string())
}

#[test]
fn reads_what_numpy_writes() {
    let h = header(
        "{'descr': '<f8', 'fortran_order': True, 'shape': (37, 23), }",
        37 * 23 * 8,
    )
    .unwrap();
    assert_eq!(h.dtype, Dtype::F64);
    assert!(h.fortran_order && !h.big_endian);
    assert_eq!(
        (h.shape, h.len, h.data_offset),
        (vec![37, 23], 37 * 23, 128)
    );
    assert_eq!(shape("()").unwrap(), Vec::<usize>::new());
    assert_eq!(shape("(5,)").unwrap(), vec![5]);
    assert_eq!(shape("( 3 , 4 )").unwrap(), vec![3, 4]);
    assert_eq!(shape("(3, 4,)").unwrap(), vec![3, 4]);
    assert_eq!(shape("(1_0, 0)").unwrap(), vec![10, 0]);
    // Python 2 numpy wrote longs in version 1 headers.
    assert_eq!(shape("(3L, 4L)").unwrap(), vec![3, 4]);
    // Key order, quotes and spacing are free; `{}` without a trailing comma too.
    let h = header(
        "{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\">f4\"}",
        24,
    )
    .unwrap();
    assert_eq!((h.shape, h.big_endian), (vec![2, 3], true));
}

#[test]
fn refuses_what_numpy_refuses() {
    for (s, why) in [
        ("(3,, 4)", "expected a value"),
        ("(3 4)", "expected ',' or ')'"),
        ("(,)", "expected a value"),
        ("(3, 4", "expected a value at \"}\""),
        ("(-3, 4)", "negative dimension -3"),
        ("(3, - 4)", "negative dimension"),
        ("(3.5, 4)", "3.5 in shape (3.5, 4) is not an integer"),
        ("(3, 1e2)", "not an integer"),
        ("(3, '4')", "not an integer"),
        ("(True, 4)", "not an integer"),
        ("(3, None)", "not an integer"),
        ("(03, 4)", "malformed number"),
        ("(3x, 4)", "malformed number"),
        ("(3)", "must be a tuple"),
        ("[3, 4]", "must be a tuple"),
        ("3", "must be a tuple"),
        ("((3, 4),)", "not an integer"),
        (
            "(99999999999999999999999, 1)",
            "more elements than can be addressed",
        ),
        (
            "(4294967296, 4294967296)",
            "more elements than can be addressed",
        ),
        (
            "(0, 4294967296, 4294967296)",
            "more elements than can be addressed",
        ),
        ("(10, 10000)", "shorter than its header says"),
    ] {
        let e = shape(s).unwrap_err();
        assert!(e.starts_with("h.npy: ") && e.contains(why), "{s}: {e}");
    }
    let base = "'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)";
    for (dict, why) in [
        ("{'descr': '<f4', 'shape': (2, 2)}", "no 'fortran_order'"),
        ("{'fortran_order': False, 'shape': (2, 2)}", "no 'descr'"),
        ("{'descr': '<f4', 'fortran_order': False}", "no 'shape'"),
        (&format!("{{{base}, 'extra': 1}}"), "unexpected key 'extra'"),
        (
            &format!("{{{base}, 'shape': (2, 2)}}"),
            "'shape' appears twice",
        ),
        (
            &format!("{{{base}, garbage}}"),
            "unexpected name \"garbage\"",
        ),
        (&format!("{{{base}}} garbage"), "after the header dict"),
        (&format!("{{{base}}}}}"), "after the header dict"),
        (&format!("{{{base},, }}"), "expected a value"),
        (&format!("{{{base} 'x': 1}}"), "expected ',' or '}'"),
        (&format!("{{{base}"), "expected ',' or '}'"),
        (
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 2)}",
            "True or False",
        ),
        (
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2)}",
            "dtype <i4 is not supported",
        ),
        (
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 2)}",
            "not supported",
        ),
        ("['descr', '<f4']", "not a dict"),
        ("", "expected a value"),
        (
            "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 2)}",
            "expected ',' or '}'",
        ),
        (
            "{'descr' '<f4', 'fortran_order': False, 'shape': (2, 2)}",
            "expected ':'",
        ),
    ] {
        let e = header(dict, 16).unwrap_err().to_string();
        assert!(e.starts_with("h.npy: ") && e.contains(why), "{dict}: {e}");
    }
}

#[test]
fn header_lengths_are_checked_before_allocating() {
    // A version-2 header claiming 4 GB in a 100-byte file.
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    bytes.resize(100, b' ');
    let e = read_header(Path::new("big.npy"), &mut &bytes[..], 100)
        .unwrap_err()
        .to_string();
    assert!(e.contains("big.npy") && e.contains("truncated"), "{e}");
    // Versions numpy does not write.
    let mut v = file("{}", 0);
    v[7] = 1;
    let e = read_header(Path::new("v.npy"), &mut &v[..], v.len() as u64)
        .unwrap_err()
        .to_string();
    assert!(e.contains("version 1.1"), "{e}");
    // A shape whose data is far bigger than the file.
    let e = shape("(1000000000000, 1000)").unwrap_err();
    assert!(e.contains("shorter than its header says"), "{e}");
}
