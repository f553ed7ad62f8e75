//! IDX files, the format of the MNIST family of image sets (LeCun's `*-ubyte`), plain or
//! gzipped.
//!
//! A file is a 4-byte magic (two zero bytes, an element type, the number of dimensions),
//! the dimensions as big-endian u32, then the elements in row-major order. The header is
//! checked against the data before anything is kept: the declared size must be under
//! [`MAX_IDX_BYTES`], and the data must hold exactly that many bytes. Reading never
//! allocates ahead of the bytes that actually arrive, so a lying header (a huge dimension
//! in a small file, or a gzip bomb) is refused without a large allocation.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The largest data an IDX file may declare: 2 GiB (Fashion-MNIST's training images are
/// 47 MB).
pub const MAX_IDX_BYTES: u64 = 2 << 30;

/// The most dimensions a file may have (images are 3: count, rows, columns).
const MAX_DIMS: usize = 4;

/// The element types of the format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdxType {
    /// `0x08`: unsigned byte.
    U8,
    /// `0x09`: signed byte.
    I8,
    /// `0x0B`: big-endian i16.
    I16,
    /// `0x0C`: big-endian i32.
    I32,
    /// `0x0D`: big-endian f32.
    F32,
    /// `0x0E`: big-endian f64.
    F64,
}

impl IdxType {
    fn from_code(code: u8) -> Option<IdxType> {
        Some(match code {
            0x08 => IdxType::U8,
            0x09 => IdxType::I8,
            0x0B => IdxType::I16,
            0x0C => IdxType::I32,
            0x0D => IdxType::F32,
            0x0E => IdxType::F64,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn width(self) -> usize {
        match self {
            IdxType::U8 | IdxType::I8 => 1,
            IdxType::I16 => 2,
            IdxType::I32 | IdxType::F32 => 4,
            IdxType::F64 => 8,
        }
    }
}

/// An IDX array: its shape, element type and raw (big-endian) data.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    /// The dimensions, first the item count.
    pub shape: Vec<usize>,
    /// The element type.
    pub kind: IdxType,
    data: Vec<u8>,
}

impl IdxArray {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether it holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements as f64 (exact for every element type).
    pub fn to_f64(&self) -> Vec<f64> {
        let w = self.kind.width();
        self.data
            .chunks_exact(w)
            .map(|b| match self.kind {
                IdxType::U8 => b[0] as f64,
                IdxType::I8 => b[0] as i8 as f64,
                IdxType::I16 => i16::from_be_bytes([b[0], b[1]]) as f64,
                IdxType::I32 => i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64,
                IdxType::F32 => f32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64,
                IdxType::F64 => f64::from_be_bytes(b.try_into().expect("8 bytes")),
            })
            .collect()
    }

    /// The raw bytes of an unsigned-byte array (images and labels), or `None` for other
    /// element types.
    pub fn as_u8(&self) -> Option<&[u8]> {
        (self.kind == IdxType::U8).then_some(&self.data[..])
    }
}

/// Read an IDX file, gzipped (by its magic bytes, whatever its name) or not.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = std::io::BufReader::new(file);
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match reader.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    let prefix = std::io::Cursor::new(head[..got].to_vec());
    let chained = prefix.chain(reader);
    if got == 2 && head == [0x1f, 0x8b] {
        read_idx_from(path, flate2::read::GzDecoder::new(chained))
    } else {
        read_idx_from(path, chained)
    }
}

/// Read an (already inflated) IDX stream; `path` names it in errors.
pub fn read_idx_from<R: Read>(path: &Path, mut reader: R) -> Result<IdxArray> {
    let bad = |reason: String| Error::InvalidData {
        path: path.to_path_buf(),
        reason,
    };
    let mut magic = [0u8; 4];
    read_exact(path, &mut reader, &mut magic, "its 4-byte magic")?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(bad(format!(
            "not an IDX file: it starts with bytes {:02x} {:02x}, not 00 00",
            magic[0], magic[1]
        )));
    }
    let kind = IdxType::from_code(magic[2]).ok_or_else(|| {
        bad(format!(
            "IDX element type 0x{:02x} is not one of 08, 09, 0B, 0C, 0D, 0E",
            magic[2]
        ))
    })?;
    let ndim = magic[3] as usize;
    if ndim == 0 || ndim > MAX_DIMS {
        return Err(bad(format!(
            "an IDX file of {ndim} dimensions (1 to {MAX_DIMS} are read)"
        )));
    }
    let mut shape = Vec::with_capacity(ndim);
    for d in 0..ndim {
        let mut b = [0u8; 4];
        read_exact(path, &mut reader, &mut b, "its dimensions")?;
        let size = u32::from_be_bytes(b) as usize;
        if size == 0 {
            return Err(bad(format!("dimension {d} of the IDX header is 0")));
        }
        shape.push(size);
    }
    let declared = shape
        .iter()
        .try_fold(kind.width() as u64, |acc, &s| acc.checked_mul(s as u64))
        .filter(|&b| b <= MAX_IDX_BYTES)
        .ok_or_else(|| {
            bad(format!(
                "the IDX header declares {shape:?} elements of {} bytes, over the {} GiB limit",
                kind.width(),
                MAX_IDX_BYTES >> 30
            ))
        })?;
    // Read at most one byte past the declared size: growth follows the bytes that
    // arrive, never the header's claim.
    let mut data = Vec::new();
    reader
        .take(declared + 1)
        .read_to_end(&mut data)
        .map_err(|e| bad(format!("its data could not be read: {e}")))?;
    if data.len() as u64 != declared {
        let more = if data.len() as u64 > declared {
            "more than".to_string()
        } else {
            format!("only {} of", data.len())
        };
        return Err(bad(format!(
            "the IDX header declares {shape:?} ({declared} bytes of data), but the file holds {more} that"
        )));
    }
    Ok(IdxArray { shape, kind, data })
}

