//! `pca`, `listen` and `figures`: the bar matrix becomes eigentechno. `pca` fits and
//! writes the model; `listen` writes Isik's listening outputs from it; `figures` draws
//! his four figures. Parameters here; the work in [`crate::ops`].

use super::model_dir;
use crate::engine::pca::PcaParams;
use crate::error::{Error, Result};
use crate::ops::{
    FigureOptions, FigureParams, ListenOptions, ListenParams, PcaJobParams, figures_to_dir,
    fit_to_dir, listen_to_dir,
};
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Kind, Mode, Payload, Stage, StageContext, StageInfo, StageType, WholeStage,
};

/// The `pca` stage type.
pub struct PcaType;
/// The `listen` stage type.
pub struct ListenType;
/// The `figures` stage type.
pub struct FiguresType;

const PCA_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "k",
        ty: ParamType::Int,
        default: Some("0"),
        help: "components to keep; 0: every component (exact)",
    },
    ParamSpec {
        name: "method",
        ty: ParamType::Choice(&["auto", "exact", "randomized"]),
        default: Some("\"auto\""),
        help: "exact (Gram or covariance eigendecomposition), randomized (block Krylov), or chosen by cost",
    },
    ParamSpec {
        name: "precision",
        ty: ParamType::Choice(&["auto", "f32", "f64"]),
        default: Some("\"auto\""),
        help: "arithmetic: f64 for small or float64 data, else f32",
    },
    ParamSpec {
        name: "oversampling",
        ty: ParamType::Int,
        default: Some("0"),
        help: "randomized: extra sketch columns; 0: max(16, k / 4)",
    },
    ParamSpec {
        name: "power_iterations",
        ty: ParamType::Int,
        default: Some("12"),
        help: "randomized: the most power iterations (fewer once the singular values settle)",
    },
    ParamSpec {
        name: "tolerance",
        ty: ParamType::Float,
        default: Some("1e-5"),
        help: "randomized: stop iterating once no top-k singular value moves by this fraction; 0: run every power iteration",
    },
    ParamSpec {
        name: "seed",
        ty: ParamType::Int,
        default: Some("0"),
        help: "randomized: seed of the test matrix",
    },
    ParamSpec {
        name: "equalize",
        ty: ParamType::Bool,
        default: Some("false"),
        help: "apply Isik's equalisation to every bar before PCA (undone for listening)",
    },
    ParamSpec {
        name: "drop_nonfinite",
        ty: ParamType::Bool,
        default: Some("false"),
        help: "skip rows holding NaN or infinity (otherwise an error)",
    },
];

const PCA_INFO: StageInfo = StageInfo {
    name: "pca",
    about: "Fits a PCA to a matrix (from `matrix` or `npy`) and writes OUT/<stage>/: mean.npy, components.npy, \
            singular_values.npy, explained_variance(.npy|_ratio.npy|.csv), scores.npy, pca.json.",
    mode: Mode::Whole,
    consumes: &[Kind::Matrix, Kind::Array],
    produces: Kind::Model,
    arity: Some((1, 1)),
    params: PCA_PARAMS,
};

impl StageType for PcaType {
    fn info(&self) -> &'static StageInfo {
        &PCA_INFO
    }
    fn build(
        &self,
        p: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let k = p.int_in("k", 0, i64::MAX)? as usize;
        let over = p.int_in("oversampling", 0, 1 << 20)? as usize;
        let params = PcaParams {
            k: (k > 0).then_some(k),
            method: p.choice("method")?.parse().expect("choice checked"),
            precision: p.choice("precision")?.parse().expect("choice checked"),
            oversampling: (over > 0).then_some(over),
            power_iterations: p.int_in("power_iterations", 0, 100)? as usize,
            tolerance: p.float_in("tolerance", 0.0, 1.0)?,
            seed: p.int("seed")? as u64,
            drop_nonfinite: p.bool("drop_nonfinite")?,
            ..Default::default()
        };
        Ok(Stage::Whole(Box::new(PcaStage {
            params,
            equalize: p.bool("equalize")?,
        })))
    }
}

struct PcaStage {
    params: PcaParams,
    equalize: bool,
}

