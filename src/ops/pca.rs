//! PCA of a bar matrix: fit a model folder from a `.npy` matrix, open one, and use it
//! (transform, inverse transform). The folder is what `eigentechno pca` and the `pca`
//! stage write; [`crate::store::pca_model`] reads and writes its files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::in_file;
use crate::audio::equalize::EqualizedRows;
use crate::engine::pca::{PcaError, PcaModel, PcaParams, project_rows};
use crate::error::Result;
use crate::store::pca_model::{PcaMeta, save_model};
use crate::store::{NpyMatrix, NpyRowWriter};

/// What to fit, beyond the engine's parameters, as given; [`PcaJobParams::check`]
/// makes it a [`PcaJob`].
#[derive(Clone, Debug, Default)]
pub struct PcaJobParams {
    /// The engine's parameters.
    pub params: PcaParams,
    /// Apply Isik's equalisation to every bar first (undone when listening).
    pub equalize: bool,
    /// Sample rate of the bars (for the equalisation and the WAVs).
    pub rate: Option<u32>,
}

super::checked_options!(
    /// A checked fit: a rate, if given, from 1 kHz to 768 kHz. (The engine's
    /// parameters are checked against the data's shape when the fit starts.)
    PcaJob(PcaJobParams)
);

impl PcaJobParams {
    /// Check the settings.
    pub fn check(self) -> Result<PcaJob> {
        if let Some(rate) = self.rate {
            super::check_range("rate", rate as f64, 1_000.0, 768_000.0)?;
        }
        Ok(PcaJob(self))
    }
}

/// Fit a PCA to the matrix in `matrix` and write the model (arrays, scores, CSV,
/// `pca.json`) into `dir`.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let model = dir.path().join("pca");
/// let job = eigentechno::ops::PcaJobParams {
///     params: eigentechno::engine::pca::PcaParams { k: Some(8), ..Default::default() },
///     ..Default::default()
/// }.check()?;
/// eigentechno::ops::fit_to_dir("fixtures/pca/X.npy".as_ref(), None, &model, &job)?;
/// assert!(model.join("components.npy").exists() && model.join("scores.npy").exists());
/// # Ok(()) }
/// ```
pub fn fit_to_dir(
    matrix: &Path,
    csv: Option<&Path>,
    dir: &Path,
    job: &PcaJob,
) -> Result<(PcaMeta, Vec<PathBuf>)> {
    let start = Instant::now();
    let raw = NpyMatrix::open(matrix)?;
    let rate = job.rate.unwrap_or(8_820);
    let source = &EqualizedRows::optional(&raw, job.equalize.then_some(rate));
    let cfg = job.params.check(source).map_err(|e| in_file(matrix, e))?;
    let fit = cfg.fit(source).map_err(|e| in_file(matrix, e))?;
    let k = fit.model.k();
    let scores_path = dir.join("scores.npy");
    let mut w = NpyRowWriter::create(&scores_path, k)?;
    match &fit.scores {
        Some(s) => {
            for row in s.chunks(k) {
                w.push(row)?;
            }
        }
        None => {
            let mut failed = None;
            project_rows(source, &fit.model, k, &fit.dropped_rows, &mut |_, block| {
                for row in block.chunks(k) {
                    if let Err(e) = w.push(row) {
                        failed = Some(e);
                        return Err(PcaError::Source("writing scores.npy failed".into()));
                    }
                }
                Ok(())
            })
            .map_err(|e| failed.take().unwrap_or_else(|| in_file(matrix, e)))?;
        }
    }
    let mut files = vec![w.finish()?];
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let meta = PcaMeta {
        source: abs(matrix).display().to_string(),
        source_csv: csv.map(|c| abs(c).display().to_string()),
        n_samples: fit.model.n_samples,
        n_features: fit.model.n_features,
        k,
        method: fit.method.to_string(),
        method_reason: fit.why.clone(),
        precision: fit.precision.to_string(),
        oversampling: fit.oversampling,
        power_iterations: fit.power_iterations,
        seed: job.params.seed,
        total_variance: fit.model.total_variance,
        equalize: job.equalize,
        rate: Some(rate),
        dropped_rows: fit.dropped_rows.clone(),
        seconds: start.elapsed().as_secs_f64(),
    };
    files.extend(save_model(dir, &fit.model, &meta)?);
    Ok((meta, files))
}

