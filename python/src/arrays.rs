//! Float arrays between numpy and the engine: matrices and n-d arrays in, arrays out.

use eigentechno::Error;
use eigentechno::engine::pca::MemoryRows;
use eigentechno::store::NdArray;
use ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray2, PyArrayDyn, PyReadonlyArray2, PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use crate::calls::{invalid, to_py};

/// A C-contiguous float matrix from Python.
#[derive(FromPyObject)]
pub(crate) enum Matrix<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

impl Matrix<'_> {
    pub(crate) fn rows(&self, py: Python<'_>) -> PyResult<MemoryRows<'_>> {
        let not_contiguous = |_| invalid(py, "X must be C-contiguous");
        let made = match self {
            Matrix::F32(a) => {
                let (n, d) = (a.shape()[0], a.shape()[1]);
                MemoryRows::f32(a.as_slice().map_err(not_contiguous)?, n, d)
            }
            Matrix::F64(a) => {
                let (n, d) = (a.shape()[0], a.shape()[1]);
                MemoryRows::f64(a.as_slice().map_err(not_contiguous)?, n, d)
            }
        };
        made.map_err(|e| to_py(py, Error::Pca(e)))
    }
}

pub(crate) fn matrix_f64(
    py: Python<'_>,
    values: Vec<f64>,
    rows: usize,
    cols: usize,
) -> Bound<'_, PyArray2<f64>> {
    Array2::from_shape_vec((rows, cols), values)
        .expect("shape matches the values")
        .into_pyarray(py)
}

/// An n-d float array from Python, either precision.
#[derive(FromPyObject)]
pub(crate) enum Array<'py> {
    F32(PyReadonlyArrayDyn<'py, f32>),
    F64(PyReadonlyArrayDyn<'py, f64>),
}

impl Array<'_> {
    pub(crate) fn owned(&self) -> NdArray {
        match self {
            Array::F32(a) => NdArray::F32(a.as_array().to_owned()),
            Array::F64(a) => NdArray::F64(a.as_array().to_owned()),
        }
    }
}

pub(crate) fn into_py_array(py: Python<'_>, a: NdArray) -> Bound<'_, PyAny> {
    match a {
        NdArray::F32(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        NdArray::F64(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
    }
}
