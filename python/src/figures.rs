//! What trained weights, a model folder or a run folder are turned into for people:
//! kernel pictures, listening WAVs, figures, the outlier ranking, the explorer page.

use std::path::PathBuf;

use eigentechno::ops;
use pyo3::prelude::*;

use crate::calls::blocking;

/// Kernel pictures of trained weights: the report (JSON text).
#[pyfunction]
pub(crate) fn kernels(py: Python<'_>, path: PathBuf, out: PathBuf) -> PyResult<String> {
    let report = blocking(py, || {
        ops::kernels_of_file(&path, &out, &ops::KernelOptions::default())
    })?;
    Ok(serde_json::to_string(&report).expect("serialises"))
}

/// The listening WAVs of a model folder.
#[pyfunction]
pub(crate) fn listen(py: Python<'_>, model: PathBuf, out: PathBuf) -> PyResult<Vec<PathBuf>> {
    blocking(py, || {
        ops::listen_to_dir(&model, &out, &ops::ListenOptions::default())
    })
}

/// The figures of a model folder (singular values, variance, spectra).
#[pyfunction]
pub(crate) fn figures(py: Python<'_>, model: PathBuf, out: PathBuf) -> PyResult<Vec<PathBuf>> {
    blocking(py, || {
        ops::figures_to_dir(&model, &out, &ops::FigureOptions::default())
    })
}

/// The outlier ranking of the bars a model was fitted on (`outliers.csv`, WAVs).
#[pyfunction]
pub(crate) fn outliers(py: Python<'_>, model: PathBuf, out: PathBuf) -> PyResult<Vec<PathBuf>> {
    blocking(py, || {
        ops::outliers_to_dir(&model, &out, &ops::OutlierOptions::default())
    })
}

/// The explorer page of a run folder.
#[pyfunction]
pub(crate) fn explore(py: Python<'_>, dir: PathBuf) -> PyResult<PathBuf> {
    blocking(py, || ops::explore(&dir))
}
