//! The journal: what earlier runs into an output folder finished, in
//! `OUT/.eigentechno/`. Done markers for tracks whose outputs are files, cached inputs of
//! collecting stages (dropped once their stage is finished: they would be a second copy
//! of its matrix), and records of finished collecting and whole-run stages. The stream
//! asks it once per track ([`Journal::resume_track`]) and once per stream
//! ([`Journal::read_record`]); a whole-run stage once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use super::plan::StreamPlan;
use super::report::{TrackReport, rel};
use crate::error::{Error, Result};
use crate::pipeline::graph::Pipeline;
use crate::pipeline::stage::{Payload, StoredPayload, Track};
use crate::store::fingerprint::Fingerprint;
use crate::store::{write_atomic, write_atomic_unsynced};

/// The resume state of one output folder.
#[derive(Clone, Debug)]
pub(super) struct Journal {
    out_dir: PathBuf,
}

/// What an earlier run left for a track.
pub(super) enum Resumed {
    /// Its per-track outputs are done: the files each stage wrote.
    Files(BTreeMap<usize, Vec<PathBuf>>),
    /// What it handed every collecting stage (collector node, payload).
    Collected(Vec<(usize, Payload)>),
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

fn marker_path(out_dir: &Path, source_name: &str, track: &Track) -> PathBuf {
    let mut fp = Fingerprint::new();
    fp.add_str(&track.name);
    out_dir
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
    out_dir: &Path,
    p: &Pipeline,
    plan: &StreamPlan,
    track: &Track,
) -> Option<BTreeMap<usize, Vec<PathBuf>>> {
    let path = marker_path(out_dir, &p.nodes[plan.source].name, track);
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
        let paths: Vec<PathBuf> = list.iter().map(|f| out_dir.join(f)).collect();
        if !paths.iter().all(|f| f.exists()) {
            return None;
        }
        files.insert(node, paths);
    }
    Some(files)
}

fn write_marker(
    out_dir: &Path,
    p: &Pipeline,
    plan: &StreamPlan,
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
                    fs.iter().map(|f| rel(f, out_dir)).collect(),
                )
            })
            .collect(),
    };
    let json = serde_json::to_vec_pretty(&marker).expect("marker serialises");
    write_atomic(
        &marker_path(out_dir, &p.nodes[plan.source].name, track),
        &json,
    )?;
    Ok(())
}

fn cache_dir(out_dir: &Path, collector: &str) -> PathBuf {
    out_dir.join(".eigentechno").join("cache").join(collector)
}

fn cache_path(out_dir: &Path, p: &Pipeline, collector: usize, track: &Track) -> PathBuf {
    let mut fp = Fingerprint::new();
    fp.add_str(&track.name);
    cache_dir(out_dir, &p.nodes[collector].name).join(format!("{}.bin", fp.hex()))
}

