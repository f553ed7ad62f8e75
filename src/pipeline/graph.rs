//! From a raw pipeline file to a checked stage graph: every type known, every key
//! valid, every input present and of the right kind, no cycles. Nothing runs, and
//! nothing is written, until this has passed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::config::{
    ConfigError, Location, ParamSpec, ParamType, Params, RawPipeline, did_you_mean,
};
use super::registry::Registry;
use super::stage::{BuildContext, Kind, Mode, Stage};

/// Keys of the `[pipeline]` table.
pub const PIPELINE_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "out",
        ty: ParamType::Path,
        default: Some("\"\""),
        help: "output folder (default: out/<pipeline name>; --out overrides)",
    },
    ParamSpec {
        name: "threads",
        ty: ParamType::Int,
        default: Some("0"),
        help: "worker threads (0: one per core; --threads overrides)",
    },
    ParamSpec {
        name: "strict",
        ty: ParamType::Bool,
        default: Some("false"),
        help: "fail the run on the first track that cannot be processed",
    },
    ParamSpec {
        name: "max_track_seconds",
        ty: ParamType::Float,
        default: Some("0"),
        help: "time budget of one track, past which it is reported as timed out and the batch goes on (0: 60 s plus 1 s per 16 kB of file)",
    },
];

/// Run-wide settings from `[pipeline]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Output folder, if the file sets one.
    pub out: Option<PathBuf>,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Fail on the first bad track.
    pub strict: bool,
    /// Time budget of one track in seconds (0: scaled to the file, see
    /// [`crate::pipeline::RunOptions::track_budget`]).
    pub max_track_seconds: f64,
}

/// One checked stage.
pub struct Node {
    /// Its name.
    pub name: String,
    /// Its type name.
    pub type_name: &'static str,
    /// How it runs.
    pub mode: Mode,
    /// What it produces.
    pub produces: Kind,
    /// Indices (into [`Pipeline::nodes`]) of its inputs, in the order written.
    pub inputs: Vec<usize>,
    /// The built stage.
    pub stage: Stage,
    /// Type, parameter values and inputs as text: two runs with equal fingerprints
    /// do the same work.
    pub fingerprint: String,
    /// The paths its parameters name (`path`-typed values, resolved): the files it
    /// reads besides its inputs, whose size and time go into resume fingerprints.
    pub input_files: Vec<PathBuf>,
}

/// A checked pipeline, its stages in an order where inputs come first.
pub struct Pipeline {
    /// The file it came from.
    pub file: PathBuf,
    /// Run-wide settings.
    pub settings: Settings,
    /// Stages, topologically ordered (ties in file order).
    pub nodes: Vec<Node>,
}

