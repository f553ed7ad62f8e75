//! `corrmatrix`: a correlation-matrix heatmap done right, and `band-energies`: the
//! spectral band energies of every bar. Parameters here; the work in [`crate::ops`].

use crate::engine::pca::RowSource;
use crate::error::{Error, Result};
use crate::ops::{
    CorrOptions, CorrParams, band_energies, bar_features_to_dir, corrmatrix_to_file, labels_beside,
};
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Kind, MatrixFile, Mode, Payload, Stage, StageContext, StageInfo, StageType,
    WholeStage,
};
use crate::store::NpyMatrix;

/// The `corrmatrix` stage type.
pub struct CorrMatrixType;
/// The `band-energies` stage type.
pub struct BandEnergiesType;
/// The `bar-features` stage type.
pub struct BarFeaturesType;

const CORR_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "order",
        ty: ParamType::Choice(&["none", "cluster", "eigen"]),
        default: Some("\"cluster\""),
        help: "feature order: as given, average-linkage clustering with optimal leaf order, or spectral",
    },
    ParamSpec {
        name: "clip",
        ty: ParamType::Float,
        default: Some("99.5"),
        help: "colour limits at the middle N % of the off-diagonal values (made symmetric)",
    },
    ParamSpec {
        name: "steps",
        ty: ParamType::Bool,
        default: Some("false"),
        help: "also draw the rules one by one, side by side (<stage>_steps.png)",
    },
    ParamSpec {
        name: "columns",
        ty: ParamType::Int,
        default: Some("64"),
        help: "at most the first N columns (a model's scores: the first N components); 0: all",
    },
];

const CORR_INFO: StageInfo = StageInfo {
    name: "corrmatrix",
    about: "Pearson correlation of the columns of a matrix (or of a PCA's scores), drawn by the five rules: \
            OUT/<stage>/<stage>.png and <stage>.json (order, limits).",
    mode: Mode::Whole,
    consumes: &[Kind::Matrix, Kind::Array, Kind::Model],
    produces: Kind::Files,
    arity: Some((1, 1)),
    params: CORR_PARAMS,
};

const BANDS_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "bands",
    ty: ParamType::Int,
    default: Some("24"),
    help: "log-spaced frequency bands from 40 Hz to Nyquist",
}];

const BANDS_INFO: StageInfo = StageInfo {
    name: "band-energies",
    about: "Energy (dB) of every bar in log-spaced frequency bands: OUT/<stage>/bands.npy (N x bands), bands.labels.txt.",
    mode: Mode::Whole,
    consumes: &[Kind::Matrix],
    produces: Kind::Matrix,
    arity: Some((1, 1)),
    params: BANDS_PARAMS,
};

const FEATURES_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "components",
    ty: ParamType::Int,
    default: Some("8"),
    help: "the first N components' scores (all when the model has fewer)",
}];

const FEATURES_INFO: StageInfo = StageInfo {
    name: "bar-features",
    about: "Per bar, side by side: the first components' scores (PC1, ...), bars.csv's bpm, tempo and downbeat \
            confidence, stretch ratio, time and position in the track, and the columns of any other matrix given \
            (band energies): OUT/<stage>/features.npy, features.labels.txt. Inputs: a model, the bar matrix, and \
            optionally per-bar matrices.",
    mode: Mode::Whole,
    consumes: &[Kind::Model, Kind::Matrix],
    produces: Kind::Matrix,
    arity: Some((2, 4)),
    params: FEATURES_PARAMS,
};

impl StageType for BarFeaturesType {
    fn info(&self) -> &'static StageInfo {
        &FEATURES_INFO
    }
    fn build(
        &self,
        p: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        Ok(Stage::Whole(Box::new(FeaturesStage(
            p.int_in("components", 1, 4096)? as usize,
        ))))
    }
}

struct FeaturesStage(usize);

