//! `.npy` files, so numpy reads what eigentechno writes and the other way round.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::WriteNpyExt;

use super::AtomicFile;
use super::npy_header::{Dtype, NpyFloat, NpyHeader, read_header};
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

/// The data after a checked header, as a C-order array.
fn read_array<T: NpyFloat, R: Read>(
    path: &Path,
    mut reader: R,
    header: &NpyHeader,
) -> Result<ArrayD<T>> {
    // `header.len` elements fit in the file (read_header checked), so this is bounded.
    let mut values = Vec::with_capacity(header.len);
    let width = header.dtype.width();
    let mut chunk = vec![0u8; (64 << 10) / width * width];
    let mut left = header.data_len as usize;
    while left > 0 {
        let n = left.min(chunk.len());
        reader
            .read_exact(&mut chunk[..n])
            .map_err(|e| Error::io(path, e))?;
        T::decode_into(&chunk[..n], header.big_endian, &mut values);
        left -= n;
    }
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
