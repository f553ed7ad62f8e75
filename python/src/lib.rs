//! `eigentechno._eigentechno`: the Python package's native module, a thin front over
//! `eigentechno::ops`. The package's Python files (`python/eigentechno/`) turn
//! arguments into contiguous float32/float64 arrays, give the docstrings and the
//! scikit-learn estimator; everything that computes is here, and runs with the GIL
//! released on a worker thread so that Ctrl-C interrupts it ([`blocking`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::time::{Duration, Instant};

use eigentechno::audio::MixDown;
use eigentechno::audio::stretch::StretchMethod;
use eigentechno::engine::conv::{Method as ConvMethod, Mode, Op};
use eigentechno::engine::corr::Ordering;
use eigentechno::engine::pca::{
    CentredProducts, ColumnStats, MemoryRows, Method, PcaError, PcaFit, PcaModel as EngineModel,
    PcaParams, Precision, RowSource, fit_covariance, fit_randomized_operator,
};
use eigentechno::ops::{self, IngestParams, TempoParams, TrackInput};
use eigentechno::store::NdArray;
use eigentechno::store::pca_model::PcaMeta;
use eigentechno::{Error, interrupt};
use ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDyn, PyReadonlyArray1, PyReadonlyArray2,
    PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// The exception for `e`, of the package's classes (`eigentechno._errors`): files give
/// `FileError` (an `OSError`), bad arrays and options `InvalidInputError` (a
/// `ValueError`), a track without a beat `NoRhythmError`, an interruption
/// `KeyboardInterrupt`. The message is the CLI's.
fn to_py(py: Python<'_>, e: Error) -> PyErr {
    if e.is_interrupted() {
        return PyKeyboardInterrupt::new_err("interrupted");
    }
    let message = e.to_string();
    let (class, filename) = match &e {
        Error::Io { path, .. }
        | Error::Decode { path, .. }
        | Error::InvalidData { path, .. }
        | Error::Encode { path, .. } => ("FileError", Some(path.clone())),
        Error::NoRhythm(_) => ("NoRhythmError", None),
        Error::Internal { .. } => ("InternalError", None),
        _ => ("InvalidInputError", None),
    };
    package_error(py, class, &message, filename.as_deref())
}

fn package_error(py: Python<'_>, class: &str, message: &str, filename: Option<&Path>) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let cls = py.import("eigentechno._errors")?.getattr(class)?;
        let err = cls.call1((message,))?;
        if let Some(f) = filename {
            err.setattr("filename", f.display().to_string())?;
        }
        Ok(PyErr::from_value(err))
    })();
    made.unwrap_or_else(|e| e)
}

fn invalid(py: Python<'_>, message: impl Into<String>) -> PyErr {
    package_error(py, "InvalidInputError", &message.into(), None)
}

/// Run `work` on a worker thread with the GIL released. Every 50 ms the calling thread
/// takes the GIL back to run Python's signal handlers: on Ctrl-C it asks the work to
/// stop ([`interrupt::request`]), waits for it (operations stop at their next check,
/// well within a second), and raises `KeyboardInterrupt`. A panic becomes
/// `InternalError`, never a crash.
fn blocking<T: Send>(
    py: Python<'_>,
    work: impl FnOnce() -> eigentechno::Result<T> + Send,
) -> PyResult<T> {
    let _running = Running::start();
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(0);
    let mut signal: Option<PyErr> = None;
    let joined = std::thread::scope(|scope| {
        let handle = scope.spawn(move || {
            // Dropped when the work returns or unwinds: the waiter sees a disconnect.
            let _done = done_tx;
            work()
        });
        loop {
            let finished = py.detach(|| {
                matches!(
                    done_rx.recv_timeout(Duration::from_millis(50)),
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected)
                )
            });
            if finished {
                break;
            }
            if signal.is_none()
                && let Err(e) = py.check_signals()
            {
                interrupt::request();
                signal = Some(e);
            }
        }
        handle.join()
    });
    if let Some(e) = signal {
        interrupt::clear();
        return Err(e);
    }
    match joined {
        Ok(result) => result.map_err(|e| to_py(py, e)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into());
            Err(package_error(
                py,
                "InternalError",
                &format!("internal error: {what}"),
                None,
            ))
        }
    }
}