/// Open the model folder `dir` (written by [`fit_to_dir`], `eigentechno pca` or the
/// `pca` stage).
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let model = dir.path().join("pca");
/// let job = eigentechno::ops::PcaJobParams {
///     params: eigentechno::engine::pca::PcaParams { k: Some(8), ..Default::default() },
///     ..Default::default()
/// }.check()?;
/// eigentechno::ops::fit_to_dir("fixtures/pca/X.npy".as_ref(), None, &model, &job)?;
/// let (pca, meta) = eigentechno::ops::load_model(&model)?;
/// assert_eq!((pca.k(), meta.n_features), (8, 2000));
/// # Ok(()) }
/// ```
pub fn load_model(dir: &Path) -> Result<(PcaModel, PcaMeta)> {
    crate::store::pca_model::load_model(dir)
}

/// The first `k` scores of each row of `x` (row-major, `n x d` with `d` the model's
/// width): `(x - mean) @ components[:k].T`, row-major `n x k`.
///
/// ```
/// use eigentechno::engine::pca::{MemoryRows, Method, PcaParams};
/// let x: Vec<f32> = (0..30).map(|i| ((i * 7) % 11) as f32).collect();
/// let rows = MemoryRows::f32(&x, 10, 3).unwrap();
/// let fit = PcaParams { method: Method::Exact, ..Default::default() }
///     .check(&rows).unwrap().fit(&rows).unwrap();
/// let scores = eigentechno::ops::transform(&fit.model, &x, 3).unwrap();
/// let back = eigentechno::ops::inverse_transform(&fit.model, &scores, 3).unwrap();
/// assert!(back.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-3));
/// ```
pub fn transform(model: &PcaModel, x: &[f32], k: usize) -> Result<Vec<f64>> {
    let d = model.n_features;
    let k = check_k(model, k)?;
    if d == 0 || !x.len().is_multiple_of(d) {
        return Err(crate::error::Error::InvalidArgument {
            name: "x",
            expected: format!("rows of {d} values"),
            actual: format!("{} values", x.len()),
        });
    }
    Ok(x.chunks(d).flat_map(|row| model.project(row, k)).collect())
}

/// Rows rebuilt from their first `k` scores (row-major `n x k`): `mean + scores @
/// components[:k]`, row-major `n x d`.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let model = dir.path().join("pca");
/// let job = eigentechno::ops::PcaJobParams {
///     params: eigentechno::engine::pca::PcaParams { k: Some(8), ..Default::default() },
///     ..Default::default()
/// }.check()?;
/// eigentechno::ops::fit_to_dir("fixtures/pca/X.npy".as_ref(), None, &model, &job)?;
/// let (pca, _) = eigentechno::ops::load_model(&model)?;
/// let mean = eigentechno::ops::inverse_transform(&pca, &[0.0; 8], 8)?;
/// assert_eq!(mean, pca.mean);
/// # Ok(()) }
/// ```
pub fn inverse_transform(model: &PcaModel, scores: &[f64], k: usize) -> Result<Vec<f32>> {
    let k = check_k(model, k)?;
    if !scores.len().is_multiple_of(k) {
        return Err(crate::error::Error::InvalidArgument {
            name: "scores",
            expected: format!("rows of {k} values"),
            actual: format!("{} values", scores.len()),
        });
    }
    Ok(scores
        .chunks(k)
        .flat_map(|s| model.reconstruct(s, k))
        .collect())
}

fn check_k(model: &PcaModel, k: usize) -> Result<usize> {
    if k == 0 || k > model.k() {
        return Err(crate::error::Error::InvalidArgument {
            name: "k",
            expected: format!("1 to {}", model.k()),
            actual: k.to_string(),
        });
    }
    Ok(k)
}
