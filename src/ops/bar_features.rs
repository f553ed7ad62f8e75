//! The bars' features side by side: the first components' scores, what `bars.csv` says
//! of each bar (tempo, confidences, stretch, where in its track), and any per-bar
//! columns beside them (band energies). Their correlation matrix asks what the
//! components follow; the scores alone are uncorrelated by construction.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::corrmatrix::labels_beside;
use crate::error::{Error, Result};
use crate::store::tables::{BarRow, read_table};
use crate::store::{NdArray, read_npy, write_atomic, write_npy};

/// The metadata columns taken from `bars.csv`, in the order written.
pub const BAR_METADATA: [&str; 6] = [
    "bpm",
    "tempo conf",
    "downbeat conf",
    "stretch",
    "time (s)",
    "position",
];

/// Write `features.npy` (N x columns, float64) and `features.labels.txt` into `out_dir`:
/// the first `components` columns of `scores` (PC1, PC2, ...; all when fewer), the
/// [`BAR_METADATA`] of every row of `bars_csv`, then the columns of each `extra`
/// matrix (labelled by its `.labels.txt`). Every input must have one row per bar.
/// "time (s)" is the bar's start in its track; "position" is that over the last bar's
/// start in the track (0 to 1).
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let csv = dir.path().join("bars.csv");
/// std::fs::write(&csv, "row,track,bar,start_s,bpm,tempo_confidence,downbeat_confidence,stretch_ratio,segment\n\
///     0,a.wav,0,0.5,120,0.9,0.8,1.06,0\n1,a.wav,1,2.5,120,0.9,0.8,1.07,0\n").unwrap();
/// let scores = dir.path().join("scores.npy");
/// eigentechno::store::write_npy(&scores, &eigentechno::store::NdArray::F32(
///     ndarray::arr2(&[[1.0f32, 0.5], [-1.0, -0.5]]).into_dyn()))?;
/// let npy = eigentechno::ops::bar_features_to_dir(&csv, &scores, 1, &[], dir.path())?;
/// assert_eq!(eigentechno::store::read_npy(&npy)?.shape(), &[2, 7]);
/// # Ok(()) }
/// ```
pub fn bar_features_to_dir(
    bars_csv: &Path,
    scores: &Path,
    components: usize,
    extra: &[&Path],
    out_dir: &Path,
) -> Result<PathBuf> {
    let rows: Vec<BarRow> = read_table(bars_csv)?;
    let n = rows.len();
    let scores_m = as_matrix(scores)?;
    let k = components.min(scores_m.ncols());
    let mut blocks: Vec<(Array2<f64>, Vec<String>)> = Vec::new();
    check_rows(scores, scores_m.nrows(), bars_csv, n)?;
    blocks.push((
        scores_m.slice(ndarray::s![.., ..k]).to_owned(),
        (1..=k).map(|i| format!("PC{i}")).collect(),
    ));
    let mut last_start: HashMap<&str, f64> = HashMap::new();
    for r in &rows {
        let e = last_start.entry(r.track.as_str()).or_insert(0.0);
        *e = e.max(r.start_s);
    }
    let meta = Array2::from_shape_fn((n, BAR_METADATA.len()), |(i, j)| {
        let r = &rows[i];
        match j {
            0 => r.bpm,
            1 => r.tempo_confidence,
            2 => r.downbeat_confidence,
            3 => r.stretch_ratio,
            4 => r.start_s,
            _ => {
                let last = last_start[r.track.as_str()];
                if last > 0.0 { r.start_s / last } else { 0.0 }
            }
        }
    });
    blocks.push((meta, BAR_METADATA.iter().map(|s| s.to_string()).collect()));
    for &path in extra {
        let m = as_matrix(path)?;
        check_rows(path, m.nrows(), bars_csv, n)?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let labels = labels_beside(path)
            .filter(|l| l.len() == m.ncols())
            .unwrap_or_else(|| (0..m.ncols()).map(|j| format!("{stem} {j}")).collect());
        blocks.push((m, labels));
    }
    let cols: usize = blocks.iter().map(|(m, _)| m.ncols()).sum();
    let mut all = Array2::<f64>::zeros((n, cols));
    let mut labels = Vec::with_capacity(cols);
    let mut at = 0;
    for (m, l) in blocks {
        all.slice_mut(ndarray::s![.., at..at + m.ncols()])
            .assign(&m);
        at += m.ncols();
        labels.extend(l);
    }
    let npy = write_npy(&out_dir.join("features.npy"), &NdArray::F64(all.into_dyn()))?;
    let text: String = labels.iter().map(|l| format!("{l}\n")).collect();
    write_atomic(&out_dir.join("features.labels.txt"), text.as_bytes())?;
    Ok(npy)
}

/// A 2-D float `.npy` as float64.
fn as_matrix(path: &Path) -> Result<Array2<f64>> {
    let bad = |reason: String| Error::InvalidData {
        path: path.to_path_buf(),
        reason,
    };
    let a = match read_npy(path)? {
        NdArray::F32(a) => a.mapv(f64::from),
        NdArray::F64(a) => a,
    };
    let shape = a.shape().to_vec();
    a.into_dimensionality()
        .map_err(|_| bad(format!("expected a 2-D matrix, found shape {shape:?}")))
}

fn check_rows(path: &Path, rows: usize, csv: &Path, n: usize) -> Result<()> {
    if rows != n {
        return Err(Error::InvalidData {
            path: path.to_path_buf(),
            reason: format!("{rows} rows, but {} lists {n} bars", csv.display()),
        });
    }
    Ok(())
}
