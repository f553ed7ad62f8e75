//! Running a checked pipeline.
//!
//! Each source's tracks flow through the per-track stages on a pool of worker threads.
//! Three bounded channels keep memory bounded however many tracks there are: jobs go
//! out, results come back, and a window of tickets caps how many tracks are in flight
//! or waiting to be committed. Results are committed strictly in track order, so
//! collecting stages, summaries and outputs are identical whatever the thread count.
//! Whole-run stages follow once every track is in.

mod report;
mod resume;
mod stream;

pub use report::{RunReport, StageReport, TrackReport, TrackStatus};

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::graph::Pipeline;
use super::stage::{Mode, Payload, Stage, StageContext};
use crate::error::{Error, Result, Warnings};
use crate::store::write_atomic;
use stream::{StreamPlan, run_stream};

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
    pub(super) fn resume(&mut self, opts: &RunOptions, node: usize, fingerprint: &str) -> bool {
        let stage = &mut self.report.stages[node];
        let Some(record) = resume::read_record(opts, &stage.name, fingerprint) else {
            return false;
        };
        let Some(Ok(payload)) = record.payload.as_ref().map(|p| p.load(&opts.out_dir)) else {
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
                resume::write_record(opts, &name, fp, Some(stored), &stage.files, Vec::new())
            {
                self.warn(&name, format!("could not write the resume record: {e}"));
            }
        }
        self.fps[node] = fingerprint;
        self.results.insert(node, payload);
    }
}

/// Run a pipeline. Track failures are reported, not returned as errors; an `Err`
/// means the run itself could not proceed (the output folder is not writable, a
/// source folder vanished).
///
/// A stage that an earlier run into the same folder finished with the same inputs and
/// parameters is skipped, its result taken from that run's record (see
/// [`StageReport::already_done`]); a changed parameter redoes the stage and every stage
/// downstream of it, and so does a deleted or resized output file for its stage.
pub fn run(pipeline: &mut Pipeline, opts: &RunOptions) -> Result<RunReport> {
    let start = Instant::now();
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| Error::io(&opts.out_dir, e))?;
    // A second run into the same folder would interleave its files with this one's.
    let _lock = crate::store::OutputLock::acquire(&opts.out_dir)?;
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        opts.threads
    };
    let n = pipeline.nodes.len();
    let mut st = RunState {
        report: RunReport {
            pipeline: pipeline.file.display().to_string(),
            tracks: Vec::new(),
            stages: pipeline
                .nodes
                .iter()
                .map(|node| StageReport {
                    name: node.name.clone(),
                    type_name: node.type_name.to_string(),
                    files: Vec::new(),
                    error: None,
                    seconds: 0.0,
                    already_done: false,
                })
                .collect(),
            stopped_early: false,
            elapsed: Duration::ZERO,
            peak_memory: None,
            quiet: opts.quiet,
        },
        results: HashMap::new(),
        fps: vec![None; n],
    };

    // Streams: one per source.
    for src in 0..n {
        if pipeline.nodes[src].mode != Mode::Source {
            continue;
        }
        let stream = StreamPlan::new(pipeline, src);
        if run_stream(pipeline, &stream, opts, threads, &mut st)? {
            st.report.stopped_early = true;
            break;
        }
    }

    // Whole-run stages.
    if !st.report.stopped_early {
        for i in 0..n {
            if pipeline.nodes[i].mode != Mode::Whole {
                continue;
            }
            let ok = run_whole(pipeline, i, opts, start, &mut st)?;
            // A stage stopped by an interruption is not a failure to report: stop here.
            crate::interrupt::check()?;
            if !ok && opts.strict {
                st.report.stopped_early = true;
                break;
            }
        }
    }

    let mut report = st.report;
    report.elapsed = start.elapsed();
    report.peak_memory = report::peak_memory();
    for st in &mut report.stages {
        st.seconds = (st.seconds * 1000.0).round() / 1000.0;
    }
    let json = serde_json::to_vec_pretty(&report).expect("report serialises");
    write_atomic(&opts.out_dir.join("summary.json"), &json)?;
    Ok(report)
}

/// Run (or resume) whole-run stage `i`; false if it failed.
fn run_whole(
    pipeline: &Pipeline,
    i: usize,
    opts: &RunOptions,
    start: Instant,
    st: &mut RunState,
) -> Result<bool> {
    let node = &pipeline.nodes[i];
    if let Some(bad) = node.inputs.iter().find(|j| !st.results.contains_key(j)) {
        let why = format!("input '{}' has no result", pipeline.nodes[*bad].name);
        st.report.stages[i].error = Some(why);
        return Ok(false);
    }
    let started = Instant::now();
    let fingerprint = resume::fingerprint(pipeline, i, &st.fps);
    if let Some(fp) = &fingerprint
        && st.resume(opts, i, fp)
    {
        st.report.stages[i].seconds = started.elapsed().as_secs_f64();
        return Ok(true);
    }
    resume::forget(opts, &node.name);
    let mut args = Vec::new();
    for &j in &node.inputs {
        let consumers_left = pipeline.consumers(j).iter().filter(|&&c| c > i).count();
        let p = if consumers_left > 0 {
            st.results.get_mut(&j).expect("checked").share()?
        } else {
            st.results.remove(&j).expect("checked")
        };
        args.push(p);
    }
    let mut ctx = stage_context(&node.name, opts, Warnings::new());
    ctx.run_started = Some(start);
    let Stage::Whole(stage) = &node.stage else {
        unreachable!("mode checked")
    };
    let result = catch(&node.name, || stage.run(args, &ctx));
    st.report.stages[i].seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(p) => {
            st.finished(opts, i, fingerprint, p);
            Ok(true)
        }
        Err(e) => {
            st.report.stages[i].error = Some(e.to_string());
            Ok(false)
        }
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

pub(super) fn rel(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
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
