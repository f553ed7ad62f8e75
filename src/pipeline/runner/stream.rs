//! One source's tracks through the per-track stages, on a pool of worker threads,
//! committed in track order to the collecting stages.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;

use super::journal::{self, Journal, Resumed};
use super::plan::StreamPlan;
use super::report::{NOT_RUN, TrackReport, TrackStatus, rel};
use super::state::{RunOptions, RunState, catch, stage_context};
use crate::error::{Result, Warnings};
use crate::pipeline::graph::Pipeline;
use crate::pipeline::stage::{CollectStage, Item, Payload, Stage, StageContext, Track, WholeStage};

enum Outcome {
    Ok,
    Failed {
        stage: String,
        error: String,
        timed_out: bool,
    },
    DoneBefore,
}

struct TrackResult {
    track: Arc<Track>,
    status: Outcome,
    warnings: Vec<String>,
    /// Stage node -> time spent on this track.
    times: Vec<(usize, Duration)>,
    /// Collector node -> its input payload.
    collected: Vec<(usize, Payload)>,
    /// Stage node -> files it wrote for this track.
    files: BTreeMap<usize, Vec<PathBuf>>,
    /// Writing into the output folder failed (full, read-only, gone): the run stops.
    fatal: Option<crate::Error>,
}

/// Whether `e` is a failure to write into the output folder: no other track could be
/// written either, so the run stops with it rather than failing track after track.
fn is_output_failure(e: &crate::Error, opts: &RunOptions) -> bool {
    match e {
        crate::Error::Io { path, .. } | crate::Error::Encode { path, .. } => {
            path.starts_with(&opts.out_dir)
        }
        _ => false,
    }
}

/// Push one track through the per-track stages (runs on a worker thread), within its
/// time budget.
fn process_track(
    p: &Pipeline,
    plan: &StreamPlan,
    opts: &RunOptions,
    journal: &Journal,
    track: Track,
) -> TrackResult {
    let budget = opts.track_budget(track.size);
    crate::interrupt::with_budget(budget, || {
        process_track_timed(p, plan, opts, journal, track)
    })
}

fn process_track_timed(
    p: &Pipeline,
    plan: &StreamPlan,
    opts: &RunOptions,
    journal: &Journal,
    track: Track,
) -> TrackResult {
    let warnings = Warnings::new();
    if let Some(resumed) = journal.resume_track(p, plan, &track) {
        let (files, collected) = match resumed {
            Resumed::Files(files) => (files, Vec::new()),
            Resumed::Collected(collected) => (BTreeMap::new(), collected),
        };
        return TrackResult {
            track: Arc::new(track),
            status: Outcome::DoneBefore,
            warnings: Vec::new(),
            times: Vec::new(),
            collected,
            files,
            fatal: None,
        };
    }
    let track = Arc::new(track);
    let mut outputs: HashMap<usize, Payload> = HashMap::new();
    let mut remaining = plan.consumer_count.clone();
    outputs.insert(plan.source, Payload::Track);
    let mut files = BTreeMap::new();
    let mut times = Vec::with_capacity(plan.per_track.len());

    // Hand `node`'s output to one consumer: the last consumer takes it, others share.
    let mut take = |outputs: &mut HashMap<usize, Payload>, node: usize| -> Result<Payload> {
        let left = remaining.get_mut(&node).expect("consumer counted");
        *left -= 1;
        if *left == 0 {
            Ok(outputs.remove(&node).expect("produced before use"))
        } else {
            outputs.get_mut(&node).expect("produced before use").share()
        }
    };

    for &i in &plan.per_track {
        let node = &p.nodes[i];
        let Stage::PerTrack(stage) = &node.stage else {
            unreachable!("mode checked")
        };
        let ctx = stage_context(&node.name, opts, warnings.clone());
        let started = Instant::now();
        let result = catch(&node.name, || {
            let payload = take(&mut outputs, node.inputs[0])?;
            let out = stage.process(
                Item {
                    track: track.clone(),
                    payload,
                },
                &ctx,
            )?;
            // Stages that never look at the clock are stopped between stages.
            crate::interrupt::check_time()?;
            Ok(out)
        });
        times.push((i, started.elapsed()));
        match result {
            Ok(payload) => {
                if let Payload::Files(f) = &payload {
                    files.insert(i, f.clone());
                }
                if plan.consumer_count.contains_key(&i) {
                    outputs.insert(i, payload);
                }
            }
            Err(e) => {
                return TrackResult {
                    track: track.clone(),
                    status: Outcome::Failed {
                        stage: node.name.clone(),
                        error: e.to_string(),
                        timed_out: matches!(e, crate::Error::TimedOut { .. }),
                    },
                    warnings: warnings.snapshot(),
                    times,
                    collected: Vec::new(),
                    files,
                    fatal: is_output_failure(&e, opts).then_some(e),
                };
            }
        }
    }
    let mut collected = Vec::new();
    for &c in &plan.collectors {
        match take(&mut outputs, p.nodes[c].inputs[0]) {
            Ok(payload) => collected.push((c, payload)),
            Err(e) => {
                return TrackResult {
                    track: track.clone(),
                    status: Outcome::Failed {
                        stage: p.nodes[c].name.clone(),
                        error: e.to_string(),
                        timed_out: false,
                    },
                    warnings: warnings.snapshot(),
                    times,
                    collected: Vec::new(),
                    files,
                    fatal: None,
                };
            }
        }
    }
    // The resume files are outputs too: failing to write them means the folder is
    // full or unwritable, and the run stops (what is on disk stays valid).
    let fatal = journal
        .record_track(p, plan, &track, &files, &collected)
        .err();
    TrackResult {
        track,
        status: Outcome::Ok,
        warnings: warnings.snapshot(),
        times,
        collected,
        files,
        fatal,
    }
}

