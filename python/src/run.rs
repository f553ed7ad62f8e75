//! A pipeline file run end to end.

use std::path::PathBuf;

use eigentechno::ops;
use pyo3::prelude::*;

use crate::calls::{blocking, invalid};

/// Run a pipeline: `(summary.json text, output folder)`. `supplied` gives results made
/// elsewhere, as `(stage name, JSON of the result as a resume record keeps it)`, e.g.
/// `("pca", '{"kind": "model", "dir": "/out/pca"}')`.
#[pyfunction]
#[pyo3(signature = (pipeline, out, overrides, progress, threads=0, supplied=Vec::new()))]
pub(crate) fn run(
    py: Python<'_>,
    pipeline: PathBuf,
    out: Option<PathBuf>,
    overrides: Vec<String>,
    progress: bool,
    threads: usize,
    supplied: Vec<(String, String)>,
) -> PyResult<(String, PathBuf)> {
    let supplied = supplied
        .into_iter()
        .map(|(stage, json)| {
            serde_json::from_str(&json)
                .map(|stored| (stage.clone(), stored))
                .map_err(|e| invalid(py, format!("supplied result of '{stage}': {e}")))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let settings = ops::RunSettings {
        out,
        threads: (threads > 0).then_some(threads),
        strict: false,
        quiet: !progress,
        max_track_seconds: None,
        supplied,
    };
    let outcome = blocking(py, || ops::run_file(&pipeline, &overrides, &settings))?;
    // The report is what the run wrote as summary.json.
    let text = serde_json::to_string(&outcome.report).expect("serialises");
    Ok((text, outcome.out_dir))
}
