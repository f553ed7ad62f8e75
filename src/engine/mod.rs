//! The maths engine. It knows nothing of audio files, images or the command line:
//! plain numbers in, plain numbers out, so every stage (and every user) can reuse it.

pub mod conv;
pub mod corr;
pub mod debruijn;
pub mod decimate;
pub mod lanes;
pub mod legendre;
pub mod nn;
pub mod pca;
pub mod poly;
pub mod ppca;
pub mod rng;
pub mod spatial_modes;

pub use rng::Rng;
