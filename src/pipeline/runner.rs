//! Running a checked pipeline.
//!
//! Each source's tracks flow through the per-track stages on a pool of worker threads.
//! Three bounded channels keep memory bounded however many tracks there are: jobs go
//! out, results come back, and a window of tickets caps how many tracks are in flight
//! or waiting to be committed. Results are committed strictly in track order, so
//! collecting stages, summaries and outputs are identical whatever the thread count.
//! Whole-run stages follow once every track is in.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use crossbeam_channel::bounded;
use serde::{Deserialize, Serialize};

use super::graph::Pipeline;
use super::stage::{Item, Mode, Payload, Stage, StageContext, Track};
use crate::error::{Error, Result, Warnings};
use crate::store::fingerprint::Fingerprint;
use crate::store::{write_atomic, write_atomic_unsynced};

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

/// Marker written when a track has gone through every per-track stage, so a rerun
/// (after an interruption) skips it.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct DoneMarker {
    track: String,
    size: u64,
    modified_ns: Option<u128>,
    chain: String,
    files: BTreeMap<String, Vec<String>>,
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
            })
            .collect(),
        stopped_early: false,
        elapsed: Duration::ZERO,
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
            match catch(&pipeline.nodes[i].name, || stage.run(args, &ctx)) {
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
    let json = serde_json::to_vec_pretty(&report).expect("report serialises");
    write_atomic(&opts.out_dir.join("summary.json"), &json)?;
    Ok(report)
}

fn stage_context(name: &str, opts: &RunOptions, warnings: Warnings) -> StageContext {
    StageContext {
        stage: name.to_string(),
        out_dir: opts.out_dir.clone(),
        warnings,
        run_started: None,
    }
}

