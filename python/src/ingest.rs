//! Ingest: tracks cut into tempo-normalised bars, in memory or into a folder.

use std::path::PathBuf;

use eigentechno::audio::stretch::StretchMethod;
use eigentechno::ops::{self, IngestParams, TrackInput};
use numpy::{IntoPyArray, PyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::calls::{blocking, parse, to_py};

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
pub(crate) fn ingest<'py>(
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
pub(crate) fn list_tracks(py: Python<'_>, folder: PathBuf) -> PyResult<Vec<PathBuf>> {
    let tracks = blocking(py, || ops::list_tracks(&folder, true))?;
    Ok(tracks.into_iter().map(|t| t.path).collect())
}

/// Ingest these files into `out` (`out/matrix/{bars.npy, bars.csv, report.json}`,
/// resumable): the run's summary (JSON text).
#[pyfunction]
#[pyo3(signature = (paths, out, bpm, rate, stretch, max_bars_per_track, threads, progress, max_track_seconds=0.0))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ingest_to_dir(
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
