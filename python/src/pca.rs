//! PCA: the fitted model behind the Python `PCA` estimator, fitted in memory, from a
//! distributed front's products or covariance, or opened from a model folder.

use std::path::PathBuf;
use std::time::Instant;

use eigentechno::Error;
use eigentechno::engine::pca::{
    ColumnStats, Method, PcaFit, PcaModel as EngineModel, PcaParams, Precision, RowSource,
    fit_covariance, fit_randomized_remote,
};
use eigentechno::ops;
use eigentechno::store::pca_model::PcaMeta;
use ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use crate::arrays::{Matrix, matrix_f64};
use crate::calls::{blocking, invalid, parse};
use crate::products::PyRemote;

/// Fit off the GIL, timed, and keep the model with its `pca.json` record (and the
/// training scores when the method gave them).
fn fitted(
    py: Python<'_>,
    params: &PcaParams,
    fit: impl FnOnce() -> eigentechno::Result<PcaFit> + Send,
) -> PyResult<PcaModel> {
    let (fit, seconds) = blocking(py, || {
        let started = Instant::now();
        let fit = fit()?;
        Ok((fit, started.elapsed().as_secs_f64()))
    })?;
    let meta = ops::meta_of_fit(&fit, params, seconds);
    Ok(PcaModel {
        model: fit.model,
        meta,
        scores: fit.scores,
    })
}

/// A fitted PCA (the engine's model and its `pca.json` record), held for the Python
/// `PCA` estimator.
#[pyclass(module = "eigentechno._eigentechno", name = "PcaModel", frozen)]
pub(crate) struct PcaModel {
    model: EngineModel,
    meta: PcaMeta,
    /// Row-major training scores (`n x k`, float32), when the fit gave them.
    scores: Option<Vec<f32>>,
}

#[pymethods]
impl PcaModel {
    /// Fit to `x` (float32 or float64, C-contiguous).
    #[staticmethod]
    #[pyo3(signature = (x, k, method, precision, seed, power_iterations=None))]
    fn fit(
        py: Python<'_>,
        x: Matrix<'_>,
        k: Option<usize>,
        method: &str,
        precision: &str,
        seed: u64,
        power_iterations: Option<usize>,
    ) -> PyResult<PcaModel> {
        let mut params = PcaParams {
            k,
            method: parse::<Method>(py, method)?,
            precision: parse::<Precision>(py, precision)?,
            seed,
            ..PcaParams::default()
        };
        // A count asked for is run in full (scikit-learn's n_iter); none: adaptive.
        if let Some(q) = power_iterations {
            params.power_iterations = q;
            params.tolerance = 0.0;
        }
        let rows = x.rows(py)?;
        fitted(py, &params, || ops::fit_memory(&rows, &params))
    }

    /// The randomized method on rows held elsewhere: `rows` keeps the centred data's
    /// products and the sketch's tall blocks (`times(W, target)`, `t_times(a)`,
    /// `gram(a, b)`, `combine(terms, target)`, `release(a)`), with the column means and
    /// total variance. `float32`: the shards are float32 (the fit then holds `X^T Q` in
    /// float32, as one machine's float32 fit does).
    #[staticmethod]
    #[pyo3(signature = (n, mean, total_variance, rows, k, seed, power_iterations=None, float32=false))]
    #[allow(clippy::too_many_arguments)]
    fn fit_remote(
        py: Python<'_>,
        n: usize,
        mean: PyReadonlyArray1<'_, f64>,
        total_variance: f64,
        rows: Py<PyAny>,
        k: usize,
        seed: u64,
        power_iterations: Option<usize>,
        float32: bool,
    ) -> PyResult<PcaModel> {
        let mean = mean.as_array().to_vec();
        let mut params = PcaParams {
            k: Some(k),
            method: Method::Randomized,
            precision: Precision::F64,
            seed,
            ..PcaParams::default()
        };
        // A count asked for is run in full (scikit-learn's n_iter); none: adaptive.
        if let Some(q) = power_iterations {
            params.power_iterations = q;
            params.tolerance = 0.0;
        }
        let remote = PyRemote {
            shape: (n, mean.len()),
            rows,
            f32: float32,
        };
        let stats = ColumnStats {
            mean,
            total_variance,
            dropped_rows: Vec::new(),
            rows: n,
        };
        fitted(py, &params, || {
            fit_randomized_remote(&remote, stats, &params).map_err(Error::Pca)
        })
    }

    /// The exact method from the centred covariance sum `Xc.T @ Xc` (d x d, float64).
    #[staticmethod]
    #[pyo3(signature = (cov, n, mean, total_variance, k=None))]
    fn fit_covariance(
        py: Python<'_>,
        cov: PyReadonlyArray2<'_, f64>,
        n: usize,
        mean: PyReadonlyArray1<'_, f64>,
        total_variance: f64,
        k: Option<usize>,
    ) -> PyResult<PcaModel> {
        let cov = cov
            .as_slice()
            .map_err(|_| invalid(py, "cov must be C-contiguous"))?;
        let params = PcaParams {
            k,
            method: Method::Exact,
            precision: Precision::F64,
            ..PcaParams::default()
        };
        let stats = ColumnStats {
            mean: mean.as_array().to_vec(),
            total_variance,
            dropped_rows: Vec::new(),
            rows: n,
        };
        fitted(py, &params, || {
            fit_covariance(cov, stats, &params).map_err(Error::Pca)
        })
    }

