//! Audio files decoded into samples.

use std::path::PathBuf;

use eigentechno::audio::MixDown;
use eigentechno::ops;
use ndarray::Array2;
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;

use crate::calls::blocking;

/// `load(path, sr, mono) -> (samples, sr)`.
#[pyfunction]
#[pyo3(signature = (path, sr, mono))]
pub(crate) fn load<'py>(
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
