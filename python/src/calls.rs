//! How every native call runs: off the GIL on a worker thread that Ctrl-C can stop,
//! its errors raised as the package's exceptions, its string options parsed.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::time::Duration;

use eigentechno::{Error, interrupt};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

/// The exception for `e`, of the package's classes (`eigentechno._errors`): files give
/// `FileError` (an `OSError`), bad arrays and options `InvalidInputError` (a
/// `ValueError`), a track without a beat `NoRhythmError`, an interruption
/// `KeyboardInterrupt`. The message is the CLI's.
pub(crate) fn to_py(py: Python<'_>, e: Error) -> PyErr {
    if e.is_interrupted() {
        return PyKeyboardInterrupt::new_err("interrupted");
    }
    let message = e.to_string();
    let (class, filename) = match &e {
        Error::Io { path, .. }
        | Error::Decode { path, .. }
        | Error::InvalidData { path, .. }
        | Error::Encode { path, .. } => ("FileError", Some(path.clone())),
        Error::NoRhythm(_) => ("NoRhythmError", None),
        Error::Internal { .. } => ("InternalError", None),
        _ => ("InvalidInputError", None),
    };
    package_error(py, class, &message, filename.as_deref())
}

fn package_error(py: Python<'_>, class: &str, message: &str, filename: Option<&Path>) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let cls = py.import("eigentechno._errors")?.getattr(class)?;
        let err = cls.call1((message,))?;
        if let Some(f) = filename {
            err.setattr("filename", f.display().to_string())?;
        }
        Ok(PyErr::from_value(err))
    })();
    made.unwrap_or_else(|e| e)
}

pub(crate) fn invalid(py: Python<'_>, message: impl Into<String>) -> PyErr {
    package_error(py, "InvalidInputError", &message.into(), None)
}

/// [`blocking`], with the engine's parallel parts on `threads` threads (0: its own
/// pool, one thread per core). A task on a Dask worker passes the thread count Dask
/// gives it: two single-threaded workers on two cores, each letting the engine take
/// both, were 15 % slower at Isik's shape than with one thread each.
pub(crate) fn blocking_on<T: Send>(
    py: Python<'_>,
    threads: usize,
    work: impl FnOnce() -> eigentechno::Result<T> + Send,
) -> PyResult<T> {
    if threads == 0 {
        return blocking(py, work);
    }
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => blocking(py, || pool.install(work)),
        // No pool (threads could not start): the engine's own does the work.
        Err(_) => blocking(py, work),
    }
}

/// Run `work` on a worker thread with the GIL released. Every 50 ms the calling thread
/// takes the GIL back to run Python's signal handlers: on Ctrl-C it asks the work to
/// stop ([`interrupt::request`]), waits for it (operations stop at their next check,
/// well within a second), and raises `KeyboardInterrupt`. A panic becomes
/// `InternalError`, never a crash.
pub(crate) fn blocking<T: Send>(
    py: Python<'_>,
    work: impl FnOnce() -> eigentechno::Result<T> + Send,
) -> PyResult<T> {
    let _running = Running::start();
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(0);
    let mut signal: Option<PyErr> = None;
    let joined = std::thread::scope(|scope| {
        let handle = scope.spawn(move || {
            // Dropped when the work returns or unwinds: the waiter sees a disconnect.
            let _done = done_tx;
            work()
        });
        loop {
            let finished = py.detach(|| {
                matches!(
                    done_rx.recv_timeout(Duration::from_millis(50)),
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected)
                )
            });
            if finished {
                break;
            }
            if signal.is_none()
                && let Err(e) = py.check_signals()
            {
                interrupt::request();
                signal = Some(e);
            }
        }
        handle.join()
    });
    if let Some(e) = signal {
        interrupt::clear();
        return Err(e);
    }
    match joined {
        Ok(result) => result.map_err(|e| to_py(py, e)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into());
            Err(package_error(
                py,
                "InternalError",
                &format!("internal error: {what}"),
                None,
            ))
        }
    }
}

/// Native calls running now, and the most there have been at once since the last
/// reset: the package's tests read it to show that calls from two Python threads run
/// side by side (the GIL is released), without timing anything.
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

struct Running;

impl Running {
    fn start() -> Running {
        let now = RUNNING.fetch_add(1, AtomicOrdering::SeqCst) + 1;
        PEAK.fetch_max(now, AtomicOrdering::SeqCst);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, AtomicOrdering::SeqCst);
    }
}

/// The most native calls that have run at once since the last call (then reset).
#[pyfunction]
pub(crate) fn _concurrency_peak() -> usize {
    PEAK.swap(RUNNING.load(AtomicOrdering::SeqCst), AtomicOrdering::SeqCst)
}

pub(crate) fn parse<T: std::str::FromStr>(py: Python<'_>, value: &str) -> PyResult<T>
where
    T::Err: std::fmt::Display,
{
    value.parse::<T>().map_err(|e| invalid(py, e.to_string()))
}