    /// Open a model folder (written by `eigentechno pca`, the `pca` stage or `save`).
    #[staticmethod]
    fn load(py: Python<'_>, dir: PathBuf) -> PyResult<PcaModel> {
        let (model, meta) = blocking(py, || ops::load_model(&dir))?;
        Ok(PcaModel {
            model,
            meta,
            scores: None,
        })
    }

    /// Write the model folder; `source` names the rows it was fitted on in `pca.json`
    /// (a `.npy` matrix, or a distributed ingest's `manifest.json`).
    /// `rate`: the bars' sample rate, for listening.
    #[pyo3(signature = (dir, source=None, rate=None))]
    fn save(
        &self,
        py: Python<'_>,
        dir: PathBuf,
        source: Option<String>,
        rate: Option<u32>,
    ) -> PyResult<Vec<PathBuf>> {
        let meta = PcaMeta {
            source: source.unwrap_or_else(|| self.meta.source.clone()),
            rate: rate.or(self.meta.rate),
            ..self.meta.clone()
        };
        blocking(py, || {
            ops::save_memory_model(&dir, &self.model, &meta, self.scores.as_deref())
        })
    }

    /// The first `k` components only.
    fn truncated(&self, py: Python<'_>, k: usize) -> PyResult<PcaModel> {
        if k == 0 || k > self.model.k() {
            return Err(invalid(
                py,
                format!("k must be 1 to {}, got {k}", self.model.k()),
            ));
        }
        let d = self.model.n_features;
        let mut m = self.model.clone();
        m.components.truncate(k * d);
        m.singular_values.truncate(k);
        m.explained_variance.truncate(k);
        m.explained_variance_ratio.truncate(k);
        if let Some(p) = &mut m.f64_parts {
            p.components.truncate(k * d);
        }
        let scores = self.scores.as_ref().map(|s| {
            let kk = self.model.k();
            s.chunks(kk).flat_map(|r| r[..k].to_vec()).collect()
        });
        Ok(PcaModel {
            model: m,
            meta: PcaMeta {
                k,
                ..self.meta.clone()
            },
            scores,
        })
    }

    /// `(x - mean) @ components.T`, float64 `n x k`.
    fn transform<'py>(
        &self,
        py: Python<'py>,
        x: Matrix<'py>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let rows = x.rows(py)?;
        let (n, k) = (rows.nrows(), self.model.k());
        let z = blocking(py, || ops::transform_memory(&self.model, &rows, k))?;
        Ok(matrix_f64(py, z, n, k))
    }

    /// `z @ components + mean`, float64 `n x d`.
    fn inverse_transform<'py>(
        &self,
        py: Python<'py>,
        z: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let k = self.model.k();
        if z.shape()[1] != k {
            return Err(invalid(
                py,
                format!("expected {k} columns (n_components_), got {}", z.shape()[1]),
            ));
        }
        let n = z.shape()[0];
        let z = z
            .as_slice()
            .map_err(|_| invalid(py, "X must be C-contiguous"))?;
        let x = blocking(py, || ops::inverse_transform_memory(&self.model, z, k))?;
        Ok(matrix_f64(py, x, n, self.model.n_features))
    }

    /// Log-likelihood of each row under the probabilistic model.
    fn score_samples<'py>(
        &self,
        py: Python<'py>,
        x: Matrix<'py>,
        noise_variance: f64,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let rows = x.rows(py)?;
        let k = self.model.k();
        let ll = blocking(py, || {
            ops::score_memory(&self.model, &rows, k, noise_variance)
        })?;
        Ok(PyArray1::from_vec(py, ll))
    }

    /// scikit-learn's `noise_variance_`.
    fn noise_variance(&self) -> f64 {
        ops::sklearn_noise_variance(&self.model, self.model.k())
    }

    /// Components, float64 `k x d`.
    fn components<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        let k = self.model.k();
        matrix_f64(py, self.model.components_f64(k), k, self.model.n_features)
    }

    /// Mean, float64.
    fn mean<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_vec(py, self.model.mean_f64())
    }

    /// `(explained_variance, explained_variance_ratio, singular_values)`, float64.
    #[allow(clippy::type_complexity)]
    fn spectrum<'py>(
        &self,
        py: Python<'py>,
    ) -> (
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<f64>>,
    ) {
        (
            PyArray1::from_vec(py, self.model.explained_variance.clone()),
            PyArray1::from_vec(py, self.model.explained_variance_ratio.clone()),
            PyArray1::from_vec(py, self.model.singular_values.clone()),
        )
    }

    /// Training scores (float32 `n x k`) when the fit gave them.
    fn training_scores<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray2<f32>>> {
        let s = self.scores.as_ref()?;
        let k = self.model.k();
        Some(
            Array2::from_shape_vec((s.len() / k, k), s.clone())
                .expect("n x k")
                .into_pyarray(py),
        )
    }

    #[getter]
    fn n_components(&self) -> usize {
        self.model.k()
    }
    #[getter]
    fn n_samples(&self) -> usize {
        self.model.n_samples
    }
    #[getter]
    fn n_features(&self) -> usize {
        self.model.n_features
    }
    #[getter]
    fn total_variance(&self) -> f64 {
        self.model.total_variance
    }
    /// Whether the model keeps float64 parts (fitted on or stored as float64).
    #[getter]
    fn is_f64(&self) -> bool {
        self.model.f64_parts.is_some()
    }
    /// `pca.json`, as text.
    #[getter]
    fn meta_json(&self) -> String {
        serde_json::to_string(&self.meta).expect("serialises")
    }
}
