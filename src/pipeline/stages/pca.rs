//! `pca`, `listen` and `figures`: the bar matrix becomes eigentechno. `pca` fits and
//! writes the model; `listen` writes Isik's listening outputs from it; `figures` draws
//! his four figures. The functions behind them serve `eigentechno pca` as well.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{in_file, model_dir};
use crate::audio::equalize::EqualizedRows;
use crate::audio::listen::{ListenOptions, Listener};
use crate::engine::pca::{Method, PcaError, PcaParams, Precision, RowSource, project_rows};
use crate::error::{Error, Result};
use crate::image::plots;
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Kind, Mode, Payload, Stage, StageContext, StageInfo, StageType, WholeStage,
};
use crate::store::pca_model::{PcaMeta, load_model, save_model};
use crate::store::{NpyMatrix, NpyRowWriter};

/// What to fit, beyond the engine's parameters.
#[derive(Clone, Debug)]
pub struct PcaJob {
    /// The engine's parameters.
    pub params: PcaParams,
    /// Apply Isik's equalisation to every bar first (undone when listening).
    pub equalize: bool,
    /// Sample rate of the bars (for the equalisation and the WAVs).
    pub rate: Option<u32>,
}

/// Fit a PCA to the matrix in `matrix` and write the model (arrays, scores, CSV,
/// `pca.json`) into `dir`.
pub fn fit_to_dir(
    matrix: &Path,
    csv: Option<&Path>,
    dir: &Path,
    job: &PcaJob,
) -> Result<(PcaMeta, Vec<PathBuf>)> {
    let start = Instant::now();
    let raw = NpyMatrix::open(matrix)?;
    let rate = job.rate.unwrap_or(8_820);
    let source = &EqualizedRows::optional(&raw, job.equalize.then_some(rate));
    let cfg = job.params.check(source).map_err(|e| in_file(matrix, e))?;
    let fit = cfg.fit(source).map_err(|e| in_file(matrix, e))?;
    let k = fit.model.k();
    let scores_path = dir.join("scores.npy");
    let mut w = NpyRowWriter::create(&scores_path, k)?;
    match &fit.scores {
        Some(s) => {
            for row in s.chunks(k) {
                w.push(row)?;
            }
        }
        None => {
            let mut failed = None;
            project_rows(source, &fit.model, k, &fit.dropped_rows, &mut |_, block| {
                for row in block.chunks(k) {
                    if let Err(e) = w.push(row) {
                        failed = Some(e);
                        return Err(PcaError::Source("writing scores.npy failed".into()));
                    }
                }
                Ok(())
            })
            .map_err(|e| failed.take().unwrap_or_else(|| in_file(matrix, e)))?;
        }
    }
    let mut files = vec![w.finish()?];
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let meta = PcaMeta {
        source: abs(matrix).display().to_string(),
        source_csv: csv.map(|c| abs(c).display().to_string()),
        n_samples: fit.model.n_samples,
        n_features: fit.model.n_features,
        k,
        method: fit.method.to_string(),
        method_reason: fit.why.clone(),
        precision: fit.precision.to_string(),
        oversampling: fit.oversampling,
        power_iterations: fit.power_iterations,
        seed: job.params.seed,
        total_variance: fit.model.total_variance,
        equalize: job.equalize,
        rate: Some(rate),
        dropped_rows: fit.dropped_rows.clone(),
        seconds: start.elapsed().as_secs_f64(),
    };
    files.extend(save_model(dir, &fit.model, &meta)?);
    Ok((meta, files))
}

/// Write the listening outputs of the model in `model_dir` into `out`.
pub fn listen_to_dir(model_dir: &Path, out: &Path, opts: &ListenOptions) -> Result<Vec<PathBuf>> {
    let (model, meta) = load_model(model_dir)?;
    Listener::new(&model, &meta, model_dir)?.write_all(out, opts)
}

