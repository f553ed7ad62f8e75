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

thread_local! {
    /// The current work item's deadline on this thread, and its budget in seconds.
    static DEADLINE: std::cell::Cell<Option<(std::time::Instant, f64)>> =
        const { std::cell::Cell::new(None) };
}

/// Run `f` with a time budget on this thread: [`check_time`] (called by the decoder
/// between packets, and by the per-track analysis between its passes) returns
/// [`Error::TimedOut`] once `budget` has passed. The runner gives each track one, so a
/// pathological file is reported as `timed out` while the batch goes on.
///
/// ```
/// use std::time::Duration;
/// use eigentechno::{interrupt, Error};
/// let r = interrupt::with_budget(Duration::from_millis(1), || {
///     std::thread::sleep(Duration::from_millis(5));
///     interrupt::check_time()
/// });
/// assert!(matches!(r, Err(Error::TimedOut { .. })));
/// assert!(interrupt::check_time().is_ok()); // the budget ends with the call
/// ```
pub fn with_budget<T>(budget: std::time::Duration, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<(std::time::Instant, f64)>);
    impl Drop for Reset {
        fn drop(&mut self) {
            DEADLINE.with(|d| d.set(self.0));
        }
    }
    let deadline = std::time::Instant::now().checked_add(budget);
    let previous = DEADLINE.with(|d| d.replace(deadline.map(|t| (t, budget.as_secs_f64()))));
    let _reset = Reset(previous);
    f()
}

/// `Err(Error::Interrupted)` if a stop has been asked for, `Err(Error::TimedOut)` if
/// this thread's budget ([`with_budget`]) is spent.
#[inline]
pub fn check_time() -> Result<()> {
    check()?;
    match DEADLINE.with(|d| d.get()) {
        Some((deadline, seconds)) if std::time::Instant::now() >= deadline => {
            Err(Error::TimedOut { seconds })
        }
        _ => Ok(()),
    }
}
