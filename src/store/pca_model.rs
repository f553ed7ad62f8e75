//! A fitted PCA on disk: numpy-readable arrays plus `pca.json`, so `eigentechno
//! audition`, `ppca` and numpy users can all pick it up.
//!
//! `DIR/mean.npy` (d) and `components.npy` (k x d), float32, or float64 for a model
//! fitted in float64 (float64 data, or float64 precision asked for);
//! `singular_values.npy`, `explained_variance.npy`, `explained_variance_ratio.npy`
//! (k, float64), `scores.npy` (N x k, float32), `explained_variance.csv` and `pca.json`.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::tables::{VarianceRow, write_table};
use super::{NdArray, read_npy, write_atomic, write_npy};
use crate::engine::pca::{F64Parts, PcaModel};
use crate::error::{Error, Result};

/// What `pca.json` records beside the arrays.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PcaMeta {
    /// The matrix the model was fitted on.
    pub source: String,
    /// Its `bars.csv`, when it has one (track and time of every row).
    #[serde(default)]
    pub source_csv: Option<String>,
    /// Rows fitted.
    pub n_samples: usize,
    /// Columns (samples per bar).
    pub n_features: usize,
    /// Components kept.
    pub k: usize,
    /// `exact` or `randomized`.
    pub method: String,
    /// Why that method.
    pub method_reason: String,
    /// `f32` or `f64`.
    pub precision: String,
    /// Randomized: oversampling and power iterations (0 for exact).
    pub oversampling: usize,
    /// Randomized power iterations.
    pub power_iterations: usize,
    /// Randomized seed.
    pub seed: u64,
    /// Sum of the column variances of the (equalised, if so) data.
    pub total_variance: f64,
    /// Whether Isik's equalisation was applied before the fit.
    pub equalize: bool,
    /// Sample rate of the bars (Hz), when they are audio.
    #[serde(default)]
    pub rate: Option<u32>,
    /// Source rows skipped as non-finite.
    #[serde(default)]
    pub dropped_rows: Vec<usize>,
    /// Wall time of the fit.
    pub seconds: f64,
}

fn invalid(path: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidData {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Write the model's arrays, the CSV and `pca.json` into `dir`. Scores are written by
/// the caller (they may be streamed).
pub fn save_model(dir: &Path, model: &PcaModel, meta: &PcaMeta) -> Result<Vec<PathBuf>> {
    let (k, d) = (model.k(), model.n_features);
    let mut out = Vec::new();
    let vec64 = |v: &[f64]| NdArray::F64(Array1::from(v.to_vec()).into_dyn());
    let shape_err = |e: ndarray::ShapeError| invalid(dir, e.to_string());
    let (mean, comps) = match &model.f64_parts {
        Some(p) => (
            NdArray::F64(Array1::from(p.mean.clone()).into_dyn()),
            NdArray::F64(
                Array2::from_shape_vec((k, d), p.components.clone())
                    .map_err(shape_err)?
                    .into_dyn(),
            ),
        ),
        None => (
            NdArray::F32(Array1::from(model.mean.clone()).into_dyn()),
            NdArray::F32(
                Array2::from_shape_vec((k, d), model.components.clone())
                    .map_err(shape_err)?
                    .into_dyn(),
            ),
        ),
    };
    out.push(write_npy(&dir.join("mean.npy"), &mean)?);
    out.push(write_npy(&dir.join("components.npy"), &comps)?);
    out.push(write_npy(
        &dir.join("singular_values.npy"),
        &vec64(&model.singular_values),
    )?);
    out.push(write_npy(
        &dir.join("explained_variance.npy"),
        &vec64(&model.explained_variance),
    )?);
    out.push(write_npy(
        &dir.join("explained_variance_ratio.npy"),
        &vec64(&model.explained_variance_ratio),
    )?);
    let rows: Vec<VarianceRow> = model
        .explained_variance
        .iter()
        .zip(&model.explained_variance_ratio)
        .zip(model.cumulative_ratio())
        .enumerate()
        .map(|(i, ((&variance, &ratio), cumulative))| VarianceRow {
            k: i + 1,
            variance,
            ratio,
            cumulative,
        })
        .collect();
    out.push(write_table(&dir.join("explained_variance.csv"), &rows)?);
    let json = serde_json::to_vec_pretty(meta).map_err(|e| invalid(dir, e.to_string()))?;
    out.push(write_atomic(&dir.join("pca.json"), &json)?);
    Ok(out)
}

fn vec_of(path: &Path) -> Result<(Vec<f64>, Vec<usize>)> {
    let (v, shape, _) = typed_vec_of(path)?;
    Ok((v, shape))
}

/// The values, the shape, and whether the file is float64.
fn typed_vec_of(path: &Path) -> Result<(Vec<f64>, Vec<usize>, bool)> {
    let a = read_npy(path)?;
    let shape = a.shape().to_vec();
    Ok(match a {
        NdArray::F32(a) => (a.iter().map(|&v| v as f64).collect(), shape, false),
        NdArray::F64(a) => (a.iter().copied().collect(), shape, true),
    })
}

/// Read a model written by [`save_model`], checking that its parts agree.
pub fn load_model(dir: &Path) -> Result<(PcaModel, PcaMeta)> {
    let meta_path = dir.join("pca.json");
    let bytes = std::fs::read(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
    let meta: PcaMeta = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(&meta_path, format!("not a PCA description: {e}")))?;
    let (mean, ms, mean_f64) = typed_vec_of(&dir.join("mean.npy"))?;
    let (comps, cs, comps_f64) = typed_vec_of(&dir.join("components.npy"))?;
    let (sv, _) = vec_of(&dir.join("singular_values.npy"))?;
    let (ev, _) = vec_of(&dir.join("explained_variance.npy"))?;
    let (evr, _) = vec_of(&dir.join("explained_variance_ratio.npy"))?;
    let d = ms.first().copied().unwrap_or(0);
    if cs.len() != 2
        || cs[1] != d
        || cs[0] != sv.len()
        || ev.len() != sv.len()
        || evr.len() != sv.len()
    {
        return Err(invalid(
            dir,
            format!(
                "the model's arrays disagree: mean {ms:?}, components {cs:?}, {} singular values",
                sv.len()
            ),
        ));
    }
    // A float64 mean or components (a float64 fit) is kept as such, for PPCA and
    // projection; float32 files give a float32 model, as written.
    let f64_parts = (mean_f64 || comps_f64).then(|| F64Parts {
        mean: mean.clone(),
        components: comps.clone(),
    });
    Ok((
        PcaModel {
            mean: mean.into_iter().map(|v| v as f32).collect(),
            components: comps.into_iter().map(|v| v as f32).collect(),
            f64_parts,
            n_features: d,
            n_samples: meta.n_samples,
            singular_values: sv,
            explained_variance: ev,
            explained_variance_ratio: evr,
            total_variance: meta.total_variance,
        },
        meta,
    ))
}
