//! The bodies of the fuzz targets (`fuzz/fuzz_targets/*.rs`, cargo-fuzz on nightly),
//! shared with `tests/fuzz_regressions.rs`, which replays every saved finding
//! (`fixtures/fuzz/<target>/`) on stable. Each `run` takes the fuzzer's bytes and
//! returns `Ok` when everything parsed, or the first error's message: a panic, a hang
//! or an unbounded allocation is the bug, an `Err` is the expected answer to garbage.
#![allow(dead_code)]

pub mod audio;
pub mod config;
pub mod csv;
pub mod idx;
pub mod npy;
pub mod training_state;
pub mod wav;
pub mod weights;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A per-process folder under the system's temporary folder for the files the
/// targets write (never the repository).
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("eigentechno-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder in the temporary folder");
        dir
    })
}

/// `bytes` written to a fresh file named `*.{ext}` in [`scratch_dir`], removed when
/// the handle drops.
pub fn temp_file(ext: &str, bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .prefix("in")
        .suffix(&format!(".{ext}"))
        .tempfile_in(scratch_dir())
        .expect("a temporary file");
    f.write_all(bytes).expect("write the input");
    f.flush().expect("flush the input");
    f
}

/// The error's message, for the `Err` a target returns.
pub fn msg(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Reads structured fields off the front of the fuzzer's bytes; past the end every
/// field is zero, so any input is a valid structure.
pub struct Fields<'a> {
    pub data: &'a [u8],
}

impl<'a> Fields<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Fields { data }
    }

    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        head
    }

    pub fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }

    pub fn u16(&mut self) -> u16 {
        let b = self.bytes(2);
        let mut a = [0u8; 2];
        a[..b.len()].copy_from_slice(b);
        u16::from_le_bytes(a)
    }

    pub fn u32(&mut self) -> u32 {
        let b = self.bytes(4);
        let mut a = [0u8; 4];
        a[..b.len()].copy_from_slice(b);
        u32::from_le_bytes(a)
    }

    /// One of `options`, or (for the last choice) a free value.
    pub fn pick<T: Copy>(&mut self, options: &[T], free: impl FnOnce(&mut Self) -> T) -> T {
        let i = self.u8() as usize % (options.len() + 1);
        if i < options.len() {
            options[i]
        } else {
            free(self)
        }
    }

    /// What is left.
    pub fn rest(&mut self) -> &'a [u8] {
        let r = self.data;
        self.data = &[];
        r
    }
}