/// Native calls running now, and the most there have been at once since the last
/// reset: the package's tests read it to show that calls from two Python threads run
/// side by side (the GIL is released), without timing anything.
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

struct Running;

impl Running {
    fn start() -> Running {
        let now = RUNNING.fetch_add(1, AtomicOrdering::SeqCst) + 1;
        PEAK.fetch_max(now, AtomicOrdering::SeqCst);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, AtomicOrdering::SeqCst);
    }
}

/// The most native calls that have run at once since the last call (then reset).
#[pyfunction]
fn _concurrency_peak() -> usize {
    PEAK.swap(RUNNING.load(AtomicOrdering::SeqCst), AtomicOrdering::SeqCst)
}

fn parse<T: std::str::FromStr>(py: Python<'_>, value: &str) -> PyResult<T>
where
    T::Err: std::fmt::Display,
{
    value.parse::<T>().map_err(|e| invalid(py, e.to_string()))
}

/// A C-contiguous float matrix from Python.
#[derive(FromPyObject)]
enum Matrix<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

impl Matrix<'_> {
    fn rows(&self, py: Python<'_>) -> PyResult<MemoryRows<'_>> {
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

fn matrix_f64(
    py: Python<'_>,
    values: Vec<f64>,
    rows: usize,
    cols: usize,
) -> Bound<'_, PyArray2<f64>> {
    Array2::from_shape_vec((rows, cols), values)
        .expect("shape matches the values")
        .into_pyarray(py)
}

/// `load(path, sr, mono) -> (samples, sr)`.
#[pyfunction]
#[pyo3(signature = (path, sr, mono))]
fn load<'py>(
    py: Python<'py>,
    path: PathBuf,
    sr: Option<u32>,
    mono: bool,
) -> PyResult<(Bound<'py, PyAny>, u32)> {
    let first = if mono { MixDown::Mean } else { MixDown::Left };
    let (signal, info) = blocking(py, || ops::load_audio(&path, sr, first))?;
    let rate = signal.rate;
    if mono || info.channels < 2 {
        return Ok((PyArray1::from_vec(py, signal.samples).into_any(), rate));
    }
    // Two channels: the right one decoded and resampled on its own.
    let (right, _) = blocking(py, || ops::load_audio(&path, sr, MixDown::Right))?;
    let left = signal.samples;
    let n = left.len().min(right.samples.len());
    let mut both = left[..n].to_vec();
    both.extend_from_slice(&right.samples[..n]);
    let a = Array2::from_shape_vec((2, n), both).expect("2 x n");
    Ok((a.into_pyarray(py).into_any(), rate))
}

fn tempo_options(
    py: Python<'_>,
    bpm_min: f64,
    bpm_max: f64,
    beats_per_bar: usize,
) -> PyResult<ops::TempoOptions> {
    TempoParams {
        bpm_min,
        bpm_max,
        beats_per_bar,
        ..TempoParams::default()
    }
    .check()
    .map_err(|e| to_py(py, e))
}

fn rhythm_dict<'py>(
    py: Python<'py>,
    r: eigentechno::audio::rhythm::Rhythm,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("bpm", r.bpm)?;
    d.set_item("confidence", r.confidence)?;
    d.set_item("runner_up_bpm", r.runner_up_bpm)?;
    d.set_item("beats", PyArray1::from_vec(py, r.beats))?;
    d.set_item("downbeats", PyArray1::from_vec(py, r.downbeats))?;
    d.set_item("drift", r.drift)?;
    let segments = PyList::empty(py);
    for s in &r.segments {
        let s = eigentechno::audio::rhythm::SegmentSummary::from(s);
        let e = PyDict::new(py);
        e.set_item("start", s.start)?;
        e.set_item("end", s.end)?;
        e.set_item("bpm", s.bpm)?;
        e.set_item("drift", s.drift)?;
        e.set_item("status", s.status.as_str())?;
        segments.append(e)?;
    }
    d.set_item("segments", segments)?;
    Ok(d)
}

