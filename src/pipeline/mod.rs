//! Pipelines: TOML files of named stages, checked as a typed graph before they run.
//!
//! A pipeline names its stages under `[stages.NAME]`; each has a `type` (looked up in the
//! [`Registry`]), its parameters, and `inputs` naming the stages it reads. The graph is
//! checked (types, keys, inputs, cycles, kinds) by [`Pipeline::build`], then executed
//! by [`run`].
//!
//! ```
//! use eigentechno::pipeline::{Pipeline, RawPipeline, Registry};
//! let text = r#"
//! [stages.tracks]
//! type = "folder"
//! path = "."
//!
//! [stages.audio]
//! type = "decode"
//! inputs = ["tracks"]
//! "#;
//! let raw = RawPipeline::parse("example.toml".as_ref(), text).unwrap();
//! let pipeline = Pipeline::build(raw, &Registry::builtin()).unwrap();
//! assert_eq!(pipeline.nodes.len(), 2);
//!
//! // A typo is caught before anything runs, with its line and key.
//! let bad = RawPipeline::parse("bad.toml".as_ref(), "[stages.a]\ntype = \"folderr\"\n").unwrap();
//! let err = Pipeline::build(bad, &Registry::builtin()).err().unwrap();
//! assert!(err.to_string().starts_with("bad.toml:2:1: stage 'a', key 'type'"));
//! ```

pub mod config;
pub mod graph;
pub mod registry;
pub mod runner;
pub mod stage;

pub use config::{ConfigError, Location, ParamSpec, ParamType, Params, RawPipeline};
pub use graph::{Node, PIPELINE_PARAMS, Pipeline, Settings};
pub use registry::Registry;
pub use runner::{
    NOT_RUN, RunOptions, RunReport, RunStatus, StageReport, TrackReport, TrackStatus, run,
};
pub use stage::{
    Audio, BuildContext, CollectStage, Item, Kind, Mode, Payload, PerTrackStage, Stage,
    StageContext, StageInfo, StageType, StoredPayload, Track, TrackSource, WholeStage,
};
