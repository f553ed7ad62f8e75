//! The correlation matrix of a matrix's columns, and its heatmap.

use std::path::{Path, PathBuf};

use eigentechno::engine::corr::Ordering;
use eigentechno::engine::pca::RowSource;
use eigentechno::ops;
use numpy::PyArray2;
use pyo3::prelude::*;

use crate::arrays::{Matrix, matrix_f64};
use crate::calls::{blocking, parse};

/// `corrmatrix(X, order, out) -> (C, order)`, drawing the heatmap when `out` is given.
#[pyfunction]
#[pyo3(signature = (x, order, out))]
pub(crate) fn corrmatrix<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    order: &str,
    out: Option<PathBuf>,
) -> PyResult<(Bound<'py, PyArray2<f64>>, Vec<usize>)> {
    let ordering = parse::<Ordering>(py, order)?;
    let rows = x.rows(py)?;
    let d = rows.ncols();
    let (c, ord) = blocking(py, || {
        let (c, ord) = ops::corrmatrix_of_rows(&rows, ordering)?;
        if let Some(out) = &out {
            let opts = ops::CorrParams {
                order: ordering,
                ..Default::default()
            }
            .check()?;
            ops::corrmatrix_to_file(&rows, Path::new("(array)"), None, out, &opts)?;
        }
        Ok((c, ord))
    })?;
    Ok((matrix_f64(py, c, d, d), ord))
}
