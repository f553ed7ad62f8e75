//! `npy`: a float array read from a `.npy` file, for the engine stages.

use std::sync::Arc;

use crate::error::Result;
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Kind, Mode, Payload, Stage, StageContext, StageInfo, StageType, WholeStage,
};
use crate::store::read_npy;

/// The `npy` stage type.
pub struct NpyType;

const PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "path",
    ty: ParamType::Path,
    default: None,
    help: "a float32 or float64 .npy file; written in a pipeline file, relative to that file; given with --set, to the current folder; ~ is your home",
}];

const INFO: StageInfo = StageInfo {
    name: "npy",
    about: "Reads a float32/float64 array from a .npy file (numpy's format).",
    mode: Mode::Whole,
    consumes: &[],
    produces: Kind::Array,
    arity: Some((0, 0)),
    params: PARAMS,
};

impl StageType for NpyType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        params: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let path = params.path("path")?;
        if !path.is_file() {
            return Err(params.error("path", format!("'{}' is not a file", path.display())));
        }
        Ok(Stage::Whole(Box::new(NpyStage { path })))
    }
}

struct NpyStage {
    path: std::path::PathBuf,
}

impl WholeStage for NpyStage {
    fn run(&self, _inputs: Vec<Payload>, _ctx: &StageContext) -> Result<Payload> {
        // The path travels with the array, so stages that stream (pca, select-k,
        // corrmatrix) read the file rather than the copy.
        Ok(Payload::Array(
            Arc::new(read_npy(&self.path)?),
            Some(self.path.clone()),
        ))
    }
}
