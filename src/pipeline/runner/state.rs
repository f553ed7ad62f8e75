//! What a run holds while it goes: its options, its report so far, the whole-run
//! results not yet consumed, each stage's resume fingerprint, and the journal.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::journal::Journal;
use super::report::{RunReport, StageReport, TrackReport, TrackStatus, rel};
use crate::error::{Error, Result, Warnings};
use crate::pipeline::stage::{Payload, StageContext, StoredPayload};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Where outputs go.
    pub out_dir: PathBuf,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Stop at the first track that fails.
    pub strict: bool,
    /// No progress bars.
    pub quiet: bool,
    /// Time budget of one track in seconds; 0 scales it to the file
    /// ([`RunOptions::track_budget`]).
    pub max_track_seconds: f64,
    /// Results made elsewhere, by stage name, taken as given: the stage is not run, and
    /// neither is any stage whose work only feeds supplied results (the distributed
    /// front supplies the bar matrix and the PCA it made on a cluster).
    pub supplied: Vec<(String, StoredPayload)>,
}

impl RunOptions {
    /// Options for `out_dir` with every default: one thread per core, not strict,
    /// quiet, the time budget scaled to each file.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        RunOptions {
            out_dir: out_dir.into(),
            threads: 0,
            strict: false,
            quiet: true,
            max_track_seconds: 0.0,
            supplied: Vec::new(),
        }
    }

    /// The time one track of `size` bytes may take: `max_track_seconds` if set, else
    /// 60 s plus 1 s per 16 kB of file (a second of budget per second of audio at
    /// 128 kbit/s, where decoding and analysis take about a hundredth of that).
    pub fn track_budget(&self, size: u64) -> Duration {
        if self.max_track_seconds > 0.0 {
            Duration::from_secs_f64(self.max_track_seconds)
        } else {
            Duration::from_secs_f64(60.0 + size as f64 / 16_000.0)
        }
    }
}

/// What a run has so far: its report, the whole-run results not yet consumed, and each
/// stage's resume fingerprint (once known).
pub(super) struct RunState {
    pub(super) report: RunReport,
    /// Node -> its whole-run result (collecting and whole-run stages).
    pub(super) results: HashMap<usize, Payload>,
    /// Node -> its resume fingerprint; `None` until known, or when it cannot resume.
    pub(super) fps: Vec<Option<String>>,
    /// What earlier runs into the output folder finished, and this run's own records.
    pub(super) journal: Journal,
}

impl RunState {
    /// A note about a stage for the summary (kept with the tracks' warnings).
    pub(super) fn warn(&mut self, stage: &str, warning: String) {
        self.report.tracks.push(TrackReport {
            path: format!("(stage {stage})"),
            status: TrackStatus::Ok,
            stage: Some(stage.to_string()),
            error: None,
            warnings: vec![warning],
        });
    }

    /// Take the result of `node` from an earlier run, if its record matches
    /// `fingerprint` and its files are intact.
    pub(super) fn resume(&mut self, node: usize, fingerprint: &str) -> bool {
        let stage = &mut self.report.stages[node];
        let Some(record) = self.journal.read_record(&stage.name, fingerprint) else {
            return false;
        };
        let out_dir = self.journal.out_dir();
        let Some(Ok(payload)) = record.payload.as_ref().map(|p| p.load(out_dir)) else {
            return false;
        };
        stage.files = record.files.into_iter().map(|(f, _)| f).collect();
        stage.already_done = true;
        self.results.insert(node, payload);
        self.fps[node] = Some(fingerprint.to_string());
        true
    }

    /// Keep a finished stage's result, and record it for the next run.
    pub(super) fn finished(
        &mut self,
        opts: &RunOptions,
        node: usize,
        fingerprint: Option<String>,
        payload: Payload,
    ) {
        let stage = &mut self.report.stages[node];
        record_files(stage, &payload, &opts.out_dir);
        if let (Some(fp), Some(stored)) = (&fingerprint, payload.to_stored(&opts.out_dir)) {
            let name = stage.name.clone();
            if let Err(e) =
                self.journal
                    .write_record(&name, fp, Some(stored), &stage.files, Vec::new())
            {
                self.warn(&name, format!("could not write the resume record: {e}"));
            }
        }
        self.fps[node] = fingerprint;
        self.results.insert(node, payload);
    }
}

pub(super) fn stage_context(name: &str, opts: &RunOptions, warnings: Warnings) -> StageContext {
    StageContext {
        stage: name.to_string(),
        out_dir: opts.out_dir.clone(),
        warnings,
        run_started: None,
    }
}

/// Run `f`, turning a panic into an error so one bad track cannot end a batch.
pub(super) fn catch<T>(stage: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let message = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            Err(Error::Internal {
                stage: stage.to_string(),
                message,
            })
        }
    }
}

pub(super) fn record_files(stage: &mut StageReport, payload: &Payload, out_dir: &Path) {
    match payload {
        Payload::Files(files) => stage.files.extend(files.iter().map(|f| rel(f, out_dir))),
        // An array read from an input file is not an output.
        Payload::Array(_, Some(file)) if file.starts_with(out_dir) => {
            stage.files.push(rel(file, out_dir))
        }
        Payload::Matrix(m) => {
            stage.files.push(rel(&m.npy, out_dir));
            stage.files.extend(m.csv.iter().map(|c| rel(c, out_dir)));
            // Files written beside the matrix: the ingest report, column labels.
            let stem = m.npy.file_stem().unwrap_or_default().to_string_lossy();
            for side in ["report.json".to_string(), format!("{stem}.labels.txt")] {
                let p = m.npy.with_file_name(side);
                if p.starts_with(out_dir) && p.is_file() {
                    stage.files.push(rel(&p, out_dir));
                }
            }
        }
        Payload::Model(dir) => {
            if let Ok(entries) = std::fs::read_dir(dir) {
                let mut names: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().is_file())
                    .map(|e| rel(&e.path(), out_dir))
                    .collect();
                names.sort();
                stage.files.extend(names);
            }
        }
        _ => {}
    }
}
