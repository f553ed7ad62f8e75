//! One run per output folder: a lock file the operating system releases when the
//! process ends, however it ends, so a crashed run never leaves a stale lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The lock file's name inside an output folder.
pub const LOCK_FILE: &str = ".eigentechno.lock";

/// Held while a run writes into a folder; dropping it releases the folder.
#[derive(Debug)]
pub struct OutputLock {
    _file: File,
    path: PathBuf,
}

impl OutputLock {
    /// Take `dir` for this process, or fail with an error naming the folder and the
    /// process that holds it. The folder must exist.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let held = eigentechno::store::OutputLock::acquire(dir.path()).unwrap();
    /// let again = eigentechno::store::OutputLock::acquire(dir.path()).unwrap_err();
    /// assert!(again.to_string().contains("in use by another run"));
    /// drop(held);
    /// assert!(eigentechno::store::OutputLock::acquire(dir.path()).is_ok());
    /// ```
    pub fn acquire(dir: &Path) -> Result<Self, Error> {
        let path = dir.join(LOCK_FILE);
        // Empty: two runs' output folders stay byte-identical.
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::io(
                    dir,
                    std::io::Error::new(
                        std::io::ErrorKind::ResourceBusy,
                        format!(
                            "the output folder is in use by another run, which holds {}: wait for it to finish, or choose another output folder",
                            path.display()
                        ),
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        Ok(OutputLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
