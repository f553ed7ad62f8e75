//! A 2-D float `.npy` file read block by block (never whole), as a PCA row source.
//!
//! The header is checked when the file is opened, so a wrong dtype, a 3-D array, a
//! malformed header or a truncated file is a clear error naming the file before any work.
//! Blocks are read by a second thread while the caller computes on the previous one.
//!
//! Both memory orders are read. A Fortran-ordered (column-major) file, which numpy
//! writes for a transposed array (`np.save(p, a.T)`), is read in column runs and
//! transposed in memory a chunk of rows at a time (no temporary file): each chunk is
//! one read per column, about 8 MB or one requested block, whichever is larger, so the
//! memory stays bounded by the block size as for a C-order file.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::npy_header::{NpyFloat, read_header};
use crate::engine::pca::{PcaError, RowSource, Rows};
use crate::error::{Error, Result};

pub use super::npy_header::Dtype;

/// An `N x d` float32 or float64 `.npy` file, in C or Fortran order (either byte
/// order), handed out as row blocks in C (row-major) order.
///
/// A Fortran-ordered file is not transposed on disk: each chunk of rows is read as one
/// run per column and transposed in memory, the chunk being about 8 MB or one
/// requested block, whichever is larger. Memory stays bounded by the block size;
/// the cost is one read per column per chunk instead of one sequential read.
#[derive(Clone, Debug)]
pub struct NpyMatrix {
    path: PathBuf,
    dtype: Dtype,
    big_endian: bool,
    fortran_order: bool,
    /// Bytes of column runs read at once from a Fortran-ordered file.
    fortran_chunk_bytes: usize,
    rows: usize,
    cols: usize,
    data_offset: u64,
}

