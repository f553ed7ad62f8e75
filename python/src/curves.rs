//! Polynomial curves compared by how they look: the RMS difference over a domain
//! (`poly_distance`), the embedding in which it is Euclidean (`poly_embedding`), and a
//! least-squares fit (`poly_fit`). The package's Python file checks shapes and
//! dtypes; the checks here are the engine's own (NaN, the domain, the degree).

use eigentechno::engine::poly::Basis;
use eigentechno::ops;
use numpy::{PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::arrays::matrix_f64;
use crate::calls::{invalid, parse, to_py};

fn slice<'a>(py: Python<'_>, a: &'a PyReadonlyArray1<'_, f64>, name: &str) -> PyResult<&'a [f64]> {
    a.as_slice()
        .map_err(|_| invalid(py, format!("{name} must be contiguous")))
}

/// `poly_distance(a, b, lo, hi, basis) -> float`.
#[pyfunction]
pub(crate) fn poly_distance(
    py: Python<'_>,
    a: PyReadonlyArray1<'_, f64>,
    b: PyReadonlyArray1<'_, f64>,
    lo: f64,
    hi: f64,
    basis: &str,
) -> PyResult<f64> {
    let basis = parse::<Basis>(py, basis)?;
    ops::poly_distance(slice(py, &a, "a")?, slice(py, &b, "b")?, (lo, hi), basis)
        .map_err(|e| to_py(py, e))
}

/// `poly_embedding(rows, lo, hi, basis) -> rows`.
#[pyfunction]
pub(crate) fn poly_embedding<'py>(
    py: Python<'py>,
    rows: PyReadonlyArray2<'py, f64>,
    lo: f64,
    hi: f64,
    basis: &str,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let basis = parse::<Basis>(py, basis)?;
    let (n, d) = (rows.shape()[0], rows.shape()[1]);
    let values = rows
        .as_slice()
        .map_err(|_| invalid(py, "coeffs must be C-contiguous"))?;
    let out = ops::poly_embedding(values, d, (lo, hi), basis).map_err(|e| to_py(py, e))?;
    Ok(matrix_f64(py, out, n, d))
}

/// `poly_fit(x, ys, degree, domain, basis) -> rows of degree + 1 coefficients`.
#[pyfunction]
#[pyo3(signature = (x, ys, degree, domain, basis))]
pub(crate) fn poly_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray1<'py, f64>,
    ys: PyReadonlyArray2<'py, f64>,
    degree: usize,
    domain: Option<(f64, f64)>,
    basis: &str,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let basis = parse::<Basis>(py, basis)?;
    let d = ys.shape()[1];
    let values = ys
        .as_slice()
        .map_err(|_| invalid(py, "y must be C-contiguous"))?;
    let rows: Vec<Vec<f64>> = values.chunks(d.max(1)).map(<[f64]>::to_vec).collect();
    let fits = ops::poly_fit(slice(py, &x, "x")?, &rows, degree, domain, basis)
        .map_err(|e| to_py(py, e))?;
    let n = fits.len();
    Ok(matrix_f64(py, fits.concat(), n, degree + 1))
}
