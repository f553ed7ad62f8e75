//! What can go wrong in learning, before the crate's error enum wraps it.

/// An error of the learn module: bad options or data, found before any training.
#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    /// An option outside what it accepts.
    #[error("invalid {name}: expected {expected}, got {actual}")]
    InvalidParam {
        /// The option, as the CLI spells it.
        name: &'static str,
        /// What is accepted.
        expected: String,
        /// What was given.
        actual: String,
    },
    /// Inputs or labels that cannot be learned from (the message says which row or value).
    #[error("{0}")]
    Data(String),
    /// A model file that does not match its architecture.
    #[error("{0}")]
    Model(String),
    /// A saved training state (a diffusion replica between exchanges) that is damaged or
    /// belongs to another run.
    #[error("training state: {0}")]
    State(String),
    /// Training was asked to stop ([`crate::interrupt`]).
    #[error("interrupted")]
    Interrupted,
}

pub(crate) fn invalid(
    name: &'static str,
    expected: impl Into<String>,
    actual: impl ToString,
) -> LearnError {
    LearnError::InvalidParam {
        name,
        expected: expected.into(),
        actual: actual.to_string(),
    }
}
