//! Correlation and convolution of n-d arrays.

use eigentechno::engine::conv::{Method as ConvMethod, Mode, Op};
use eigentechno::ops;
use eigentechno::store::NdArray;
use pyo3::prelude::*;

use crate::arrays::{Array, into_py_array};
use crate::calls::{blocking, parse, to_py};

/// Correlation or convolution with scipy.signal's semantics.
#[pyfunction]
#[pyo3(signature = (a, b, op, mode, method))]
pub(crate) fn apply<'py>(
    py: Python<'py>,
    a: Array<'py>,
    b: Array<'py>,
    op: &str,
    mode: &str,
    method: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let (op, mode, method) = (
        parse::<Op>(py, op)?,
        parse::<Mode>(py, mode)?,
        parse::<ConvMethod>(py, method)?,
    );
    let (a, b) = (a.owned(), b.owned());
    let work = || ops::apply_arrays(&a, &b, op, mode, method);
    // Small problems run in place; big ones where Ctrl-C can reach them.
    let size = |a: &NdArray| a.shape().iter().product::<usize>();
    let out = if size(&a) * size(&b) <= 1 << 20 {
        py.detach(work).map_err(|e| to_py(py, e))?
    } else {
        blocking(py, work)?
    };
    Ok(into_py_array(py, out))
}
