//! Resume bookkeeping for per-track work: done markers for tracks whose outputs are
//! files, and cached inputs of collecting stages.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use super::stream::StreamPlan;
use super::{RunOptions, rel};
use crate::error::Result;
use crate::pipeline::graph::Pipeline;
use crate::pipeline::stage::{Payload, Track};
use crate::store::fingerprint::Fingerprint;
use crate::store::{write_atomic, write_atomic_unsynced};

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

pub(super) fn check_marker(
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

pub(super) fn write_marker(
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
pub(super) fn check_cache(
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

pub(super) fn write_cache(
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
