//! Running a checked pipeline.
//!
//! Each source's tracks flow through the per-track stages on a pool of worker threads.
//! Three bounded channels keep memory bounded however many tracks there are: jobs go
//! out, results come back, and a window of tickets caps how many tracks are in flight
//! or waiting to be committed. Results are committed strictly in track order, so
//! collecting stages, summaries and outputs are identical whatever the thread count.
//! Whole-run stages follow once every track is in.

mod journal;
mod plan;
mod report;
mod state;
mod stream;
mod supplied;

pub use report::{NOT_RUN, RunReport, RunStatus, StageReport, TrackReport, TrackStatus};
pub use state::RunOptions;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::graph::Pipeline;
use super::stage::{Mode, Stage};
use crate::error::{Error, Result, Warnings};
use crate::store::write_atomic;
use journal::Journal;
use plan::StreamPlan;
use state::{RunState, catch, stage_context};
use stream::run_stream;

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
    // A supply that does not fit the pipeline is refused before anything is written.
    let supplied = supplied::plan(pipeline, &opts.supplied, &opts.out_dir)?;
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
        journal: Journal::new(&opts.out_dir),
    };

    for (i, payload, fp) in supplied.results {
        let stage = &mut st.report.stages[i];
        state::record_files(stage, &payload, &opts.out_dir);
        // Done before this run, elsewhere.
        stage.already_done = true;
        st.fps[i] = Some(fp);
        st.results.insert(i, payload);
    }

    // Streams: one per source.
    for src in 0..n {
        if pipeline.nodes[src].mode != Mode::Source || !supplied.needed[src] {
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
            if pipeline.nodes[i].mode != Mode::Whole || !supplied.needed[i] {
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
        let why = format!("{NOT_RUN} '{}' failed", pipeline.nodes[*bad].name);
        st.report.stages[i].error = Some(why);
        return Ok(false);
    }
    let started = Instant::now();
    let fingerprint = journal::fingerprint(pipeline, i, &st.fps);
    if let Some(fp) = &fingerprint
        && st.resume(i, fp)
    {
        st.report.stages[i].seconds = started.elapsed().as_secs_f64();
        return Ok(true);
    }
    st.journal.forget(&node.name);
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
