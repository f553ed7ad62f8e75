//! `.npy` files, so numpy reads what eigentechno writes and the other way round.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::WriteNpyExt;

use super::AtomicFile;
use super::npy_header::{
    AnyHeader, Dtype, Element, NpyFloat, NpyHeader, decode_ints, read_any_header, read_header,
};
use crate::error::{Error, Result};

/// An n-dimensional float array of either precision.
#[derive(Clone, Debug, PartialEq)]
pub enum NdArray {
    /// float32 (`<f4`).
    F32(ArrayD<f32>),
    /// float64 (`<f8`).
    F64(ArrayD<f64>),
}

impl NdArray {
    /// The shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            NdArray::F32(a) => a.shape(),
            NdArray::F64(a) => a.shape(),
        }
    }

    /// `float32` or `float64`.
    pub fn dtype(&self) -> &'static str {
        match self {
            NdArray::F32(_) => "float32",
            NdArray::F64(_) => "float64",
        }
    }

    /// The values as f64 (a copy for f32).
    pub fn to_f64(&self) -> ArrayD<f64> {
        match self {
            NdArray::F32(a) => a.mapv(|v| v as f64),
            NdArray::F64(a) => a.clone(),
        }
    }
}

/// Read a float32 or float64 `.npy` file of any dimensionality. Either byte order and
/// either memory order: a Fortran-ordered file (numpy writes one for a transposed array,
/// `np.save(p, a.T)`) is returned in C (row-major) order, like every array here.
///
/// The header is checked as strictly as numpy checks it, and against the file's length
/// before the data is allocated: a header cannot make this allocate more than the file
/// holds.
pub fn read_npy(path: &Path) -> Result<NdArray> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let total_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    read_npy_from(path, BufReader::new(file), total_len)
}

/// [`read_npy`] from any reader holding a whole `.npy` file of `total_len` bytes (an
/// in-memory file, an archive member); `path` names it in errors. `total_len` must be
/// the true length: it is what the header's sizes are checked against before the data
/// is allocated.
pub fn read_npy_from<R: Read>(path: &Path, mut reader: R, total_len: u64) -> Result<NdArray> {
    let header = read_header(path, &mut reader, total_len)?;
    let extra = total_len - header.data_offset - header.data_len;
    if extra > 0 {
        return Err(Error::InvalidData {
            path: path.to_path_buf(),
            reason: format!("{extra} bytes after the data the header describes"),
        });
    }
    Ok(match header.dtype {
        Dtype::F32 => NdArray::F32(read_array(path, reader, &header)?),
        Dtype::F64 => NdArray::F64(read_array(path, reader, &header)?),
    })
}

/// Read `data_len` bytes of whole `width`-byte elements in chunks of about 64 kB,
/// handing each to `f`.
fn read_chunks<R: Read>(
    path: &Path,
    reader: &mut R,
    data_len: u64,
    width: usize,
    mut f: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut chunk = vec![0u8; (64 << 10) / width * width];
    let mut left = data_len as usize;
    while left > 0 {
        let n = left.min(chunk.len());
        reader
            .read_exact(&mut chunk[..n])
            .map_err(|e| Error::io(path, e))?;
        f(&chunk[..n])?;
        left -= n;
    }
    Ok(())
}

/// The data after a checked header, as a C-order array.
fn read_array<T: NpyFloat, R: Read>(
    path: &Path,
    mut reader: R,
    header: &NpyHeader,
) -> Result<ArrayD<T>> {
    // `header.len` elements fit in the file (read_header checked), so this is bounded.
    let mut values = Vec::with_capacity(header.len);
    read_chunks(
        path,
        &mut reader,
        header.data_len,
        header.dtype.width(),
        |bytes| {
            T::decode_into(bytes, header.big_endian, &mut values);
            Ok(())
        },
    )?;
    let shape = IxDyn(&header.shape);
    let array = if header.fortran_order {
        ArrayD::from_shape_vec(shape.f(), values).map(|a| a.as_standard_layout().into_owned())
    } else {
        ArrayD::from_shape_vec(shape, values)
    };
    array.map_err(|e| Error::InvalidData {
        path: path.to_path_buf(),
        reason: format!("shape {:?}: {e}", header.shape),
    })
}

