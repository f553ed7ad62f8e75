//! `.npy` files, so numpy reads what eigentechno writes and the other way round.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use ndarray_npy::{ReadNpyError, WriteNpyExt};

use super::AtomicFile;
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

fn npy_error(path: &Path, e: ReadNpyError) -> Error {
    let reason = match e {
        ReadNpyError::Io(e) => return Error::io(path, e),
        ReadNpyError::WrongDescriptor(d) => {
            format!("dtype {d} is not supported: expected float32 or float64")
        }
        ReadNpyError::MissingData => "the file is shorter than its header says (truncated?)".into(),
        ReadNpyError::ExtraBytes(n) => format!("{n} bytes after the data the header describes"),
        other => format!("not a readable .npy file: {other}"),
    };
    Error::InvalidData {
        path: path.to_path_buf(),
        reason,
    }
}

/// Read a float32 or float64 `.npy` file of any dimensionality.
pub fn read_npy(path: &Path) -> Result<NdArray> {
    match ndarray_npy::read_npy::<_, ArrayD<f32>>(path) {
        Ok(a) => Ok(NdArray::F32(a)),
        Err(ReadNpyError::WrongDescriptor(_)) => ndarray_npy::read_npy::<_, ArrayD<f64>>(path)
            .map(NdArray::F64)
            .map_err(|e| npy_error(path, e)),
        Err(e) => Err(npy_error(path, e)),
    }
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
    use ndarray::IxDyn;

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
                .contains("not a readable .npy")
        );
    }
}