fn progress_bar(opts: &RunOptions, len: u64, what: &str) -> indicatif::ProgressBar {
    if opts.quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} tracks, {elapsed} (eta {eta}) {wide_msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}

/// Take a whole stream from an earlier run: when every collecting stage it feeds has a
/// matching record, and nothing per-track writes files of its own, no track needs to
/// be read again. The tracks are reported as that run reported them, the ok ones as
/// done before.
fn replay_stream(p: &Pipeline, plan: &StreamPlan, st: &mut RunState) -> bool {
    let leaf_outputs = plan
        .per_track
        .iter()
        .any(|i| !plan.consumer_count.contains_key(i));
    if plan.collectors.is_empty() || leaf_outputs {
        return false;
    }
    let Some(fp) = st.fps[plan.source].clone() else {
        return false;
    };
    let Some(record) = st.journal.read_record(&p.nodes[plan.source].name, &fp) else {
        return false;
    };
    let mut resumed = Vec::new();
    for &c in &plan.collectors {
        let fp = st.fps[c].clone().expect("set from the source's");
        if !st.resume(c, &fp) {
            // Put back what was taken, so the stream runs as if nothing was.
            for c in resumed {
                st.results.remove(&c);
                st.report.stages[c].files.clear();
                st.report.stages[c].already_done = false;
            }
            return false;
        }
        resumed.push(c);
    }
    for mut t in record.tracks {
        if t.status == TrackStatus::Ok && t.stage.is_none() {
            t.status = TrackStatus::DoneBefore;
            t.warnings.clear();
        }
        st.report.tracks.push(t);
    }
    for &i in std::iter::once(&plan.source).chain(&plan.per_track) {
        st.report.stages[i].already_done = true;
    }
    true
}

