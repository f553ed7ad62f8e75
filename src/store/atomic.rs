//! Atomic output files: write to a temporary file in the destination folder, then
//! rename over the final name, so a crash or Ctrl-C never leaves a half-written
//! output behind that a resumed run would mistake for a finished one.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// A file being written; it appears under its final name only on [`AtomicFile::commit`].
/// Dropped without commit, the temporary file is removed.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl AtomicFile {
    /// Start writing `dest`, creating its parent folders.
    pub fn create(dest: &Path) -> Result<Self, Error> {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // Outputs are ordinary files (tempfile's default is owner-only); the umask still applies.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let tmp = builder
            .tempfile_in(&parent)
            .map_err(|e| Error::io(&parent, e))?;
        Ok(AtomicFile {
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    /// The open temporary file.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flush to disk and move into place.
    pub fn commit(self) -> Result<PathBuf, Error> {
        self.tmp
            .as_file()
            .sync_all()
            .map_err(|e| Error::io(&self.dest, e))?;
        self.commit_unsynced()
    }

    /// Move into place without waiting for the disk. Still atomic against a crash or
    /// Ctrl-C of the process (the data is in the page cache before the rename); only a
    /// power cut may leave the file short or empty, so this is for files whose reader
    /// checks them and can redo the work, such as resume caches.
    pub fn commit_unsynced(self) -> Result<PathBuf, Error> {
        let dest = self.dest;
        self.tmp
            .persist(&dest)
            .map_err(|e| Error::io(&dest, e.error))?;
        Ok(dest)
    }
}

/// Write `bytes` to `dest` atomically.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<PathBuf, Error> {
    let mut f = AtomicFile::create(dest)?;
    f.file().write_all(bytes).map_err(|e| Error::io(dest, e))?;
    f.commit()
}

/// Write `bytes` to `dest` atomically, without waiting for the disk
/// (see [`AtomicFile::commit_unsynced`]).
pub fn write_atomic_unsynced(dest: &Path, bytes: &[u8]) -> Result<PathBuf, Error> {
    let mut f = AtomicFile::create(dest)?;
    f.file().write_all(bytes).map_err(|e| Error::io(dest, e))?;
    f.commit_unsynced()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sub/out.bin");
        let mut f = AtomicFile::create(&dest).unwrap();
        f.file().write_all(b"hello").unwrap();
        assert!(!dest.exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
        // Nothing else left in the folder.
        assert_eq!(
            std::fs::read_dir(dest.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        {
            let mut f = AtomicFile::create(&dest).unwrap();
            f.file().write_all(b"partial").unwrap();
        }
        assert!(!dest.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