impl WholeStage for PcaStage {
    fn run(&self, inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload> {
        let dir = ctx.stage_dir();
        let (npy, csv, rate) = match inputs.into_iter().next() {
            Some(Payload::Matrix(m)) => (m.npy, m.csv, m.rate),
            Some(Payload::Array(a, Some(path))) if a.shape().len() == 2 => (path, None, None),
            Some(Payload::Array(a, _)) => {
                return Err(Error::InvalidArgument {
                    name: "pca input",
                    expected: "a 2-D matrix read from a .npy file".into(),
                    actual: format!("an array of shape {:?}", a.shape()),
                });
            }
            _ => unreachable!("the graph checker gives this stage one matrix"),
        };
        let job = PcaJobParams {
            params: self.params.clone(),
            equalize: self.equalize,
            rate,
        }
        .check()?;
        fit_to_dir(&npy, csv.as_deref(), &dir, &job)?;
        Ok(Payload::Model(dir))
    }
}

const LISTEN_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "components",
        ty: ParamType::Int,
        default: Some("400"),
        help: "the first N components are written as loops (all if fewer)",
    },
    ParamSpec {
        name: "loops",
        ty: ParamType::Int,
        default: Some("4"),
        help: "repetitions of each bar in a file",
    },
    ParamSpec {
        name: "rows",
        ty: ParamType::IntList,
        default: Some("[]"),
        help: "matrix rows to reconstruct; []: four spread over the matrix",
    },
    ParamSpec {
        name: "ks",
        ty: ParamType::IntList,
        default: Some("[1, 33, 82, 330, 826, 3307, 8269]"),
        help: "component counts of the reconstructions (those that exist), then all",
    },
    ParamSpec {
        name: "morph_row",
        ty: ParamType::Int,
        default: Some("-1"),
        help: "row of the morph; -1: the first reconstructed row",
    },
    ParamSpec {
        name: "morph_repeats",
        ty: ParamType::Int,
        default: Some("32"),
        help: "repetitions of the bar in the morph (4 segments each)",
    },
];

const LISTEN_INFO: StageInfo = StageInfo {
    name: "listen",
    about: "Isik's listening outputs of a PCA of bars, 16-bit WAV at the bars' rate: mean.wav, \
            components/component_NNN.wav (NNN from 001, the first component; peak-normalised, looped), reconstructions/row_R_k_K.wav, morph.wav.",
    mode: Mode::Whole,
    consumes: &[Kind::Model],
    produces: Kind::Files,
    arity: Some((1, 1)),
    params: LISTEN_PARAMS,
};

impl StageType for ListenType {
    fn info(&self) -> &'static StageInfo {
        &LISTEN_INFO
    }
    fn build(
        &self,
        p: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let rows: Vec<usize> = p
            .int_list("rows", 0, i64::MAX)?
            .into_iter()
            .map(|v| v as usize)
            .collect();
        let morph_row = p.int_in("morph_row", -1, i64::MAX)?;
        let opts = ListenParams {
            components: p.int_in("components", 0, 1 << 30)? as usize,
            loops: p.int_in("loops", 1, 1000)? as usize,
            rows: (!rows.is_empty()).then_some(rows),
            ks: p
                .int_list("ks", 1, i64::MAX)?
                .into_iter()
                .map(|v| v as usize)
                .collect(),
            morph_row: (morph_row >= 0).then_some(morph_row as usize),
            morph_repeats: p.int_in("morph_repeats", 1, 1000)? as usize,
        }
        .check()
        .map_err(|e| p.error("ks", e.to_string()))?;
        Ok(Stage::Whole(Box::new(ListenStage(opts))))
    }
}

struct ListenStage(ListenOptions);

impl WholeStage for ListenStage {
    fn run(&self, inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload> {
        let files = listen_to_dir(&model_dir(inputs), &ctx.stage_dir(), &self.0)?;
        Ok(Payload::Files(files))
    }
}

const FIGURES_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "singular_values",
        ty: ParamType::Int,
        default: Some("1000"),
        help: "singular values shown",
    },
    ParamSpec {
        name: "spectra_components",
        ty: ParamType::Int,
        default: Some("20"),
        help: "components whose spectra are drawn over component 0",
    },
    ParamSpec {
        name: "window",
        ty: ParamType::Int,
        default: Some("2048"),
        help: "FFT window of the spectra (samples)",
    },
    ParamSpec {
        name: "hop",
        ty: ParamType::Int,
        default: Some("512"),
        help: "hop between windows (samples)",
    },
];

const FIGURES_INFO: StageInfo = StageInfo {
    name: "figures",
    about: "Isik's figures of a PCA of bars (PNG): singular_values, cumulative_variance, component_spectra \
            (components 1..N over component 0), average_spectrum of the bars.",
    mode: Mode::Whole,
    consumes: &[Kind::Model],
    produces: Kind::Files,
    arity: Some((1, 1)),
    params: FIGURES_PARAMS,
};

impl StageType for FiguresType {
    fn info(&self) -> &'static StageInfo {
        &FIGURES_INFO
    }
    fn build(
        &self,
        p: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let opts = FigureParams {
            singular_values: p.int_in("singular_values", 1, 1 << 30)? as usize,
            spectra_components: p.int_in("spectra_components", 1, 1000)? as usize,
            window: p.int_in("window", 16, 1 << 20)? as usize,
            hop: p.int_in("hop", 1, 1 << 20)? as usize,
            ..Default::default()
        }
        .check()
        .map_err(|e| p.error("hop", e.to_string()))?;
        Ok(Stage::Whole(Box::new(FiguresStage(opts))))
    }
}

struct FiguresStage(FigureOptions);

impl WholeStage for FiguresStage {
    fn run(&self, inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload> {
        let files = figures_to_dir(&model_dir(inputs), &ctx.stage_dir(), &self.0)?;
        Ok(Payload::Files(files))
    }
}
