//! de Bruijn sequences (the keypad riddle): text for an alphabet of characters,
//! uint8 symbol indices for a count.

use eigentechno::engine::debruijn::Algorithm;
use eigentechno::ops::{DeBruijnJobParams, Symbols};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::calls::{blocking, parse, to_py};

/// The sequence over `symbols` (a str back) or, without them, over `k` symbols
/// (uint8 indices back). Generated with the GIL released.
#[pyfunction]
#[pyo3(signature = (symbols, k, n, cyclic, algorithm))]
pub(crate) fn de_bruijn<'py>(
    py: Python<'py>,
    symbols: Option<String>,
    k: usize,
    n: usize,
    cyclic: bool,
    algorithm: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let algorithm: Algorithm = parse(py, algorithm)?;
    let text = symbols.is_some();
    let job = DeBruijnJobParams {
        symbols: symbols.map_or(Symbols::Count(k), Symbols::Chars),
        order: n,
        cyclic,
        up_to: false,
        algorithm,
    }
    .check()
    .map_err(|e| to_py(py, e))?;
    if text {
        let s = blocking(py, || job.text())?;
        Ok(PyString::new(py, &s).into_any())
    } else {
        let v = blocking(py, || job.indices())?;
        Ok(PyArray1::from_vec(py, v).into_any())
    }
}
