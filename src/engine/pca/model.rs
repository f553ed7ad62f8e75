//! The fitted model, how a checked configuration fits it, and projection of rows onto it.

use faer::{Mat, MatRef};

use super::centring::load_centred;
use super::{
    ColumnStats, Data, Method, PcaConfig, PcaError, Precision, RawFit, RowSource, Scalar,
    column_stats, exact, for_each_centred, randomized,
};

/// A fitted PCA: everything needed to project, reconstruct, score and sample.
///
/// `mean` and `components` are float32 (audio, pictures, float32 files). A model fitted
/// on float64 data, or with float64 precision asked for, also keeps them in float64
/// ([`PcaModel::f64_parts`]): projection, reconstruction, [`project_rows`] and PPCA
/// then use those, and the store writes them as float64.
#[derive(Clone, Debug, PartialEq)]
pub struct PcaModel {
    /// Column means (d).
    pub mean: Vec<f32>,
    /// Components, row-major `k x d`: unit rows, each signed so its largest-magnitude
    /// entry is positive.
    pub components: Vec<f32>,
    /// The mean and components in float64 (`mean` and `components` are these rounded),
    /// for a model fitted or stored in float64; `None` for a float32 model.
    pub f64_parts: Option<F64Parts>,
    /// Number of features d.
    pub n_features: usize,
    /// Rows the model was fitted on.
    pub n_samples: usize,
    /// Singular values of the centred data (k), descending.
    pub singular_values: Vec<f64>,
    /// `s^2 / (n - 1)` (k).
    pub explained_variance: Vec<f64>,
    /// Explained variance over the total variance of the data (k).
    pub explained_variance_ratio: Vec<f64>,
    /// Sum of the column variances of the data (n - 1 denominator), computed exactly.
    pub total_variance: f64,
}

/// What a fit says of the data's variance, without its components: all that the
/// probabilistic model needs besides them to give a log-likelihood.
#[derive(Clone, Debug, PartialEq)]
pub struct Spectrum {
    /// Variances along the components, `s^2 / (n - 1)`, descending (k).
    pub explained_variance: Vec<f64>,
    /// Sum of the column variances of the data (n - 1 denominator).
    pub total_variance: f64,
    /// Number of features d.
    pub n_features: usize,
}

impl Spectrum {
    /// Components known.
    pub fn k(&self) -> usize {
        self.explained_variance.len()
    }
}

/// A model's mean and components in float64.
#[derive(Clone, Debug, PartialEq)]
pub struct F64Parts {
    /// Column means (d).
    pub mean: Vec<f64>,
    /// Components, row-major `k x d`.
    pub components: Vec<f64>,
}

impl PcaModel {
    /// Components kept.
    pub fn k(&self) -> usize {
        self.singular_values.len()
    }

    /// The variances along the components, the total variance and the number of
    /// features.
    pub fn spectrum(&self) -> Spectrum {
        Spectrum {
            explained_variance: self.explained_variance.clone(),
            total_variance: self.total_variance,
            n_features: self.n_features,
        }
    }

    /// The mean in float64: the model's float64 mean, or its float32 one widened.
    pub fn mean_f64(&self) -> Vec<f64> {
        match &self.f64_parts {
            Some(p) => p.mean.clone(),
            None => self.mean.iter().map(|&m| m as f64).collect(),
        }
    }

    /// The first `k` components (row-major `k x d`) in float64: the model's float64
    /// components, or its float32 ones widened.
    pub fn components_f64(&self, k: usize) -> Vec<f64> {
        let end = k.min(self.k()) * self.n_features;
        match &self.f64_parts {
            Some(p) => p.components[..end].to_vec(),
            None => self.components[..end].iter().map(|&c| c as f64).collect(),
        }
    }

    /// Component `i` (unit length, d values).
    pub fn component(&self, i: usize) -> &[f32] {
        &self.components[i * self.n_features..(i + 1) * self.n_features]
    }

    /// Coordinates of `row` (d values) on the first `k` components.
    pub fn project(&self, row: &[f32], k: usize) -> Vec<f64> {
        if let Some(p) = &self.f64_parts {
            let d = self.n_features;
            return (0..k.min(self.k()))
                .map(|i| {
                    p.components[i * d..(i + 1) * d]
                        .iter()
                        .zip(row.iter().zip(&p.mean))
                        .map(|(&c, (&x, &m))| c * (x as f64 - m))
                        .sum()
                })
                .collect();
        }
        (0..k.min(self.k()))
            .map(|i| {
                self.component(i)
                    .iter()
                    .zip(row.iter().zip(&self.mean))
                    .map(|(&c, (&x, &m))| c as f64 * (x as f64 - m as f64))
                    .sum()
            })
            .collect()
    }