/// Read a one-column `.npy` of integers (labels): any integer dtype numpy writes
/// (`int8`-`int64`, `uint8`-`uint64`, `bool`), or floats that are all whole numbers.
/// The shape must be `(n,)` or `(n, 1)`. Errors name the file and, for a float that
/// is not whole, its row.
pub fn read_npy_integers(path: &Path) -> Result<Vec<i64>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let total_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    read_npy_integers_from(path, BufReader::new(file), total_len)
}

/// [`read_npy_integers`] from any reader holding a whole `.npy` file of `total_len`
/// bytes.
pub fn read_npy_integers_from<R: Read>(
    path: &Path,
    mut reader: R,
    total_len: u64,
) -> Result<Vec<i64>> {
    let invalid = |reason: String| Error::InvalidData {
        path: path.to_path_buf(),
        reason,
    };
    let header: AnyHeader = read_any_header(path, &mut reader, total_len)?.map_err(|descr| {
        invalid(format!(
            "dtype {descr} is not supported for labels: expected integers (or whole-number floats)"
        ))
    })?;
    let extra = total_len - header.data_offset - header.data_len;
    if extra > 0 {
        return Err(invalid(format!(
            "{extra} bytes after the data the header describes"
        )));
    }
    let one_column = header.shape.len() == 1 || (header.shape.len() == 2 && header.shape[1] == 1);
    if !one_column {
        return Err(invalid(format!(
            "labels of shape {:?}: expected one column",
            header.shape
        )));
    }
    // One column: Fortran and C order hold the same bytes.
    let element = header.dtype;
    let mut out: Vec<i64> = Vec::with_capacity(header.len);
    let (mut floats, mut floats32) = (Vec::<f64>::new(), Vec::<f32>::new());
    read_chunks(
        path,
        &mut reader,
        header.data_len,
        element.width(),
        |bytes| {
            match element {
                Element::Int { .. } => {
                    if !decode_ints(bytes, element, header.big_endian, &mut out) {
                        return Err(invalid(format!(
                            "label {} is past the largest integer this reads (2^63 - 1)",
                            out.len()
                        )));
                    }
                }
                Element::Float(d) => {
                    floats.clear();
                    if d == Dtype::F32 {
                        floats32.clear();
                        f32::decode_into(bytes, header.big_endian, &mut floats32);
                        floats.extend(floats32.iter().map(|&v| v as f64));
                    } else {
                        f64::decode_into(bytes, header.big_endian, &mut floats);
                    }
                    for &v in &floats {
                        if !(v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15) {
                            return Err(invalid(format!(
                                "label {v} (row {}) is not an integer",
                                out.len()
                            )));
                        }
                        out.push(v as i64);
                    }
                }
            }
            Ok(())
        },
    )?;
    Ok(out)
}

