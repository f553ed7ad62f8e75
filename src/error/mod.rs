//! The library's error type: one enum, each variant saying what failed and where.

use std::path::{Path, PathBuf};

mod config;

pub use config::{ConfigError, Location};

/// Everything that can go wrong in eigentechno.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder at fault.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An input file could not be decoded as audio.
    #[error("{}: {problem}", path.display())]
    Decode {
        /// The input file.
        path: PathBuf,
        /// What is wrong with it.
        problem: DecodeProblem,
    },
    /// The resampler refused its settings or input.
    #[error("resampling {from_rate} Hz to {to_rate} Hz: {reason}")]
    Resample {
        /// Input sample rate.
        from_rate: u32,
        /// Output sample rate.
        to_rate: u32,
        /// What rubato said.
        reason: String,
    },
    /// Writing an encoded output (WAV, FLAC, JSON) failed.
    #[error("{}: {reason}", path.display())]
    Encode {
        /// The output file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An input file is readable but its content is unusable (wrong dtype, truncated).
    #[error("{}: {reason}", path.display())]
    InvalidData {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The correlation/convolution engine refused its inputs.
    #[error("{0}")]
    Conv(#[from] crate::engine::conv::ConvError),
    /// PCA refused its input or parameters.
    #[error("{0}")]
    Pca(#[from] crate::engine::pca::PcaError),
    /// Learning options or data are invalid, or training was stopped.
    #[error("{0}")]
    Learn(#[from] crate::learn::LearnError),
    /// A pipeline file or stage parameter is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A function argument is outside what it accepts.
    #[error("invalid {name}: expected {expected}, got {actual}")]
    InvalidArgument {
        /// The argument.
        name: &'static str,
        /// What is accepted.
        expected: String,
        /// What was given.
        actual: String,
    },
    /// A track has no usable rhythm (silent, no steady beat, shorter than a bar).
    #[error("{0}")]
    NoRhythm(String),
    /// The operation was interrupted ([`crate::interrupt`]): Ctrl-C in Python.
    #[error("interrupted")]
    Interrupted,
    /// A work item ran past its time budget ([`crate::interrupt::with_budget`]).
    #[error("timed out: still running after the budget of {seconds:.0} s (max_track_seconds)")]
    TimedOut {
        /// The budget, in seconds.
        seconds: f64,
    },
    /// A stage panicked; the message is kept so a batch can report it and go on.
    #[error("internal error in stage '{stage}': {message}")]
    Internal {
        /// The stage that panicked.
        stage: String,
        /// The panic message.
        message: String,
    },
}

impl Error {
    /// Whether the operation stopped because it was asked to ([`crate::interrupt`]).
    pub fn is_interrupted(&self) -> bool {
        // A time budget running out is not an interruption: the batch goes on.
        matches!(
            self,
            Error::Interrupted
                | Error::Pca(crate::engine::pca::PcaError::Interrupted)
                | Error::Learn(crate::learn::LearnError::Interrupted)
        )
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Why a file could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeProblem {
    /// Zero bytes long.
    #[error("empty file (0 bytes)")]
    Empty,
    /// The content is not a recognised audio container.
    #[error("not an audio file: {0}")]
    NotAudio(String),
    /// A container or codec that the decoder does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The container holds no audio track.
    #[error("no audio track in the file")]
    NoAudioTrack,
    /// The data is damaged beyond use.
    #[error("corrupt: {0}")]
    Corrupt(String),
    /// The file could not be read.
    #[error("read error: {0}")]
    Io(std::io::Error),
    /// The path is not a regular file (a FIFO, socket, device, folder, or a link that
    /// leads nowhere): reading it could block forever or mean nothing.
    #[error("not a regular file: {0}")]
    NotRegular(String),
    /// The file changed while it was read (another program is writing it).
    #[error("the file changed while it was read: {0}")]
    Changed(String),
    /// The file is within the format but past one of eigentechno's limits (README's
    /// "Limits"): the bound is in the message.
    #[error("over a limit: {0}")]
    Limit(String),
}

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A shared list of non-fatal problems met while processing one item (a damaged
/// packet, a truncated file, clipped output). Clones share the same list, so a
/// decoder deep inside a stream can report to the batch summary.
#[derive(Clone, Debug, Default)]
pub struct Warnings(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Warnings {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a warning.
    pub fn push(&self, message: impl Into<String>) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message.into());
    }

    /// A copy of the warnings so far.
    pub fn snapshot(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