impl Pipeline {
    /// Check and build a parsed pipeline against a registry.
    pub fn build(raw: RawPipeline, registry: &Registry) -> Result<Pipeline, ConfigError> {
        let file = raw.file.clone();
        let err =
            |location: &Location, stage: &str, key: Option<&str>, message: String| ConfigError {
                file: file.clone(),
                location: location.clone(),
                stage: Some(stage.to_string()),
                key: key.map(str::to_string),
                message,
            };

        let settings_params = Params::new(
            &file,
            "",
            raw.settings_location.clone(),
            PIPELINE_PARAMS,
            &raw.settings,
            "[pipeline]",
        )?;
        let settings = Settings {
            out: settings_params.optional_path("out")?,
            threads: settings_params.int_in("threads", 0, 1024)? as usize,
            strict: settings_params.bool("strict")?,
            max_track_seconds: settings_params.float_in("max_track_seconds", 0.0, 1e7)?,
        };

        if raw.stages.is_empty() {
            return Err(ConfigError {
                file: file.clone(),
                location: Location::File,
                stage: None,
                key: None,
                message: "the pipeline has no stages: add [stages.NAME] tables".into(),
            });
        }

        // Types and keys.
        let mut types = Vec::with_capacity(raw.stages.len());
        for s in &raw.stages {
            let Some((type_name, type_loc)) = &s.type_name else {
                return Err(err(
                    &s.location,
                    &s.name,
                    Some("type"),
                    format!(
                        "missing 'type'; known types: {}",
                        registry.names().join(", ")
                    ),
                ));
            };
            let Some(t) = registry.get(type_name) else {
                return Err(err(
                    type_loc,
                    &s.name,
                    Some("type"),
                    format!(
                        "unknown stage type '{type_name}'{}; known types: {}",
                        did_you_mean(type_name, registry.names().into_iter()),
                        registry.names().join(", ")
                    ),
                ));
            };
            Params::new(
                &file,
                &s.name,
                s.location.clone(),
                t.params(),
                &s.params,
                &format!("a '{}' stage", t.name()),
            )?;
            types.push(t);
        }

        // Inputs exist.
        let index: BTreeMap<&str, usize> = raw
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let mut inputs: Vec<Vec<usize>> = Vec::with_capacity(raw.stages.len());
        for (s, t) in raw.stages.iter().zip(&types) {
            let loc = &s.inputs_location;
            let (least, most) = t.arity();
            if most == 0 && !s.inputs.is_empty() {
                return Err(err(
                    loc,
                    &s.name,
                    Some("inputs"),
                    format!("a '{}' stage takes no inputs", t.name()),
                ));
            }
            if s.inputs.is_empty() && least > 0 {
                return Err(err(
                    loc,
                    &s.name,
                    Some("inputs"),
                    format!(
                        "missing 'inputs': a '{}' stage reads {}",
                        t.name(),
                        kinds_text(t.consumes())
                    ),
                ));
            }
            if s.inputs.len() < least || s.inputs.len() > most {
                let want = if least == most {
                    format!("exactly {least}")
                } else {
                    format!("{least} to {most}")
                };
                return Err(err(
                    loc,
                    &s.name,
                    Some("inputs"),
                    format!(
                        "a '{}' stage reads {want} inputs, got {}",
                        t.name(),
                        s.inputs.len()
                    ),
                ));
            }
            let mut ins = Vec::new();
            for name in &s.inputs {
                let Some(&i) = index.get(name.as_str()) else {
                    return Err(err(
                        loc,
                        &s.name,
                        Some("inputs"),
                        format!(
                            "no stage named '{name}'{}",
                            did_you_mean(name, index.keys().copied())
                        ),
                    ));
                };
                if name == &s.name {
                    return Err(err(
                        loc,
                        &s.name,
                        Some("inputs"),
                        "a stage cannot read its own output (cycle)".into(),
                    ));
                }
                if ins.contains(&i) {
                    return Err(err(
                        loc,
                        &s.name,
                        Some("inputs"),
                        format!("'{name}' is listed twice"),
                    ));
                }
                ins.push(i);
            }
            inputs.push(ins);
        }

        // Cycles, and a topological order (Kahn's algorithm, ties in file order).
        let n = raw.stages.len();
        let mut indegree: Vec<usize> = inputs.iter().map(|i| i.len()).collect();
        let mut order = Vec::with_capacity(n);
        let mut done = vec![false; n];
        while order.len() < n {
            let Some(next) = (0..n).find(|&i| !done[i] && indegree[i] == 0) else {
                let stuck = (0..n).find(|&i| !done[i]).expect("some stage is left");
                let cycle = find_cycle(&inputs, &done, stuck);
                let names: Vec<&str> = cycle.iter().map(|&i| raw.stages[i].name.as_str()).collect();
                let s = &raw.stages[cycle[0]];
                return Err(err(
                    &s.inputs_location,
                    &s.name,
                    Some("inputs"),
                    format!("the inputs form a cycle: {}", names.join(" -> ")),
                ));
            };
            done[next] = true;
            order.push(next);
            for (j, ins) in inputs.iter().enumerate() {
                if ins.contains(&next) {
                    indegree[j] -= 1;
                }
            }
        }

        // Kinds and modes along every edge.
        for (i, s) in raw.stages.iter().enumerate() {
            let t = types[i];
            let loc = &s.inputs_location;
            if matches!(t.mode(), Mode::PerTrack | Mode::Collect) && inputs[i].len() != 1 {
                return Err(err(
                    loc,
                    &s.name,
                    Some("inputs"),
                    format!(
                        "a '{}' stage reads exactly one input, got {}",
                        t.name(),
                        inputs[i].len()
                    ),
                ));
            }
            for &j in &inputs[i] {
                let (src, st) = (&raw.stages[j], types[j]);
                if !t.consumes().contains(&st.produces()) {
                    return Err(err(
                        loc,
                        &s.name,
                        Some("inputs"),
                        format!(
                            "input '{}' produces {} but a '{}' stage reads {}",
                            src.name,
                            st.produces(),
                            t.name(),
                            kinds_text(t.consumes())
                        ),
                    ));
                }
                let per_track_in = st.mode().is_per_track();
                match t.mode() {
                    Mode::PerTrack | Mode::Collect if !per_track_in => {
                        return Err(err(
                            loc,
                            &s.name,
                            Some("inputs"),
                            format!(
                                "input '{}' is a whole-run result, but a '{}' stage works track by track",
                                src.name,
                                t.name()
                            ),
                        ));
                    }
                    Mode::Whole if per_track_in => {
                        return Err(err(
                            loc,
                            &s.name,
                            Some("inputs"),
                            format!(
                                "input '{}' yields one item per track, but a '{}' stage needs a whole-run result (collect the tracks first)",
                                src.name,
                                t.name()
                            ),
                        ));
                    }
                    _ => {}
                }
            }
        }

        // Build, in topological order, with typed parameters.
        let mut position = vec![0usize; n];
        for (pos, &i) in order.iter().enumerate() {
            position[i] = pos;
        }
        let mut nodes = Vec::with_capacity(n);
        for &i in &order {
            let s = &raw.stages[i];
            let t = types[i];
            let params = Params::new(
                &file,
                &s.name,
                s.location.clone(),
                t.params(),
                &s.params,
                &format!("a '{}' stage", t.name()),
            )?;
            let stage = t.build(
                &params,
                &BuildContext {
                    stage: &s.name,
                    pipeline_file: &file,
                },
            )?;
            debug_assert_eq!(
                stage.mode(),
                t.mode(),
                "stage type '{}' built a stage of another mode",
                t.name()
            );
            let input_files = t
                .params()
                .iter()
                .filter(|spec| spec.ty == ParamType::Path)
                .filter_map(|spec| params.optional_path(spec.name).ok().flatten())
                .collect();
            let fingerprint = format!(
                "{}:{}[{}]<-{}",
                s.name,
                t.name(),
                params.canonical(),
                s.inputs.join(",")
            );
            nodes.push(Node {
                name: s.name.clone(),
                type_name: t.name(),
                mode: t.mode(),
                produces: t.produces(),
                inputs: inputs[i].iter().map(|&j| position[j]).collect(),
                stage,
                fingerprint,
                input_files,
            });
        }
        Ok(Pipeline {
            file,
            settings,
            nodes,
        })
    }

    /// Index of the stage called `name`.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Indices of the stages that read `node`'s output.
    pub fn consumers(&self, node: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&j| self.nodes[j].inputs.contains(&node))
            .collect()
    }
}

fn kinds_text(kinds: &[Kind]) -> String {
    kinds
        .iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A cycle through the not-yet-ordered stages, starting from `start`.
fn find_cycle(inputs: &[Vec<usize>], done: &[bool], start: usize) -> Vec<usize> {
    let mut path = vec![start];
    let mut cur = start;
    loop {
        let next = inputs[cur]
            .iter()
            .copied()
            .find(|&j| !done[j])
            .expect("a stuck stage has a pending input");
        if let Some(pos) = path.iter().position(|&p| p == next) {
            // Data-flow direction, starting from the stage written first.
            let mut cycle: Vec<usize> = path[pos..].to_vec();
            cycle.reverse();
            let first = (0..cycle.len())
                .min_by_key(|&k| cycle[k])
                .expect("non-empty");
            cycle.rotate_left(first);
            cycle.push(cycle[0]);
            return cycle;
        }
        path.push(next);
        cur = next;
    }
}
