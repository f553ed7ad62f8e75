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
}

/// Run a pipeline. Track failures are reported, not returned as errors; an `Err`
/// means the run itself could not proceed (the output folder is not writable, a
/// source folder vanished).
pub fn run(pipeline: &mut Pipeline, opts: &RunOptions) -> Result<RunReport> {
    let start = Instant::now();
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| Error::io(&opts.out_dir, e))?;
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        opts.threads
    };
    let n = pipeline.nodes.len();
    let mut report = RunReport {
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
            })
            .collect(),
        stopped_early: false,
        elapsed: Duration::ZERO,
        quiet: opts.quiet,
    };
    let mut whole_results: HashMap<usize, Payload> = HashMap::new();
    let mut failed_nodes: HashMap<usize, String> = HashMap::new();

    // Streams: one per source.
    for src in 0..n {
        if pipeline.nodes[src].mode != Mode::Source {
            continue;
        }
        let stream = StreamPlan::new(pipeline, src);
        let stopped = run_stream(
            pipeline,
            &stream,
            opts,
            threads,
            &mut report,
            &mut whole_results,
            &mut failed_nodes,
        )?;
        if stopped {
            report.stopped_early = true;
            break;
        }
    }

    // Whole-run stages.
    if !report.stopped_early {
        for i in 0..n {
            if pipeline.nodes[i].mode != Mode::Whole {
                continue;
            }
            let inputs = pipeline.nodes[i].inputs.clone();
            if let Some(bad) = inputs.iter().find(|j| !whole_results.contains_key(j)) {
                let why = format!("input '{}' has no result", pipeline.nodes[*bad].name);
                report.stages[i].error = Some(why.clone());
                failed_nodes.insert(i, why);
                continue;
            }
            let mut args = Vec::new();
            for &j in &inputs {
                let consumers_left = pipeline.consumers(j).iter().filter(|&&c| c > i).count();
                let p = if consumers_left > 0 {
                    whole_results.get_mut(&j).expect("checked").share()?
                } else {
                    whole_results.remove(&j).expect("checked")
                };
                args.push(p);
            }
            let mut ctx = stage_context(&pipeline.nodes[i].name, opts, Warnings::new());
            ctx.run_started = Some(start);
            let Stage::Whole(stage) = &pipeline.nodes[i].stage else {
                unreachable!("mode checked")
            };
            let started = Instant::now();
            let result = catch(&pipeline.nodes[i].name, || stage.run(args, &ctx));
            report.stages[i].seconds = started.elapsed().as_secs_f64();
            match result {
                Ok(p) => {
                    record_files(&mut report.stages[i], &p, &opts.out_dir);
                    whole_results.insert(i, p);
                }
                Err(e) => {
                    report.stages[i].error = Some(e.to_string());
                    failed_nodes.insert(i, e.to_string());
                    if opts.strict {
                        report.stopped_early = true;
                        break;
                    }
                }
            }
        }
    }

    report.elapsed = start.elapsed();
    for st in &mut report.stages {
        st.seconds = (st.seconds * 1000.0).round() / 1000.0;
    }
    let json = serde_json::to_vec_pretty(&report).expect("report serialises");
    write_atomic(&opts.out_dir.join("summary.json"), &json)?;
    Ok(report)
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
