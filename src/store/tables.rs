//! The CSV tables eigentechno writes and reads back, one serde row type per file:
//! `bars.csv` ([`BarRow`]), `explained_variance.csv` ([`VarianceRow`]) and
//! `outliers.csv` ([`OutlierRow`]). Written and read with the `csv` crate (RFC 4180
//! quoting, so a track named `a, "b"` or holding a line break round-trips) and read by
//! column name, so a column added later does not move the others.
//!
//! Numbers are written with a fixed number of decimals (the files are for people as
//! well as programs); reading takes any float.
//!
//! ```
//! use eigentechno::store::tables::{BarRow, read_table, write_table};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("bars.csv");
//! let row = BarRow {
//!     row: 0, track: "a, \"b\"\nc.wav".into(), bar: 3, start_s: 1.5, bpm: 128.0,
//!     tempo_confidence: 0.9, downbeat_confidence: 0.8, stretch_ratio: 1.0, segment: 0,
//! };
//! write_table(&path, std::slice::from_ref(&row)).unwrap();
//! let back: Vec<BarRow> = read_table(&path).unwrap();
//! assert_eq!(back, vec![row]);
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};

use super::atomic::AtomicFile;
use crate::error::{Error, Result};

/// A row type of a table file, with its columns in order (the header is written even
/// when the table has no rows).
pub trait Table: Serialize + DeserializeOwned {
    /// The header.
    const COLUMNS: &'static [&'static str];
}

impl Table for BarRow {
    const COLUMNS: &'static [&'static str] = &[
        "row",
        "track",
        "bar",
        "start_s",
        "bpm",
        "tempo_confidence",
        "downbeat_confidence",
        "stretch_ratio",
        "segment",
    ];
}

impl Table for VarianceRow {
    const COLUMNS: &'static [&'static str] = &["k", "variance", "ratio", "cumulative"];
}

impl Table for OutlierRow {
    const COLUMNS: &'static [&'static str] = &[
        "rank",
        "row",
        "track",
        "start_s",
        "log_likelihood",
        "mahalanobis",
        "residual",
    ];
}

/// One row of `bars.csv`: where a row of `bars.npy` came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BarRow {
    /// Row of the matrix.
    pub row: usize,
    /// The track's file, as listed.
    pub track: String,
    /// Bar number within the track (0-based).
    pub bar: usize,
    /// Start of the bar in the track, in seconds.
    #[serde(serialize_with = "decimals6")]
    pub start_s: f64,
    /// The track's tempo.
    #[serde(serialize_with = "decimals4")]
    pub bpm: f64,
    /// Confidence of the tempo.
    #[serde(serialize_with = "decimals4")]
    pub tempo_confidence: f64,
    /// Confidence of the downbeats.
    #[serde(serialize_with = "decimals4")]
    pub downbeat_confidence: f64,
    /// Output length over input length of the bar's stretch.
    #[serde(serialize_with = "decimals6")]
    pub stretch_ratio: f64,
    /// The track's segment the bar lies in (0-based; see report.json's `segments`).
    #[serde(default)]
    pub segment: usize,
}

/// One row of `explained_variance.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VarianceRow {
    /// Number of components (1-based).
    pub k: usize,
    /// Variance explained by component k.
    #[serde(serialize_with = "exp9")]
    pub variance: f64,
    /// Its share of the total variance.
    #[serde(serialize_with = "exp9")]
    pub ratio: f64,
    /// Share explained by the first k components.
    #[serde(serialize_with = "decimals9")]
    pub cumulative: f64,
}

/// One row of `outliers.csv` (most unusual first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutlierRow {
    /// 0 for the least likely bar.
    pub rank: usize,
    /// Row of the matrix.
    pub row: usize,
    /// The bar's track (empty when the matrix has no `bars.csv`).
    pub track: String,
    /// Start of the bar in its track, in seconds (none without `bars.csv`).
    #[serde(serialize_with = "optional_decimals6")]
    pub start_s: Option<f64>,
    /// Log-likelihood under the probabilistic PCA.
    #[serde(serialize_with = "decimals6")]
    pub log_likelihood: f64,
    /// Squared Mahalanobis distance within the model's subspace.
    #[serde(serialize_with = "decimals6")]
    pub mahalanobis: f64,
    /// Squared distance from the subspace.
    #[serde(serialize_with = "decimals6")]
    pub residual: f64,
}

fn decimals4<S: Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:.4}"))
}

fn decimals6<S: Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:.6}"))
}

fn decimals9<S: Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:.9}"))
}

fn exp9<S: Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:.9e}"))
}

