//! Learning: the fitted model behind the Python `SKMClassifier` (fitted in memory, its
//! state as learn.json text and safetensors bytes for pickling), and `learn_fit`, the
//! CLI's `learn fit` on files.

use std::path::PathBuf;

use eigentechno::learn::{DiffusionParams, FitParams, InputShape, Inputs, Predictions};
use eigentechno::ops;
use eigentechno::ops::learn::{LabelledData, LearnRecord, LearnedModel, fit_model, thread_pool};
use ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::calls::{blocking, invalid, parse};

/// The options of a fit, as the estimator and `learn_fit` pass them.
#[allow(clippy::too_many_arguments)]
fn options(
    py: Python<'_>,
    head: &str,
    net: &str,
    epochs: usize,
    batch: usize,
    support: usize,
    embed: usize,
    hidden: usize,
    seed: u64,
    learning_rate: f64,
    weight_decay: f64,
    augment: &str,
    dropout: f64,
) -> PyResult<FitParams> {
    Ok(FitParams {
        head: parse(py, head)?,
        net: parse(py, net)?,
        epochs,
        batch,
        support,
        embed,
        hidden,
        seed,
        learning_rate,
        weight_decay,
        augment: parse(py, augment)?,
        dropout,
    })
}

fn rows(py: Python<'_>, x: &PyReadonlyArray2<'_, f32>) -> PyResult<Inputs> {
    let (n, d) = (x.shape()[0], x.shape()[1]);
    let values = x
        .as_slice()
        .map_err(|_| invalid(py, "X must be C-contiguous"))?
        .to_vec();
    if n == 0 || d == 0 {
        return Err(invalid(py, format!("X is empty ({n} x {d})")));
    }
    Inputs::new(values, InputShape::Vector { features: d })
        .map_err(|e| invalid(py, format!("X: {e}")))
}

fn matrix(py: Python<'_>, values: Vec<f32>, cols: usize) -> Bound<'_, PyArray2<f32>> {
    let n = values.len() / cols.max(1);
    Array2::from_shape_vec((n, cols), values)
        .expect("shape matches the values")
        .into_pyarray(py)
}

/// A trained classifier (learn.json's record and the weights), held for the Python
/// `SKMClassifier`.
#[pyclass(module = "eigentechno._eigentechno", name = "LearnedModel", frozen)]
pub(crate) struct PyLearnedModel {
    inner: LearnedModel,
}

impl PyLearnedModel {
    fn predictions(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f32>) -> PyResult<Predictions> {
        let mut inputs = rows(py, &x)?;
        // An image model takes its images as flat rows of the same length.
        let takes = self.inner.record.architecture.input;
        if inputs.shape.len() == takes.len() {
            inputs.shape = takes;
        }
        self.inner
            .check_inputs(&inputs)
            .map_err(|e| invalid(py, format!("X: {e}")))?;
        let threads = self.inner.record.threads;
        blocking(py, || {
            Ok(thread_pool(threads)?.install(|| self.inner.predict(&inputs)))
        })
    }
}

#[pymethods]
impl PyLearnedModel {
    /// Fit to rows `x` (float32, C-contiguous) and class indices `y` (0..C-1, every
    /// class present), off the GIL on `threads` threads (0: every core).
    #[staticmethod]
    #[pyo3(signature = (x, y, head, net, epochs, batch, support, embed, hidden, seed, learning_rate, weight_decay, threads))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        y: PyReadonlyArray1<'_, i64>,
        head: &str,
        net: &str,
        epochs: usize,
        batch: usize,
        support: usize,
        embed: usize,
        hidden: usize,
        seed: u64,
        learning_rate: f64,
        weight_decay: f64,
        threads: usize,
    ) -> PyResult<PyLearnedModel> {
        let params = options(
            py,
            head,
            net,
            epochs,
            batch,
            support,
            embed,
            hidden,
            seed,
            learning_rate,
            weight_decay,
            "none",
            FitParams::default().dropout,
        )?;
        let train = LabelledData {
            inputs: rows(py, &x)?,
            labels: y.as_array().iter().copied().collect(),
            source: "a matrix from Python".into(),
        };
        if train.labels.len() != train.inputs.rows() {
            return Err(invalid(
                py,
                format!(
                    "{} labels for {} rows",
                    train.labels.len(),
                    train.inputs.rows()
                ),
            ));
        }
        let inner = blocking(py, || {
            thread_pool(threads)?.install(|| fit_model(&train, None, &params, &mut |_| {}))
        })?;
        Ok(PyLearnedModel { inner })
    }

    /// A model from `state()`'s text and bytes.
    #[staticmethod]
    fn from_state(py: Python<'_>, record: &str, weights: Vec<u8>) -> PyResult<PyLearnedModel> {
        let record: LearnRecord = serde_json::from_str(record)
            .map_err(|e| invalid(py, format!("not a model state eigentechno wrote: {e}")))?;
        let inner = LearnedModel::from_weights(record, weights).map_err(|e| invalid(py, e))?;
        Ok(PyLearnedModel { inner })
    }

    /// learn.json's text and the safetensors bytes.
    fn state<'py>(&self, py: Python<'py>) -> PyResult<(String, Bound<'py, PyBytes>)> {
        let json = serde_json::to_string(&self.inner.record).expect("serialisable");
        let bytes = self.inner.weights().map_err(|e| invalid(py, e))?;
        Ok((json, PyBytes::new(py, &bytes)))
    }

    /// Open a `learn fit` folder (learn.json, model.safetensors).
    #[staticmethod]
    fn load(py: Python<'_>, dir: PathBuf) -> PyResult<PyLearnedModel> {
        let inner = blocking(py, || ops::learn::load_learned(&dir))?;
        Ok(PyLearnedModel { inner })
    }

    /// (probabilities, confidence, scores, embedding) of rows `x`.
    #[allow(clippy::type_complexity)]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<(
        Bound<'py, PyArray2<f32>>,
        Bound<'py, PyAny>,
        Bound<'py, PyArray2<f32>>,
        Bound<'py, PyArray2<f32>>,
    )> {
        let p = self.predictions(py, x)?;
        let c = p.classes;
        Ok((
            matrix(py, p.probabilities, c),
            p.confidence.into_pyarray(py).into_any(),
            matrix(py, p.scores, c),
            matrix(py, p.embedding, p.embed),
        ))
    }

    /// The SKM layer's support points in the embedding, (M, D), or None.
    fn support_points<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray2<f32>>> {
        let s = self.inner.model.skm()?;
        let d = self.inner.record.architecture.embed;
        let v = s
            .support
            .val()
            .into_data()
            .try_into_vec::<f32>()
            .expect("f32 weights");
        Some(matrix(py, v, d))
    }

    /// The class labels as the training data wrote them.
    #[getter]
    fn classes(&self) -> Vec<i64> {
        self.inner.record.classes.clone()
    }

    /// learn.json's text.
    #[getter]
    fn record(&self) -> String {
        serde_json::to_string(&self.inner.record).expect("serialisable")
    }
}

