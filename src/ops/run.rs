//! Running a pipeline file: load and check it, apply `--set` overrides, run it.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::pipeline::{
    self, Pipeline, RawPipeline, Registry, RunOptions, RunReport, StoredPayload,
};

/// How to run a pipeline; `None` takes the pipeline's own `[pipeline]` setting.
#[derive(Clone, Debug, Default)]
pub struct RunSettings {
    /// Output folder (default: `[pipeline] out`, else `out/<pipeline file stem>`).
    pub out: Option<PathBuf>,
    /// Worker threads (0: one per core).
    pub threads: Option<usize>,
    /// Stop at the first track that fails.
    pub strict: bool,
    /// No progress bars.
    pub quiet: bool,
    /// Time budget of one track in seconds (0: scaled to the file).
    pub max_track_seconds: Option<f64>,
    /// Results made elsewhere, by stage name (see [`RunOptions::supplied`]).
    pub supplied: Vec<(String, StoredPayload)>,
}

/// A finished run: its report and where its outputs went.
#[derive(Debug)]
pub struct RunOutcome {
    /// What happened, stage by stage and track by track.
    pub report: RunReport,
    /// The output folder.
    pub out_dir: PathBuf,
    /// Whether the run was strict (a failed track makes the run fail).
    pub strict: bool,
}

impl RunOutcome {
    /// A strict run with a failure.
    pub fn failed(&self) -> bool {
        self.strict && self.report.has_failures()
    }
}

/// Load the pipeline `file`, apply `overrides` (`NAME.KEY=VALUE`), and check it as a
/// graph: a bad file is rejected here with its line and key, before any work.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let p = eigentechno::ops::load_pipeline("pipelines/eigentechno.toml".as_ref(), &["pca.k=8".into()])?;
/// assert!(p.nodes.iter().any(|n| n.name == "pca"));
/// let bad = eigentechno::ops::load_pipeline("pipelines/eigentechno.toml".as_ref(), &["pca.kk=8".into()]);
/// assert!(bad.is_err());
/// # Ok(()) }
/// ```
pub fn load_pipeline(file: &Path, overrides: &[String]) -> Result<Pipeline> {
    let mut raw = RawPipeline::load(file)?;
    for o in overrides {
        raw.apply_override(o)?;
    }
    Ok(Pipeline::build(raw, &Registry::builtin())?)
}

/// Run the checked `pipeline` (loaded from `file`) with `settings`.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// use eigentechno::ops::{self, RunSettings};
/// let dir = tempfile::tempdir().unwrap();
/// let file = dir.path().join("p.toml");
/// std::fs::write(&file, "[stages.x]\ntype = \"npy\"\npath = \"x.npy\"\n").unwrap();
/// eigentechno::store::write_npy(&dir.path().join("x.npy"), &eigentechno::store::NdArray::F64(
///     ndarray::arr1(&[1.0, 2.0]).into_dyn()))?;
/// let p = ops::load_pipeline(&file, &[])?;
/// let settings = RunSettings { out: Some(dir.path().join("out")), quiet: true, ..Default::default() };
/// let done = ops::run_pipeline(p, &file, &settings)?;
/// assert!(!done.report.has_failures());
/// # Ok(()) }
/// ```
pub fn run_pipeline(
    mut pipeline: Pipeline,
    file: &Path,
    settings: &RunSettings,
) -> Result<RunOutcome> {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pipeline".into());
    let out_dir = settings
        .out
        .as_deref()
        .map(crate::pipeline::config::expand_home)
        .or_else(|| pipeline.settings.out.clone())
        .unwrap_or_else(|| PathBuf::from("out").join(stem));
    let threads = settings.threads.unwrap_or(pipeline.settings.threads);
    if threads > 0 {
        // The engine's parallel parts use rayon: give them the same budget. The global
        // pool can be set once per process; later runs keep the first budget.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    let strict = settings.strict || pipeline.settings.strict;
    let opts = RunOptions {
        out_dir: out_dir.clone(),
        threads,
        strict,
        quiet: settings.quiet,
        max_track_seconds: settings
            .max_track_seconds
            .unwrap_or(pipeline.settings.max_track_seconds),
        supplied: settings.supplied.clone(),
    };
    let report = pipeline::run(&mut pipeline, &opts)?;
    Ok(RunOutcome {
        report,
        out_dir,
        strict,
    })
}

/// [`load_pipeline`] then [`run_pipeline`].
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// use eigentechno::ops::{self, RunSettings};
/// let dir = tempfile::tempdir().unwrap();
/// let settings = RunSettings { out: Some(dir.path().into()), quiet: true, ..Default::default() };
/// let done = ops::run_file("pipelines/ingest.toml".as_ref(), &["bars.max_bars=1".into()], &settings)?;
/// assert!(!done.failed() && dir.path().join("matrix/bars.npy").exists());
/// # Ok(()) }
/// ```
pub fn run_file(file: &Path, overrides: &[String], settings: &RunSettings) -> Result<RunOutcome> {
    run_pipeline(load_pipeline(file, overrides)?, file, settings)
}
