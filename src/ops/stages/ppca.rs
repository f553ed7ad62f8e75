//! `outliers`, `sample` and `select-k`: a fitted PCA read as a probability
//! distribution (probabilistic PCA). Parameters here; the work in [`crate::ops`].

use super::model_dir;
use crate::error::{Error, Result};
use crate::ops::{
    OutlierOptions, OutlierParams, SampleOptions, SampleParams, SelectKOptions, SelectKParams,
    outliers_to_dir, samples_to_dir, select_k_to_dir,
};
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Kind, Mode, Payload, Stage, StageContext, StageInfo, StageType, WholeStage,
};

/// The `outliers` stage type.
pub struct OutliersType;
/// The `sample` stage type.
pub struct SampleType;
/// The `select-k` stage type.
pub struct SelectKType;

const K_PARAM: ParamSpec = ParamSpec {
    name: "k",
    ty: ParamType::Int,
    default: Some("0"),
    help: "components of the probabilistic model; 0: the fewest explaining 90 % of the variance",
};

const OUTLIERS_PARAMS: &[ParamSpec] = &[
    K_PARAM,
    ParamSpec {
        name: "audio",
        ty: ParamType::Int,
        default: Some("8"),
        help: "WAVs of the N most unusual and N most typical bars",
    },
    ParamSpec {
        name: "loops",
        ty: ParamType::Int,
        default: Some("4"),
        help: "repetitions of each bar",
    },
];

const OUTLIERS_INFO: StageInfo = StageInfo {
    name: "outliers",
    about: "Ranks the rows of a PCA's matrix by log-likelihood under probabilistic PCA: OUT/<stage>/outliers.csv \
            (rank, row, track, start_s, log_likelihood, mahalanobis, residual; most unusual first), unusual/ and typical/ WAVs.",
    mode: Mode::Whole,
    consumes: &[Kind::Model],
    produces: Kind::Files,
    arity: Some((1, 1)),
    params: OUTLIERS_PARAMS,
};

const SAMPLE_PARAMS: &[ParamSpec] = &[
    K_PARAM,
    ParamSpec {
        name: "count",
        ty: ParamType::Int,
        default: Some("8"),
        help: "bars to draw",
    },
    ParamSpec {
        name: "seed",
        ty: ParamType::Int,
        default: Some("0"),
        help: "seed of the draws",
    },
    ParamSpec {
        name: "loops",
        ty: ParamType::Int,
        default: Some("4"),
        help: "repetitions of each bar",
    },
];

const SAMPLE_INFO: StageInfo = StageInfo {
    name: "sample",
    about: "New bars drawn from a PCA read as a Gaussian: OUT/<stage>/sample_NNN.wav (within the subspace) and \
            sample_NNN_noise.wav (plus the isotropic noise outside it), looped.",
    mode: Mode::Whole,
    consumes: &[Kind::Model],
    produces: Kind::Files,
    arity: Some((1, 1)),
    params: SAMPLE_PARAMS,
};

const SELECT_K_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "ks",
        ty: ParamType::IntList,
        default: Some("[]"),
        help: "candidate k; []: 1..32, then steps of 25 %",
    },
    ParamSpec {
        name: "test_fraction",
        ty: ParamType::Float,
        default: Some("0.2"),
        help: "share of rows held out",
    },
    ParamSpec {
        name: "seed",
        ty: ParamType::Int,
        default: Some("0"),
        help: "seed of the split",
    },
    ParamSpec {
        name: "equalize",
        ty: ParamType::Bool,
        default: Some("false"),
        help: "fit on equalised bars, as `pca` with equalize = true",
    },
];

const SELECT_K_INFO: StageInfo = StageInfo {
    name: "select-k",
    about: "Chooses k by held-out log-likelihood on a seeded train/test split of a matrix: OUT/<stage>/select_k.csv, \
            select_k.png, select_k.json (best_k).",
    mode: Mode::Whole,
    consumes: &[Kind::Matrix, Kind::Array],
    produces: Kind::Files,
    arity: Some((1, 1)),
    params: SELECT_K_PARAMS,
};

impl StageType for OutliersType {
    fn info(&self) -> &'static StageInfo {
        &OUTLIERS_INFO
    }
    fn build(
        &self,
        p: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let opts = OutlierParams {
            k: p.int_in("k", 0, i64::MAX)? as usize,
            audio: p.int_in("audio", 0, 10_000)? as usize,
            loops: p.int_in("loops", 1, 1000)? as usize,
        }
        .check()
        .map_err(|e| p.error("audio", e.to_string()))?;
        Ok(Stage::Whole(Box::new(OutliersStage(opts))))
    }
}

impl StageType for SampleType {
    fn info(&self) -> &'static StageInfo {
        &SAMPLE_INFO
    }
    fn build(
        &self,
        p: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let opts = SampleParams {
            k: p.int_in("k", 0, i64::MAX)? as usize,
            count: p.int_in("count", 1, 100_000)? as usize,
            seed: p.int("seed")? as u64,
            loops: p.int_in("loops", 1, 1000)? as usize,
        }
        .check()
        .map_err(|e| p.error("count", e.to_string()))?;
        Ok(Stage::Whole(Box::new(SampleStage(opts))))
    }
}

impl StageType for SelectKType {
    fn info(&self) -> &'static StageInfo {
        &SELECT_K_INFO
    }
    fn build(
        &self,
        p: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        Ok(Stage::Whole(Box::new(SelectKStage(
            SelectKParams {
                ks: p
                    .int_list("ks", 1, i64::MAX)?
                    .into_iter()
                    .map(|v| v as usize)
                    .collect(),
                test_fraction: p.float_in("test_fraction", 0.01, 0.9)?,
                seed: p.int("seed")? as u64,
                equalize: p.bool("equalize")?,
                rate: 8_820,
            }
            .check()
            .map_err(|e| p.error("ks", e.to_string()))?,
        ))))
    }
}

struct OutliersStage(OutlierOptions);
struct SampleStage(SampleOptions);
struct SelectKStage(SelectKOptions);

impl WholeStage for OutliersStage {
    fn run(&self, inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload> {
        Ok(Payload::Files(outliers_to_dir(
            &model_dir(inputs),
            &ctx.stage_dir(),
            &self.0,
        )?))
    }
}

impl WholeStage for SampleStage {
    fn run(&self, inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload> {
        Ok(Payload::Files(samples_to_dir(
            &model_dir(inputs),
            &ctx.stage_dir(),
            &self.0,
        )?))
    }
}

impl WholeStage for SelectKStage {
    fn run(&self, inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload> {
        let (npy, rate) = match inputs.into_iter().next() {
            Some(Payload::Matrix(m)) => (m.npy, m.rate),
            Some(Payload::Array(_, Some(path))) => (path, None),
            Some(Payload::Array(a, None)) => {
                return Err(Error::InvalidArgument {
                    name: "select-k input",
                    expected: "a matrix read from a .npy file".into(),
                    actual: format!("an array of shape {:?}", a.shape()),
                });
            }
            _ => unreachable!("the graph checker gives this stage one matrix"),
        };
        let opts = SelectKParams {
            rate: rate.unwrap_or(self.0.rate),
            ..self.0.params().clone()
        }
        .check()?;
        let (_, files) = select_k_to_dir(&npy, &ctx.stage_dir(), &opts)?;
        Ok(Payload::Files(files))
    }
}
