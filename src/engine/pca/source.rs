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
