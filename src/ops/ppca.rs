//! A fitted PCA read as a probability distribution (probabilistic PCA): the
//! log-likelihood of every bar, the outliers it ranks, bars sampled from the model,
//! and k chosen by held-out likelihood.

use std::path::{Path, PathBuf};

use super::in_file;
use crate::audio::equalize::{EqualizedRows, Equalizer};
use crate::audio::listen::looped;
use crate::audio::wav::{WavFormat, write_wav_interleaved};
use crate::engine::Rng;
use crate::engine::pca::{PcaError, PcaModel, PcaParams, RowSource, SubsetRows};
use crate::engine::ppca::{Ppca, Score, held_out_projections, spectrum_mean_log_likelihoods};
use crate::error::{Error, Result};
use crate::image::plots;
use crate::store::pca_model::{PcaMeta, load_model};
use crate::store::tables::{BarRow, OutlierRow, read_table, write_table};
use crate::store::{StoredRows, write_atomic};

/// The k used when 0 is asked for. A model fitted with an explicit k (fewer components
/// than the data has) uses that k, as scikit-learn's `score_samples` does. A model that
/// kept every component uses the fewest explaining 90 % of the variance, leaving some
/// variance outside (so the noise variance is positive).
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let model = dir.path().join("pca");
/// let job = eigentechno::ops::PcaJobParams {
///     params: eigentechno::engine::pca::PcaParams { k: Some(8), ..Default::default() },
///     ..Default::default()
/// }.check()?;
/// eigentechno::ops::fit_to_dir("fixtures/pca/X.npy".as_ref(), None, &model, &job)?;
/// let (pca, _) = eigentechno::ops::load_model(&model)?;
/// assert_eq!(eigentechno::ops::default_k(&pca), 8, "fitted with k = 8");
/// # Ok(()) }
/// ```
pub fn default_k(model: &PcaModel) -> usize {
    let every = model
        .n_features
        .min(model.n_samples.saturating_sub(1))
        .max(1);
    if model.k() < every && model.k() < model.n_features {
        return model.k();
    }
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
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let model = dir.path().join("pca");
/// let job = eigentechno::ops::PcaJobParams {
///     params: eigentechno::engine::pca::PcaParams { k: Some(8), ..Default::default() },
///     ..Default::default()
/// }.check()?;
/// eigentechno::ops::fit_to_dir("fixtures/pca/X.npy".as_ref(), None, &model, &job)?;
/// let m = eigentechno::ops::PpcaModel::open(&model, 4)?;
/// let scores = m.score_file("fixtures/pca/X.npy".as_ref())?;
/// assert_eq!(scores.len(), 300);
/// # Ok(()) }
/// ```
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
        let raw = StoredRows::open(matrix)?;
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
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let model = dir.path().join("pca");
/// let job = eigentechno::ops::PcaJobParams {
///     params: eigentechno::engine::pca::PcaParams { k: Some(8), ..Default::default() },
///     ..Default::default()
/// }.check()?;
/// eigentechno::ops::fit_to_dir("fixtures/pca/X.npy".as_ref(), None, &model, &job)?;
/// let ll = dir.path().join("ll.npy");
/// let n = eigentechno::ops::score_to_npy(&model, 0, "fixtures/pca/X.npy".as_ref(), &ll)?;
/// assert_eq!(n, 300);
/// # Ok(()) }
/// ```
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

/// (track, start in seconds) of every row, from the matrix's `bars.csv` (none when
/// the matrix has no `bars.csv` or it cannot be read).
fn row_origins(meta: &PcaMeta) -> Vec<(String, Option<f64>)> {
    let Some(csv) = meta.source_csv.as_ref() else {
        return Vec::new();
    };
    read_table::<BarRow>(Path::new(csv))
        .map(|rows| {
            rows.into_iter()
                .map(|r| (r.track, Some(r.start_s)))
                .collect()
        })
        .unwrap_or_default()
}

/// Outlier settings as given; [`OutlierParams::check`] makes them [`OutlierOptions`].
#[derive(Clone, Debug)]
pub struct OutlierParams {
    /// Components of the probabilistic model (0: explaining 90 % of the variance).
    pub k: usize,
    /// WAVs of the N most unusual and N most typical bars (0: none).
    pub audio: usize,
    /// Repetitions of each bar.
    pub loops: usize,
}

impl Default for OutlierParams {
    fn default() -> Self {
        OutlierParams {
            k: 0,
            audio: 8,
            loops: 4,
        }
    }
}

super::checked_options!(
    /// Checked outlier settings: at most 10,000 WAVs of each kind, 1 to 1,000 loops.
    OutlierOptions(OutlierParams)
);

impl OutlierParams {
    /// Check the settings.
    pub fn check(self) -> Result<OutlierOptions> {
        super::check_range("audio", self.audio as f64, 0.0, 10_000.0)?;
        super::check_range("loops", self.loops as f64, 1.0, 1000.0)?;
        Ok(OutlierOptions(self))
    }
}

/// Rank the rows of the model's matrix by log-likelihood: `outliers.csv` (most unusual
/// first: rank, row, track, start_s, log_likelihood, mahalanobis, residual) and the
/// WAVs `unusual/` and `typical/`.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let model = dir.path().join("pca");
/// let job = eigentechno::ops::PcaJobParams {
///     params: eigentechno::engine::pca::PcaParams { k: Some(8), ..Default::default() },
///     ..Default::default()
/// }.check()?;
/// eigentechno::ops::fit_to_dir("fixtures/pca/X.npy".as_ref(), None, &model, &job)?;
/// let opts = eigentechno::ops::OutlierParams { audio: 0, ..Default::default() }.check()?;
/// let files = eigentechno::ops::outliers_to_dir(&model, &dir.path().join("odd"), &opts)?;
/// assert!(files[0].ends_with("outliers.csv"));
/// # Ok(()) }
/// ```
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
    let rows: Vec<OutlierRow> = order
        .iter()
        .enumerate()
        .map(|(rank, &row)| {
            let (track, start_s) = origins.get(row).cloned().unwrap_or_default();
            let s = scores[row];
            OutlierRow {
                rank,
                row,
                track,
                start_s,
                log_likelihood: s.log_likelihood,
                mahalanobis: s.mahalanobis,
                residual: s.residual,
            }
        })
        .collect();
    let mut files = vec![write_table(&out.join("outliers.csv"), &rows)?];
    if opts.audio > 0 && m.meta.rate.is_some() {
        let raw = StoredRows::open(&matrix)?;
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

/// Sampling settings as given; [`SampleParams::check`] makes them [`SampleOptions`].
#[derive(Clone, Debug)]
pub struct SampleParams {
    /// Components (0: explaining 90 % of the variance).
    pub k: usize,
    /// Bars to draw.
    pub count: usize,
    /// Seed.
    pub seed: u64,
    /// Repetitions of each bar.
    pub loops: usize,
}

impl Default for SampleParams {
    fn default() -> Self {
        SampleParams {
            k: 0,
            count: 8,
            seed: 0,
            loops: 4,
        }
    }
}

super::checked_options!(
    /// Checked sampling settings: 1 to 100,000 bars, 1 to 1,000 loops.
    SampleOptions(SampleParams)
);

impl SampleParams {
    /// Check the settings.
    pub fn check(self) -> Result<SampleOptions> {
        super::check_range("count", self.count as f64, 1.0, 100_000.0)?;
        super::check_range("loops", self.loops as f64, 1.0, 1000.0)?;
        Ok(SampleOptions(self))
    }
}

/// Bars drawn from the model, as sound (de-equalised if the fit was equalised), scaled
/// down only if they would clip.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let model = dir.path().join("pca");
/// let job = eigentechno::ops::PcaJobParams {
///     params: eigentechno::engine::pca::PcaParams { k: Some(8), ..Default::default() },
///     ..Default::default()
/// }.check()?;
/// eigentechno::ops::fit_to_dir("fixtures/pca/X.npy".as_ref(), None, &model, &job)?;
/// let m = eigentechno::ops::PpcaModel::open(&model, 0)?;
/// let bars = eigentechno::ops::sample_bars(&m, 3, true, 7);
/// assert_eq!((bars.len(), bars[0].len()), (3, 2000));
/// # Ok(()) }
/// ```
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
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let model = dir.path().join("pca");
/// let job = eigentechno::ops::PcaJobParams {
///     params: eigentechno::engine::pca::PcaParams { k: Some(8), ..Default::default() },
///     ..Default::default()
/// }.check()?;
/// eigentechno::ops::fit_to_dir("fixtures/pca/X.npy".as_ref(), None, &model, &job)?;
/// let opts = eigentechno::ops::SampleParams { count: 2, loops: 1, ..Default::default() }.check()?;
/// let files = eigentechno::ops::samples_to_dir(&model, &dir.path().join("s"), &opts)?;
/// assert_eq!(files.len(), 4);
/// # Ok(()) }
/// ```
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

/// select-k settings as given; [`SelectKParams::check`] makes them [`SelectKOptions`].
#[derive(Clone, Debug)]
pub struct SelectKParams {
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

impl Default for SelectKParams {
    fn default() -> Self {
        SelectKParams {
            ks: Vec::new(),
            test_fraction: 0.2,
            seed: 0,
            equalize: false,
            rate: 8_820,
        }
    }
}

super::checked_options!(
    /// Checked select-k settings: a held-out share from 0.01 to 0.9, candidates of at
    /// least 1, a rate from 1 kHz to 768 kHz.
    SelectKOptions(SelectKParams)
);

impl SelectKParams {
    /// Check the settings.
    pub fn check(self) -> Result<SelectKOptions> {
        super::check_range("test_fraction", self.test_fraction, 0.01, 0.9)?;
        super::check_range("rate", self.rate as f64, 1_000.0, 768_000.0)?;
        if self.ks.contains(&0) {
            return Err(Error::InvalidArgument {
                name: "ks",
                expected: "component counts of at least 1".into(),
                actual: format!("{:?}", self.ks),
            });
        }
        Ok(SelectKOptions(self))
    }
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
/// `select_k.png` and `select_k.json` (best k). `matrix` is a `.npy` file or a
/// distributed ingest's `manifest.json`.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let opts = eigentechno::ops::SelectKParams { ks: vec![1, 2, 4], ..Default::default() }.check()?;
/// let (found, files) = eigentechno::ops::select_k_to_dir(
///     "fixtures/ppca/X.npy".as_ref(), dir.path(), &opts)?;
/// assert!([1, 2, 4].contains(&found.best_k) && files.len() == 3);
/// # Ok(()) }
/// ```
pub fn select_k_to_dir(
    matrix: &Path,
    out: &Path,
    opts: &SelectKOptions,
) -> Result<(SelectK, Vec<PathBuf>)> {
    let raw = StoredRows::open(matrix)?;
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
    // One decomposition for every k (Tipping & Bishop: the maximum-likelihood model with
    // k components is the top k eigenpairs of the same fit, with the noise variance the
    // mean of the rest): both sets of rows projected onto the top kmax components, with
    // their squared norms, give the log-likelihood under every k. With fewer training rows
    // than features the components are never formed: the projections come from the Gram
    // matrix (see held_out_projections). The ks beyond the largest with a model (some
    // variance left outside its subspace) are skipped, as each k's own model would be.
    let split = params
        .check(&train)
        .and_then(|c| held_out_projections(&c, &train, &held))
        .map_err(|e| in_file(matrix, e))?;
    let h = spectrum_mean_log_likelihoods(&split.spectrum, &ks, &split.held);
    let t = spectrum_mean_log_likelihoods(&split.spectrum, &ks, &split.train);
    let curve: Vec<(usize, f64, f64)> = ks
        .iter()
        .zip(h.iter().zip(&t))
        .filter_map(|(&k, (h, t))| Some((k, (*h)?, (*t)?)))
        .collect();
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
    files.push(plots::likelihood_over_k(
        &out.join("select_k.png"),
        &result.curve,
        best_k,
    )?);
    let json = serde_json::to_vec_pretty(&result).expect("serialises");
    files.push(write_atomic(&out.join("select_k.json"), &json)?);
    Ok((result, files))
}
