//! `skm`: learn a class of each bar (a bars.csv column, such as its track) from the bar
//! matrix or a PCA's scores with a smooth kernel machine, whose confidence then flags
//! bars unlike anything it was trained on. Parameters here; the work in
//! [`crate::ops::learn`].

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::learn::{FitParams, Head};
use crate::ops::learn::{BarClassesParams, bar_classes_to_dir};
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Kind, Mode, Payload, Stage, StageContext, StageInfo, StageType, WholeStage,
};
use crate::store::read_json;

/// The `skm` stage type.
pub struct SkmType;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "labels",
        ty: ParamType::Str,
        default: Some("\"track\""),
        help: "the bars.csv column whose values are the classes",
    },
    ParamSpec {
        name: "components",
        ty: ParamType::Int,
        default: Some("64"),
        help: "leading columns of the matrix or scores used; 0: all",
    },
    ParamSpec {
        name: "test_fraction",
        ty: ParamType::Float,
        default: Some("0.2"),
        help: "the last share of each class's bars (in time) is the test set",
    },
    ParamSpec {
        name: "hold_out",
        ty: ParamType::Int,
        default: Some("0"),
        help: "classes held out entirely (every C/N-th by name): bars the confidence should flag",
    },
    ParamSpec {
        name: "head",
        ty: ParamType::Choice(&["skm", "softmax", "svm"]),
        default: Some("\"skm\""),
        help: "the output layer (softmax and svm are the baselines)",
    },
    ParamSpec {
        name: "epochs",
        ty: ParamType::Int,
        default: Some("0"),
        help: "passes over the training bars; 0: about 3,000 gradient steps",
    },
    ParamSpec {
        name: "support",
        ty: ParamType::Int,
        default: Some("0"),
        help: "support points; 0: 10 a class",
    },
    ParamSpec {
        name: "embed",
        ty: ParamType::Int,
        default: Some("32"),
        help: "width of the embedding the kernels live in",
    },
    ParamSpec {
        name: "seed",
        ty: ParamType::Int,
        default: Some("0"),
        help: "seed of the initial weights and the order of rows",
    },
];

const INFO: StageInfo = StageInfo {
    name: "skm",
    about: "Learns each bar's class (a bars.csv column, e.g. its track) from a PCA's scores or the bar matrix \
            with a smooth kernel machine: OUT/<stage>/predictions.csv (row, label, predicted, probability, \
            confidence, split), skm.json (accuracy, auroc_ood), embedding.png, model/.",
    mode: Mode::Whole,
    consumes: &[Kind::Model, Kind::Matrix],
    produces: Kind::Files,
    arity: Some((1, 1)),
    params: PARAMS,
};

impl StageType for SkmType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        p: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let head: Head = p
            .choice("head")?
            .parse()
            .map_err(|e: crate::learn::LearnError| p.error("head", e.to_string()))?;
        let labels = p.string("labels")?;
        if labels.trim().is_empty() {
            return Err(p.error("labels", "expected a bars.csv column name, got \"\""));
        }
        let fit = FitParams {
            head,
            epochs: p.int_in("epochs", 0, 100_000)? as usize,
            batch: 32,
            support: p.int_in("support", 0, 100_000)? as usize,
            embed: p.int_in("embed", 1, 4096)? as usize,
            seed: p.int_in("seed", 0, i64::MAX)? as u64,
            learning_rate: 3e-3,
            ..FitParams::default()
        };
        Ok(Stage::Whole(Box::new(SkmStage(BarClassesParams {
            labels,
            components: p.int_in("components", 0, i64::MAX)? as usize,
            test_fraction: p.float_in("test_fraction", 0.0, 0.9)?,
            hold_out: p.int_in("hold_out", 0, 100_000)? as usize,
            fit,
        }))))
    }
}

struct SkmStage(BarClassesParams);

impl WholeStage for SkmStage {
    fn run(&self, inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload> {
        let (npy, csv, skip) = match inputs.into_iter().next() {
            Some(Payload::Model(dir)) => {
                // A PCA's scores: its rows are the source matrix's, less the dropped.
                let meta_path = dir.join("pca.json");
                let meta = read_json(&meta_path)?;
                let csv = meta["source_csv"].as_str().map(PathBuf::from).ok_or_else(|| {
                    Error::InvalidData {
                        path: meta_path.clone(),
                        reason: "no source_csv: the model was not fitted on a bar matrix with its bars.csv".into(),
                    }
                })?;
                let skip = meta["dropped_rows"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_u64())
                            .map(|v| v as usize)
                            .collect()
                    })
                    .unwrap_or_default();
                (dir.join("scores.npy"), csv, skip)
            }
            Some(Payload::Matrix(m)) => {
                let csv = m.csv.ok_or_else(|| Error::InvalidArgument {
                    name: "skm input",
                    expected: "the bar matrix (with its bars.csv) or a PCA model".into(),
                    actual: format!("{} without a table of its rows", m.npy.display()),
                })?;
                (m.npy, csv, Vec::new())
            }
            _ => unreachable!("the graph checker gives this stage one model or matrix"),
        };
        let (_, files) = bar_classes_to_dir(&npy, &csv, &skip, &ctx.stage_dir(), &self.0)?;
        Ok(Payload::Files(files))
    }
}
