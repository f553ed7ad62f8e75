//! Cooperative interruption. A front that catches Ctrl-C (the Python package, which
//! checks Python's signal handlers while the work runs on another thread) calls
//! [`request`]; long operations look at [`requested`] between units of work (a decoded
//! chunk, a track, a block of matrix rows) and stop with [`Error::Interrupted`].
//!
//! Stopping there leaves what a killed CLI run leaves: every file written so far is
//! complete (outputs are written to a temporary name and renamed), no summary claims
//! work that was not done, and a re-run resumes from the tracks already finished.
//!
//! ```
//! use eigentechno::{interrupt, Error};
//! interrupt::request();
//! assert!(matches!(interrupt::check(), Err(Error::Interrupted)));
//! interrupt::clear();
//! assert!(interrupt::check().is_ok());
//! ```

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Ask every running operation to stop at its next check.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Withdraw the request (once the interrupted operation has returned).
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// Whether a stop has been asked for.
#[inline]
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// `Err(Error::Interrupted)` if a stop has been asked for.
#[inline]
pub fn check() -> Result<()> {
    if requested() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}