/// Tempo, beats and downbeats of a file (as `eigentechno tempo --json`).
#[pyfunction]
#[pyo3(signature = (path, bpm_min, bpm_max, beats_per_bar))]
fn beat_track_file<'py>(
    py: Python<'py>,
    path: PathBuf,
    bpm_min: f64,
    bpm_max: f64,
    beats_per_bar: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = tempo_options(py, bpm_min, bpm_max, beats_per_bar)?;
    let r = blocking(py, || ops::tempo_of_file(&path, &opts))?;
    rhythm_dict(py, r)
}

/// Tempo, beats and downbeats of mono float32 samples at `sr` Hz.
#[pyfunction]
#[pyo3(signature = (y, sr, bpm_min, bpm_max, beats_per_bar))]
fn beat_track_samples<'py>(
    py: Python<'py>,
    y: PyReadonlyArray1<'py, f32>,
    sr: u32,
    bpm_min: f64,
    bpm_max: f64,
    beats_per_bar: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = tempo_options(py, bpm_min, bpm_max, beats_per_bar)?;
    if !(1_000..=768_000).contains(&sr) {
        return Err(invalid(
            py,
            format!("invalid sr: expected 1000 to 768000 Hz, got {sr}"),
        ));
    }
    let samples = y.as_array().to_vec();
    if samples.iter().any(|v| !v.is_finite()) {
        return Err(invalid(py, "y holds NaN or infinity"));
    }
    let r = blocking(py, move || ops::tempo_of_samples(samples, sr, &opts))?;
    rhythm_dict(py, r)
}

/// Ingest settings from Python's arguments, checked.
#[allow(clippy::too_many_arguments)]
fn ingest_options(
    py: Python<'_>,
    bpm: f64,
    rate: u32,
    stretch: &str,
    max_bars_per_track: usize,
    threads: usize,
    progress: bool,
    max_track_seconds: f64,
) -> PyResult<ops::IngestOptions> {
    IngestParams {
        bpm,
        rate,
        stretch: parse::<StretchMethod>(py, stretch)?,
        max_bars_per_track,
        threads,
        strict: false,
        progress,
        max_track_seconds,
    }
    .check()
    .map_err(|e| to_py(py, e))
}

/// What `ingest` hands Python: the bars, one dict per bar, and (file, why) per failure.
type Ingested<'py> = (
    Bound<'py, PyArray2<f32>>,
    Bound<'py, PyList>,
    Vec<(String, String)>,
);

/// Ingest into memory: `(bars, meta, failures)`.
#[pyfunction]
#[pyo3(signature = (paths, folder, bpm, rate, stretch, max_bars_per_track, threads, progress, max_track_seconds=0.0))]
#[allow(clippy::too_many_arguments)]
fn ingest<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    folder: bool,
    bpm: f64,
    rate: u32,
    stretch: &str,
    max_bars_per_track: usize,
    threads: usize,
    progress: bool,
    max_track_seconds: f64,
) -> PyResult<Ingested<'py>> {
    let opts = ingest_options(
        py,
        bpm,
        rate,
        stretch,
        max_bars_per_track,
        threads,
        progress,
        max_track_seconds,
    )?;
    let input = match (folder, paths.as_slice()) {
        (true, [one]) => TrackInput::Folder(one.clone()),
        _ => TrackInput::Files(paths),
    };
    let got = blocking(py, || ops::ingest_to_memory(&input, &opts))?;
    let meta = PyList::empty(py);
    for r in &got.rows {
        let d = PyDict::new(py);
        d.set_item("row", r.row)?;
        d.set_item("track", &r.track)?;
        d.set_item("bar", r.bar)?;
        d.set_item("start_s", r.start_s)?;
        d.set_item("bpm", r.bpm)?;
        d.set_item("tempo_confidence", r.tempo_confidence)?;
        d.set_item("downbeat_confidence", r.downbeat_confidence)?;
        d.set_item("stretch_ratio", r.stretch_ratio)?;
        d.set_item("segment", r.segment)?;
        meta.append(d)?;
    }
    let failures = got
        .report
        .tracks
        .iter()
        .filter(|t| t.status.is_failure())
        .map(|t| (t.path.clone(), t.error.clone().unwrap_or_default()))
        .collect();
    Ok((got.bars.into_pyarray(py), meta, failures))
}