/// Run `f`, turning a panic into an error so one bad track cannot end a batch.
fn catch<T>(stage: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
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

fn rel(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn record_files(stage: &mut StageReport, payload: &Payload, out_dir: &Path) {
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

/// The per-track part of the graph fed by one source.
struct StreamPlan {
    source: usize,
    /// Per-track stages reachable from the source, in topological order.
    per_track: Vec<usize>,
    /// Collecting stages fed by the stream.
    collectors: Vec<usize>,
    /// How many stream consumers read each node's output.
    consumer_count: HashMap<usize, usize>,
    /// Fingerprint of the whole per-track chain (for resume markers).
    chain: String,
}

impl StreamPlan {
    fn new(p: &Pipeline, source: usize) -> Self {
        let mut in_stream = vec![false; p.nodes.len()];
        in_stream[source] = true;
        let mut per_track = Vec::new();
        let mut collectors = Vec::new();
        for (i, node) in p.nodes.iter().enumerate() {
            if i == source || node.inputs.is_empty() || !node.inputs.iter().all(|&j| in_stream[j]) {
                continue;
            }
            match node.mode {
                Mode::PerTrack => {
                    in_stream[i] = true;
                    per_track.push(i);
                }
                Mode::Collect => collectors.push(i),
                _ => {}
            }
        }
        let mut consumer_count = HashMap::new();
        for &i in per_track.iter().chain(&collectors) {
            for &j in &p.nodes[i].inputs {
                *consumer_count.entry(j).or_insert(0) += 1;
            }
        }
        let mut fp = Fingerprint::new();
        fp.add_str(env!("CARGO_PKG_VERSION"));
        for &i in std::iter::once(&source).chain(&per_track) {
            fp.add_str(&p.nodes[i].fingerprint);
        }
        StreamPlan {
            source,
            per_track,
            collectors,
            consumer_count,
            chain: fp.hex(),
        }
    }

    /// Resume markers only make sense when nothing collects the tracks: a collecting
    /// stage needs every track's data again.
    fn resumable(&self) -> bool {
        self.collectors.is_empty()
    }
}

enum TrackStatus {
    Ok,
    Failed { stage: String, error: String },
    DoneBefore,
}

struct TrackResult {
    track: Arc<Track>,
    status: TrackStatus,
    warnings: Vec<String>,
    /// Collector node -> its input payload.
    collected: Vec<(usize, Payload)>,
    /// Stage node -> files it wrote for this track.
    files: BTreeMap<usize, Vec<PathBuf>>,
}

fn marker_path(opts: &RunOptions, source_name: &str, track: &Track) -> PathBuf {
    let mut fp = Fingerprint::new();
    fp.add_str(&track.name);
    opts.out_dir
        .join(".eigentechno")
        .join("done")
        .join(source_name)
        .join(format!("{}.json", fp.hex()))
}

fn modified_ns(track: &Track) -> Option<u128> {
    track
        .modified
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
}

fn check_marker(
    p: &Pipeline,
    plan: &StreamPlan,
    opts: &RunOptions,
    track: &Track,
) -> Option<BTreeMap<usize, Vec<PathBuf>>> {
    let path = marker_path(opts, &p.nodes[plan.source].name, track);
    let marker: DoneMarker = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    if marker.track != track.name
        || marker.size != track.size
        || marker.modified_ns != modified_ns(track)
        || marker.chain != plan.chain
    {
        return None;
    }
    let mut files = BTreeMap::new();
    for (stage, list) in marker.files {
        let node = p.node_index(&stage)?;
        let paths: Vec<PathBuf> = list.iter().map(|f| opts.out_dir.join(f)).collect();
        if !paths.iter().all(|f| f.exists()) {
            return None;
        }
        files.insert(node, paths);
    }
    Some(files)
}

fn write_marker(
    p: &Pipeline,
    plan: &StreamPlan,
    opts: &RunOptions,
    track: &Track,
    files: &BTreeMap<usize, Vec<PathBuf>>,
) -> Result<()> {
    let marker = DoneMarker {
        track: track.name.clone(),
        size: track.size,
        modified_ns: modified_ns(track),
        chain: plan.chain.clone(),
        files: files
            .iter()
            .map(|(&i, fs)| {
                (
                    p.nodes[i].name.clone(),
                    fs.iter().map(|f| rel(f, &opts.out_dir)).collect(),
                )
            })
            .collect(),
    };
    let json = serde_json::to_vec_pretty(&marker).expect("marker serialises");
    write_atomic(&marker_path(opts, &p.nodes[plan.source].name, track), &json)?;
    Ok(())
}

fn cache_path(p: &Pipeline, opts: &RunOptions, collector: usize, track: &Track) -> PathBuf {
    let mut fp = Fingerprint::new();
    fp.add_str(&track.name);
    opts.out_dir
        .join(".eigentechno")
        .join("cache")
        .join(&p.nodes[collector].name)
        .join(format!("{}.bin", fp.hex()))
}

/// The cached inputs of every collecting stage for this track, if all are present and
/// were made from the same file by the same stages.
fn check_cache(
    p: &Pipeline,
    plan: &StreamPlan,
    opts: &RunOptions,
    track: &Track,
) -> Option<Vec<(usize, Payload)>> {
    if plan.collectors.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for &c in &plan.collectors {
        let path = cache_path(p, opts, c, track);
        let marker: DoneMarker =
            serde_json::from_slice(&std::fs::read(path.with_extension("json")).ok()?).ok()?;
        if marker.track != track.name
            || marker.size != track.size
            || marker.modified_ns != modified_ns(track)
            || marker.chain != plan.chain
        {
            return None;
        }
        let kind = p.nodes[p.nodes[c].inputs[0]].produces;
        out.push((c, Payload::from_cache(kind, &std::fs::read(&path).ok()?)?));
    }
    Some(out)
}

fn write_cache(
    p: &Pipeline,
    plan: &StreamPlan,
    opts: &RunOptions,
    track: &Track,
    collected: &[(usize, Payload)],
) -> Result<()> {
    for (c, payload) in collected {
        let Some(bytes) = payload.to_cache() else {
            continue;
        };
        let path = cache_path(p, opts, *c, track);
        // Not synced: waiting for the disk twice per track cost ~15 % of an ingest, and
        // a cache that a power cut left short fails its checks and the track is redone.
        write_atomic_unsynced(&path, &bytes)?;
        let marker = DoneMarker {
            track: track.name.clone(),
            size: track.size,
            modified_ns: modified_ns(track),
            chain: plan.chain.clone(),
            files: BTreeMap::new(),
        };
        write_atomic_unsynced(
            &path.with_extension("json"),
            &serde_json::to_vec_pretty(&marker).expect("serialises"),
        )?;
    }
    Ok(())
}

/// Push one track through the per-track stages (runs on a worker thread).
fn process_track(p: &Pipeline, plan: &StreamPlan, opts: &RunOptions, track: Track) -> TrackResult {
    let warnings = Warnings::new();
    if plan.resumable()
        && let Some(files) = check_marker(p, plan, opts, &track)
    {
        return TrackResult {
            track: Arc::new(track),
            status: TrackStatus::DoneBefore,
            warnings: Vec::new(),
            collected: Vec::new(),
            files,
        };
    }
    if let Some(collected) = check_cache(p, plan, opts, &track) {
        return TrackResult {
            track: Arc::new(track),
            status: TrackStatus::DoneBefore,
            warnings: Vec::new(),
            collected,
            files: BTreeMap::new(),
        };
    }
    let track = Arc::new(track);
    let mut outputs: HashMap<usize, Payload> = HashMap::new();
    let mut remaining = plan.consumer_count.clone();
    outputs.insert(plan.source, Payload::Track);
    let mut files = BTreeMap::new();

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
        let result = catch(&node.name, || {
            let payload = take(&mut outputs, node.inputs[0])?;
            stage.process(
                Item {
                    track: track.clone(),
                    payload,
                },
                &ctx,
            )
        });
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
                    status: TrackStatus::Failed {
                        stage: node.name.clone(),
                        error: e.to_string(),
                    },
                    warnings: warnings.snapshot(),
                    collected: Vec::new(),
                    files,
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
                    status: TrackStatus::Failed {
                        stage: p.nodes[c].name.clone(),
                        error: e.to_string(),
                    },
                    warnings: warnings.snapshot(),
                    collected: Vec::new(),
                    files,
                };
            }
        }
    }
    if plan.resumable()
        && let Err(e) = write_marker(p, plan, opts, &track, &files)
    {
        warnings.push(format!("could not write the resume marker: {e}"));
    }
    if let Err(e) = write_cache(p, plan, opts, &track, &collected) {
        warnings.push(format!("could not write the resume cache: {e}"));
    }
    TrackResult {
        track,
        status: TrackStatus::Ok,
        warnings: warnings.snapshot(),
        collected,
        files,
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

#[allow(clippy::too_many_arguments)]
fn run_stream(
    p: &mut Pipeline,
    plan: &StreamPlan,
    opts: &RunOptions,
    threads: usize,
    report: &mut RunReport,
    whole_results: &mut HashMap<usize, Payload>,
    failed_nodes: &mut HashMap<usize, String>,
) -> Result<bool> {
    let source_name = p.nodes[plan.source].name.clone();
    let tracks = {
        let Stage::Source(source) = &mut p.nodes[plan.source].stage else {
            unreachable!("mode checked")
        };
        let mut tracks = source.tracks()?;
        // Results are committed by index: make it the position, whatever the source did.
        for (i, t) in tracks.iter_mut().enumerate() {
            t.index = i;
        }
        tracks
    };
    let total = tracks.len();
    // Collecting stages are moved out for the stream and put back after.
    let mut collectors: Vec<(usize, Box<dyn super::stage::CollectStage>)> = Vec::new();
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
                if ticket_rx.recv().is_err() || cancel.load(Ordering::SeqCst) {
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
                    let r = process_track(pipeline, plan, opts, track);
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
        for result in res_rx.iter() {
            pending.insert(result.track.index, result);
            while let Some(result) = pending.remove(&next) {
                let path = result.track.path.display().to_string();
                next += 1;
                let _ = ticket_tx.send(());
                bar.inc(1);
                bar.set_message(path.clone());
                let mut tr = TrackReport {
                    path: path.clone(),
                    status: "ok".into(),
                    stage: None,
                    error: None,
                    warnings: result.warnings,
                };
                match &result.status {
                    TrackStatus::Ok => {}
                    TrackStatus::DoneBefore => tr.status = "done-before".into(),
                    TrackStatus::Failed { stage, error } => {
                        tr.status = "failed".into();
                        tr.stage = Some(stage.clone());
                        // Errors name their file; the report already does.
                        let error = error.strip_prefix(&format!("{path}: ")).unwrap_or(error);
                        tr.error = Some(error.to_string());
                        if opts.strict {
                            cancel.store(true, Ordering::SeqCst);
                        }
                    }
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
                        Some(e) => Err(e.as_str()),
                        None => {
                            let pos = collected
                                .iter()
                                .position(|(n, _)| n == c)
                                .expect("every collector gets every ok track");
                            Ok(collected.swap_remove(pos).1)
                        }
                    };
                    if let Err(e) = catch(&pipeline.nodes[*c].name, || {
                        stage.accept(&result.track, input, &collector_ctx[k])
                    }) {
                        collector_failed[k] = Some(e.to_string());
                    }
                }
                report.tracks.push(tr);
            }
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    if cancel.load(Ordering::SeqCst) {
        stopped = true;
    }

    // Finish collecting stages and put them back.
    for (k, (c, mut stage)) in collectors.into_iter().enumerate() {
        let ctx = &collector_ctx[k];
        let outcome = match collector_failed[k].take() {
            Some(e) => Err(e),
            None if stopped => Err("the run stopped early".to_string()),
            None => catch(&p.nodes[c].name, || stage.finish(ctx)).map_err(|e| e.to_string()),
        };
        match outcome {
            Ok(payload) => {
                record_files(&mut report.stages[c], &payload, &opts.out_dir);
                whole_results.insert(c, payload);
            }
            Err(e) => {
                report.stages[c].error = Some(e.clone());
                failed_nodes.insert(c, e);
            }
        }
        for w in ctx.warnings.snapshot() {
            report.tracks.push(TrackReport {
                path: format!("(stage {})", p.nodes[c].name),
                status: "ok".into(),
                stage: Some(p.nodes[c].name.clone()),
                error: None,
                warnings: vec![w],
            });
        }
        p.nodes[c].stage = Stage::Collect(stage);
    }
    Ok(stopped)
}

/// Stands in for a collecting stage while the stream owns it.
struct Placeholder;

impl super::stage::WholeStage for Placeholder {
    fn run(&self, _: Vec<Payload>, _: &StageContext) -> Result<Payload> {
        unreachable!("placeholder stages are never run")
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
