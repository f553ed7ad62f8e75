//! Where results land on disk: atomic file writes and small metadata helpers.
//! (Matrices as `.npy` join this module with the ingest stages.)

pub mod atomic;
pub mod fingerprint;

pub use atomic::{AtomicFile, write_atomic};
