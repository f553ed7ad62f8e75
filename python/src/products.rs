//! A matrix held by Python (on a cluster), known to the engine through its products.

use eigentechno::engine::pca::{CentredProducts, PcaError};
use ndarray::Array2;
use numpy::{IntoPyArray, PyReadonlyArray2};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

use crate::calls::invalid;

/// The centred products of a matrix held elsewhere, computed by two Python callables
/// (the distributed front sums them over shards on a cluster).
pub(crate) struct PyProducts {
    pub(crate) shape: (usize, usize),
    pub(crate) times: Py<PyAny>,
    pub(crate) t_times: Py<PyAny>,
}

impl PyProducts {
    fn call(
        &self,
        f: &Py<PyAny>,
        m: faer::MatRef<'_, f64>,
        rows: usize,
    ) -> Result<faer::Mat<f64>, PcaError> {
        Python::attach(|py| -> PyResult<faer::Mat<f64>> {
            let a = Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)]);
            let out = f.call1(py, (a.into_pyarray(py),))?;
            let out: PyReadonlyArray2<'_, f64> = out.extract(py)?;
            let v = out.as_array();
            if v.shape() != [rows, m.ncols()] {
                return Err(invalid(
                    py,
                    format!(
                        "a product of shape {:?}, expected ({rows}, {})",
                        v.shape(),
                        m.ncols()
                    ),
                ));
            }
            Ok(faer::Mat::from_fn(rows, m.ncols(), |i, j| v[(i, j)]))
        })
        .map_err(|e| {
            if Python::attach(|py| e.is_instance_of::<PyKeyboardInterrupt>(py)) {
                PcaError::Interrupted
            } else {
                PcaError::Source(format!("computing a product: {e}"))
            }
        })
    }
}

impl CentredProducts for PyProducts {
    fn shape(&self) -> (usize, usize) {
        self.shape
    }
    fn times(&self, w: faer::MatRef<'_, f64>) -> Result<faer::Mat<f64>, PcaError> {
        self.call(&self.times, w, self.shape.0)
    }
    fn t_times(&self, q: faer::MatRef<'_, f64>) -> Result<faer::Mat<f64>, PcaError> {
        self.call(&self.t_times, q, self.shape.1)
    }
}
