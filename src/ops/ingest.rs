//! Ingest: a music folder or a list of files becomes a tempo-normalised one-bar matrix
//! (decode, resample, tempo, beats, downbeats, bars, stretch), written as
//! `bars.npy`, `bars.csv` and `report.json`, or handed back in memory. It runs the
//! built-in `pipelines/ingest.toml`, so it writes exactly what `eigentechno run` on
//! that file writes.

use std::path::{Path, PathBuf};

use ndarray::Array2;

use crate::audio::stretch::StretchMethod;
use crate::error::{Error, Result};
use crate::pipeline::stage::{Stage, Track, TrackSource};
use crate::pipeline::{Pipeline, RawPipeline, Registry, RunReport};
use crate::store::tables::{BarRow, read_table};
use crate::store::{NdArray, read_npy};

/// `pipelines/ingest.toml`, built in: what `eigentechno ingest` runs.
pub const INGEST_PIPELINE: &str = include_str!("../../pipelines/ingest.toml");

/// The name the built-in ingest pipeline goes by (in errors, and `out/ingest` by default).
const INGEST_FILE: &str = "pipelines/ingest.toml";

/// What to ingest.
#[derive(Clone, Debug, PartialEq)]
pub enum TrackInput {
    /// Every audio file under a folder (found by content, sorted by path), or one file.
    Folder(PathBuf),
    /// These files, in this order.
    Files(Vec<PathBuf>),
}

impl TrackInput {
    /// A folder, or a single file.
    pub fn path(p: impl Into<PathBuf>) -> Self {
        TrackInput::Folder(p.into())
    }
}

/// Ingest settings as given; [`IngestParams::check`] turns them into [`IngestOptions`].
#[derive(Clone, Debug, PartialEq)]
pub struct IngestParams {
    /// Common tempo of the bars (bpm).
    pub bpm: f64,
    /// Working sample rate (Hz).
    pub rate: u32,
    /// Pitch kept (WSOLA) or varispeed.
    pub stretch: StretchMethod,
    /// At most this many bars per track (0: all).
    pub max_bars_per_track: usize,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Stop at the first track that fails.
    pub strict: bool,
    /// Show progress bars (on a terminal).
    pub progress: bool,
    /// Time budget of one track in seconds, past which it is reported as timed out
    /// (0: 60 s plus 1 s per 16 kB of file).
    pub max_track_seconds: f64,
}

impl Default for IngestParams {
    fn default() -> Self {
        IngestParams {
            bpm: 128.0,
            rate: 8_820,
            stretch: StretchMethod::Pitch,
            max_bars_per_track: 0,
            threads: 0,
            strict: false,
            progress: true,
            max_track_seconds: 0.0,
        }
    }
}

/// Checked ingest settings: the built-in ingest pipeline with them applied, checked
/// as a graph (a tempo from 40 to 300 bpm, a rate from 1 kHz to 48 kHz).
#[derive(Clone, Debug)]
pub struct IngestOptions {
    params: IngestParams,
    overrides: Vec<String>,
}

impl IngestParams {
    /// Check the settings.
    pub fn check(&self) -> Result<IngestOptions> {
        super::check_range("bpm", self.bpm, 40.0, 300.0)?;
        super::check_range("rate", self.rate as f64, 1_000.0, 48_000.0)?;
        super::check_range("max_track_seconds", self.max_track_seconds, 0.0, 1e7)?;
        let overrides = vec![
            format!("working_rate.rate={}", self.rate),
            format!("stretch.target_bpm={}", self.bpm),
            format!("stretch.method=\"{}\"", super::Choice::name(self.stretch)),
            format!("bars.max_bars={}", self.max_bars_per_track),
        ];
        let opts = IngestOptions {
            params: self.clone(),
            overrides,
        };
        // Every value must also pass the stages' own checks.
        opts.pipeline(&TrackInput::Folder(PathBuf::from(".")))?;
        Ok(opts)
    }
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestParams::default().check().expect("defaults are valid")
    }
}

/// Hands the runner a fixed list of tracks.
struct ListSource(Vec<Track>);

impl TrackSource for ListSource {
    fn tracks(&mut self) -> Result<Vec<Track>> {
        Ok(self.0.clone())
    }
    fn describe(&self) -> String {
        format!("the {} files given", self.0.len())
    }
}

impl IngestOptions {
    /// The settings as given.
    pub fn params(&self) -> &IngestParams {
        &self.params
    }

