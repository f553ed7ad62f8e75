//! `outliers`, `sample` and `select-k`: a fitted PCA read as a probability distribution
//! (probabilistic PCA). The functions behind them serve `eigentechno ppca` as well.

use std::path::{Path, PathBuf};

use super::{csv_field, csv_fields, in_file, model_dir};
use crate::audio::equalize::{EqualizedRows, Equalizer};
use crate::audio::listen::looped;
use crate::audio::wav::{WavFormat, write_wav_interleaved};
use crate::engine::Rng;
use crate::engine::pca::{PcaError, PcaModel, PcaParams, RowSource, SubsetRows};
use crate::engine::ppca::{Ppca, Score};
use crate::error::{Error, Result};
use crate::image::plots;
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Kind, Mode, Payload, Stage, StageContext, StageInfo, StageType, WholeStage,
};
use crate::store::pca_model::{PcaMeta, load_model};
use crate::store::{NpyMatrix, write_atomic};

/// The k used when 0 is asked for: the fewest components explaining 90 % of the
/// variance, leaving some variance outside (so the noise variance is positive).
pub fn default_k(model: &PcaModel) -> usize {
    let cum = model.cumulative_ratio();
    let k = cum
        .iter()
        .position(|&c| c >= 0.9)
        .map(|i| i + 1)
        .unwrap_or(model.k());
    let limit = model.k().min(model.n_features - 1);
    // Every component of rank-deficient data explains everything: keep one fewer.
    let limit = if cum.last().is_some_and(|&c| c > 1.0 - 1e-9) {
        limit.saturating_sub(1)
    } else {
        limit
    };
    k.min(limit).max(1)
}

/// A model folder opened for probabilistic use.
pub struct PpcaModel {
    /// The PCA.
    pub pca: PcaModel,
    /// Its description.
    pub meta: PcaMeta,
    /// The probabilistic model.
    pub ppca: Ppca,
}

impl PpcaModel {
    /// Open `dir` (written by `eigentechno pca`) with `k` components (0: [`default_k`]).
    pub fn open(dir: &Path, k: usize) -> Result<PpcaModel> {
        let (pca, meta) = load_model(dir)?;
        let k = if k == 0 { default_k(&pca) } else { k };
        let ppca = Ppca::new(&pca, k).map_err(|e| in_file(dir, e))?;
        Ok(PpcaModel { pca, meta, ppca })
    }

    /// Score every row of `matrix` in the model's space (equalised if it was fitted so).
    pub fn score_file(&self, matrix: &Path) -> Result<Vec<Score>> {
        let raw = NpyMatrix::open(matrix)?;
        let rate = self.meta.rate.unwrap_or(8_820);
        let source = &EqualizedRows::optional(&raw, self.meta.equalize.then_some(rate));
        let mut out = Vec::with_capacity(source.nrows());
        self.ppca
            .score_rows(source, &mut |_, s| {
                out.extend_from_slice(s);
                Ok(())
            })
            .map_err(|e| in_file(matrix, e))?;
        Ok(out)
    }
}

/// Score the rows of `matrix` and write one float64 log-likelihood per row to `out`.
pub fn score_to_npy(model_dir: &Path, k: usize, matrix: &Path, out: &Path) -> Result<usize> {
    let m = PpcaModel::open(model_dir, k)?;
    let scores = m.score_file(matrix)?;
    let ll: Vec<f64> = scores.iter().map(|s| s.log_likelihood).collect();
    let n = ll.len();
    crate::store::write_npy(
        out,
        &crate::store::NdArray::F64(ndarray::Array1::from(ll).into_dyn()),
    )?;
    Ok(n)
}

