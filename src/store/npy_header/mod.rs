//! The `.npy` header, read as strictly as numpy reads it, for every `.npy` reader here.
//!
//! numpy's header is a Python dict literal (`{'descr': '<f4', 'fortran_order': False,
//! 'shape': (3, 4), }`) that numpy evaluates with `ast.literal_eval` and then checks:
//! exactly the three keys, `fortran_order` a bool, `shape` a tuple of ints. This module
//! parses the same literal grammar (strings, ints, `True`/`False`/`None`, tuples,
//! lists, dicts) and refuses what numpy refuses: `(3,, 4)`, `(3 4)`, `(3.5, 4)`,
//! negative dimensions, missing or extra keys, anything after the dict. It also
//! refuses what would make a reader allocate without bound: the header and the data
//! it describes are checked against the file's actual length before anything sized
//! from them is allocated, and a shape whose element count overflows is an error.

mod dict;
mod dtype;
mod literal;

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

use dict::parse_dict;
pub use dtype::{Dtype, Element, NpyFloat, decode_ints};

/// A checked `.npy` header whose element type is `D`: [`NpyHeader`] for the float
/// readers, [`AnyHeader`] for the labels reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header<D> {
    /// Element type.
    pub dtype: D,
    /// Elements stored big-endian (`>f4`, `>f8`); numpy writes little-endian by default.
    pub big_endian: bool,
    /// Stored column-major (numpy writes this for transposed arrays).
    pub fortran_order: bool,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Elements (the product of the dimensions).
    pub len: usize,
    /// Where the data starts in the file.
    pub data_offset: u64,
    /// Bytes of data the header describes (`len` times the element width).
    pub data_len: u64,
}

/// A checked header of a float32 or float64 array.
pub type NpyHeader = Header<Dtype>;

/// A checked header of a float or integer array.
pub type AnyHeader = Header<Element>;

fn invalid(path: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidData {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Read and check the header at the start of `reader`, whose whole length (header and
/// data) is `total_len` bytes. Leaves `reader` at the first data byte. Errors name
/// `path`. Nothing is allocated beyond `total_len`, and the data the header describes
/// must fit in `total_len` (a shorter file is an error here, before any data is read).
pub fn read_header<R: Read>(path: &Path, reader: &mut R, total_len: u64) -> Result<NpyHeader> {
    read_header_or_dtype(path, reader, total_len)?.map_err(|descr| {
        invalid(
            path,
            format!("dtype {descr} is not supported: expected float32 or float64"),
        )
    })
}

/// As [`read_header`], except that a well-formed header of a dtype other than float32
/// or float64 is `Ok(Err(descr))`, the dtype as written (`'<i8'`, `'|O'`), so a reader
/// of several arrays can pass such an array over instead of failing. Its data length
/// is then not checked (the element width is unknown).
pub fn read_header_or_dtype<R: Read>(
    path: &Path,
    reader: &mut R,
    total_len: u64,
) -> Result<std::result::Result<NpyHeader, String>> {
    Ok(match read_any_header(path, reader, total_len)? {
        Ok(h) => match h.dtype {
            Element::Float(dtype) => Ok(Header {
                dtype,
                big_endian: h.big_endian,
                fortran_order: h.fortran_order,
                shape: h.shape,
                len: h.len,
                data_offset: h.data_offset,
                data_len: h.data_len,
            }),
            Element::Int { signed, width } => Err(format!(
                "{}{}{width}",
                if h.big_endian { '>' } else { '<' },
                if signed { 'i' } else { 'u' }
            )),
        },
        Err(descr) => Err(descr),
    })
}

/// As [`read_header`] for a float or integer array (labels). A well-formed header of
/// any other dtype is `Ok(Err(descr))`.
pub fn read_any_header<R: Read>(
    path: &Path,
    reader: &mut R,
    total_len: u64,
) -> Result<std::result::Result<AnyHeader, String>> {
    let mut pre = [0u8; 10];
    reader
        .read_exact(&mut pre)
        .map_err(|_| invalid(path, "not a .npy file (too short for a header)"))?;
    if &pre[..6] != b"\x93NUMPY" {
        return Err(invalid(path, "not a .npy file (no \\x93NUMPY magic)"));
    }
    let (major, minor) = (pre[6], pre[7]);
    let (hlen, start) = match (major, minor) {
        (1, 0) => (u16::from_le_bytes([pre[8], pre[9]]) as u64, 10u64),
        (2, 0) | (3, 0) => {
            let mut more = [0u8; 2];
            reader
                .read_exact(&mut more)
                .map_err(|_| invalid(path, "the .npy header is truncated"))?;
            (
                u32::from_le_bytes([pre[8], pre[9], more[0], more[1]]) as u64,
                12u64,
            )
        }
        _ => {
            return Err(invalid(
                path,
                format!(".npy format version {major}.{minor} is not supported (1.0, 2.0 or 3.0)"),
            ));
        }
    };
    if start + hlen > total_len {
        return Err(invalid(
            path,
            format!(
                "the .npy header says it is {hlen} bytes long but the file has {total_len} bytes: truncated?"
            ),
        ));
    }
    let mut raw = vec![0u8; hlen as usize];
    reader
        .read_exact(&mut raw)
        .map_err(|_| invalid(path, "the .npy header is truncated"))?;
    let text = if major == 3 {
        String::from_utf8(raw).map_err(|_| invalid(path, "the .npy header is not UTF-8"))?
    } else {
        // Versions 1 and 2 are latin-1.
        raw.iter().map(|&b| b as char).collect()
    };
    let fields = match parse_dict(&text, major < 3) {
        Ok(Ok(f)) => f,
        Ok(Err(descr)) => return Ok(Err(descr)),
        Err(e) => return Err(invalid(path, format!("malformed .npy header: {e}"))),
    };
    let data_offset = start + hlen;
    let elements = fields
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d));
    // ndarray (like numpy) also bounds the product of the non-zero dimensions by
    // isize::MAX, so a zero dimension does not excuse absurd others.
    let nonzero = fields
        .shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |n, &d| n.checked_mul(d));
    let width = fields.element.width();
    let (len, data_len) = match (elements, nonzero) {
        (Some(n), Some(nz)) if nz <= isize::MAX as usize => match n.checked_mul(width) {
            Some(b) => (n, b as u64),
            None => return Err(too_big(path, &fields.shape_text)),
        },
        _ => return Err(too_big(path, &fields.shape_text)),
    };
    let need = data_offset.checked_add(data_len);
    if need.is_none_or(|need| need > total_len) {
        return Err(invalid(
            path,
            format!(
                "the file is shorter than its header says ({total_len} bytes; shape {} of {} needs {} after the {data_offset}-byte header): truncated?",
                fields.shape_text,
                fields.element.name(),
                data_len
            ),
        ));
    }
    Ok(Ok(AnyHeader {
        dtype: fields.element,
        big_endian: fields.big_endian,
        fortran_order: fields.fortran_order,
        shape: fields.shape,
        len,
        data_offset,
        data_len,
    }))
}

fn too_big(path: &Path, shape: &str) -> Error {
    invalid(
        path,
        format!("malformed .npy header: shape {shape} has more elements than can be addressed"),
    )
}

#[cfg(test)]
mod tests;
