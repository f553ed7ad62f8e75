//! The rows a model was fitted on, wherever they are stored: one `.npy` matrix, or the
//! shards of a distributed ingest (`manifest.json`, listing `shards/NNNNN/bars.npy` in
//! row order, as the Python package's `eigentechno.distributed` writes it).

use std::path::Path;

use serde::Deserialize;

use super::NpyMatrix;
use crate::engine::pca::{PcaError, RowSource, Rows};
use crate::error::{Error, Result};

#[derive(Deserialize)]
struct Manifest {
    shards: Vec<ShardEntry>,
}

#[derive(Deserialize)]
struct ShardEntry {
    dir: String,
    rows: usize,
}

/// A stored matrix, read row by row.
#[derive(Debug)]
pub enum StoredRows {
    /// One `.npy` file.
    One(NpyMatrix),
    /// Shards, each with the index of its first row.
    Shards(Vec<(usize, NpyMatrix)>),
}

impl StoredRows {
    /// Open a `.npy` matrix, or the shards a `manifest.json` lists.
    ///
    /// ```
    /// # fn main() -> eigentechno::Result<()> {
    /// use eigentechno::store::StoredRows;
    /// let m = StoredRows::open("fixtures/pca/X.npy".as_ref())?;
    /// assert_eq!(m.read_rows(2, 1)?.len(), 2000);
    /// # Ok(()) }
    /// ```
    pub fn open(path: &Path) -> Result<StoredRows> {
        if path.file_name().is_none_or(|n| n != "manifest.json") {
            return Ok(StoredRows::One(NpyMatrix::open(path)?));
        }
        let manifest: Manifest =
            serde_json::from_value(super::read_json(path)?).map_err(|e| Error::InvalidData {
                path: path.to_path_buf(),
                reason: format!("not a shard manifest: {e}"),
            })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut shards = Vec::new();
        let mut start = 0;
        for s in manifest.shards.iter().filter(|s| s.rows > 0) {
            let m = NpyMatrix::open(&base.join(&s.dir).join("bars.npy"))?;
            if m.nrows() != s.rows {
                return Err(Error::InvalidData {
                    path: path.to_path_buf(),
                    reason: format!(
                        "shard {} has {} rows, the manifest says {}",
                        s.dir,
                        m.nrows(),
                        s.rows
                    ),
                });
            }
            shards.push((start, m));
            start += s.rows;
        }
        Ok(StoredRows::Shards(shards))
    }

    /// Rows `start..start + count` as f32.
    pub fn read_rows(&self, start: usize, count: usize) -> Result<Vec<f32>> {
        match self {
            StoredRows::One(m) => m.read_rows(start, count),
            StoredRows::Shards(shards) => {
                let mut out = Vec::new();
                let (mut row, end) = (start, start + count);
                for (first, m) in shards {
                    let last = first + m.nrows();
                    if row < end && row >= *first && row < last {
                        let take = end.min(last) - row;
                        out.extend(m.read_rows(row - first, take)?);
                        row += take;
                    }
                }
                if row < end {
                    return Err(Error::InvalidArgument {
                        name: "row",
                        expected: format!(
                            "rows within the {} stored",
                            shards.iter().map(|(_, m)| m.nrows()).sum::<usize>()
                        ),
                        actual: format!("{start}..{end}"),
                    });
                }
                Ok(out)
            }
        }
    }
}

/// The rows in order, shard after shard: PCA, scoring and figures read a sharded matrix
/// as they read one file.
impl RowSource for StoredRows {
    fn nrows(&self) -> usize {
        match self {
            StoredRows::One(m) => m.nrows(),
            StoredRows::Shards(s) => s.iter().map(|(_, m)| m.nrows()).sum(),
        }
    }
    fn ncols(&self) -> usize {
        match self {
            StoredRows::One(m) => m.ncols(),
            StoredRows::Shards(s) => s.first().map_or(0, |(_, m)| m.ncols()),
        }
    }
    fn is_f64(&self) -> bool {
        match self {
            StoredRows::One(m) => m.is_f64(),
            StoredRows::Shards(s) => s.first().is_some_and(|(_, m)| m.is_f64()),
        }
    }
    fn visit(
        &self,
        max_rows: usize,
        f: &mut dyn FnMut(usize, Rows<'_>) -> Result<(), PcaError>,
    ) -> Result<(), PcaError> {
        match self {
            StoredRows::One(m) => m.visit(max_rows, f),
            StoredRows::Shards(shards) => {
                let width = self.ncols();
                for (first, m) in shards {
                    if m.ncols() != width {
                        return Err(PcaError::Shape {
                            expected: format!("{width} columns in every shard"),
                            actual: format!("{} in {}", m.ncols(), m.path().display()),
                        });
                    }
                    m.visit(max_rows, &mut |start, rows| f(first + start, rows))?;
                }
                Ok(())
            }
        }
    }
}
