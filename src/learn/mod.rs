//! Learning from any feature matrix or image set: a smooth kernel machine (SKM) output
//! layer trained end to end inside a network, beside softmax and L2-SVM heads, on a small
//! CNN or an MLP; the training loop, predictions and metrics.
//!
//! Tensors and gradients come from burn (its pure-Rust Flex CPU backend). Like `engine`,
//! this module knows nothing of files, audio or the CLI: `ops` reads the data and writes
//! the model.

pub mod calibrate;
pub mod data;
pub mod diffusion;
pub mod error;
pub mod layers;
pub mod metrics;
pub mod model;
pub mod params;
pub mod train;

#[cfg(test)]
mod layer_tests;
#[cfg(test)]
mod tests;

pub use data::{InputShape, Inputs, check_labels};
pub use diffusion::{DiffusionParams, DiffusionPlan, Topology};
pub use error::LearnError;
pub use model::Classifier;
pub use params::{Architecture, Augment, Checked, FitParams, Head, Net};
pub use train::{EpochRecord, Fitted, Labelled, Predictions, Progress, Trainer, fit, predict};
