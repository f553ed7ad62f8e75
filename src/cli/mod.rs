//! The command handlers: each calls one operation of [`eigentechno::ops`] and prints
//! what it returns. Errors become exit codes here, in one place.

pub mod analysis;
pub mod bench;
pub mod debruijn;
pub mod learn;
pub mod listen;
pub mod pipeline;

use std::process::ExitCode;

/// Exit code for a failed run.
const EXIT_FAILED: u8 = 1;
/// Exit code for a rejected pipeline or bad arguments.
const EXIT_CONFIG: u8 = 2;
/// Exit code for a run that finished without some of its tracks (they failed or timed
/// out, and `--strict` was not given): the outputs are usable, but not whole.
const EXIT_PARTLY: u8 = 3;
/// Exit code after Ctrl-C (128 + SIGINT, as a shell reports it).
const EXIT_INTERRUPTED: u8 = 130;

/// Why a command did not succeed.
pub enum Failure {
    /// Bad arguments or a rejected pipeline: nothing was done (exit 2).
    Usage(String),
    /// The work failed (exit 1).
    Failed(String),
    /// The work is reported already; exit 1 without another message.
    Reported,
    /// The run finished, its failures reported already, without some tracks (exit 3).
    PartlyFailed,
    /// Stopped by Ctrl-C: what was finished is on disk, a re-run resumes (exit 130).
    Interrupted,
}

impl From<eigentechno::Error> for Failure {
    fn from(e: eigentechno::Error) -> Self {
        match e {
            eigentechno::Error::Config(c) => Failure::Usage(c.to_string()),
            e @ eigentechno::Error::InvalidArgument { .. } => Failure::Usage(e.to_string()),
            e @ eigentechno::Error::Learn(eigentechno::learn::LearnError::InvalidParam {
                ..
            }) => Failure::Usage(e.to_string()),
            e if e.is_interrupted() => Failure::Interrupted,
            e => Failure::Failed(e.to_string()),
        }
    }
}

/// A bad option value: nothing was done.
pub fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(e.to_string())
}

/// What a handler returns.
pub type Outcome = Result<(), Failure>;

/// The process' exit code for `outcome`, with its error on stderr.
pub fn exit(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(Failure::Failed(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(EXIT_FAILED)
        }
        Err(Failure::Reported) => ExitCode::from(EXIT_FAILED),
        Err(Failure::PartlyFailed) => ExitCode::from(EXIT_PARTLY),
        Err(Failure::Interrupted) => {
            eprintln!(
                "interrupted: finished tracks are kept; run the same command again to resume"
            );
            ExitCode::from(EXIT_INTERRUPTED)
        }
    }
}

/// Ctrl-C asks the running operation to stop at its next check
/// ([`eigentechno::interrupt`]): within a decoded chunk or a block of rows, well under
/// 2 s, with every output complete or absent. A second Ctrl-C exits at once.
pub fn stop_on_ctrl_c() {
    // Without a handler, SIGINT kills the process as before: nothing is lost but the
    // temporary files of outputs being written.
    // The handler runs on its own thread: it may wait. An operation that never checks
    // (a heatmap, a kernel picture) is ended after the grace time instead; its outputs
    // are still whole or absent (written under a temporary name, then renamed).
    let _ = ctrlc::set_handler(|| {
        if eigentechno::interrupt::requested() {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eigentechno::interrupt::request();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        eprintln!("interrupted");
        std::process::exit(i32::from(EXIT_INTERRUPTED));
    });
}

/// A progress bar for `len` steps, hidden under `--quiet` or off a terminal.
pub fn progress_bar(len: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(len)
    }
}
