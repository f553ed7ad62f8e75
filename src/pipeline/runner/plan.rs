//! The per-track part of a pipeline fed by one source: which stages a track goes
//! through, which collecting stages receive it, and the chain's fingerprint.

use std::collections::HashMap;

use crate::pipeline::graph::Pipeline;
use crate::pipeline::stage::Mode;
use crate::store::fingerprint::Fingerprint;

/// The per-track part of the graph fed by one source.
pub(super) struct StreamPlan {
    pub(super) source: usize,
    /// Per-track stages reachable from the source, in topological order.
    pub(super) per_track: Vec<usize>,
    /// Collecting stages fed by the stream.
    pub(super) collectors: Vec<usize>,
    /// How many stream consumers read each node's output.
    pub(super) consumer_count: HashMap<usize, usize>,
    /// Fingerprint of the whole per-track chain (for resume markers).
    pub(super) chain: String,
}

impl StreamPlan {
    pub(super) fn new(p: &Pipeline, source: usize) -> Self {
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
        let mut fp = Fingerprint::of_program();
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
    pub(super) fn resumable(&self) -> bool {
        self.collectors.is_empty()
    }
}
