//! A matrix held by Python (on a cluster), known to the engine through its products;
//! and the products of one shard, which the cluster's workers compute in the engine.

use eigentechno::engine::pca::{MemoryRows, PcaError, RemoteRows, TallId};
use eigentechno::ops;
use ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

use crate::arrays::{Matrix, matrix_f64};
use crate::calls::{blocking_on, invalid};

/// The centred rows of a matrix held elsewhere, and the tall matrices the engine keeps
/// beside them, reached through a Python object's methods (the distributed front keeps
/// them in shards on a cluster): `times(W, target)`, `t_times(a)`, `gram(a, b)`,
/// `combine([(a, C), ...], target)`, `release(a)`, tall matrices named by integers.
pub(crate) struct PyRemote {
    pub(crate) shape: (usize, usize),
    pub(crate) rows: Py<PyAny>,
    /// The shards are float32 ([`RemoteRows::rows_are_f32`]).
    pub(crate) f32: bool,
}

fn to_numpy<'py>(py: Python<'py>, m: faer::MatRef<'_, f64>) -> Bound<'py, PyArray2<f64>> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)]).into_pyarray(py)
}

fn engine_error(e: PyErr) -> PcaError {
    if Python::attach(|py| e.is_instance_of::<PyKeyboardInterrupt>(py)) {
        PcaError::Interrupted
    } else {
        PcaError::Source(format!("a product on the cluster: {e}"))
    }
}

impl PyRemote {
    /// Call `method`; a returned array comes back as a faer matrix.
    fn call(
        &self,
        method: &str,
        args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyTuple>>,
        returns: bool,
    ) -> Result<Option<faer::Mat<f64>>, PcaError> {
        Python::attach(|py| -> PyResult<Option<faer::Mat<f64>>> {
            let out = self.rows.call_method1(py, method, args(py)?)?;
            if !returns {
                return Ok(None);
            }
            let out: PyReadonlyArray2<'_, f64> = out
                .extract(py)
                .map_err(|_| invalid(py, format!("{method} must return a 2-D float64 array")))?;
            let v = out.as_array();
            Ok(Some(faer::Mat::from_fn(v.nrows(), v.ncols(), |i, j| {
                v[(i, j)]
            })))
        })
        .map_err(engine_error)
    }
}

impl RemoteRows for PyRemote {
    fn shape(&self) -> (usize, usize) {
        self.shape
    }
    fn rows_are_f32(&self) -> bool {
        self.f32
    }
    fn times(&self, w: faer::Mat<f64>, target: TallId) -> Result<(), PcaError> {
        self.call(
            "times",
            move |py| {
                let w_np = to_numpy(py, w.as_ref());
                drop(w);
                (w_np, target).into_pyobject(py)
            },
            false,
        )?;
        Ok(())
    }
    fn t_times(&self, a: TallId) -> Result<faer::Mat<f64>, PcaError> {
        let out = self.call("t_times", |py| (a,).into_pyobject(py), true)?;
        Ok(out.expect("returns"))
    }
    fn gram(&self, a: TallId, b: TallId) -> Result<faer::Mat<f64>, PcaError> {
        let out = self.call("gram", |py| (a, b).into_pyobject(py), true)?;
        Ok(out.expect("returns"))
    }
    fn combine(
        &self,
        terms: &[(TallId, faer::MatRef<'_, f64>)],
        target: TallId,
    ) -> Result<(), PcaError> {
        self.call(
            "combine",
            |py| {
                let terms = terms
                    .iter()
                    .map(|(a, c)| (*a, to_numpy(py, *c)))
                    .collect::<Vec<_>>();
                (terms, target).into_pyobject(py)
            },
            false,
        )?;
        Ok(())
    }
    fn release(&self, a: TallId) {
        // Only frees memory on the cluster: a failure here loses nothing.
        let _ = self.call("release", |py| (a,).into_pyobject(py), false);
    }
}

fn contiguous<'a>(
    py: Python<'_>,
    name: &str,
    a: &'a PyReadonlyArray2<'_, f64>,
) -> PyResult<&'a [f64]> {
    a.as_slice()
        .map_err(|_| invalid(py, format!("{name} must be C-contiguous")))
}

