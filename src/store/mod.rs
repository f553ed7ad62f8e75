//! Where results land on disk: atomic file writes, `.npy` arrays, fingerprints; and the
//! data formats read from disk (IDX image sets, weights).

pub mod atomic;
pub mod fingerprint;
pub mod idx;
pub mod json;
pub mod lock;
pub mod matrix_file;
pub mod npy;
pub mod npy_header;
pub mod pca_model;
mod stored_rows;
pub mod tables;
pub mod training_state;
pub mod weights;

pub use atomic::{AtomicFile, write_atomic, write_atomic_unsynced};
pub use json::read_json;
pub use lock::{LOCK_FILE, OutputLock};
pub use matrix_file::{Dtype, NpyMatrix};
pub use npy::{
    NdArray, NpyRowWriter, read_npy, read_npy_from, read_npy_integers, read_npy_integers_from,
    write_npy,
};
pub use stored_rows::StoredRows;
pub use tables::{BarRow, OutlierRow, Table, TableWriter, VarianceRow, read_table, write_table};
