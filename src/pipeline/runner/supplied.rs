//! Results made elsewhere: a stage's result given to the run instead of computed (the
//! distributed front supplies the bar matrix and the PCA it made on a cluster, and the
//! run does every other stage as on one machine). Stages whose work only feeds supplied
//! results are skipped.

use std::path::Path;

use super::plan::StreamPlan;
use crate::error::{Error, Result};
use crate::pipeline::graph::Pipeline;
use crate::pipeline::stage::{Kind, Mode, Payload, StoredPayload};
use crate::store::fingerprint::Fingerprint;

/// What a run takes as given, and what it still has to do.
pub(super) struct Supplied {
    /// Node, its result, and that result's resume fingerprint.
    pub(super) results: Vec<(usize, Payload, String)>,
    /// Per node: whether it runs (neither supplied nor only feeding supplied results).
    pub(super) needed: Vec<bool>,
}

fn refuse(expected: String, actual: String) -> Error {
    Error::InvalidArgument {
        name: "supplied result",
        expected,
        actual,
    }
}

fn kind_of(stored: &StoredPayload) -> Kind {
    match stored {
        StoredPayload::Files { .. } => Kind::Files,
        StoredPayload::Array { .. } => Kind::Array,
        StoredPayload::Matrix { .. } => Kind::Matrix,
        StoredPayload::Model { .. } => Kind::Model,
    }
}

/// The fingerprint of a supplied result: its files' names, sizes and times, so a stage
/// downstream resumes only while they are unchanged.
fn fingerprint_of(stored: &StoredPayload, out_dir: &Path) -> String {
    let mut fp = Fingerprint::of_program();
    fp.add_str("supplied")
        .add_str(&serde_json::to_string(stored).expect("serialises"));
    let at = |p: &Path| out_dir.join(p);
    match stored {
        StoredPayload::Files { files } => files.iter().for_each(|f| {
            fp.add_file(&at(f));
        }),
        StoredPayload::Array { file } => {
            fp.add_file(&at(file));
        }
        StoredPayload::Matrix { npy, csv, .. } => {
            fp.add_file(&at(npy));
            if let Some(csv) = csv {
                fp.add_file(&at(csv));
            }
        }
        StoredPayload::Model { dir } => {
            let mut files: Vec<_> = std::fs::read_dir(at(dir))
                .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                .unwrap_or_default();
            files.sort();
            files.iter().for_each(|f| {
                fp.add_file(f);
            });
        }
    }
    fp.hex()
}

/// Check `supplied` against the pipeline (named stages that run once per run, results
/// of the kind each produces) and load them; `needed` marks every other stage that still
/// feeds something.
pub(super) fn plan(
    p: &Pipeline,
    supplied: &[(String, StoredPayload)],
    out_dir: &Path,
) -> Result<Supplied> {
    let n = p.nodes.len();
    let mut given = vec![false; n];
    let mut results = Vec::new();
    for (name, stored) in supplied {
        let Some(i) = p.nodes.iter().position(|node| &node.name == name) else {
            return Err(refuse(
                format!("a stage of {}", p.file.display()),
                format!("'{name}'"),
            ));
        };
        let node = &p.nodes[i];
        if !matches!(node.mode, Mode::Collect | Mode::Whole) {
            return Err(refuse(
                "a stage that runs once per run (a collecting or whole-run stage)".into(),
                format!("'{name}', which runs {}", node.mode),
            ));
        }
        if kind_of(stored) != node.produces {
            return Err(refuse(
                format!("a {} for '{name}'", node.produces),
                format!("a {}", kind_of(stored)),
            ));
        }
        let payload = stored.load(out_dir)?;
        given[i] = true;
        results.push((i, payload, fingerprint_of(stored, out_dir)));
    }
    // Nodes come inputs first: walk back from the sinks.
    let mut needed = vec![false; n];
    for i in (0..n).rev() {
        let consumers = p.consumers(i);
        needed[i] = !given[i] && (consumers.is_empty() || consumers.iter().any(|&c| needed[c]));
    }
    // A collecting stage is fed by its source's stream: supplying it while that stream
    // still runs for another stage would compute it again over the supplied result.
    for (i, _, _) in &results {
        if let Some(source) = (0..n).find(|&s| {
            needed[s]
                && p.nodes[s].mode == Mode::Source
                && StreamPlan::new(p, s).collectors.contains(i)
        }) {
            return Err(refuse(
                format!(
                    "'{}' supplied with nothing else fed by the tracks of '{}'",
                    p.nodes[*i].name, p.nodes[source].name
                ),
                "another stage still needs those tracks".into(),
            ));
        }
    }
    Ok(Supplied { results, needed })
}