impl WholeStage for FeaturesStage {
    fn run(&self, inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload> {
        let (mut scores, mut csv, mut extra) = (None, None, Vec::new());
        for input in inputs {
            match input {
                Payload::Model(dir) => scores = Some(dir.join("scores.npy")),
                // The bar matrix is known by its table; other matrices give columns.
                Payload::Matrix(m) if m.csv.is_some() && csv.is_none() => csv = m.csv,
                Payload::Matrix(m) => extra.push(m.npy),
                _ => unreachable!("the graph checker gives this stage models and matrices"),
            }
        }
        let missing = |what: &str| Error::InvalidArgument {
            name: "bar-features inputs",
            expected: format!(
                "a PCA model and the bar matrix (with its bars.csv); {what} is missing"
            ),
            actual: format!("{} matrices of columns", extra.len()),
        };
        let scores = scores.ok_or_else(|| missing("the model"))?;
        let csv = csv.ok_or_else(|| missing("the bar matrix"))?;
        let extra: Vec<&std::path::Path> = extra.iter().map(|p| p.as_path()).collect();
        Ok(Payload::Matrix(MatrixFile {
            npy: bar_features_to_dir(&csv, &scores, self.0, &extra, &ctx.stage_dir())?,
            csv: None,
            rate: None,
        }))
    }
}

impl StageType for CorrMatrixType {
    fn info(&self) -> &'static StageInfo {
        &CORR_INFO
    }
    fn build(
        &self,
        p: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let opts = CorrParams {
            order: p.choice("order")?.parse().expect("choice checked"),
            clip: p.float_in("clip", 50.0, 100.0)?,
            steps: p.bool("steps")?,
            max_columns: p.int_in("columns", 0, 1 << 20)? as usize,
        }
        .check()
        .map_err(|e| p.error("clip", e.to_string()))?;
        Ok(Stage::Whole(Box::new(CorrStage(opts))))
    }
}

impl StageType for BandEnergiesType {
    fn info(&self) -> &'static StageInfo {
        &BANDS_INFO
    }
    fn build(
        &self,
        p: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        Ok(Stage::Whole(Box::new(BandsStage(
            p.int_in("bands", 2, 512)? as usize,
        ))))
    }
}

struct CorrStage(CorrOptions);
struct BandsStage(usize);

impl WholeStage for CorrStage {
    fn run(&self, inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload> {
        let out = ctx.stage_dir().join(format!("{}.png", ctx.stage));
        let (npy, labels) = match inputs.into_iter().next() {
            Some(Payload::Matrix(m)) => {
                let l = labels_beside(&m.npy);
                (m.npy, l)
            }
            Some(Payload::Array(_, Some(p))) => {
                let l = labels_beside(&p);
                (p, l)
            }
            Some(Payload::Model(dir)) => {
                let scores = dir.join("scores.npy");
                let k = NpyMatrix::open(&scores)?.ncols();
                (scores, Some((1..=k).map(|i| format!("PC{i}")).collect()))
            }
            Some(Payload::Array(a, None)) => {
                return Err(Error::InvalidArgument {
                    name: "corrmatrix input",
                    expected: "a matrix read from a file".into(),
                    actual: format!("an array of shape {:?}", a.shape()),
                });
            }
            _ => unreachable!("the graph checker gives this stage one matrix"),
        };
        let m = NpyMatrix::open(&npy)?;
        let (report, files) = corrmatrix_to_file(&m, &npy, labels, &out, &self.0)?;
        if report.nothing_to_show {
            ctx.warnings.push(format!(
                "{}: nothing to show: every correlation off the diagonal is under {:e} (largest {:.1e})",
                npy.display(),
                crate::ops::NOISE_CORRELATION,
                report.largest_off_diagonal
            ));
        }
        if !report.constant_columns.is_empty() {
            ctx.warnings.push(format!(
                "{}: columns {:?} are constant; their correlations are undefined (drawn grey)",
                npy.display(),
                report.constant_columns
            ));
        }
        Ok(Payload::Files(files))
    }
}

impl WholeStage for BandsStage {
    fn run(&self, inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload> {
        let Some(Payload::Matrix(m)) = inputs.into_iter().next() else {
            unreachable!("the graph checker gives this stage one matrix")
        };
        let rate = m.rate.unwrap_or(8_820);
        Ok(Payload::Matrix(MatrixFile {
            npy: band_energies(&m.npy, rate, self.0, &ctx.stage_dir())?,
            csv: None,
            rate: None,
        }))
    }
}
