//! Opening a path nobody vouches for: only a regular file, and never blocking (the
//! decoder, the content sniffer and the track listing all open files this way).

use std::fs::File;
use std::path::Path;

use crate::error::{DecodeProblem, Error, Result};

/// What kind of thing a path is, in words, for one that is not a regular file.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Open `path` for reading only if it is a regular file (following links), without
/// ever blocking: a FIFO opened for reading waits for a writer forever, so it is opened
/// non-blocking and refused by what the opened handle is.
pub fn open_regular(path: &Path) -> Result<(File, std::fs::Metadata)> {
    let problem = |problem: DecodeProblem| Error::Decode {
        path: path.to_path_buf(),
        problem,
    };
    let not_regular = |why: String| problem(DecodeProblem::NotRegular(why));
    let link = std::fs::symlink_metadata(path).map_err(|e| problem(DecodeProblem::Io(e)))?;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if link.file_type().is_symlink() => {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                "a symbolic link to a file that does not exist (dangling)".to_string()
            } else if e.raw_os_error() == Some(40) {
                // ELOOP on Linux.
                "a symbolic link loop".to_string()
            } else {
                format!("a symbolic link that cannot be followed ({e})")
            };
            return Err(not_regular(why));
        }
        Err(e) => return Err(problem(DecodeProblem::Io(e))),
    };
    if meta.is_dir() {
        let why = match std::fs::read_dir(path) {
            Ok(_) => "a folder".to_string(),
            Err(e) => format!("a folder whose contents cannot be listed ({e})"),
        };
        return Err(not_regular(why));
    }
    if !meta.is_file() {
        return Err(not_regular(kind_of(&meta).to_string()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options
        .open(path)
        .map_err(|e| problem(DecodeProblem::Io(e)))?;
    // The path may have been swapped for something else between the two looks.
    let meta = file.metadata().map_err(|e| problem(DecodeProblem::Io(e)))?;
    if !meta.is_file() {
        return Err(not_regular(kind_of(&meta).to_string()));
    }
    Ok((file, meta))
}