    /// The built-in ingest pipeline for `input` with these settings.
    pub fn pipeline(&self, input: &TrackInput) -> Result<Pipeline> {
        let mut raw = RawPipeline::parse(Path::new(INGEST_FILE), INGEST_PIPELINE)?;
        for o in &self.overrides {
            raw.apply_override(o)?;
        }
        let folder = match input {
            TrackInput::Folder(p) => p.clone(),
            // A folder that exists, replaced by the list below.
            TrackInput::Files(_) => PathBuf::from("."),
        };
        raw.apply_override(&format!(
            "tracks.path={}",
            toml::Value::String(folder.display().to_string())
        ))?;
        let mut p = Pipeline::build(raw, &Registry::builtin())?;
        if let TrackInput::Files(files) = input {
            let tracks = super::tracks_of_files(files)?;
            let node = p
                .nodes
                .iter_mut()
                .find(|n| n.name == "tracks")
                .expect("the ingest pipeline has a `tracks` stage");
            node.fingerprint = format!("files {:?}", files);
            node.stage = Stage::Source(Box::new(ListSource(tracks)));
        }
        Ok(p)
    }
}

/// Ingest `input` into `out` (the matrix lands in `out/matrix/`: `bars.npy`,
/// `bars.csv`, `report.json`). A track that fails is reported and the rest go on
/// (unless strict). A re-run resumes: tracks already done are skipped.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// use eigentechno::ops::{self, IngestParams, TrackInput};
/// let out = tempfile::tempdir().unwrap();
/// let opts = IngestParams { max_bars_per_track: 2, progress: false, ..Default::default() }.check()?;
/// let report = ops::ingest_to_dir(&TrackInput::path("fixtures/corpus"), out.path(), &opts)?;
/// assert!(!report.has_failures());
/// assert!(out.path().join("matrix/bars.npy").exists());
/// # Ok(()) }
/// ```
pub fn ingest_to_dir(input: &TrackInput, out: &Path, opts: &IngestOptions) -> Result<RunReport> {
    // Said in the user's words: the built-in pipeline they never wrote stays out of it.
    // (The folder stage expands `~` itself; here only to look.)
    if let TrackInput::Folder(p) = input
        && !crate::pipeline::config::expand_home(p).exists()
    {
        return Err(Error::InvalidArgument {
            name: "input",
            expected: "a folder or an audio file".into(),
            actual: format!("'{}', which does not exist", p.display()),
        });
    }
    let settings = super::RunSettings {
        out: Some(out.to_path_buf()),
        threads: Some(opts.params.threads),
        strict: opts.params.strict,
        quiet: !opts.params.progress,
        max_track_seconds: Some(opts.params.max_track_seconds),
        supplied: Vec::new(),
    };
    Ok(super::run_pipeline(opts.pipeline(input)?, Path::new(INGEST_FILE), &settings)?.report)
}

/// Bars ingested into memory.
#[derive(Debug)]
pub struct IngestedBars {
    /// One bar per row, float32, at the working rate and the common tempo.
    pub bars: Array2<f32>,
    /// Where each row came from (`bars.csv`).
    pub rows: Vec<BarRow>,
    /// What happened to each track.
    pub report: RunReport,
}

/// Ingest `input` into memory (through a temporary folder, removed afterwards): the
/// same bars as [`ingest_to_dir`] writes, value for value.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// use eigentechno::ops::{self, IngestParams, TrackInput};
/// let opts = IngestParams { max_bars_per_track: 1, progress: false, ..Default::default() }.check()?;
/// let got = ops::ingest_to_memory(&TrackInput::path("fixtures/corpus"), &opts)?;
/// assert_eq!(got.bars.nrows(), got.rows.len());
/// assert_eq!(got.bars.ncols(), 16_538);
/// # Ok(()) }
/// ```
pub fn ingest_to_memory(input: &TrackInput, opts: &IngestOptions) -> Result<IngestedBars> {
    let dir = tempfile::tempdir().map_err(|e| Error::io(&std::env::temp_dir(), e))?;
    let report = ingest_to_dir(input, dir.path(), opts)?;
    // No bars at all: the matrix stage's own error says why.
    if let Some(why) = report
        .stages
        .iter()
        .find(|s| s.name == "matrix")
        .and_then(|s| s.error.clone())
    {
        return Err(Error::NoRhythm(why));
    }
    let matrix = dir.path().join("matrix");
    let npy = matrix.join("bars.npy");
    let bars = match read_npy(&npy)? {
        NdArray::F32(a) => a.into_dimensionality().map_err(|e| Error::InvalidData {
            path: npy.clone(),
            reason: e.to_string(),
        })?,
        other => {
            return Err(Error::InvalidData {
                path: npy,
                reason: format!("expected float32 bars, got {}", other.dtype()),
            });
        }
    };
    let rows = read_table(&matrix.join("bars.csv"))?;
    Ok(IngestedBars { bars, rows, report })
}
