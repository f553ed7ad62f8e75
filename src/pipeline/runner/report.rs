//! What a run reports: per track, per stage, and as text for the terminal.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What happened to one track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackReport {
    /// The file.
    pub path: String,
    /// `ok`, `failed`, or `done-before` (finished by an earlier run; skipped).
    pub status: String,
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
}

/// The outcome of a run, also written as `summary.json` in the output folder.
/// It holds no timings, so equal runs give byte-identical summaries.
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
}

impl RunReport {
    /// Tracks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &TrackReport> {
        self.tracks.iter().filter(|t| t.status == "failed")
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
        let count = |s: &str| {
            self.tracks
                .iter()
                .filter(|t| t.status == s && !t.path.starts_with("(stage"))
                .count()
        };
        let (ok, failed, before) = (count("ok"), count("failed"), count("done-before"));
        let mut s = String::new();
        if ok + failed + before > 0 {
            let _ = write!(s, "{} tracks: {ok} processed", ok + failed + before);
            if before > 0 {
                let _ = write!(s, ", {before} already done (skipped)");
            }
            if failed > 0 {
                let _ = write!(s, ", {failed} failed");
            }
        } else {
            s.push_str("done");
        }
        let _ = writeln!(
            s,
            " in {:.1} s{}",
            self.elapsed.as_secs_f64(),
            if self.stopped_early {
                " (stopped early: --strict)"
            } else {
                ""
            }
        );
        for st in &self.stages {
            if let Some(e) = &st.error {
                let _ = writeln!(s, "  stage {} ({}) failed: {e}", st.name, st.type_name);
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
                    "  {} ({}): {} files in {where_}",
                    st.name,
                    st.type_name,
                    st.files.len()
                );
            }
        }
        let _ = writeln!(s, "  summary: {}", out_dir.join("summary.json").display());
        if failed > 0 {
            let _ = writeln!(s, "Skipped files:");
            for t in self.failures() {
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
}
