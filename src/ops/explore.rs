//! The explorer: one HTML page per output folder to audition and browse a run.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::explore::{Moment, write_explorer};

/// (Re)write `dir/index.html` for the outputs of an earlier run (or of
/// `eigentechno pca`) and return its path.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let job = Default::default();
/// eigentechno::ops::fit_to_dir("fixtures/pca/X.npy".as_ref(), None, dir.path(), &job)?;
/// let page = eigentechno::ops::explore(dir.path())?;
/// assert!(page.ends_with("index.html") && page.exists());
/// # Ok(()) }
/// ```
pub fn explore(dir: &Path) -> Result<PathBuf> {
    write_explorer(dir, Moment::Afterwards)
}

/// The explorer page written at the end of a run that took `seconds` so far.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let job = Default::default();
/// eigentechno::ops::fit_to_dir("fixtures/pca/X.npy".as_ref(), None, dir.path(), &job)?;
/// let page = eigentechno::ops::explore_end_of_run(dir.path(), 1.5)?;
/// assert!(page.exists());
/// # Ok(()) }
/// ```
pub fn explore_end_of_run(dir: &Path, seconds: f64) -> Result<PathBuf> {
    write_explorer(dir, Moment::EndOfRun(seconds))
}

/// Open `page` with the platform's own opener (`open`, `start`, `xdg-open`); nothing
/// is bundled.
///
/// ```no_run
/// # fn main() -> eigentechno::Result<()> {
/// let page = eigentechno::ops::explore("out/eigentechno".as_ref())?;
/// eigentechno::ops::open_in_browser(&page)?;
/// # Ok(()) }
/// ```
pub fn open_in_browser(page: &Path) -> Result<()> {
    let (cmd, args): (&str, Vec<&std::ffi::OsStr>) = if cfg!(target_os = "macos") {
        ("open", vec![page.as_os_str()])
    } else if cfg!(windows) {
        (
            "cmd",
            vec![
                "/C".as_ref(),
                "start".as_ref(),
                "".as_ref(),
                page.as_os_str(),
            ],
        )
    } else {
        ("xdg-open", vec![page.as_os_str()])
    };
    let failed = |why: String| Error::InvalidData {
        path: page.to_path_buf(),
        reason: format!("{why}; open it yourself"),
    };
    match std::process::Command::new(cmd).args(&args).status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(failed(format!("{cmd} exited with {s}"))),
        Err(e) => Err(failed(format!("could not start {cmd} ({e})"))),
    }
}
