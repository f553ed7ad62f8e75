//! A pipeline file run end to end.

use std::path::PathBuf;

use eigentechno::ops;
use pyo3::prelude::*;

use crate::calls::blocking;

/// Run a pipeline: `(summary.json text, output folder)`.
#[pyfunction]
#[pyo3(signature = (pipeline, out, overrides, progress, threads=0))]
pub(crate) fn run(
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