fn optional_decimals6<S: Serializer>(
    v: &Option<f64>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(v) => decimals6(v, s),
        None => s.serialize_str(""),
    }
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    if e.is_io_error() {
        if let csv::ErrorKind::Io(io) = e.into_kind() {
            return Error::io(path, io);
        }
        unreachable!("checked to be an I/O error");
    }
    Error::InvalidData {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Every row of the table at `path`, columns matched by name.
pub fn read_table<T: Table>(path: &Path) -> Result<Vec<T>> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| csv_error(path, e))?;
    reader
        .deserialize()
        .map(|r| r.map_err(|e| csv_error(path, e)))
        .collect()
}

/// Write `rows` (with a header line) to `path`, atomically.
pub fn write_table<T: Table>(path: &Path, rows: &[T]) -> Result<PathBuf> {
    let mut w = TableWriter::<T>::create(path)?;
    for r in rows {
        w.push(r)?;
    }
    w.finish()
}

/// A table written row by row, renamed into place by [`TableWriter::finish`] (an
/// interrupted write leaves no half file).
pub struct TableWriter<T: Table> {
    file: AtomicFile,
    csv: csv::Writer<std::io::BufWriter<std::fs::File>>,
    rows: std::marker::PhantomData<fn(&T)>,
}

impl<T: Table> TableWriter<T> {
    /// Start the table at `path` and write its header.
    pub fn create(path: &Path) -> Result<Self> {
        let mut file = AtomicFile::create(path)?;
        let handle = file.file().try_clone().map_err(|e| Error::io(path, e))?;
        let mut csv = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(std::io::BufWriter::new(handle));
        csv.write_record(T::COLUMNS)
            .map_err(|e| csv_error(path, e))?;
        Ok(TableWriter {
            file,
            csv,
            rows: std::marker::PhantomData,
        })
    }

    /// Append one row.
    pub fn push(&mut self, row: &T) -> Result<()> {
        let path = self.file.dest().to_path_buf();
        self.csv.serialize(row).map_err(|e| csv_error(&path, e))
    }

    /// Flush and move the table into place.
    pub fn finish(mut self) -> Result<PathBuf> {
        let path = self.file.dest().to_path_buf();
        self.csv.flush().map_err(|e| Error::io(&path, e))?;
        let mut inner = self
            .csv
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        inner.flush().map_err(|e| Error::io(&path, e))?;
        drop(inner);
        self.file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The declared header is the one serde would write from the fields.
    fn header_matches<T: Table>(row: T) {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(row).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(text.lines().next().unwrap(), T::COLUMNS.join(","));
    }

    #[test]
    fn headers_are_the_fields() {
        header_matches(BarRow {
            row: 0,
            track: String::new(),
            bar: 0,
            start_s: 0.0,
            bpm: 0.0,
            tempo_confidence: 0.0,
            downbeat_confidence: 0.0,
            stretch_ratio: 0.0,
            segment: 0,
        });
        header_matches(VarianceRow {
            k: 1,
            variance: 0.0,
            ratio: 0.0,
            cumulative: 0.0,
        });
        header_matches(OutlierRow {
            rank: 0,
            row: 0,
            track: String::new(),
            start_s: None,
            log_likelihood: 0.0,
            mahalanobis: 0.0,
            residual: 0.0,
        });
    }

    #[test]
    fn awkward_track_names_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outliers.csv");
        let rows: Vec<OutlierRow> = ["a, \"b\" c.wav", "line\nbreak.wav", "plain.wav", ""]
            .iter()
            .enumerate()
            .map(|(i, t)| OutlierRow {
                rank: i,
                row: 10 + i,
                track: t.to_string(),
                start_s: (i % 2 == 0).then_some(1.25 * i as f64),
                log_likelihood: -1.5,
                mahalanobis: 2.0,
                residual: 0.125,
            })
            .collect();
        write_table(&path, &rows).unwrap();
        let back: Vec<OutlierRow> = read_table(&path).unwrap();
        assert_eq!(back, rows);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"a, \"\"b\"\" c.wav\""), "{text}");
    }

    #[test]
    fn empty_table_keeps_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.csv");
        write_table::<VarianceRow>(&path, &[]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "k,variance,ratio,cumulative\n"
        );
        assert!(read_table::<VarianceRow>(&path).unwrap().is_empty());
    }

    #[test]
    fn columns_are_read_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.csv");
        std::fs::write(
            &path,
            "cumulative,extra,k,ratio,variance\n0.5,x,1,0.5,2.0\n",
        )
        .unwrap();
        let rows: Vec<VarianceRow> = read_table(&path).unwrap();
        assert_eq!(
            rows,
            vec![VarianceRow {
                k: 1,
                variance: 2.0,
                ratio: 0.5,
                cumulative: 0.5
            }]
        );
    }

    #[test]
    fn a_bad_cell_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.csv");
        std::fs::write(&path, "k,variance,ratio,cumulative\none,2,0.5,0.5\n").unwrap();
        let e = read_table::<VarianceRow>(&path).unwrap_err().to_string();
        assert!(e.contains("v.csv"), "{e}");
    }
}