fn read_exact<R: Read>(path: &Path, reader: &mut R, buf: &mut [u8], what: &str) -> Result<()> {
    reader.read_exact(buf).map_err(|e| Error::InvalidData {
        path: path.to_path_buf(),
        reason: if e.kind() == std::io::ErrorKind::UnexpectedEof {
            format!("not an IDX file: it ends before {what}")
        } else {
            format!("{what} could not be read: {e}")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx_bytes(code: u8, shape: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, code, shape.len() as u8];
        for s in shape {
            v.extend_from_slice(&s.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    fn parse(bytes: &[u8]) -> Result<IdxArray> {
        read_idx_from(Path::new("t.idx"), bytes)
    }

    #[test]
    fn reads_bytes_and_big_endian_types() {
        let a = parse(&idx_bytes(0x08, &[2, 3], &[1, 2, 3, 4, 5, 255])).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.as_u8().unwrap(), &[1, 2, 3, 4, 5, 255]);
        let i = parse(&idx_bytes(
            0x0C,
            &[2],
            &[0, 0, 1, 0, 0xff, 0xff, 0xff, 0xfe],
        ))
        .unwrap();
        assert_eq!(i.to_f64(), vec![256.0, -2.0]);
        assert!(i.as_u8().is_none());
        let f = parse(&idx_bytes(0x0D, &[1], &1.5f32.to_be_bytes())).unwrap();
        assert_eq!(f.to_f64(), vec![1.5]);
    }

    #[test]
    fn lying_headers_are_refused_without_allocating_their_claim() {
        // 900 million bytes declared, 3 present.
        let e = parse(&idx_bytes(0x08, &[30_000, 30_000], &[1, 2, 3])).unwrap_err();
        assert!(e.to_string().contains("only 3 of"), "{e}");
        // Over the limit: refused from the header alone.
        let e = parse(&idx_bytes(0x0E, &[1 << 20, 1 << 10], &[])).unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
        // Overflowing product.
        let big = u32::MAX;
        let e = parse(&idx_bytes(0x0E, &[big, big, big, big], &[])).unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
        let e = parse(&idx_bytes(0x08, &[2], &[1, 2, 3])).unwrap_err();
        assert!(e.to_string().contains("more than"), "{e}");
        for (bytes, says) in [
            (vec![0x50, 0x4b, 3, 4], "not an IDX file"),
            (vec![0, 0, 0x07, 1, 0, 0, 0, 1, 9], "element type 0x07"),
            (vec![0, 0, 0x08, 0], "0 dimensions"),
            (vec![0, 0, 0x08, 9], "9 dimensions"),
            (vec![0, 0, 0x08, 2, 0, 0], "ends before its dimensions"),
            (idx_bytes(0x08, &[0], &[]), "dimension 0"),
            (vec![0, 0], "ends before its 4-byte magic"),
        ] {
            let e = parse(&bytes).unwrap_err().to_string();
            assert!(e.contains(says), "{e} should say {says}");
            assert!(e.contains("t.idx"), "{e}");
        }
    }

    #[test]
    fn gzipped_files_are_inflated_within_the_declared_size() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let plain = idx_bytes(0x08, &[4], &[9, 8, 7, 6]);
        let path = dir.path().join("x-ubyte.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        assert_eq!(read_idx(&path).unwrap().as_u8().unwrap(), &[9, 8, 7, 6]);
        let raw = dir.path().join("x-ubyte");
        std::fs::write(&raw, &plain).unwrap();
        assert_eq!(read_idx(&raw).unwrap().shape, vec![4]);
        // A bomb: a tiny header and 100 MB of zeros past its 4 bytes.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&plain).unwrap();
        gz.write_all(&vec![0u8; 100 << 20]).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let e = read_idx(&path).unwrap_err().to_string();
        assert!(e.contains("more than"), "{e}");
    }
}