    /// `mean + sum_{i < k} scores[i] * component_i` (d values), accumulated in f64.
    pub fn reconstruct(&self, scores: &[f64], k: usize) -> Vec<f32> {
        let k = k.min(self.k()).min(scores.len());
        if let Some(p) = &self.f64_parts {
            let d = self.n_features;
            let mut out = p.mean.clone();
            for (i, &s) in scores.iter().enumerate().take(k) {
                for (o, &c) in out.iter_mut().zip(&p.components[i * d..(i + 1) * d]) {
                    *o += s * c;
                }
            }
            return out.into_iter().map(|v| v as f32).collect();
        }
        let mut out: Vec<f64> = self.mean.iter().map(|&m| m as f64).collect();
        for (i, &s) in scores.iter().enumerate().take(k) {
            for (o, &c) in out.iter_mut().zip(self.component(i)) {
                *o += s * c as f64;
            }
        }
        out.into_iter().map(|v| v as f32).collect()
    }

    /// Cumulative explained-variance ratios.
    pub fn cumulative_ratio(&self) -> Vec<f64> {
        self.explained_variance_ratio
            .iter()
            .scan(0.0, |acc, r| {
                *acc += r;
                Some(*acc)
            })
            .collect()
    }
}

/// What a fit produced: the model, and the scores (`n x k`, row-major) when the method
/// yields them for free (Gram and randomized); otherwise project with [`project_rows`].
#[derive(Clone, Debug)]
pub struct PcaFit {
    /// The model.
    pub model: PcaModel,
    /// Row-major scores `U S`, one row per kept data row.
    pub scores: Option<Vec<f32>>,
    /// Method used.
    pub method: Method,
    /// Precision used.
    pub precision: Precision,
    /// Why `auto` chose this method.
    pub why: String,
    /// Rows skipped as non-finite.
    pub dropped_rows: Vec<usize>,
    /// Oversampling used by the randomized method (0 for exact).
    pub oversampling: usize,
    /// Power iterations the randomized method ran (at most the parameter's; fewer when
    /// the singular values settled first; 0 for exact).
    pub power_iterations: usize,
}

impl PcaConfig {
    /// Fit the model. The source must be the one the parameters were checked against.
    pub fn fit(&self, source: &dyn RowSource) -> Result<PcaFit, PcaError> {
        if (source.nrows(), source.ncols()) != (self.nrows, self.ncols) {
            return Err(PcaError::Shape {
                expected: format!("{} x {} (as checked)", self.nrows, self.ncols),
                actual: format!("{} x {}", source.nrows(), source.ncols()),
            });
        }
        let block = self.block_rows();
        let (raw, stats) = match self.precision {
            Precision::F32 => self.run::<f32>(source, block)?,
            _ => self.run::<f64>(source, block)?,
        };
        // Float64 data, or float64 asked for: the model keeps its float64 mean and
        // components (float32 data fitted in float64 by `auto` keeps float32 ones).
        Ok(self.finish(raw, stats, self.keeps_f64(source)))
    }

    /// Load (when it fits) or stream the centred data, then run the chosen algorithm.
    fn run<T: Scalar>(
        &self,
        source: &dyn RowSource,
        block: usize,
    ) -> Result<(RawFit, ColumnStats), PcaError> {
        let (n, d) = (self.nrows, self.ncols);
        let fits = n * d * std::mem::size_of::<T>() <= self.params.memory_budget;
        let in_memory = fits && (self.method == Method::Randomized || n <= d);
        let (data, stats) = if in_memory {
            let (x, stats) = load_centred::<T>(source, block, self.params.drop_nonfinite)?;
            (Data::Memory(x, stats.rows, d), stats)
        } else {
            let stats = column_stats(source, block, self.params.drop_nonfinite)?;
            (Data::Streamed(source, stats.clone(), block), stats)
        };
        self.check_stats(&stats)?;
        let raw = match (self.method, &data) {
            (Method::Randomized, _) => randomized::fit(&data, self)?,
            (_, Data::Memory(x, n, d)) => exact::gram(x, *n, *d, self.k)?,
            (_, Data::Streamed(..) | Data::Operator(_)) => exact::covariance(&data, self.k)?,
        };
        Ok((raw, stats))
    }

    /// Refuse data that cannot give the components asked for: too few usable rows, or
    /// no variance.
    pub(super) fn check_stats(&self, stats: &ColumnStats) -> Result<(), PcaError> {
        if stats.rows < 2 {
            return Err(PcaError::TooFewRows { rows: stats.rows });
        }
        let max_k = self.ncols.min(stats.rows - 1);
        if self.k > max_k {
            return Err(PcaError::TooManyComponents {
                k: self.k,
                rows: stats.rows,
                cols: self.ncols,
                max: max_k,
            });
        }
        if stats.total_variance <= 0.0 || !stats.total_variance.is_finite() {
            return Err(PcaError::ZeroVariance);
        }
        Ok(())
    }

    /// Whether the fitted model keeps its mean and components in float64
    /// ([`PcaModel::f64_parts`]): for float64 data, or float64 asked for. Float32 data
    /// fitted in float64 by `auto` keeps float32 ones.
    pub fn keeps_f64(&self, source: &dyn RowSource) -> bool {
        source.is_f64() || self.params.precision == Precision::F64
    }