/// The cached inputs of every collecting stage for this track, if all are present and
/// were made from the same file by the same stages.
fn check_cache(
    out_dir: &Path,
    p: &Pipeline,
    plan: &StreamPlan,
    track: &Track,
) -> Option<Vec<(usize, Payload)>> {
    if plan.collectors.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for &c in &plan.collectors {
        let path = cache_path(out_dir, p, c, track);
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
    out_dir: &Path,
    p: &Pipeline,
    plan: &StreamPlan,
    track: &Track,
    collected: &[(usize, Payload)],
) -> Result<()> {
    for (c, payload) in collected {
        let Some(bytes) = payload.to_cache() else {
            continue;
        };
        let path = cache_path(out_dir, p, *c, track);
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

/// What a finished collecting or whole-run stage leaves for the next run, in
/// `OUT/.eigentechno/stages/<stage>.json`: a rerun whose fingerprint for the stage is
/// the same, and whose files are all still there at the same size, skips the stage and
/// takes its result from here. A source's record holds its tracks' reports instead.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct StageRecord {
    pub(super) stage: String,
    /// Stage type, parameters, inputs' fingerprints, files read (see [`fingerprint`]).
    pub(super) fingerprint: String,
    /// The stage's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) payload: Option<StoredPayload>,
    /// Files written (relative to the output folder), with their sizes.
    #[serde(default)]
    pub(super) files: Vec<(String, u64)>,
    /// A source's tracks, as the run that made the record reported them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) tracks: Vec<TrackReport>,
}

fn record_path(out_dir: &Path, stage: &str) -> PathBuf {
    out_dir
        .join(".eigentechno")
        .join("stages")
        .join(format!("{stage}.json"))
}

/// A stage's fingerprint: the program's identity (version and source hash), its type,
/// parameters and inputs as written, its inputs' fingerprints, and the size and time of
/// the files its parameters name. `None` when an input has none (it failed).
pub(super) fn fingerprint(p: &Pipeline, node: usize, fps: &[Option<String>]) -> Option<String> {
    let n = &p.nodes[node];
    let mut fp = Fingerprint::of_program();
    fp.add_str(&n.fingerprint);
    for &j in &n.inputs {
        fp.add_str(fps[j].as_deref()?);
    }
    for f in &n.input_files {
        fp.add_file(f);
    }
    Some(fp.hex())
}

/// A source's fingerprint: its own, and each track's name, path, size and time.
pub(super) fn source_fingerprint(p: &Pipeline, node: usize, tracks: &[Track]) -> String {
    let mut fp = Fingerprint::new();
    fp.add_str(&fingerprint(p, node, &[]).expect("a source has no inputs"));
    for t in tracks {
        fp.add_str(&t.name)
            .add(t.path.as_os_str().as_encoded_bytes())
            .add_u64(t.size)
            .add(&modified_ns(t).unwrap_or(0).to_le_bytes());
    }
    fp.hex()
}

impl Journal {
    /// The journal of `out_dir` (read lazily: nothing is opened here).
    pub(super) fn new(out_dir: &Path) -> Self {
        Journal {
            out_dir: out_dir.to_path_buf(),
        }
    }

    /// The output folder it keeps the journal of.
    pub(super) fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    /// What an earlier run left for `track` of this stream: its per-track outputs (when
    /// nothing collects the tracks), or what it handed the collecting stages.
    pub(super) fn resume_track(
        &self,
        p: &Pipeline,
        plan: &StreamPlan,
        track: &Track,
    ) -> Option<Resumed> {
        if plan.resumable()
            && let Some(files) = check_marker(&self.out_dir, p, plan, track)
        {
            return Some(Resumed::Files(files));
        }
        check_cache(&self.out_dir, p, plan, track).map(Resumed::Collected)
    }

    /// Note a track done: its per-track files (when nothing collects the tracks) and
    /// what it hands the collecting stages, so an interrupted run resumes after it.
    pub(super) fn record_track(
        &self,
        p: &Pipeline,
        plan: &StreamPlan,
        track: &Track,
        files: &BTreeMap<usize, Vec<PathBuf>>,
        collected: &[(usize, Payload)],
    ) -> Result<()> {
        if plan.resumable() {
            write_marker(&self.out_dir, p, plan, track, files)?;
        }
        write_cache(&self.out_dir, p, plan, track, collected)
    }

    /// Drop the cached inputs of a collecting stage that has finished: its output holds
    /// the same data, and the stage's record lets a re-run take it whole.
    pub(super) fn drop_cache(&self, collector: &str) {
        let _ = std::fs::remove_dir_all(cache_dir(&self.out_dir, collector));
    }

    /// The record of `stage` if it was made with this fingerprint and every file it lists
    /// is still there, at the same size.
    pub(super) fn read_record(&self, stage: &str, fingerprint: &str) -> Option<StageRecord> {
        let record: StageRecord =
            serde_json::from_slice(&std::fs::read(record_path(&self.out_dir, stage)).ok()?).ok()?;
        if record.stage != stage || record.fingerprint != fingerprint {
            return None;
        }
        for (file, size) in &record.files {
            let meta = std::fs::metadata(self.out_dir.join(file)).ok()?;
            if !meta.is_file() || meta.len() != *size {
                return None;
            }
        }
        Some(record)
    }

    /// Record a finished stage: `files` are relative to the output folder. Fails if a
    /// file it lists is gone.
    pub(super) fn write_record(
        &self,
        stage: &str,
        fingerprint: &str,
        payload: Option<StoredPayload>,
        files: &[String],
        tracks: Vec<TrackReport>,
    ) -> Result<()> {
        let mut sized = Vec::with_capacity(files.len());
        for f in files {
            let path = self.out_dir.join(f);
            let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
            sized.push((f.clone(), meta.len()));
        }
        let record = StageRecord {
            stage: stage.to_string(),
            fingerprint: fingerprint.to_string(),
            payload,
            files: sized,
            tracks,
        };
        let json = serde_json::to_vec_pretty(&record).expect("record serialises");
        write_atomic(&record_path(&self.out_dir, stage), &json)?;
        Ok(())
    }

    /// Remove a stage's record before the stage runs again, so outputs that a failed or
    /// interrupted run left half rewritten are never taken as done.
    pub(super) fn forget(&self, stage: &str) {
        let _ = std::fs::remove_file(record_path(&self.out_dir, stage));
    }
}