/// Figure settings.
#[derive(Clone, Debug)]
pub struct FigureOptions {
    /// Singular values shown.
    pub singular_values: usize,
    /// Components whose spectra are drawn (over component 0).
    pub spectra_components: usize,
    /// FFT window of the spectra.
    pub window: usize,
    /// Hop between windows.
    pub hop: usize,
    /// Most bars averaged for the data's spectrum (evenly spaced).
    pub spectrum_rows: usize,
}

impl Default for FigureOptions {
    fn default() -> Self {
        FigureOptions {
            singular_values: 1000,
            spectra_components: 20,
            window: 2048,
            hop: 512,
            spectrum_rows: 2000,
        }
    }
}

/// Draw the four figures of the model in `model_dir` into `out`:
/// `singular_values.png`, `cumulative_variance.png`, `component_spectra.png`,
/// `average_spectrum.png`.
pub fn figures_to_dir(model_dir: &Path, out: &Path, opts: &FigureOptions) -> Result<Vec<PathBuf>> {
    use rayon::prelude::*;
    let (model, meta) = load_model(model_dir)?;
    let listener = Listener::new(&model, &meta, model_dir)?;
    let rate = listener.rate;
    let mut files = vec![
        plots::singular_values(
            &out.join("singular_values.png"),
            &model.singular_values,
            opts.singular_values,
        )?,
        plots::cumulative_variance(
            &out.join("cumulative_variance.png"),
            &model.cumulative_ratio(),
        )?,
    ];
    // Spectra of what one hears: components de-equalised when the fit was equalised.
    let n = (opts.spectra_components + 1).min(model.k());
    let spectra: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|i| {
            listener
                .component(i)
                .map(|c| plots::mean_spectrum(&c, opts.window, opts.hop))
        })
        .collect::<Result<_>>()?;
    if spectra.len() >= 2 {
        files.push(plots::component_spectra(
            &out.join("component_spectra.png"),
            &spectra,
            rate,
            opts.window,
        )?);
    }
    let matrix = NpyMatrix::open(Path::new(&meta.source))?;
    let rows = matrix.nrows();
    let step = rows.div_ceil(opts.spectrum_rows.max(1)).max(1);
    let picked: Vec<usize> = (0..rows).step_by(step).collect();
    let sums: Vec<Vec<f64>> = picked
        .par_iter()
        .map(|&r| {
            matrix
                .read_rows(r, 1)
                .map(|x| plots::mean_spectrum(&x, opts.window, opts.hop))
        })
        .collect::<Result<_>>()?;
    let mut avg = vec![0f64; opts.window / 2 + 1];
    for s in &sums {
        for (a, v) in avg.iter_mut().zip(s) {
            *a += v / sums.len() as f64;
        }
    }
    files.push(plots::average_spectrum(
        &out.join("average_spectrum.png"),
        &avg,
        rate,
        opts.window,
    )?);
    Ok(files)
}

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
        default: Some("3"),
        help: "randomized: power iterations",
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
            method: Method::parse(&p.choice("method")?).expect("choice checked"),
            precision: Precision::parse(&p.choice("precision")?).expect("choice checked"),
            oversampling: (over > 0).then_some(over),
            power_iterations: p.int_in("power_iterations", 0, 100)? as usize,
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
        let job = PcaJob {
            params: self.params.clone(),
            equalize: self.equalize,
            rate,
        };
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
            components/component_NNN.wav (peak-normalised, looped), reconstructions/row_R_k_K.wav, morph.wav.",
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
        let opts = ListenOptions {
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
        };
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
        let opts = FigureOptions {
            singular_values: p.int_in("singular_values", 1, 1 << 30)? as usize,
            spectra_components: p.int_in("spectra_components", 1, 1000)? as usize,
            window: p.int_in("window", 16, 1 << 20)? as usize,
            hop: p.int_in("hop", 1, 1 << 20)? as usize,
            ..Default::default()
        };
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
