//! The stage contract: what a stage type declares (parameters, what it consumes and
//! produces, how it runs) and the four ways a built stage runs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::config::{ConfigError, ParamSpec, Params};
use crate::audio::bars::TrackBars;
use crate::audio::rhythm::{BeatGrid, Features, RhythmOptions, TempoEstimate};
use crate::audio::{SampleStream, Signal};
use crate::error::{Result, Warnings};
use crate::store::NdArray;

/// What flows along an edge of the stage graph. Inputs are type-checked against the
/// producing stage's kind before anything runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// Audio files found by a source, one item per track.
    Tracks,
    /// A mono signal per track (streamed or in memory).
    Audio,
    /// Files written to the output folder.
    Files,
    /// A float array (`.npy`), for the engine stages.
    Array,
    /// A track's audio with its tempo.
    Tempo,
    /// ... and its beat grid.
    Beats,
    /// ... and its downbeats.
    Downbeats,
    /// One-bar clips of a track.
    Bars,
    /// A matrix of bars on disk (`bars.npy`, with `bars.csv`), for the whole run.
    Matrix,
    /// A fitted PCA on disk (the folder `eigentechno pca` writes).
    Model,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Tracks => "tracks",
            Kind::Audio => "audio",
            Kind::Files => "files",
            Kind::Array => "array",
            Kind::Tempo => "tempo",
            Kind::Beats => "beats",
            Kind::Downbeats => "downbeats",
            Kind::Bars => "bars",
            Kind::Matrix => "matrix",
            Kind::Model => "model",
        })
    }
}

/// How a stage runs, which decides where it may sit in a graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Lists tracks; no inputs. Its tracks are processed in parallel, one item each.
    Source,
    /// Transforms one track's item into another, in parallel across tracks.
    PerTrack,
    /// Receives every track's item in a fixed order (by path) and produces one result
    /// at the end (a matrix, a report).
    Collect,
    /// Runs once on whole results (a matrix in, a model out) after the tracks are done.
    Whole,
}

impl Mode {
    /// Whether the stage emits one item per track.
    pub fn is_per_track(self) -> bool {
        matches!(self, Mode::Source | Mode::PerTrack)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Source => "source",
            Mode::PerTrack => "per track",
            Mode::Collect => "collects all tracks",
            Mode::Whole => "whole",
        })
    }
}

/// One input track.
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    /// Position in the source's sorted listing.
    pub index: usize,
    /// The file.
    pub path: PathBuf,
    /// A unique relative name without extension, used for output file names
    /// (`sub/track`, or `sub/track.mp3` when two files share a stem).
    pub name: String,
    /// Size in bytes when listed.
    pub size: u64,
    /// Modification time when listed.
    pub modified: Option<SystemTime>,
}

/// Audio for one track: a stream (decoded lazily, chunk by chunk) or a signal in memory.
pub enum Audio {
    /// Read it once, chunk by chunk.
    Stream(Box<dyn SampleStream>),
    /// Held in memory, shareable.
    Signal(Arc<Signal>),
}

impl Audio {
    /// A stream over the audio, whichever form it is in.
    pub fn into_stream(self) -> Box<dyn SampleStream> {
        match self {
            Audio::Stream(s) => s,
            Audio::Signal(s) => Box::new(Arc::unwrap_or_clone(s).into_stream()),
        }
    }

    /// The whole signal in memory.
    pub fn into_signal(self) -> Result<Arc<Signal>> {
        match self {
            Audio::Stream(mut s) => Ok(Arc::new(Signal::from_stream(s.as_mut())?)),
            Audio::Signal(s) => Ok(s),
        }
    }
}

/// The data of one edge for one track (per-track kinds) or for the whole run.
#[non_exhaustive]
pub enum Payload {
    /// A track to read (the source's output; the track itself travels with the item).
    Track,
    /// Audio.
    Audio(Audio),
    /// Files written.
    Files(Vec<PathBuf>),
    /// An array, and the file it was written to, if any.
    Array(Arc<NdArray>, Option<PathBuf>),
    /// A track under rhythm analysis (tempo, then beats, then downbeats).
    Rhythm(Box<RhythmItem>),
    /// A track's bars.
    Bars(Box<TrackBars>),
    /// A matrix file of the whole run.
    Matrix(MatrixFile),
    /// A fitted model's folder.
    Model(PathBuf),
}

/// A matrix written to disk, and what is known of its rows.
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixFile {
    /// The `.npy` file (N x d).
    pub npy: PathBuf,
    /// One CSV row per matrix row (track, time, ...), if any.
    pub csv: Option<PathBuf>,
    /// Sample rate of the rows, when they are audio.
    pub rate: Option<u32>,
}

/// A whole-run result as a resume record keeps it: the files it names, not the data.
/// Paths under the output folder are kept relative to it, others absolute, so a record
/// still holds when the run is started from another folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum StoredPayload {
    /// [`Payload::Files`].
    Files {
        /// The files.
        files: Vec<PathBuf>,
    },
    /// [`Payload::Array`] of an array that is in a file (read back on resume).
    Array {
        /// The `.npy` file.
        file: PathBuf,
    },
    /// [`Payload::Matrix`].
    Matrix {
        /// The `.npy` file.
        npy: PathBuf,
        /// Its CSV of rows, if any.
        csv: Option<PathBuf>,
        /// Sample rate of the rows.
        rate: Option<u32>,
    },
    /// [`Payload::Model`].
    Model {
        /// The model's folder.
        dir: PathBuf,
    },
}