/// (track, start in seconds) of every row, from the matrix's `bars.csv`.
fn row_origins(meta: &PcaMeta) -> Vec<(String, String)> {
    let Some(csv) = meta
        .source_csv
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
    else {
        return Vec::new();
    };
    csv.lines()
        .skip(1)
        .map(|l| {
            let f = csv_fields(l);
            (
                f.get(1).cloned().unwrap_or_default(),
                f.get(3).cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// Outlier settings.
#[derive(Clone, Debug)]
pub struct OutlierOptions {
    /// Components of the probabilistic model (0: explaining 90 % of the variance).
    pub k: usize,
    /// WAVs of the N most unusual and N most typical bars (0: none).
    pub audio: usize,
    /// Repetitions of each bar.
    pub loops: usize,
}

/// Rank the rows of the model's matrix by log-likelihood: `outliers.csv` (most unusual
/// first: rank, row, track, start_s, log_likelihood, mahalanobis, residual) and the
/// WAVs `unusual/` and `typical/`.
pub fn outliers_to_dir(
    model_dir: &Path,
    out: &Path,
    opts: &OutlierOptions,
) -> Result<Vec<PathBuf>> {
    let m = PpcaModel::open(model_dir, opts.k)?;
    let matrix = PathBuf::from(&m.meta.source);
    let scores = m.score_file(&matrix)?;
    let origins = row_origins(&m.meta);
    let mut order: Vec<usize> = (0..scores.len())
        .filter(|&i| scores[i].log_likelihood.is_finite())
        .collect();
    order.sort_by(|&a, &b| {
        scores[a]
            .log_likelihood
            .total_cmp(&scores[b].log_likelihood)
    });
    let mut csv = String::from("rank,row,track,start_s,log_likelihood,mahalanobis,residual\n");
    for (rank, &row) in order.iter().enumerate() {
        let (track, start) = origins.get(row).cloned().unwrap_or_default();
        let s = scores[row];
        csv.push_str(&format!(
            "{rank},{row},{},{start},{:.6},{:.6},{:.6}\n",
            csv_field(&track),
            s.log_likelihood,
            s.mahalanobis,
            s.residual
        ));
    }
    let mut files = vec![write_atomic(&out.join("outliers.csv"), csv.as_bytes())?];
    if opts.audio > 0 && m.meta.rate.is_some() {
        let raw = NpyMatrix::open(&matrix)?;
        let rate = m.meta.rate.unwrap_or(8_820);
        let n = opts.audio.min(order.len());
        for (kind, rows) in [
            ("unusual", &order[..n]),
            ("typical", &order[order.len() - n..]),
        ] {
            for (i, &row) in rows.iter().enumerate() {
                let rank = if kind == "unusual" { i } else { n - 1 - i };
                let bar = raw.read_rows(row, 1)?;
                let p = out.join(kind).join(format!("{rank:02}_row_{row:06}.wav"));
                files.push(
                    write_wav_interleaved(
                        &p,
                        rate,
                        1,
                        &looped(&bar, opts.loops),
                        WavFormat::Pcm16,
                    )?
                    .path,
                );
            }
        }
    }
    Ok(files)
}

/// Sampling settings.
#[derive(Clone, Debug)]
pub struct SampleOptions {
    /// Components (0: explaining 90 % of the variance).
    pub k: usize,
    /// Bars to draw.
    pub count: usize,
    /// Seed.
    pub seed: u64,
    /// Repetitions of each bar.
    pub loops: usize,
}

/// Bars drawn from the model, as sound (de-equalised if the fit was equalised), scaled
/// down only if they would clip.
pub fn sample_bars(m: &PpcaModel, count: usize, noise: bool, seed: u64) -> Vec<Vec<f32>> {
    let eq = m
        .meta
        .equalize
        .then(|| Equalizer::new(m.pca.n_features, m.meta.rate.unwrap_or(8_820)));
    m.ppca
        .sample(count, noise, seed)
        .into_iter()
        .map(|mut x| {
            if let Some(eq) = &eq {
                eq.deequalize(&mut x);
            }
            let peak = x.iter().fold(0f32, |a, v| a.max(v.abs()));
            if peak > 0.99 {
                x.iter_mut().for_each(|v| *v *= 0.99 / peak);
            }
            x
        })
        .collect()
}

/// `sample_NNN.wav` (in the subspace) and `sample_NNN_noise.wav` (plus the isotropic
/// noise outside it), each looped.
pub fn samples_to_dir(model_dir: &Path, out: &Path, opts: &SampleOptions) -> Result<Vec<PathBuf>> {
    let m = PpcaModel::open(model_dir, opts.k)?;
    let rate = m.meta.rate.unwrap_or(8_820);
    let mut files = Vec::new();
    for (noise, suffix) in [(false, ""), (true, "_noise")] {
        for (i, bar) in sample_bars(&m, opts.count, noise, opts.seed)
            .iter()
            .enumerate()
        {
            let p = out.join(format!("sample_{i:03}{suffix}.wav"));
            files.push(
                write_wav_interleaved(&p, rate, 1, &looped(bar, opts.loops), WavFormat::Pcm16)?
                    .path,
            );
        }
    }
    Ok(files)
}

/// select-k settings.
#[derive(Clone, Debug)]
pub struct SelectKOptions {
    /// Candidate k (empty: 1..=32, then steps of 25 % up to the largest possible).
    pub ks: Vec<usize>,
    /// Share of rows held out.
    pub test_fraction: f64,
    /// Seed of the split.
    pub seed: u64,
    /// Fit on equalised bars (at `rate`).
    pub equalize: bool,
    /// Sample rate for the equalisation.
    pub rate: u32,
}

/// What select-k found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SelectK {
    /// The k with the highest held-out average log-likelihood.
    pub best_k: usize,
    /// (k, held-out mean log-likelihood, training mean log-likelihood).
    pub curve: Vec<(usize, f64, f64)>,
    /// Rows used to fit and to test.
    pub train_rows: usize,
    /// Rows held out.
    pub test_rows: usize,
}

/// Held-out log-likelihood over k on a seeded train/test split of the rows of
/// `matrix`: `select_k.csv` (k, heldout_mean_log_likelihood, train_mean_log_likelihood),
/// `select_k.png` and `select_k.json` (best k).
pub fn select_k_to_dir(
    matrix: &Path,
    out: &Path,
    opts: &SelectKOptions,
) -> Result<(SelectK, Vec<PathBuf>)> {
    let raw = NpyMatrix::open(matrix)?;
    let source = &EqualizedRows::optional(&raw, opts.equalize.then_some(opts.rate));
    let n = source.nrows();
    let d = source.ncols();
    let test: Vec<bool> = (0..n)
        .map(|i| Rng::for_item(opts.seed, i as u64).uniform() < opts.test_fraction)
        .collect();
    let test_rows = test.iter().filter(|&&t| t).count();
    let train_rows = n - test_rows;
    if test_rows == 0 || train_rows < 3 {
        return Err(in_file(
            matrix,
            PcaError::TooFewRows {
                rows: train_rows.min(test_rows),
            },
        ));
    }
    let kmax_possible = (train_rows - 2).min(d - 1);
    let mut ks: Vec<usize> = if opts.ks.is_empty() {
        let mut v: Vec<usize> = (1..=32.min(kmax_possible)).collect();
        let mut k = 32.0f64;
        while (k * 1.25) as usize <= kmax_possible.min(2000) {
            k *= 1.25;
            v.push(k as usize);
        }
        v
    } else {
        opts.ks
            .iter()
            .copied()
            .filter(|&k| k >= 1 && k <= kmax_possible)
            .collect()
    };
    ks.sort_unstable();
    ks.dedup();
    if ks.is_empty() {
        return Err(Error::InvalidArgument {
            name: "ks",
            expected: format!("values from 1 to {kmax_possible}"),
            actual: format!("{:?}", opts.ks),
        });
    }
    let train = SubsetRows::new(source, test.iter().map(|t| !t).collect())
        .map_err(|e| in_file(matrix, e))?;
    let held = SubsetRows::new(source, test).map_err(|e| in_file(matrix, e))?;
    let kmax = *ks.last().expect("non-empty");
    let params = PcaParams {
        k: Some(kmax),
        ..Default::default()
    };
    let fit = params
        .check(&train)
        .and_then(|c| c.fit(&train))
        .map_err(|e| in_file(matrix, e))?;
    let mut curve = Vec::new();
    for &k in &ks {
        let Ok(p) = Ppca::new(&fit.model, k) else {
            continue;
        };
        let h = p
            .mean_log_likelihood(&held)
            .map_err(|e| in_file(matrix, e))?;
        let t = p
            .mean_log_likelihood(&train)
            .map_err(|e| in_file(matrix, e))?;
        curve.push((k, h, t));
    }
    let best_k = curve
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|c| c.0)
        .ok_or_else(|| in_file(matrix, PcaError::ZeroVariance))?;
    let mut csv = String::from("k,heldout_mean_log_likelihood,train_mean_log_likelihood\n");
    for (k, h, t) in &curve {
        csv.push_str(&format!("{k},{h:.6},{t:.6}\n"));
    }
    let result = SelectK {
        best_k,
        curve,
        train_rows,
        test_rows,
    };
    let mut files = vec![write_atomic(&out.join("select_k.csv"), csv.as_bytes())?];
    let pts: Vec<(f64, f64)> = result.curve.iter().map(|c| (c.0 as f64, c.1)).collect();
    let best = result
        .curve
        .iter()
        .find(|c| c.0 == best_k)
        .map(|c| (c.0 as f64, c.1));
    files.push(plots::curve(
        &out.join("select_k.png"),
        &format!("Held-out log-likelihood per bar (best k = {best_k})"),
        ("components k", "mean log-likelihood of held-out rows"),
        &pts,
        best,
    )?);
    let json = serde_json::to_vec_pretty(&result).expect("serialises");
    files.push(write_atomic(&out.join("select_k.json"), &json)?);
    Ok((result, files))
}

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
        Ok(Stage::Whole(Box::new(OutliersStage(OutlierOptions {
            k: p.int_in("k", 0, i64::MAX)? as usize,
            audio: p.int_in("audio", 0, 10_000)? as usize,
            loops: p.int_in("loops", 1, 1000)? as usize,
        }))))
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
        Ok(Stage::Whole(Box::new(SampleStage(SampleOptions {
            k: p.int_in("k", 0, i64::MAX)? as usize,
            count: p.int_in("count", 1, 100_000)? as usize,
            seed: p.int("seed")? as u64,
            loops: p.int_in("loops", 1, 1000)? as usize,
        }))))
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
        Ok(Stage::Whole(Box::new(SelectKStage(SelectKOptions {
            ks: p
                .int_list("ks", 1, i64::MAX)?
                .into_iter()
                .map(|v| v as usize)
                .collect(),
            test_fraction: p.float_in("test_fraction", 0.01, 0.9)?,
            seed: p.int("seed")? as u64,
            equalize: p.bool("equalize")?,
            rate: 8_820,
        }))))
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
        let opts = SelectKOptions {
            rate: rate.unwrap_or(self.0.rate),
            ..self.0.clone()
        };
        let (_, files) = select_k_to_dir(&npy, &ctx.stage_dir(), &opts)?;
        Ok(Payload::Files(files))
    }
}