/// Write an array as `.npy`, atomically.
pub fn write_npy(path: &Path, array: &NdArray) -> Result<PathBuf> {
    let mut file = AtomicFile::create(path)?;
    let handle = file.file().try_clone().map_err(|e| Error::io(path, e))?;
    let mut w = BufWriter::new(handle);
    let r = match array {
        NdArray::F32(a) => a.write_npy(&mut w),
        NdArray::F64(a) => a.write_npy(&mut w),
    };
    r.map_err(|e| Error::Encode {
        path: path.to_path_buf(),
        reason: format!("writing .npy: {e}"),
    })?;
    std::io::Write::flush(&mut w).map_err(|e| Error::io(path, e))?;
    drop(w);
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_both_precisions_and_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let a = NdArray::F32(
            ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]).unwrap(),
        );
        let p = dir.path().join("a.npy");
        write_npy(&p, &a).unwrap();
        assert_eq!(read_npy(&p).unwrap(), a);
        let b =
            NdArray::F64(ArrayD::from_shape_vec(IxDyn(&[4]), vec![0.1, 0.2, 0.3, 0.4]).unwrap());
        write_npy(&p, &b).unwrap();
        assert_eq!(read_npy(&p).unwrap(), b);
        // Truncated.
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 4]).unwrap();
        let e = read_npy(&p).unwrap_err().to_string();
        assert!(e.contains("a.npy") && e.contains("shorter"), "{e}");
        // Integers.
        let ints = ndarray::Array1::<i32>::from(vec![1, 2, 3]);
        ndarray_npy::write_npy(&p, &ints).unwrap();
        let e = read_npy(&p).unwrap_err().to_string();
        assert!(e.contains("expected float32 or float64"), "{e}");
        std::fs::write(&p, b"not npy at all").unwrap();
        assert!(
            read_npy(&p)
                .unwrap_err()
                .to_string()
                .contains("not a .npy file")
        );
    }

    /// A `.npy` with the given descr and shape text over raw data bytes.
    fn raw_npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let mut h = b"\x93NUMPY\x01\x00".to_vec();
        let len = (10 + dict.len() + 1).div_ceil(64) * 64 - 10;
        h.extend_from_slice(&(len as u16).to_le_bytes());
        h.extend_from_slice(dict.as_bytes());
        h.resize(10 + len - 1, b' ');
        h.push(b'\n');
        h.extend_from_slice(data);
        h
    }

    fn ints(bytes: &[u8]) -> Result<Vec<i64>> {
        read_npy_integers_from(Path::new("l.npy"), bytes, bytes.len() as u64)
    }

    #[test]
    fn labels_of_every_integer_dtype_and_whole_floats() {
        // Written by ndarray-npy, a separate writer.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.npy");
        let want = vec![3i64, -1, 0, 7];
        macro_rules! round {
            ($t:ty) => {{
                let a =
                    ndarray::Array1::<$t>::from(want.iter().map(|&v| v as $t).collect::<Vec<_>>());
                ndarray_npy::write_npy(&p, &a).unwrap();
                let got = read_npy_integers(&p).unwrap();
                let expect: Vec<i64> = want.iter().map(|&v| v as $t as i64).collect();
                assert_eq!(got, expect, "{}", stringify!($t));
            }};
        }
        round!(i8);
        round!(i16);
        round!(i32);
        round!(i64);
        round!(u8);
        round!(u16);
        round!(u32);
        // u64 of -1 is past i64::MAX (refused below); the others round-trip.
        let a = ndarray::Array1::<u64>::from(vec![3, 0, 7, i64::MAX as u64]);
        ndarray_npy::write_npy(&p, &a).unwrap();
        assert_eq!(read_npy_integers(&p).unwrap(), vec![3, 0, 7, i64::MAX]);
        round!(f32);
        round!(f64);
        let column = ndarray::Array2::<i64>::from_shape_vec((4, 1), want.clone()).unwrap();
        ndarray_npy::write_npy(&p, &column).unwrap();
        assert_eq!(read_npy_integers(&p).unwrap(), want);
        let bools = ndarray::Array1::<bool>::from(vec![true, false, true]);
        ndarray_npy::write_npy(&p, &bools).unwrap();
        assert_eq!(read_npy_integers(&p).unwrap(), vec![1, 0, 1]);

        // Big-endian, by hand: >i2 -2, 300; >u4 5.
        let be = raw_npy(">i2", "(2,)", &[0xff, 0xfe, 0x01, 0x2c]);
        assert_eq!(ints(&be).unwrap(), vec![-2, 300]);
        let be = raw_npy(">u4", "(1,)", &[0, 0, 0, 5]);
        assert_eq!(ints(&be).unwrap(), vec![5]);

        // Refused, naming the file and what is wrong.
        let e = ints(&raw_npy("<u8", "(1,)", &u64::MAX.to_le_bytes()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("l.npy") && e.contains("past the largest"), "{e}");
        let e = ints(&raw_npy(
            "<f8",
            "(2,)",
            &[1.0f64.to_le_bytes(), 2.5f64.to_le_bytes()].concat(),
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("2.5 (row 1) is not an integer"), "{e}");
        let e = ints(&raw_npy("<i4", "(2, 2)", &[0u8; 16]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected one column"), "{e}");
        let e = ints(&raw_npy("<c8", "(1,)", &[0u8; 8]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("<c8 is not supported for labels"), "{e}");
        let e = ints(&raw_npy("<i8", "(3,)", &[0u8; 16]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("shorter than its header says"), "{e}");
        // The float readers still refuse integers, naming the dtype.
        let bytes = raw_npy("<i8", "(1,)", &[0u8; 8]);
        let e = read_npy_from(Path::new("l.npy"), &bytes[..], bytes.len() as u64)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("dtype <i8 is not supported: expected float32 or float64"),
            "{e}"
        );
    }
}

/// Total header size of the `.npy` files written row by row: room for any shape.
const ROW_HEADER_LEN: usize = 128;

fn npy_header(rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    let len = ROW_HEADER_LEN - 10;
    h.extend_from_slice(&(len as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(ROW_HEADER_LEN - 1, b' ');
    h.push(b'\n');
    h
}

/// A float32 matrix written one row at a time, so it never has to fit in memory. The
/// header is rewritten with the final row count on [`NpyRowWriter::finish`], and the
/// file appears under its name only then.
pub struct NpyRowWriter {
    file: AtomicFile,
    writer: BufWriter<std::fs::File>,
    cols: usize,
    rows: usize,
    bytes: Vec<u8>,
}

/// Append `values` to `out` as little-endian f32 bytes: one resize and a pass the
/// compiler vectorises (pushing four bytes per value checked the capacity every time).
pub fn extend_f32_le(out: &mut Vec<u8>, values: &[f32]) {
    let start = out.len();
    out.resize(start + 4 * values.len(), 0);
    for (d, v) in out[start..].chunks_exact_mut(4).zip(values) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

impl NpyRowWriter {
    /// Start a matrix with `cols` columns.
    pub fn create(path: &Path, cols: usize) -> Result<Self> {
        let mut file = AtomicFile::create(path)?;
        let handle = file.file().try_clone().map_err(|e| Error::io(path, e))?;
        let mut writer = BufWriter::with_capacity(1 << 20, handle);
        std::io::Write::write_all(&mut writer, &npy_header(0, cols))
            .map_err(|e| Error::io(path, e))?;
        Ok(NpyRowWriter {
            file,
            writer,
            cols,
            rows: 0,
            bytes: Vec::new(),
        })
    }

    /// Columns per row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Append one row (its length must be `cols`).
    pub fn push(&mut self, row: &[f32]) -> Result<()> {
        if row.len() != self.cols {
            return Err(Error::InvalidArgument {
                name: "matrix row",
                expected: format!("{} values", self.cols),
                actual: format!("{} values", row.len()),
            });
        }
        self.bytes.clear();
        extend_f32_le(&mut self.bytes, row);
        std::io::Write::write_all(&mut self.writer, &self.bytes)
            .map_err(|e| Error::io(self.file.dest(), e))?;
        self.rows += 1;
        Ok(())
    }

    /// Write the final header and move the file into place.
    pub fn finish(mut self) -> Result<PathBuf> {
        use std::io::{Seek, SeekFrom, Write};
        let dest = self.file.dest().to_path_buf();
        self.writer.flush().map_err(|e| Error::io(&dest, e))?;
        let f = self.writer.get_mut();
        f.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(&dest, e))?;
        f.write_all(&npy_header(self.rows, self.cols))
            .map_err(|e| Error::io(&dest, e))?;
        f.flush().map_err(|e| Error::io(&dest, e))?;
        drop(self.writer);
        self.file.commit()
    }
}

#[cfg(test)]
mod row_tests {
    use super::*;

    #[test]
    fn rows_written_incrementally_read_back_as_a_matrix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.npy");
        let mut w = NpyRowWriter::create(&p, 3).unwrap();
        w.push(&[1.0, 2.0, 3.0]).unwrap();
        w.push(&[4.0, 5.0, 6.5]).unwrap();
        assert!(w.push(&[1.0]).is_err());
        assert!(!p.exists());
        w.finish().unwrap();
        let NdArray::F32(a) = read_npy(&p).unwrap() else {
            panic!("float32")
        };
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(
            a.iter().copied().collect::<Vec<_>>(),
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]
        );
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 128 + 24);
    }
}