/// The audio files under a folder (by content, sorted by path), as ingest lists them.
#[pyfunction]
fn list_tracks(py: Python<'_>, folder: PathBuf) -> PyResult<Vec<PathBuf>> {
    let tracks = blocking(py, || ops::list_tracks(&folder, true))?;
    Ok(tracks.into_iter().map(|t| t.path).collect())
}

/// Ingest these files into `out` (`out/matrix/{bars.npy, bars.csv, report.json}`,
/// resumable): the run's summary (JSON text).
#[pyfunction]
#[pyo3(signature = (paths, out, bpm, rate, stretch, max_bars_per_track, threads, progress, max_track_seconds=0.0))]
#[allow(clippy::too_many_arguments)]
fn ingest_to_dir(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    out: PathBuf,
    bpm: f64,
    rate: u32,
    stretch: &str,
    max_bars_per_track: usize,
    threads: usize,
    progress: bool,
    max_track_seconds: f64,
) -> PyResult<String> {
    let opts = ingest_options(
        py,
        bpm,
        rate,
        stretch,
        max_bars_per_track,
        threads,
        progress,
        max_track_seconds,
    )?;
    let report = blocking(py, || {
        ops::ingest_to_dir(&TrackInput::Files(paths), &out, &opts)
    })?;
    // The report is what the run wrote as summary.json.
    Ok(serde_json::to_string(&report).expect("serialises"))
}