/// `(rows, column means, centred sum of squares over all columns)` of one shard
/// (float32 or float64 rows), as one machine's first pass computes them; GIL released.
/// `threads`: the engine's threads for this call (0: one per core), for every shard
/// product below too.
#[pyfunction]
#[pyo3(signature = (x, threads=0))]
pub(crate) fn shard_column_stats<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    threads: usize,
) -> PyResult<(usize, Bound<'py, PyArray1<f64>>, f64)> {
    let rows = x.rows(py)?;
    let (n, mean, m2) = blocking_on(py, threads, || ops::shard_column_stats(&rows))?;
    Ok((n, mean.into_pyarray(py), m2))
}

type ProductFn = fn(&MemoryRows<'_>, &[f64], &[f64], usize) -> eigentechno::Result<Vec<f64>>;

/// One of the engine's products of a shard with a float64 matrix (both have the same
/// shape of call): the call, its other operand's name in errors, and whether the result
/// has a row per shard row (`X_i W`) or per column (`X_i^T Q_i`).
struct ShardProduct {
    call: ProductFn,
    other: &'static str,
    per_row: bool,
}

const TIMES: ShardProduct = ShardProduct {
    call: ops::shard_times,
    other: "W",
    per_row: true,
};

const T_TIMES: ShardProduct = ShardProduct {
    call: ops::shard_t_times,
    other: "Q",
    per_row: false,
};

/// One shard's `product` with `other`, GIL released, the engine on `threads`.
fn shard_product<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    mean: PyReadonlyArray1<'py, f64>,
    other: PyReadonlyArray2<'py, f64>,
    product: &ShardProduct,
    threads: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let rows = x.rows(py)?;
    let mean = mean.as_array().to_vec();
    let l = other.shape()[1];
    let out_rows = if product.per_row {
        rows_of(&x)
    } else {
        mean.len()
    };
    let other = contiguous(py, product.other, &other)?;
    let out = blocking_on(py, threads, || (product.call)(&rows, &mean, other, l))?;
    Ok(matrix_f64(py, out, out_rows, l))
}

/// `(X_i - mean) @ W` of one shard (float32 or float64 rows, float64 `W`), float64.
#[pyfunction]
#[pyo3(signature = (x, mean, w, threads=0))]
pub(crate) fn shard_times<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    mean: PyReadonlyArray1<'py, f64>,
    w: PyReadonlyArray2<'py, f64>,
    threads: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    shard_product(py, x, mean, w, &TIMES, threads)
}

/// `(X_i - mean).T @ Q_i` of one shard and its rows of `Q`, float64 `d x l`.
#[pyfunction]
#[pyo3(signature = (x, mean, q, threads=0))]
pub(crate) fn shard_t_times<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    mean: PyReadonlyArray1<'py, f64>,
    q: PyReadonlyArray2<'py, f64>,
    threads: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    shard_product(py, x, mean, q, &T_TIMES, threads)
}

/// `prev` (or zeros) plus columns `lo:hi` of `(X_i - mean).T @ (X_i - mean)`, float64,
/// the shard read `block` rows at a time (0: about 64 MiB).
#[pyfunction]
#[pyo3(signature = (x, mean, lo, hi, block=0, prev=None, threads=0))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn shard_covariance_tile<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    mean: PyReadonlyArray1<'py, f64>,
    lo: usize,
    hi: usize,
    block: usize,
    prev: Option<PyReadonlyArray2<'py, f64>>,
    threads: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let rows = x.rows(py)?;
    let mean = mean.as_array().to_vec();
    let d = mean.len();
    let prev = match &prev {
        Some(p) => Some(contiguous(py, "prev", p)?),
        None => None,
    };
    let out = blocking_on(py, threads, || {
        ops::shard_covariance_tile(&rows, &mean, lo, hi, block, prev)
    })?;
    Ok(matrix_f64(py, out, d, hi.saturating_sub(lo)))
}

fn rows_of(x: &Matrix<'_>) -> usize {
    match x {
        Matrix::F32(a) => a.shape()[0],
        Matrix::F64(a) => a.shape()[0],
    }
}
