//! `kernels`: pictures of the convolution kernels of a trained network. Parameters
//! here; the work in [`crate::ops`].

use std::path::PathBuf;

use crate::error::Result;
use crate::ops::{KernelOptions, KernelParams, kernels_of_file};
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Kind, Mode, Payload, Stage, StageContext, StageInfo, StageType, WholeStage,
};

/// The `kernels` stage type.
pub struct KernelsType;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "path",
        ty: ParamType::Path,
        default: None,
        help: "weights: .npy, .npz, .safetensors or .onnx (pickles are refused); relative as for folder.path",
    },
    ParamSpec {
        name: "layout",
        ty: ParamType::Choice(&["auto", "oihw", "hwio"]),
        default: Some("\"auto\""),
        help: "layout of 4-D tensors outside ONNX: OIHW (PyTorch), HWIO (Keras), or guessed",
    },
    ParamSpec {
        name: "clip",
        ty: ParamType::Float,
        default: Some("99.5"),
        help: "colour limits at the middle N % of each layer's weights (made symmetric)",
    },
    ParamSpec {
        name: "max_channels",
        ty: ParamType::Int,
        default: Some("64"),
        help: "at most N output and N input channels per kernel grid",
    },
    ParamSpec {
        name: "components",
        ty: ParamType::Int,
        default: Some("8"),
        help: "principal components of each layer's kernel slices to draw",
    },
];

const INFO: StageInfo = StageInfo {
    name: "kernels",
    about: "Pictures of a trained network's conv kernels: per layer a kernel grid, RGB patches (first layer), \
            spatial-mode energy (3x3), PCA of the slices, norm map; network.png and kernels.json. \
            Writes OUT/<stage>/.",
    mode: Mode::Whole,
    consumes: &[],
    produces: Kind::Files,
    arity: Some((0, 0)),
    params: PARAMS,
};

impl StageType for KernelsType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        p: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let path = p.path("path")?;
        if !path.is_file() {
            return Err(p.error("path", format!("'{}' is not a file", path.display())));
        }
        Ok(Stage::Whole(Box::new(KernelsStage {
            path,
            opts: KernelParams {
                layout: p.choice("layout")?.parse().expect("choice checked"),
                clip: p.float_in("clip", 50.0, 100.0)?,
                max_channels: p.int_in("max_channels", 1, 1024)? as usize,
                components: p.int_in("components", 0, 64)? as usize,
            }
            .check()
            .map_err(|e| p.error("max_channels", e.to_string()))?,
        })))
    }
}

struct KernelsStage {
    path: PathBuf,
    opts: KernelOptions,
}

impl WholeStage for KernelsStage {
    fn run(&self, _inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload> {
        let dir = ctx.stage_dir();
        let report = kernels_of_file(&self.path, &dir, &self.opts)?;
        if !report.skipped.is_empty() {
            ctx.warnings.push(format!(
                "{}: {} tensors or nodes are not conv kernels and were passed over",
                self.path.display(),
                report.skipped.len()
            ));
        }
        let mut files: Vec<PathBuf> = report
            .layers
            .iter()
            .flat_map(|l| l.files.iter().map(|f| dir.join(f)))
            .collect();
        files.push(dir.join("network.png"));
        files.push(dir.join("kernels.json"));
        Ok(Payload::Files(files))
    }
}
