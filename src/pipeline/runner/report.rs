//! What a run reports: per track, per stage, and as text for the terminal.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a track fared; written in `summary.json` as `"ok"`, `"failed"`, `"timed out"`
/// or `"done-before"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TrackStatus {
    /// Processed in this run.
    #[serde(rename = "ok")]
    Ok,
    /// A stage failed on it; the run went on without it.
    #[serde(rename = "failed")]
    Failed,
    /// It ran past its time budget (`max_track_seconds`); the run went on without it.
    #[serde(rename = "timed out")]
    TimedOut,
    /// Finished by an earlier run; skipped.
    #[serde(rename = "done-before")]
    DoneBefore,
}

impl TrackStatus {
    /// The word used in `summary.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackStatus::Ok => "ok",
            TrackStatus::Failed => "failed",
            TrackStatus::TimedOut => "timed out",
            TrackStatus::DoneBefore => "done-before",
        }
    }
}

impl TrackStatus {
    /// Failed or timed out: the track gave no result.
    pub fn is_failure(self) -> bool {
        matches!(self, TrackStatus::Failed | TrackStatus::TimedOut)
    }
}

impl std::fmt::Display for TrackStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackReport {
    /// The file.
    pub path: String,
    /// Processed, failed, or done by an earlier run.
    pub status: TrackStatus,
    /// The stage where it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Non-fatal problems.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub warnings: Vec<String>,
}

impl TrackReport {
    /// A track's report, not a stage's note filed beside the tracks (`(stage NAME)`,
    /// which carries a collecting stage's warnings).
    pub fn is_track(&self) -> bool {
        !self.path.starts_with("(stage")
    }
}

/// What a stage produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    /// Stage name.
    pub name: String,
    /// Stage type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Files it wrote (relative to the output folder).
    pub files: Vec<String>,
    /// Set when a collecting or whole-run stage failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Wall time spent in the stage, in seconds (to the millisecond). For per-track
    /// stages it is summed over the tracks, so over the worker threads.
    #[serde(default)]
    pub seconds: f64,
    /// Done by an earlier run with the same inputs and parameters, so skipped (for a
    /// source or per-track stage: every track was). Written only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub already_done: bool,
}

/// The outcome of a run, also written as `summary.json` in the output folder. Its only
/// timings are the stages' `seconds`: equal runs give summaries equal but for those.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The pipeline file.
    pub pipeline: String,
    /// Tracks, per source, in processing order.
    pub tracks: Vec<TrackReport>,
    /// Stages and their outputs.
    pub stages: Vec<StageReport>,
    /// Whether the run stopped early (strict mode).
    pub stopped_early: bool,
    /// Wall time (not serialised).
    #[serde(skip)]
    pub elapsed: Duration,
    /// Whether the run was quiet: the summary text then leaves out the timings (not
    /// serialised).
    #[serde(skip)]
    pub quiet: bool,
    /// The process' peak resident memory at the end of the run, in bytes, where the
    /// system tells it (not serialised).
    #[serde(skip)]
    pub peak_memory: Option<u64>,
}

/// This process' peak resident memory so far (Linux: `VmHWM` of `/proc/self/status`).
pub fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

impl RunReport {
    /// Tracks that failed or timed out.
    pub fn failures(&self) -> impl Iterator<Item = &TrackReport> {
        self.tracks.iter().filter(|t| t.status.is_failure())
    }

    /// The `n` stages that took longest, slowest first (ties in pipeline order); stages
    /// that took under 5 ms are left out.
    pub fn slowest_stages(&self, n: usize) -> Vec<&StageReport> {
        let mut stages: Vec<&StageReport> =
            self.stages.iter().filter(|s| s.seconds >= 0.005).collect();
        stages.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
        stages.truncate(n);
        stages
    }

    /// Whether any stage or track failed.
    pub fn has_failures(&self) -> bool {
        self.failures().next().is_some() || self.stages.iter().any(|s| s.error.is_some())
    }
}

