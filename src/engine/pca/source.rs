//! Where PCA reads its rows from: a matrix in memory or a stream of row blocks (a file
//! read block by block), seen through one trait so the algorithms never hold more than
//! they need.

use super::PcaError;

/// A block of consecutive rows, row-major, in the precision they are stored in.
#[derive(Clone, Copy, Debug)]
pub enum Rows<'a> {
    /// float32 values.
    F32(&'a [f32]),
    /// float64 values.
    F64(&'a [f64]),
}

impl Rows<'_> {
    /// Number of values in the block.
    pub fn len(&self) -> usize {
        match self {
            Rows::F32(v) => v.len(),
            Rows::F64(v) => v.len(),
        }
    }

    /// Whether the block holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` as f64.
    #[inline]
    pub fn get(&self, i: usize) -> f64 {
        match self {
            Rows::F32(v) => v[i] as f64,
            Rows::F64(v) => v[i],
        }
    }
}

/// An `nrows x ncols` matrix that PCA can read as often as it needs, in order, block by
/// block. Implemented for in-memory matrices here, and for `.npy` files by the store.
pub trait RowSource: Sync {
    /// Rows (samples).
    fn nrows(&self) -> usize;
    /// Columns (features).
    fn ncols(&self) -> usize;
    /// Whether values are stored as float64 (decides the default compute precision).
    fn is_f64(&self) -> bool;
    /// Call `f(first_row, block)` for consecutive blocks of at most `max_rows` rows
    /// covering every row once, in order.
    fn visit(
        &self,
        max_rows: usize,
        f: &mut dyn FnMut(usize, Rows<'_>) -> Result<(), PcaError>,
    ) -> Result<(), PcaError>;
}

/// A row-major matrix held in memory.
#[derive(Clone, Copy, Debug)]
pub struct MemoryRows<'a> {
    values: Rows<'a>,
    nrows: usize,
    ncols: usize,
}

impl<'a> MemoryRows<'a> {
    /// `values` holds `nrows * ncols` float32 values, row after row.
    pub fn f32(values: &'a [f32], nrows: usize, ncols: usize) -> Result<Self, PcaError> {
        Self::new(Rows::F32(values), nrows, ncols)
    }

    /// `values` holds `nrows * ncols` float64 values, row after row.
    pub fn f64(values: &'a [f64], nrows: usize, ncols: usize) -> Result<Self, PcaError> {
        Self::new(Rows::F64(values), nrows, ncols)
    }

    fn new(values: Rows<'a>, nrows: usize, ncols: usize) -> Result<Self, PcaError> {
        if values.len() != nrows * ncols {
            return Err(PcaError::Shape {
                expected: format!("{nrows} x {ncols} = {} values", nrows * ncols),
                actual: format!("{} values", values.len()),
            });
        }
        Ok(MemoryRows {
            values,
            nrows,
            ncols,
        })
    }
}

impl RowSource for MemoryRows<'_> {
    fn nrows(&self) -> usize {
        self.nrows
    }
    fn ncols(&self) -> usize {
        self.ncols
    }
    fn is_f64(&self) -> bool {
        matches!(self.values, Rows::F64(_))
    }
    fn visit(
        &self,
        max_rows: usize,
        f: &mut dyn FnMut(usize, Rows<'_>) -> Result<(), PcaError>,
    ) -> Result<(), PcaError> {
        let step = max_rows.max(1);
        let mut start = 0;
        while start < self.nrows {
            let end = (start + step).min(self.nrows);
            let (a, b) = (start * self.ncols, end * self.ncols);
            let block = match self.values {
                Rows::F32(v) => Rows::F32(&v[a..b]),
                Rows::F64(v) => Rows::F64(&v[a..b]),
            };
            f(start, block)?;
            start = end;
        }
        Ok(())
    }
}

/// The rows of another source for which `keep[row]` is true (a train or test split).
pub struct SubsetRows<'a> {
    inner: &'a dyn RowSource,
    keep: Vec<bool>,
    rows: usize,
}

impl<'a> SubsetRows<'a> {
    /// Keep row `i` of `inner` when `keep[i]`.
    pub fn new(inner: &'a dyn RowSource, keep: Vec<bool>) -> Result<Self, PcaError> {
        if keep.len() != inner.nrows() {
            return Err(PcaError::Shape {
                expected: format!("{} row flags", inner.nrows()),
                actual: format!("{}", keep.len()),
            });
        }
        let rows = keep.iter().filter(|&&k| k).count();
        Ok(SubsetRows { inner, keep, rows })
    }
}

impl RowSource for SubsetRows<'_> {
    fn nrows(&self) -> usize {
        self.rows
    }
    fn ncols(&self) -> usize {
        self.inner.ncols()
    }
    fn is_f64(&self) -> bool {
        self.inner.is_f64()
    }
    fn visit(
        &self,
        max_rows: usize,
        f: &mut dyn FnMut(usize, Rows<'_>) -> Result<(), PcaError>,
    ) -> Result<(), PcaError> {
        let d = self.ncols();
        let (mut b32, mut b64): (Vec<f32>, Vec<f64>) = (Vec::new(), Vec::new());
        let mut out_row = 0;
        self.inner.visit(max_rows, &mut |start, rows| {
            b32.clear();
            b64.clear();
            let r = rows.len() / d;
            for i in (0..r).filter(|i| self.keep[start + i]) {
                match rows {
                    Rows::F32(v) => b32.extend_from_slice(&v[i * d..(i + 1) * d]),
                    Rows::F64(v) => b64.extend_from_slice(&v[i * d..(i + 1) * d]),
                }
            }
            let block = match rows {
                Rows::F32(_) => Rows::F32(&b32),
                Rows::F64(_) => Rows::F64(&b64),
            };
            if block.is_empty() {
                return Ok(());
            }
            let n = block.len() / d;
            f(out_row, block)?;
            out_row += n;
            Ok(())
        })
    }
}
