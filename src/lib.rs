//! # eigentechno
//!
//! Music folder in; tempo-normalised one-bar clips, PCA ("eigentechno") and listening
//! outputs out. After Umut Isik's *Eigentechno* (2017), done end to end.
//!
//! The crate is a library first; the `eigentechno` binary is a thin CLI over it.
//!
//! - [`audio`]: decoding (symphonia), anti-aliased resampling (rubato), WAV output,
//!   and a synthetic techno corpus with exact beat and downbeat annotations.
//! - [`engine`]: the maths, which knows nothing of files or audio.
//! - [`learn`]: smooth kernel machines and their baselines on any feature matrix or
//!   image set (burn); like `engine`, it knows nothing of files.
//! - [`pipeline`]: TOML pipelines of named stages, checked as a typed graph and run
//!   in parallel with bounded memory and deterministic output.
//! - [`store`]: atomic output files, `.npy` arrays, CSV tables, resume fingerprints.
//! - [`ops`]: every operation a user can call, with checked options and typed
//!   results; the CLI, the pipeline stages, the explorer and Python are thin fronts
//!   over it.
//! - [`interrupt`]: cooperative stopping (Ctrl-C in Python) at the next track, chunk
//!   or block, leaving complete files and a resumable run.
//!
//! ```
//! use eigentechno::audio::{resample, Signal};
//! use eigentechno::audio::synth::{synth_track, SynthParams};
//!
//! let params = SynthParams { seconds: 4.0, rate: 22_050, channels: 1, ..Default::default() };
//! let track = synth_track(7, 0, &params);
//! let signal = Signal::new(22_050, track.samples);
//! let at_8820 = resample(signal, 8_820).unwrap();
//! assert_eq!(at_8820.samples.len(), 4 * 8_820);
//! assert!(track.annotation.bpm >= 120.0);
//! ```

#![warn(missing_docs)]

pub mod audio;
pub mod bench;
pub mod engine;
pub mod error;
pub mod explore;
pub mod image;
pub mod interrupt;
pub mod learn;
pub mod ops;
pub mod pipeline;
pub mod store;

pub use error::{DecodeProblem, Error, Result, Warnings};