impl RunReport {
    /// A human-readable summary: counts, where outputs went, and every failure.
    pub fn summary_text(&self, out_dir: &Path) -> String {
        use std::fmt::Write;
        let count = |s: TrackStatus| {
            self.tracks
                .iter()
                .filter(|t| t.status == s && t.is_track())
                .count()
        };
        let (ok, failed, timed_out, before) = (
            count(TrackStatus::Ok),
            count(TrackStatus::Failed),
            count(TrackStatus::TimedOut),
            count(TrackStatus::DoneBefore),
        );
        let mut s = String::new();
        let all = ok + failed + timed_out + before;
        if all > 0 {
            let _ = write!(s, "{all} tracks: {ok} processed");
            if before > 0 {
                let _ = write!(s, ", {before} already done (skipped)");
            }
            if failed > 0 {
                let _ = write!(s, ", {failed} failed");
            }
            if timed_out > 0 {
                let _ = write!(s, ", {timed_out} timed out");
            }
        } else {
            s.push_str("no tracks");
        }
        let memory = match self.peak_memory {
            Some(b) if !self.quiet => format!(", peak memory {} MB", b / 1_000_000),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            " in {:.1} s{memory}{}",
            self.elapsed.as_secs_f64(),
            if self.stopped_early {
                " (stopped early: --strict)"
            } else {
                ""
            }
        );
        for st in &self.stages {
            let done = if st.already_done {
                "already done, "
            } else {
                ""
            };
            if st.error.as_deref().is_some_and(|e| e.starts_with(NOT_RUN)) {
                continue;
            } else if st.error.is_some() {
                let _ = writeln!(s, "  {} ({}): failed (see below)", st.name, st.type_name);
            } else if st.files.is_empty() && st.already_done {
                let _ = writeln!(s, "  {} ({}): already done", st.name, st.type_name);
            } else if !st.files.is_empty() {
                let dirs: std::collections::BTreeSet<String> = st
                    .files
                    .iter()
                    .map(|f| {
                        Path::new(f)
                            .components()
                            .next()
                            .map(|c| c.as_os_str().to_string_lossy().into_owned())
                            .unwrap_or_default()
                    })
                    .collect();
                let where_ = dirs
                    .iter()
                    .map(|d| out_dir.join(d).display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let _ = writeln!(
                    s,
                    "  {} ({}): {done}{} files in {where_}",
                    st.name,
                    st.type_name,
                    st.files.len()
                );
            }
        }
        let slowest = self.slowest_stages(3);
        if !self.quiet && !slowest.is_empty() {
            let list: Vec<String> = slowest
                .iter()
                .map(|st| format!("{} {:.2} s", st.name, st.seconds))
                .collect();
            let _ = writeln!(s, "  slowest stages: {}", list.join(", "));
        }
        let _ = writeln!(s, "  summary: {}", out_dir.join("summary.json").display());
        s
    }

    /// What went wrong, for stderr: failed stages (the first cause in full; stages that
    /// did not run because an input failed, in one line), skipped files and warnings.
    /// Empty when nothing did.
    pub fn problems_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let mut not_run = Vec::new();
        for st in &self.stages {
            match &st.error {
                Some(e) if e.starts_with(NOT_RUN) => not_run.push(st.name.as_str()),
                Some(e) => {
                    let _ = writeln!(
                        s,
                        "error: stage '{}' ({}) failed: {e}",
                        st.name, st.type_name
                    );
                }
                None => {}
            }
        }
        if !not_run.is_empty() {
            let _ = writeln!(
                s,
                "error: not run, as an input failed: {}",
                not_run.join(", ")
            );
        }
        let failed: Vec<&TrackReport> = self.failures().collect();
        if !failed.is_empty() {
            let _ = writeln!(s, "Skipped files:");
            for t in failed {
                let _ = writeln!(
                    s,
                    "  {}: {}",
                    t.path,
                    t.error.as_deref().unwrap_or("failed")
                );
            }
        }
        let warned: Vec<&TrackReport> = self
            .tracks
            .iter()
            .filter(|t| !t.warnings.is_empty())
            .collect();
        if !warned.is_empty() {
            let _ = writeln!(s, "Warnings:");
            for t in warned {
                for w in &t.warnings {
                    let _ = writeln!(s, "  {}: {w}", t.path);
                }
            }
        }
        s
    }

    /// How the run ended, for an exit code: a stage failed (or no track gave a
    /// result), some tracks failed, or everything ran.
    pub fn status(&self) -> RunStatus {
        let tracks: Vec<&TrackReport> = self.tracks.iter().filter(|t| t.is_track()).collect();
        let gave = tracks.iter().any(|t| !t.status.is_failure());
        if self.stages.iter().any(|s| s.error.is_some()) || (!tracks.is_empty() && !gave) {
            RunStatus::Failed
        } else if tracks.iter().any(|t| t.status.is_failure()) || self.stopped_early {
            RunStatus::PartlyFailed
        } else {
            RunStatus::Complete
        }
    }
}

/// The start of a stage's error when it was not run because an input failed.
pub const NOT_RUN: &str = "not run: input";

/// How a run ended ([`RunReport::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Every stage ran, and every track gave its result.
    Complete,
    /// Every stage ran, but some tracks failed or timed out and were left out.
    PartlyFailed,
    /// A stage failed, or no track gave a result: the run produced nothing usable.
    Failed,
}

/// `path` relative to `base` (the output folder), as reports and records name files.
pub(super) fn rel(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}