/// The centred products of a matrix held elsewhere, computed by two Python callables
/// (the distributed front sums them over shards on a cluster).
struct PyProducts {
    shape: (usize, usize),
    times: Py<PyAny>,
    t_times: Py<PyAny>,
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

/// An n-d float array from Python, either precision.
#[derive(FromPyObject)]
enum Array<'py> {
    F32(PyReadonlyArrayDyn<'py, f32>),
    F64(PyReadonlyArrayDyn<'py, f64>),
}

impl Array<'_> {
    fn owned(&self) -> NdArray {
        match self {
            Array::F32(a) => NdArray::F32(a.as_array().to_owned()),
            Array::F64(a) => NdArray::F64(a.as_array().to_owned()),
        }
    }
}

fn into_py_array(py: Python<'_>, a: NdArray) -> Bound<'_, PyAny> {
    match a {
        NdArray::F32(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        NdArray::F64(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
    }
}

/// Correlation or convolution with scipy.signal's semantics.
#[pyfunction]
#[pyo3(signature = (a, b, op, mode, method))]
fn apply<'py>(
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

/// `corrmatrix(X, order, out) -> (C, order)`, drawing the heatmap when `out` is given.
#[pyfunction]
#[pyo3(signature = (x, order, out))]
fn corrmatrix<'py>(
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

/// Kernel pictures of trained weights: the report (JSON text).
#[pyfunction]
fn kernels(py: Python<'_>, path: PathBuf, out: PathBuf) -> PyResult<String> {
    let report = blocking(py, || {
        ops::kernels_of_file(&path, &out, &ops::KernelOptions::default())
    })?;
    Ok(serde_json::to_string(&report).expect("serialises"))
}

/// The listening WAVs of a model folder.
#[pyfunction]
fn listen(py: Python<'_>, model: PathBuf, out: PathBuf) -> PyResult<Vec<PathBuf>> {
    blocking(py, || {
        ops::listen_to_dir(&model, &out, &ops::ListenOptions::default())
    })
}

/// The figures of a model folder (singular values, variance, spectra).
#[pyfunction]
fn figures(py: Python<'_>, model: PathBuf, out: PathBuf) -> PyResult<Vec<PathBuf>> {
    blocking(py, || {
        ops::figures_to_dir(&model, &out, &ops::FigureOptions::default())
    })
}

/// The outlier ranking of the bars a model was fitted on (`outliers.csv`, WAVs).
#[pyfunction]
fn outliers(py: Python<'_>, model: PathBuf, out: PathBuf) -> PyResult<Vec<PathBuf>> {
    blocking(py, || {
        ops::outliers_to_dir(&model, &out, &ops::OutlierOptions::default())
    })
}

/// The explorer page of a run folder.
#[pyfunction]
fn explore(py: Python<'_>, dir: PathBuf) -> PyResult<PathBuf> {
    blocking(py, || ops::explore(&dir))
}

/// Run a pipeline: `(summary.json text, output folder)`.
#[pyfunction]
#[pyo3(signature = (pipeline, out, overrides, progress, threads=0))]
fn run(
    py: Python<'_>,
    pipeline: PathBuf,
    out: Option<PathBuf>,
    overrides: Vec<String>,
    progress: bool,
    threads: usize,
) -> PyResult<(String, PathBuf)> {
    let settings = ops::RunSettings {
        out,
        threads: (threads > 0).then_some(threads),
        strict: false,
        quiet: !progress,
        max_track_seconds: None,
    };
    let outcome = blocking(py, || ops::run_file(&pipeline, &overrides, &settings))?;
    // The report is what the run wrote as summary.json.
    let text = serde_json::to_string(&outcome.report).expect("serialises");
    Ok((text, outcome.out_dir))
}

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
struct PcaModel {
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
        if let Some(q) = power_iterations {
            params.power_iterations = q;
        }
        let rows = x.rows(py)?;
        fitted(py, &params, || ops::fit_memory(&rows, &params))
    }

    /// The randomized method on a matrix known through `times(W) = Xc @ W` and
    /// `t_times(Q) = Xc.T @ Q` (float64 callables), with its column means and total
    /// variance.
    #[staticmethod]
    #[pyo3(signature = (n, mean, total_variance, times, t_times, k, seed, power_iterations=None))]
    #[allow(clippy::too_many_arguments)]
    fn fit_operator(
        py: Python<'_>,
        n: usize,
        mean: PyReadonlyArray1<'_, f64>,
        total_variance: f64,
        times: Py<PyAny>,
        t_times: Py<PyAny>,
        k: usize,
        seed: u64,
        power_iterations: Option<usize>,
    ) -> PyResult<PcaModel> {
        let mean = mean.as_array().to_vec();
        let mut params = PcaParams {
            k: Some(k),
            method: Method::Randomized,
            precision: Precision::F64,
            seed,
            ..PcaParams::default()
        };
        if let Some(q) = power_iterations {
            params.power_iterations = q;
        }
        let products = PyProducts {
            shape: (n, mean.len()),
            times,
            t_times,
        };
        let stats = ColumnStats {
            mean,
            total_variance,
            dropped_rows: Vec::new(),
            rows: n,
        };
        fitted(py, &params, || {
            fit_randomized_operator(&products, stats, &params).map_err(Error::Pca)
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

#[pymodule]
fn _eigentechno(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(beat_track_file, m)?)?;
    m.add_function(wrap_pyfunction!(beat_track_samples, m)?)?;
    m.add_function(wrap_pyfunction!(ingest, m)?)?;
    m.add_function(wrap_pyfunction!(apply, m)?)?;
    m.add_function(wrap_pyfunction!(corrmatrix, m)?)?;
    m.add_function(wrap_pyfunction!(kernels, m)?)?;
    m.add_function(wrap_pyfunction!(listen, m)?)?;
    m.add_function(wrap_pyfunction!(explore, m)?)?;
    m.add_function(wrap_pyfunction!(figures, m)?)?;
    m.add_function(wrap_pyfunction!(outliers, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(_concurrency_peak, m)?)?;
    m.add_function(wrap_pyfunction!(list_tracks, m)?)?;
    m.add_function(wrap_pyfunction!(ingest_to_dir, m)?)?;
    m.add_class::<PcaModel>()?;
    Ok(())
}
