//! Tempo, beats, downbeats and segments of a file or of samples.

use std::path::PathBuf;

use eigentechno::ops::{self, TempoParams};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::calls::{blocking, invalid, to_py};

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
    d.set_item("downbeat_confidence", r.downbeat_confidence)?;
    for s in &r.segments {
        let s = eigentechno::audio::rhythm::SegmentSummary::of(s, &r.phase_confidence);
        let e = PyDict::new(py);
        e.set_item("start", s.start)?;
        e.set_item("end", s.end)?;
        e.set_item("bpm", s.bpm)?;
        e.set_item("drift", s.drift)?;
        e.set_item("status", s.status.as_str())?;
        e.set_item("downbeat_confidence", s.downbeat_confidence)?;
        segments.append(e)?;
    }
    d.set_item("segments", segments)?;
    Ok(d)
}

/// Tempo, beats and downbeats of a file (as `eigentechno tempo --json`).
#[pyfunction]
#[pyo3(signature = (path, bpm_min, bpm_max, beats_per_bar))]
pub(crate) fn beat_track_file<'py>(
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
pub(crate) fn beat_track_samples<'py>(
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
