//! Errors in pipeline files and stage parameters, with where they are. They live
//! here, with the other error types, so that nothing below the pipeline layer has to
//! reach up to it; `pipeline::config` re-exports them.

use std::fmt;
use std::path::PathBuf;

/// A rejected pipeline: where, and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    /// The pipeline file.
    pub file: PathBuf,
    /// Where the fault is (1-based line and column), or the `--set` argument at fault.
    pub location: Location,
    /// The stage at fault, if any.
    pub stage: Option<String>,
    /// The key at fault, if any.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Location {
    /// Line and column in the pipeline file (1-based).
    Line {
        /// Line number.
        line: usize,
        /// Column number.
        column: usize,
    },
    /// A `--set NAME.KEY=VALUE` argument.
    Override(String),
    /// The file as a whole (it could not be read, or the fault has no position).
    File,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        match &self.location {
            Location::Line { line, column } => write!(f, ":{line}:{column}")?,
            Location::Override(arg) => write!(f, " (--set {arg})")?,
            Location::File => {}
        }
        write!(f, ": ")?;
        match (&self.stage, &self.key) {
            (Some(s), Some(k)) => write!(f, "stage '{s}', key '{k}': ")?,
            (Some(s), None) => write!(f, "stage '{s}': ")?,
            (None, Some(k)) => write!(f, "key '{k}': ")?,
            (None, None) => {}
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ConfigError {}