    /// Whether [`PcaConfig::fit`] decomposes the Gram matrix of the centred rows held in
    /// memory (exact, rows <= columns, within the memory budget).
    pub fn uses_gram(&self) -> bool {
        let size = match self.precision {
            Precision::F32 => 4,
            _ => 8,
        };
        self.method == Method::Exact
            && self.nrows <= self.ncols
            && self.nrows * self.ncols * size <= self.params.memory_budget
    }

    pub(super) fn block_rows(&self) -> usize {
        self.params
            .block_rows
            .unwrap_or_else(|| ((64 << 20) / (self.ncols * 4)).max(1))
    }

    pub(super) fn finish(&self, mut raw: RawFit, stats: ColumnStats, keep_f64: bool) -> PcaFit {
        let d = self.ncols;
        let n = stats.rows;
        let keep = raw.singular_values.len();
        // Sign rule: the largest-magnitude entry of each component is positive. Judged on
        // the float32 values, so float32 and float64 models of one fit agree in sign.
        for i in 0..keep {
            let row = &mut raw.components[i * d..(i + 1) * d];
            let (mut best, mut at) = (0f32, 0);
            for (j, v) in row.iter().enumerate() {
                let a = (*v as f32).abs();
                if a > best {
                    best = a;
                    at = j;
                }
            }
            if row[at] < 0.0 {
                row.iter_mut().for_each(|v| *v = -*v);
                if let Some(sc) = raw.scores.as_mut() {
                    sc.iter_mut().skip(i).step_by(keep).for_each(|v| *v = -*v);
                }
            }
        }
        let denom = (n - 1) as f64;
        let explained_variance: Vec<f64> =
            raw.singular_values.iter().map(|s| s * s / denom).collect();
        let explained_variance_ratio = explained_variance
            .iter()
            .map(|v| v / stats.total_variance)
            .collect();
        let (oversampling, power_iterations) = match self.method {
            Method::Randomized => (self.oversampling, raw.power_iterations),
            _ => (0, 0),
        };
        PcaFit {
            model: PcaModel {
                mean: stats.mean.iter().map(|&m| m as f32).collect(),
                components: raw.components.iter().map(|&c| c as f32).collect(),
                f64_parts: keep_f64.then(|| F64Parts {
                    mean: stats.mean.clone(),
                    components: raw.components,
                }),
                n_features: d,
                n_samples: n,
                singular_values: raw.singular_values,
                explained_variance,
                explained_variance_ratio,
                total_variance: stats.total_variance,
            },
            scores: raw.scores,
            method: self.method,
            precision: self.precision,
            why: self.why.clone(),
            dropped_rows: stats.dropped_rows,
            oversampling,
            power_iterations,
        }
    }
}

/// Called with (first row, row-major scores block).
pub type ScoreVisitor<'a> = dyn FnMut(usize, &[f32]) -> Result<(), PcaError> + 'a;

/// Scores of every kept row on the first `k` components, block by block:
/// `f(first_row, block)` with a row-major `rows x k` block. For methods that did not
/// return scores, or for new data.
pub fn project_rows(
    source: &dyn RowSource,
    model: &PcaModel,
    k: usize,
    dropped_rows: &[usize],
    f: &mut ScoreVisitor<'_>,
) -> Result<(), PcaError> {
    if source.ncols() != model.n_features {
        return Err(PcaError::Shape {
            expected: format!("{} columns (the model's)", model.n_features),
            actual: format!("{} columns", source.ncols()),
        });
    }
    let k = k.min(model.k());
    let d = model.n_features;
    let stats = ColumnStats {
        mean: model.mean_f64(),
        total_variance: model.total_variance,
        dropped_rows: dropped_rows.to_vec(),
        rows: 0,
    };
    let mut out = Vec::new();
    if let Some(p) = &model.f64_parts {
        // A float64 model: centre and project in float64, round the scores.
        let comps = MatRef::from_row_major_slice(&p.components[..k * d], k, d);
        let block = ((64 << 20) / (d * 8)).max(1);
        return for_each_centred::<f64>(source, &stats, block, &mut |start, x| {
            let mut s = Mat::<f64>::zeros(x.nrows(), k);
            faer::linalg::matmul::matmul(
                s.as_mut(),
                faer::Accum::Replace,
                x,
                comps.transpose(),
                1.0f64,
                faer::get_global_parallelism(),
            );
            out.clear();
            for i in 0..x.nrows() {
                out.extend((0..k).map(|j| s[(i, j)] as f32));
            }
            f(start, &out)
        });
    }
    let comps = MatRef::from_row_major_slice(&model.components[..k * d], k, d);
    let block = ((64 << 20) / (d * 4)).max(1);
    for_each_centred::<f32>(source, &stats, block, &mut |start, x| {
        let mut s = Mat::<f32>::zeros(x.nrows(), k);
        faer::linalg::matmul::matmul(
            s.as_mut(),
            faer::Accum::Replace,
            x,
            comps.transpose(),
            1.0f32,
            faer::get_global_parallelism(),
        );
        out.clear();
        for i in 0..x.nrows() {
            out.extend((0..k).map(|j| s[(i, j)]));
        }
        f(start, &out)
    })
}