fn store_path(path: &Path, out_dir: &Path) -> PathBuf {
    match path.strip_prefix(out_dir) {
        Ok(rel) => rel.to_path_buf(),
        Err(_) => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

impl StoredPayload {
    /// The payload again, its paths under `out_dir` (an array is read from its file).
    pub fn load(&self, out_dir: &Path) -> Result<Payload> {
        let at = |p: &PathBuf| out_dir.join(p);
        Ok(match self {
            StoredPayload::Files { files } => Payload::Files(files.iter().map(at).collect()),
            StoredPayload::Array { file } => {
                let file = at(file);
                Payload::Array(Arc::new(crate::store::read_npy(&file)?), Some(file))
            }
            StoredPayload::Matrix { npy, csv, rate } => Payload::Matrix(MatrixFile {
                npy: at(npy),
                csv: csv.as_ref().map(at),
                rate: *rate,
            }),
            StoredPayload::Model { dir } => Payload::Model(at(dir)),
        })
    }
}

/// A track under rhythm analysis: its signal and features, and what the tempo, beats
/// and downbeats stages found so far.
#[derive(Clone, Debug)]
pub struct RhythmItem {
    /// The audio at the working rate.
    pub signal: Arc<Signal>,
    /// Onset strength and chroma.
    pub features: Arc<Features>,
    /// The analysis settings.
    pub options: RhythmOptions,
    /// (bpm, runner-up bpm, confidence) from the tempo stage.
    pub tempo: TempoEstimate,
    /// From the beats stage.
    pub grid: Option<BeatGrid>,
    /// Each section's first downbeat (an index into the grid's beats) and confidence.
    pub downbeat: Option<Vec<(usize, f64)>>,
}

impl Payload {
    /// The kind this payload carries.
    pub fn kind(&self) -> Kind {
        match self {
            Payload::Track => Kind::Tracks,
            Payload::Audio(_) => Kind::Audio,
            Payload::Files(_) => Kind::Files,
            Payload::Array(..) => Kind::Array,
            Payload::Rhythm(r) if r.downbeat.is_some() => Kind::Downbeats,
            Payload::Rhythm(r) if r.grid.is_some() => Kind::Beats,
            Payload::Rhythm(_) => Kind::Tempo,
            Payload::Bars(_) => Kind::Bars,
            Payload::Matrix(_) => Kind::Matrix,
            Payload::Model(_) => Kind::Model,
        }
    }

    /// What a resume record keeps of a whole-run result: its files (paths under
    /// `out_dir` relative to it). `None` for per-track kinds and in-memory arrays.
    pub fn to_stored(&self, out_dir: &Path) -> Option<StoredPayload> {
        let keep = |p: &PathBuf| store_path(p, out_dir);
        Some(match self {
            Payload::Files(files) => StoredPayload::Files {
                files: files.iter().map(keep).collect(),
            },
            Payload::Array(_, Some(file)) => StoredPayload::Array { file: keep(file) },
            Payload::Matrix(m) => StoredPayload::Matrix {
                npy: keep(&m.npy),
                csv: m.csv.as_ref().map(keep),
                rate: m.rate,
            },
            Payload::Model(dir) => StoredPayload::Model { dir: keep(dir) },
            _ => return None,
        })
    }

    /// A binary form for the resume cache, for the kinds that have one (bars).
    pub fn to_cache(&self) -> Option<Vec<u8>> {
        match self {
            Payload::Bars(b) => Some(b.to_bytes()),
            _ => None,
        }
    }

    /// Read a cached payload of `kind`.
    pub fn from_cache(kind: Kind, bytes: &[u8]) -> Option<Payload> {
        match kind {
            Kind::Bars => TrackBars::from_bytes(bytes).map(|b| Payload::Bars(Box::new(b))),
            _ => None,
        }
    }

    /// A copy for a second consumer. A stream can be read only once, so it is read
    /// into memory first (this is the only place a fan-out costs memory).
    pub fn share(&mut self) -> Result<Payload> {
        Ok(match self {
            Payload::Track => Payload::Track,
            Payload::Files(f) => Payload::Files(f.clone()),
            Payload::Array(a, f) => Payload::Array(a.clone(), f.clone()),
            Payload::Rhythm(r) => Payload::Rhythm(r.clone()),
            Payload::Bars(b) => Payload::Bars(b.clone()),
            Payload::Matrix(m) => Payload::Matrix(m.clone()),
            Payload::Model(m) => Payload::Model(m.clone()),
            Payload::Audio(a) => {
                let taken =
                    std::mem::replace(a, Audio::Signal(Arc::new(Signal::new(1, Vec::new()))));
                let sig = taken.into_signal()?;
                *a = Audio::Signal(sig.clone());
                Payload::Audio(Audio::Signal(sig))
            }
        })
    }
}

/// An item moving through the per-track part of a pipeline.
pub struct Item {
    /// The track it belongs to.
    pub track: Arc<Track>,
    /// Its data.
    pub payload: Payload,
}

/// What a stage knows while it runs.
#[derive(Clone, Debug)]
pub struct StageContext {
    /// The stage's name in the pipeline.
    pub stage: String,
    /// The run's output folder.
    pub out_dir: PathBuf,
    /// Non-fatal problems, reported in the run summary.
    pub warnings: Warnings,
    /// When the run began (whole-run stages only; they run after every track).
    pub run_started: Option<std::time::Instant>,
}

impl StageContext {
    /// The stage's own output folder: `OUT/<stage name>`.
    pub fn stage_dir(&self) -> PathBuf {
        self.out_dir.join(&self.stage)
    }
}

/// Lists the tracks of a run.
pub trait TrackSource: Send + Sync {
    /// The tracks, in a deterministic order (their `index` is their position).
    fn tracks(&mut self) -> Result<Vec<Track>>;

    /// A short description for progress and summaries (e.g. the folder).
    fn describe(&self) -> String;
}

/// Transforms one track's item; called concurrently for different tracks.
pub trait PerTrackStage: Send + Sync {
    /// Process one track.
    fn process(&self, item: Item, ctx: &StageContext) -> Result<Payload>;
}

/// Receives every track's item in source order, then produces one result.
pub trait CollectStage: Send + Sync {
    /// One track: what happened to it upstream (its status, error and warnings), and
    /// its input if it got that far.
    fn accept(
        &mut self,
        track: &Track,
        report: &crate::pipeline::TrackReport,
        input: Option<Payload>,
        ctx: &StageContext,
    ) -> Result<()>;

    /// All tracks are in.
    fn finish(&mut self, ctx: &StageContext) -> Result<Payload>;
}

/// Runs once on whole results.
pub trait WholeStage: Send + Sync {
    /// `inputs` in the order of the stage's `inputs` list.
    fn run(&self, inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload>;
}

/// A built, validated stage, ready to run.
pub enum Stage {
    /// See [`Mode::Source`].
    Source(Box<dyn TrackSource>),
    /// See [`Mode::PerTrack`].
    PerTrack(Box<dyn PerTrackStage>),
    /// See [`Mode::Collect`].
    Collect(Box<dyn CollectStage>),
    /// See [`Mode::Whole`].
    Whole(Box<dyn WholeStage>),
}

impl Stage {
    /// The mode this stage runs in.
    pub fn mode(&self) -> Mode {
        match self {
            Stage::Source(_) => Mode::Source,
            Stage::PerTrack(_) => Mode::PerTrack,
            Stage::Collect(_) => Mode::Collect,
            Stage::Whole(_) => Mode::Whole,
        }
    }
}

/// What a stage type gets when it is built.
pub struct BuildContext<'a> {
    /// The stage's name.
    pub stage: &'a str,
    /// The pipeline file.
    pub pipeline_file: &'a Path,
}

/// What a stage type declares about itself: one constant per type.
#[derive(Clone, Copy, Debug)]
pub struct StageInfo {
    /// The `type = "..."` name.
    pub name: &'static str,
    /// One line on what it does.
    pub about: &'static str,
    /// How it runs.
    pub mode: Mode,
    /// Kinds it accepts on its inputs (empty for sources).
    pub consumes: &'static [Kind],
    /// Kind it produces.
    pub produces: Kind,
    /// How many inputs it takes (least, most); `None`: none for a source, one for
    /// per-track and collecting stages, one or more for whole-run stages.
    pub arity: Option<(usize, usize)>,
    /// Its parameters.
    pub params: &'static [ParamSpec],
}

/// A stage type: one per file under `src/pipeline/stages/`, registered by name in the
/// [`super::Registry`]. It declares everything the graph checker and `eigentechno
/// stages` need, and turns a raw TOML table into a typed, validated stage.
pub trait StageType: Send + Sync {
    /// The type's declaration.
    fn info(&self) -> &'static StageInfo;
    /// The `type = "..."` name.
    fn name(&self) -> &'static str {
        self.info().name
    }
    /// One line on what it does.
    fn about(&self) -> &'static str {
        self.info().about
    }
    /// How it runs.
    fn mode(&self) -> Mode {
        self.info().mode
    }
    /// Kinds it accepts on its inputs (empty for sources).
    fn consumes(&self) -> &'static [Kind] {
        self.info().consumes
    }
    /// Kind it produces.
    fn produces(&self) -> Kind {
        self.info().produces
    }
    /// How many inputs it takes (least, most).
    fn arity(&self) -> (usize, usize) {
        self.info().arity.unwrap_or(match self.mode() {
            Mode::Source => (0, 0),
            Mode::PerTrack | Mode::Collect => (1, 1),
            Mode::Whole => (1, usize::MAX),
        })
    }
    /// Its parameters.
    fn params(&self) -> &'static [ParamSpec] {
        self.info().params
    }
    /// Validate parameters and build the stage.
    fn build(
        &self,
        params: &Params<'_>,
        ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError>;
}