pub(super) fn run_stream(
    p: &mut Pipeline,
    plan: &StreamPlan,
    opts: &RunOptions,
    threads: usize,
    st: &mut RunState,
) -> Result<bool> {
    let first_track = st.report.tracks.len();
    let source_name = p.nodes[plan.source].name.clone();
    let (tracks, described) = {
        let Stage::Source(source) = &mut p.nodes[plan.source].stage else {
            unreachable!("mode checked")
        };
        let started = Instant::now();
        let mut tracks = source.tracks()?;
        st.report.stages[plan.source].seconds += started.elapsed().as_secs_f64();
        // Results are committed by index: make it the position, whatever the source did.
        for (i, t) in tracks.iter_mut().enumerate() {
            t.index = i;
        }
        (tracks, source.describe())
    };
    let total = tracks.len();
    if total == 0 {
        // Said once, at the source, rather than as every downstream stage's failure.
        st.report.stages[plan.source].error = Some(format!("no audio files found in {described}"));
    }

    // Resume fingerprints: the source's covers its tracks' names, sizes and times.
    st.fps[plan.source] = Some(journal::source_fingerprint(p, plan.source, &tracks));
    for &i in plan.per_track.iter().chain(&plan.collectors) {
        st.fps[i] = journal::fingerprint(p, i, &st.fps);
    }
    if replay_stream(p, plan, st) {
        return Ok(false);
    }
    for &i in std::iter::once(&plan.source).chain(&plan.collectors) {
        st.journal.forget(&p.nodes[i].name);
    }
    let journal = &st.journal;
    let report = &mut st.report;
    // Collecting stages are moved out for the stream and put back after.
    let mut collectors: Vec<(usize, Box<dyn CollectStage>)> = Vec::new();
    for &c in &plan.collectors {
        let placeholder = Stage::Whole(Box::new(Placeholder));
        let Stage::Collect(stage) = std::mem::replace(&mut p.nodes[c].stage, placeholder) else {
            unreachable!("mode checked")
        };
        collectors.push((c, stage));
    }
    let collector_ctx: Vec<StageContext> = collectors
        .iter()
        .map(|(c, _)| stage_context(&p.nodes[*c].name, opts, Warnings::new()))
        .collect();
    let mut collector_failed: Vec<Option<String>> = vec![None; collectors.len()];

    let bar = progress_bar(opts, total as u64, &source_name);
    let cancel = AtomicBool::new(false);
    let window = (2 * threads).max(2);
    let pipeline: &Pipeline = p;
    let mut stopped = false;
    let mut fatal: Option<crate::Error> = None;
    std::thread::scope(|scope| -> Result<()> {
        let (job_tx, job_rx) = bounded::<Track>(threads);
        let (res_tx, res_rx) = bounded::<TrackResult>(threads);
        let (ticket_tx, ticket_rx) = bounded::<()>(window);
        for _ in 0..window {
            ticket_tx.send(()).expect("capacity");
        }
        let cancel = &cancel;
        scope.spawn(move || {
            for track in tracks {
                if ticket_rx.recv().is_err()
                    || cancel.load(Ordering::SeqCst)
                    || crate::interrupt::requested()
                {
                    break;
                }
                if job_tx.send(track).is_err() {
                    break;
                }
            }
        });
        for _ in 0..threads {
            let job_rx = job_rx.clone();
            let res_tx = res_tx.clone();
            scope.spawn(move || {
                for track in job_rx {
                    let r = process_track(pipeline, plan, opts, journal, track);
                    if res_tx.send(r).is_err() {
                        break;
                    }
                }
            });
        }
        drop(job_rx);
        drop(res_tx);

        // Commit results in track order.
        let mut pending: BTreeMap<usize, TrackResult> = BTreeMap::new();
        let mut next = 0usize;
        for mut result in res_rx.iter() {
            if let Some(e) = result.fatal.take() {
                // Nothing more can be written: stop feeding tracks, and report this.
                cancel.store(true, Ordering::SeqCst);
                fatal.get_or_insert(e);
            }
            if fatal.is_some() {
                // A ticket back, so the feeder wakes, sees the cancel and stops.
                let _ = ticket_tx.send(());
                continue;
            }
            pending.insert(result.track.index, result);
            while let Some(result) = pending.remove(&next) {
                let path = result.track.path.display().to_string();
                next += 1;
                let _ = ticket_tx.send(());
                bar.inc(1);
                bar.set_message(path.clone());
                let mut tr = TrackReport {
                    path: path.clone(),
                    status: TrackStatus::Ok,
                    stage: None,
                    error: None,
                    warnings: result.warnings,
                };
                match &result.status {
                    Outcome::Ok => {}
                    Outcome::DoneBefore => tr.status = TrackStatus::DoneBefore,
                    Outcome::Failed {
                        stage,
                        error,
                        timed_out,
                    } => {
                        tr.status = if *timed_out {
                            TrackStatus::TimedOut
                        } else {
                            TrackStatus::Failed
                        };
                        tr.stage = Some(stage.clone());
                        // Errors name their file; the report already does.
                        let error = error.strip_prefix(&format!("{path}: ")).unwrap_or(error);
                        tr.error = Some(error.to_string());
                        if opts.strict {
                            cancel.store(true, Ordering::SeqCst);
                        }
                    }
                }
                for &(node, t) in &result.times {
                    report.stages[node].seconds += t.as_secs_f64();
                }
                for (node, fs) in &result.files {
                    report.stages[*node]
                        .files
                        .extend(fs.iter().map(|f| rel(f, &opts.out_dir)));
                }
                let mut collected = result.collected;
                for (k, (c, stage)) in collectors.iter_mut().enumerate() {
                    if collector_failed[k].is_some() {
                        continue;
                    }
                    let input = match &tr.error {
                        Some(_) => None,
                        None => {
                            let pos = collected
                                .iter()
                                .position(|(n, _)| n == c)
                                .expect("every collector gets every ok track");
                            Some(collected.swap_remove(pos).1)
                        }
                    };
                    let started = Instant::now();
                    if let Err(e) = catch(&pipeline.nodes[*c].name, || {
                        stage.accept(&result.track, &tr, input, &collector_ctx[k])
                    }) {
                        collector_failed[k] = Some(e.to_string());
                    }
                    report.stages[*c].seconds += started.elapsed().as_secs_f64();
                }
                report.tracks.push(tr);
            }
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    // Interrupted, or the output folder failed: the finished tracks' caches are on disk
    // (a re-run resumes from them); nothing downstream is written from a partial stream.
    if let Some(e) = fatal {
        return Err(e);
    }
    crate::interrupt::check()?;
    if cancel.load(Ordering::SeqCst) {
        stopped = true;
    }

    // Every track done before: so was every per-track stage.
    let tracks = &st.report.tracks[first_track..];
    if !tracks.is_empty() && tracks.iter().all(|t| t.status == TrackStatus::DoneBefore) {
        for &i in std::iter::once(&plan.source).chain(&plan.per_track) {
            st.report.stages[i].already_done = true;
        }
    }

    // Finish collecting stages and put them back.
    let mut all_collected = !stopped;
    for (k, (c, mut stage)) in collectors.into_iter().enumerate() {
        let ctx = &collector_ctx[k];
        let started = Instant::now();
        let outcome = match collector_failed[k].take() {
            Some(e) => Err(e),
            None if stopped => Err("the run stopped early".to_string()),
            None if total == 0 => Err(format!("{NOT_RUN} '{source_name}' failed")),
            None => catch(&p.nodes[c].name, || stage.finish(ctx)).map_err(|e| e.to_string()),
        };
        st.report.stages[c].seconds += started.elapsed().as_secs_f64();
        match outcome {
            Ok(payload) => {
                let fp = st.fps[c].clone();
                st.finished(opts, c, fp, payload);
                st.journal.drop_cache(&p.nodes[c].name);
            }
            Err(e) => {
                st.report.stages[c].error = Some(e);
                all_collected = false;
            }
        }
        for w in ctx.warnings.snapshot() {
            st.warn(&p.nodes[c].name, w);
        }
        p.nodes[c].stage = Stage::Collect(stage);
    }
    // The source's record, with its tracks' reports: what a rerun replays when every
    // collecting stage is done.
    if all_collected
        && !plan.collectors.is_empty()
        && let Some(fp) = st.fps[plan.source].clone()
    {
        let name = p.nodes[plan.source].name.clone();
        let tracks = st.report.tracks[first_track..].to_vec();
        if let Err(e) = st.journal.write_record(&name, &fp, None, &[], tracks) {
            st.warn(&name, format!("could not write the resume record: {e}"));
        }
    }
    Ok(stopped)
}

/// Stands in for a collecting stage while the stream owns it.
struct Placeholder;

impl WholeStage for Placeholder {
    fn run(&self, _: Vec<Payload>, _: &StageContext) -> Result<Payload> {
        unreachable!("placeholder stages are never run")
    }
}