fn invalid(path: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidData {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl NpyMatrix {
    /// Open and check the header.
    pub fn open(path: &Path) -> Result<NpyMatrix> {
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        let size = f.metadata().map_err(|e| Error::io(path, e))?.len();
        let header = read_header(path, &mut f, size)?;
        let [rows, cols] = header.shape[..] else {
            return Err(invalid(
                path,
                format!(
                    "expected a 2-D matrix (rows x columns), got shape {:?} ({}-D)",
                    header.shape,
                    header.shape.len()
                ),
            ));
        };
        if cols == 0 {
            return Err(invalid(
                path,
                format!("the matrix has no columns (shape ({rows}, 0))"),
            ));
        }
        Ok(NpyMatrix {
            path: path.to_path_buf(),
            dtype: header.dtype,
            big_endian: header.big_endian,
            fortran_order: header.fortran_order,
            fortran_chunk_bytes: FORTRAN_CHUNK_BYTES,
            rows,
            cols,
            data_offset: header.data_offset,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Element type.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// Read rows `start..start + count` as f32 (f64 files are converted).
    pub fn read_rows(&self, start: usize, count: usize) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        self.visit_range(start, count, count.max(1), &mut |_, rows| {
            match rows {
                Rows::F32(v) => out.extend_from_slice(v),
                Rows::F64(v) => out.extend(v.iter().map(|&x| x as f32)),
            }
            Ok(())
        })
        .map_err(|e| invalid(&self.path, e.to_string()))?;
        Ok(out)
    }

    fn visit_range(
        &self,
        first: usize,
        count: usize,
        max_rows: usize,
        f: &mut dyn FnMut(usize, Rows<'_>) -> std::result::Result<(), PcaError>,
    ) -> std::result::Result<(), PcaError> {
        let end = first.saturating_add(count).min(self.rows);
        if first >= end {
            return Ok(());
        }
        let width = self.dtype.width();
        let step = max_rows.max(1);
        let path = self.path.clone();
        let cols = self.cols;
        let io_err = move |e: std::io::Error| PcaError::Source(format!("{}: {e}", path.display()));
        let file = File::open(&self.path).map_err(io_err.clone())?;
        let mut blocks = if self.fortran_order {
            Blocks::Fortran(FortranBlocks::new(self, file, first, end, step))
        } else {
            let mut file = file;
            let offset = self.data_offset + (first * cols * width) as u64;
            file.seek(SeekFrom::Start(offset)).map_err(io_err.clone())?;
            Blocks::C(BufReader::with_capacity(1 << 20, file))
        };
        // One block in flight: the reader fills the next while the caller works.
        let (tx, rx) = std::sync::mpsc::sync_channel::<std::result::Result<Vec<u8>, PcaError>>(1);
        let (free_tx, free_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::scope(|scope| {
            let reader_err = io_err.clone();
            scope.spawn(move || {
                let mut at = first;
                while at < end {
                    let r = (end - at).min(step);
                    let mut buf = free_rx.try_recv().unwrap_or_default();
                    buf.resize(r * cols * width, 0);
                    let res = match &mut blocks {
                        Blocks::C(reader) => reader.read_exact(&mut buf),
                        Blocks::Fortran(fb) => fb.read_rows(at, r, &mut buf),
                    }
                    .map(|_| buf)
                    .map_err(&reader_err);
                    let failed = res.is_err();
                    if tx.send(res).is_err() || failed {
                        return;
                    }
                    at += r;
                }
            });
            let mut at = first;
            let mut values32: Vec<f32> = Vec::new();
            let mut values64: Vec<f64> = Vec::new();
            while at < end {
                let bytes = rx
                    .recv()
                    .map_err(|_| PcaError::Source("the reader thread stopped".into()))??;
                let r = bytes.len() / (cols * width);
                let block = match self.dtype {
                    Dtype::F32 => {
                        values32.clear();
                        f32::decode_into(&bytes, self.big_endian, &mut values32);
                        Rows::F32(&values32)
                    }
                    Dtype::F64 => {
                        values64.clear();
                        f64::decode_into(&bytes, self.big_endian, &mut values64);
                        Rows::F64(&values64)
                    }
                };
                let res = f(at, block);
                let _ = free_tx.send(bytes);
                if let Err(e) = res {
                    // Dropping the receiver stops the reader at its next send.
                    drop(rx);
                    return Err(e);
                }
                at += r;
            }
            Ok(())
        })
    }
}

/// Where the reader thread gets row blocks from.
enum Blocks {
    /// C order: the rows are consecutive, one sequential read.
    C(BufReader<File>),
    /// Fortran order: column runs, transposed in memory.
    Fortran(FortranBlocks),
}

/// Bytes of column runs read at once from a Fortran-ordered file (more when one
/// requested block is bigger): few enough reads per pass, little memory.
const FORTRAN_CHUNK_BYTES: usize = 8 << 20;

/// Row blocks of a Fortran-ordered (column-major) file. Rows `a..a + n` of column `j`
/// are consecutive in the file, so a chunk of rows is `cols` reads (one run per
/// column) into a column-major buffer, transposed into each requested row block.
/// Chunks hold a whole number of blocks, so the memory is the larger of one block and
/// [`FORTRAN_CHUNK_BYTES`], whatever the file's size.
struct FortranBlocks {
    file: File,
    rows: usize,
    cols: usize,
    width: usize,
    data_offset: u64,
    first: usize,
    end: usize,
    chunk_rows: usize,
    /// Rows `chunk_start..chunk_start + chunk_len`, column-major.
    chunk: Vec<u8>,
    chunk_start: usize,
    chunk_len: usize,
}

impl FortranBlocks {
    fn new(m: &NpyMatrix, file: File, first: usize, end: usize, step: usize) -> Self {
        let width = m.dtype.width();
        let block_bytes = step.saturating_mul(m.cols * width);
        let chunk_rows = step.saturating_mul((m.fortran_chunk_bytes / block_bytes).max(1));
        FortranBlocks {
            file,
            rows: m.rows,
            cols: m.cols,
            width,
            data_offset: m.data_offset,
            first,
            end,
            chunk_rows,
            chunk: Vec::new(),
            chunk_start: 0,
            chunk_len: 0,
        }
    }

    /// Rows `at..at + n` (within one chunk: blocks never straddle chunks) into `out`,
    /// row-major.
    fn read_rows(&mut self, at: usize, n: usize, out: &mut [u8]) -> std::io::Result<()> {
        let (w, cols) = (self.width, self.cols);
        if at < self.chunk_start || at + n > self.chunk_start + self.chunk_len {
            let start = self.first + (at - self.first) / self.chunk_rows * self.chunk_rows;
            let len = (self.end - start).min(self.chunk_rows);
            let run = len * w;
            self.chunk.resize(cols * run, 0);
            for (j, dst) in self.chunk.chunks_exact_mut(run).enumerate() {
                let offset = self.data_offset + ((j * self.rows + start) * w) as u64;
                self.file.seek(SeekFrom::Start(offset))?;
                self.file.read_exact(dst)?;
            }
            self.chunk_start = start;
            self.chunk_len = len;
        }
        let skip = at - self.chunk_start;
        let run = self.chunk_len * w;
        for (j, column) in self.chunk.chunks_exact(run).enumerate() {
            let src = column[skip * w..(skip + n) * w].chunks_exact(w);
            for (i, v) in src.enumerate() {
                let d = (i * cols + j) * w;
                out[d..d + w].copy_from_slice(v);
            }
        }
        Ok(())
    }
}

impl RowSource for NpyMatrix {
    fn nrows(&self) -> usize {
        self.rows
    }
    fn ncols(&self) -> usize {
        self.cols
    }
    fn is_f64(&self) -> bool {
        self.dtype == Dtype::F64
    }
    fn visit(
        &self,
        max_rows: usize,
        f: &mut dyn FnMut(usize, Rows<'_>) -> std::result::Result<(), PcaError>,
    ) -> std::result::Result<(), PcaError> {
        self.visit_range(0, self.rows, max_rows, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NdArray, write_npy};
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn reads_blocks_in_order_and_rejects_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.npy");
        let vals: Vec<f64> = (0..35).map(|v| v as f64 * 0.5).collect();
        write_npy(
            &p,
            &NdArray::F64(ArrayD::from_shape_vec(IxDyn(&[7, 5]), vals.clone()).unwrap()),
        )
        .unwrap();
        let m = NpyMatrix::open(&p).unwrap();
        assert_eq!((m.nrows(), m.ncols(), m.dtype()), (7, 5, Dtype::F64));
        let mut seen = Vec::new();
        m.visit(3, &mut |start, rows| {
            seen.push((start, rows.len()));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![(0, 15), (3, 15), (6, 5)]);
        assert_eq!(
            m.read_rows(2, 2).unwrap(),
            vals[10..20].iter().map(|&v| v as f32).collect::<Vec<_>>()
        );

        let p3 = dir.path().join("cube.npy");
        write_npy(&p3, &NdArray::F32(ArrayD::zeros(IxDyn(&[2, 2, 2])))).unwrap();
        let e = NpyMatrix::open(&p3).unwrap_err().to_string();
        assert!(e.contains("cube.npy") && e.contains("2-D"), "{e}");
        let pi = dir.path().join("ints.npy");
        ndarray_npy::write_npy(&pi, &ndarray::Array2::<i64>::zeros((2, 2))).unwrap();
        let e = NpyMatrix::open(&pi).unwrap_err().to_string();
        assert!(
            e.contains("ints.npy") && e.contains("float32 or float64"),
            "{e}"
        );
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 8]).unwrap();
        let e = NpyMatrix::open(&p).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn malformed_shapes_are_refused_by_both_readers() {
        let dir = tempfile::tempdir().unwrap();
        for (shape, why) in [
            ("(3,, 4)", "expected a value"),
            ("(3 4)", "expected ',' or ')'"),
            ("(-3, 4)", "negative dimension"),
            ("(3, 4.0)", "not an integer"),
        ] {
            let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
            let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
            let padded = format!("{dict:<117}\n");
            bytes.extend_from_slice(&(padded.len() as u16).to_le_bytes());
            bytes.extend_from_slice(padded.as_bytes());
            bytes.resize(bytes.len() + 48, 0);
            let p = dir.path().join("bad.npy");
            std::fs::write(&p, &bytes).unwrap();
            let e = NpyMatrix::open(&p).unwrap_err().to_string();
            assert!(e.contains("bad.npy") && e.contains(why), "{shape}: {e}");
            let e = crate::store::read_npy(&p).unwrap_err().to_string();
            assert!(e.contains("bad.npy") && e.contains(why), "{shape}: {e}");
        }
    }

    #[test]
    fn fortran_chunks_give_the_c_order_blocks() {
        use ndarray::ShapeBuilder;
        let dir = tempfile::tempdir().unwrap();
        let (rows, cols) = (50, 9);
        let vals: Vec<f32> = (0..rows * cols).map(|v| v as f32 * 0.25 - 3.0).collect();
        let pc = dir.path().join("c.npy");
        let pf = dir.path().join("f.npy");
        let c = ndarray::Array2::from_shape_vec((rows, cols), vals.clone()).unwrap();
        ndarray_npy::write_npy(&pc, &c).unwrap();
        let f = ndarray::Array2::from_shape_vec((rows, cols).f(), vec![0.0f32; rows * cols])
            .map(|mut f| {
                f.assign(&c);
                f
            })
            .unwrap();
        ndarray_npy::write_npy(&pf, &f).unwrap();
        let head = std::fs::read(&pf).unwrap();
        assert!(String::from_utf8_lossy(&head[..64]).contains("'fortran_order': True"));
        let mc = NpyMatrix::open(&pc).unwrap();
        let collect = |m: &NpyMatrix, step: usize| {
            let mut out = Vec::new();
            m.visit(step, &mut |start, rows| {
                let Rows::F32(v) = rows else { panic!("f32") };
                out.push((start, v.to_vec()));
                Ok(())
            })
            .unwrap();
            out
        };
        // Chunks of one block, of several blocks (with a short last chunk), of all rows.
        for chunk_rows in [1, 3, 7, 50] {
            let mut mf = NpyMatrix::open(&pf).unwrap();
            mf.fortran_chunk_bytes = chunk_rows * cols * 4;
            for step in [1, 2, 4, 6, 49, 50, 51] {
                assert_eq!(
                    collect(&mf, step),
                    collect(&mc, step),
                    "{chunk_rows} {step}"
                );
            }
            for (start, count) in [(0, 50), (13, 11), (49, 5), (7, 1)] {
                assert_eq!(
                    mf.read_rows(start, count).unwrap(),
                    vals[start * cols..(start + count).min(rows) * cols],
                );
            }
        }
    }
}