/// `eigentechno learn fit DATA --out DIR ...`: returns learn.json's text, or with
/// `replicas` (`--diffusion K`), diffusion.json's.
#[pyfunction]
#[pyo3(signature = (data, out, labels, head, net, epochs, batch, support, embed, hidden, seed, learning_rate, weight_decay, augment, dropout, threads, replicas=None, coupling=0.5, exchange=10, topology="ring"))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn learn_fit(
    py: Python<'_>,
    data: PathBuf,
    out: PathBuf,
    labels: Option<PathBuf>,
    head: &str,
    net: &str,
    epochs: usize,
    batch: usize,
    support: usize,
    embed: usize,
    hidden: usize,
    seed: u64,
    learning_rate: f64,
    weight_decay: f64,
    augment: &str,
    dropout: f64,
    threads: usize,
    replicas: Option<usize>,
    coupling: f64,
    exchange: usize,
    topology: &str,
) -> PyResult<String> {
    let params = options(
        py,
        head,
        net,
        epochs,
        batch,
        support,
        embed,
        hidden,
        seed,
        learning_rate,
        weight_decay,
        augment,
        dropout,
    )?;
    if let Some(replicas) = replicas {
        let diffusion = DiffusionParams {
            replicas,
            coupling,
            exchange,
            topology: parse(py, topology)?,
        };
        let outcome = blocking(py, || {
            ops::learn_ensemble::learn_diffuse(
                &data,
                labels.as_deref(),
                &out,
                &params,
                &diffusion,
                threads,
                &mut |_| {},
            )
        })?;
        return Ok(serde_json::to_string(&outcome.record).expect("serialisable"));
    }
    let outcome = blocking(py, || {
        ops::learn::learn_fit(
            &data,
            labels.as_deref(),
            &out,
            &params,
            threads,
            &mut |_| {},
        )
    })?;
    Ok(serde_json::to_string(&outcome.record).expect("serialisable"))
}

/// `eigentechno learn cv DATA --out DIR --folds K ...`: returns cv.json's text.
#[pyfunction]
#[pyo3(signature = (data, out, labels, head, net, epochs, batch, support, embed, hidden, seed, learning_rate, weight_decay, augment, dropout, threads, folds))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn learn_cv(
    py: Python<'_>,
    data: PathBuf,
    out: PathBuf,
    labels: Option<PathBuf>,
    head: &str,
    net: &str,
    epochs: usize,
    batch: usize,
    support: usize,
    embed: usize,
    hidden: usize,
    seed: u64,
    learning_rate: f64,
    weight_decay: f64,
    augment: &str,
    dropout: f64,
    threads: usize,
    folds: usize,
) -> PyResult<String> {
    let params = options(
        py,
        head,
        net,
        epochs,
        batch,
        support,
        embed,
        hidden,
        seed,
        learning_rate,
        weight_decay,
        augment,
        dropout,
    )?;
    let outcome = blocking(py, || {
        ops::learn_ensemble::learn_cv(
            &data,
            labels.as_deref(),
            &out,
            &params,
            folds,
            threads,
            &mut |_| {},
        )
    })?;
    Ok(serde_json::to_string(&outcome.record).expect("serialisable"))
}
