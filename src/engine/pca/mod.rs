//! Principal component analysis on faer: exact (eigendecomposition of the smaller of the
//! Gram and covariance matrices) or randomized (Halko, Martinsson & Tropp 2011), on a
//! matrix read block by block so it never has to be held twice.
//!
//! Parameters are checked into a [`PcaConfig`] against the data's shape before any work
//! starts (as linfa does), then [`PcaConfig::fit`] runs.
//!
//! ```
//! use eigentechno::engine::pca::{MemoryRows, PcaParams, Method};
//!
//! // Points on a line through (1, 2, 3) along (1, 1, 0) / sqrt(2), plus a little noise.
//! let t = [-2.0f32, -1.0, 0.0, 1.0, 2.0];
//! let noise = [0.01f32, -0.02, 0.0, 0.02, -0.01];
//! let mut x = Vec::new();
//! for (t, e) in t.iter().zip(noise) {
//!     x.extend([1.0 + t, 2.0 + t, 3.0 + e]);
//! }
//! let rows = MemoryRows::f32(&x, 5, 3).unwrap();
//! let fit = PcaParams { k: Some(1), method: Method::Exact, ..Default::default() }
//!     .check(&rows).unwrap()
//!     .fit(&rows).unwrap();
//! let c = fit.model.component(0);
//! assert!((c[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3);
//! assert!((fit.model.mean[2] - 3.0).abs() < 1e-6);
//! assert!(fit.model.explained_variance_ratio[0] > 0.999);
//! ```

mod exact;
mod randomized;
mod source;

use std::fmt;

use faer::{Mat, MatRef};
use rayon::prelude::*;

pub use source::{MemoryRows, RowSource, Rows, SubsetRows};

/// Why PCA refused or failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum PcaError {
    /// The data or a block of it does not have the shape it should.
    #[error("shape: expected {expected}, got {actual}")]
    Shape {
        /// What was expected.
        expected: String,
        /// What was found.
        actual: String,
    },
    /// More components asked for than the data can give.
    #[error(
        "{k} components asked for, but the data has {rows} rows and {cols} columns (at most {max})"
    )]
    TooManyComponents {
        /// Components asked for.
        k: usize,
        /// Rows of the data (after dropping non-finite rows).
        rows: usize,
        /// Columns of the data.
        cols: usize,
        /// The most there can be.
        max: usize,
    },
    /// PCA needs at least two rows.
    #[error("{rows} usable rows: PCA needs at least 2")]
    TooFewRows {
        /// Usable rows.
        rows: usize,
    },
    /// A row holds NaN or infinity.
    #[error(
        "row {row} holds a non-finite value (NaN or infinity) in column {col}; set drop_nonfinite to skip such rows"
    )]
    NonFinite {
        /// The first such row (0-based).
        row: usize,
        /// A column where it happens.
        col: usize,
    },
    /// Every column is constant: there is no variance to explain.
    #[error("the data has zero variance (every column is constant)")]
    ZeroVariance,
    /// A parameter is outside what it accepts.
    #[error("{name}: expected {expected}, got {actual}")]
    Parameter {
        /// The parameter.
        name: &'static str,
        /// What is accepted.
        expected: String,
        /// What was given.
        actual: String,
    },
    /// Reading the rows failed (the source says why).
    #[error("{0}")]
    Source(String),
    /// The eigensolver or SVD did not converge.
    #[error("the {0} did not converge")]
    NoConvergence(&'static str),
}

/// How the decomposition is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Method {
    /// Pick by estimated cost (see [`PcaConfig::method`]).
    #[default]
    Auto,
    /// Eigendecomposition of the Gram (rows <= columns) or covariance matrix: every
    /// component, to working precision.
    Exact,
    /// Randomized range finder with power iterations: the top k only, fast.
    Randomized,
}

impl Method {
    /// `auto`, `exact` or `randomized`.
    pub fn parse(s: &str) -> Option<Method> {
        match s {
            "auto" => Some(Method::Auto),
            "exact" => Some(Method::Exact),
            "randomized" => Some(Method::Randomized),
            _ => None,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Auto => "auto",
            Method::Exact => "exact",
            Method::Randomized => "randomized",
        })
    }
}

/// Floating-point precision of the arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Precision {
    /// float64 for float64 data and for small problems (where it costs nothing);
    /// float32 for large float32 data, as LAPACK-based tools do.
    #[default]
    Auto,
    /// float32.
    F32,
    /// float64.
    F64,
}

impl Precision {
    /// `auto`, `f32` or `f64`.
    pub fn parse(s: &str) -> Option<Precision> {
        match s {
            "auto" => Some(Precision::Auto),
            "f32" | "float32" => Some(Precision::F32),
            "f64" | "float64" => Some(Precision::F64),
            _ => None,
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::Auto => "auto",
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        })
    }
}

/// What the user asks for; checked against the data by [`PcaParams::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct PcaParams {
    /// Components to keep; `None`: all (exact) .
    pub k: Option<usize>,
    /// Algorithm.
    pub method: Method,
    /// Arithmetic precision.
    pub precision: Precision,
    /// Randomized: extra columns in the sketch beyond k; `None`: `max(16, k / 4)`.
    pub oversampling: Option<usize>,
    /// Randomized: power iterations, each re-orthonormalised (3 by default: with block
    /// Krylov this gives top-64 singular values within 1e-3 on bar-like spectra).
    pub power_iterations: usize,
    /// Randomized: keep every power-iteration block and extract from their span (block
    /// Krylov); `false`: keep the last block only (plain subspace iteration).
    pub krylov: bool,
    /// Randomized: seed of the Gaussian test matrix.
    pub seed: u64,
    /// Skip rows holding NaN or infinity (otherwise they are an error).
    pub drop_nonfinite: bool,
    /// Rows per block when the source is streamed; `None`: about 64 MB per block.
    pub block_rows: Option<usize>,
    /// The exact method keeps the centred matrix in memory when it is at most this
    /// many bytes (and rows <= columns); otherwise it streams the covariance.
    pub memory_budget: usize,
}

impl Default for PcaParams {
    fn default() -> Self {
        PcaParams {
            k: None,
            method: Method::Auto,
            precision: Precision::Auto,
            oversampling: None,
            power_iterations: 3,
            krylov: true,
            seed: 0,
            drop_nonfinite: false,
            block_rows: None,
            memory_budget: 8 << 30,
        }
    }
}

/// Column statistics from the first pass over the data.
#[derive(Clone, Debug)]
pub struct ColumnStats {
    /// Column means.
    pub mean: Vec<f64>,
    /// Sum over columns of the sample variance (n - 1 denominator).
    pub total_variance: f64,
    /// Rows that were dropped as non-finite (0-based, in the source's numbering).
    pub dropped_rows: Vec<usize>,
    /// Rows kept.
    pub rows: usize,
}

/// Validated parameters, bound to a data shape: [`PcaConfig::fit`] can only be reached
/// through [`PcaParams::check`].
#[derive(Clone, Debug)]
pub struct PcaConfig {
    params: PcaParams,
    nrows: usize,
    ncols: usize,
    k: usize,
    method: Method,
    precision: Precision,
    oversampling: usize,
    why: String,
}

impl PcaParams {
    /// Check the parameters against the source's shape and settle `auto` choices.
    pub fn check(&self, source: &dyn RowSource) -> Result<PcaConfig, PcaError> {
        let (n, d) = (source.nrows(), source.ncols());
        if n < 2 {
            return Err(PcaError::TooFewRows { rows: n });
        }
        if d == 0 {
            return Err(PcaError::Shape {
                expected: "at least one column".into(),
                actual: "0 columns".into(),
            });
        }
        // Centring removes one dimension when rows <= columns.
        let max_k = d.min(n - 1).max(1);
        let k = self.k.unwrap_or(max_k);
        if k == 0 || k > max_k {
            return Err(PcaError::TooManyComponents {
                k,
                rows: n,
                cols: d,
                max: max_k,
            });
        }
        let oversampling = self.oversampling.unwrap_or((k / 4).max(16));
        let m = n.min(d) as f64;
        let (nf, df, kf) = (n as f64, d as f64, k as f64);
        let l = (k + oversampling).min(n.min(d)) as f64;
        let q = self.power_iterations as f64;
        // Operation counts: Gram/covariance product + eigensolver + projection, against
        // (2q + 2) sketch products + QRs + the small SVD.
        let exact_cost = nf * df * m + 9.0 * m * m * m + 2.0 * nf * df * kf;
        // Block Krylov: 2q + 2 passes of l columns, orthogonalisation against a basis
        // growing to (q + 1) l columns, and a small (q + 1) l eigenproblem.
        let basis = (q + 1.0) * l;
        let randomized_cost = (2.0 * q + 2.0) * 2.0 * nf * df * l
            + 4.0 * nf * basis * basis
            + 2.0 * df * basis * basis
            + 9.0 * basis * basis * basis;
        let (method, why) = match self.method {
            Method::Auto if self.k.is_none() => {
                (Method::Exact, "every component was asked for".to_string())
            }
            Method::Auto if randomized_cost < 0.5 * exact_cost => (
                Method::Randomized,
                format!(
                    "k = {k} of at most {max_k}: the randomized sketch costs about {:.1e} operations against {:.1e} for exact",
                    randomized_cost, exact_cost
                ),
            ),
            Method::Auto => (
                Method::Exact,
                format!(
                    "k = {k} of at most {max_k}: exact costs about {:.1e} operations, the randomized sketch {:.1e}",
                    exact_cost, randomized_cost
                ),
            ),
            m => (m, "asked for".to_string()),
        };
        let precision = match self.precision {
            Precision::Auto if source.is_f64() => Precision::F64,
            // Small problems: float64 costs under a second and keeps tiny components exact.
            Precision::Auto if nf * df * m <= 2e10 => Precision::F64,
            Precision::Auto => Precision::F32,
            p => p,
        };
        Ok(PcaConfig {
            params: self.clone(),
            nrows: n,
            ncols: d,
            k,
            method,
            precision,
            oversampling,
            why,
        })
    }
}

/// A fitted PCA: everything needed to project, reconstruct, score and sample.
#[derive(Clone, Debug, PartialEq)]
pub struct PcaModel {
    /// Column means (d).
    pub mean: Vec<f32>,
    /// Components, row-major `k x d`: unit rows, each signed so its largest-magnitude
    /// entry is positive.
    pub components: Vec<f32>,
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

impl PcaModel {
    /// Components kept.
    pub fn k(&self) -> usize {
        self.singular_values.len()
    }

    /// Component `i` (unit length, d values).
    pub fn component(&self, i: usize) -> &[f32] {
        &self.components[i * self.n_features..(i + 1) * self.n_features]
    }

    /// Coordinates of `row` (d values) on the first `k` components.
    pub fn project(&self, row: &[f32], k: usize) -> Vec<f64> {
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
    /// Power iterations used by the randomized method (0 for exact).
    pub power_iterations: usize,
}

impl PcaConfig {
    /// Components that will be kept.
    pub fn k(&self) -> usize {
        self.k
    }
    /// The method that will run.
    pub fn method(&self) -> Method {
        self.method
    }
    /// Why that method.
    pub fn why(&self) -> &str {
        &self.why
    }
    /// The precision that will be used.
    pub fn precision(&self) -> Precision {
        self.precision
    }

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
        Ok(self.finish(raw, stats))
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
        if stats.rows < 2 {
            return Err(PcaError::TooFewRows { rows: stats.rows });
        }
        let max_k = d.min(stats.rows - 1);
        if self.k > max_k {
            return Err(PcaError::TooManyComponents {
                k: self.k,
                rows: stats.rows,
                cols: d,
                max: max_k,
            });
        }
        if stats.total_variance <= 0.0 || !stats.total_variance.is_finite() {
            return Err(PcaError::ZeroVariance);
        }
        let raw = match (self.method, &data) {
            (Method::Randomized, _) => randomized::fit(&data, self)?,
            (_, Data::Memory(x, n, d)) => exact::gram(x, *n, *d, self.k)?,
            (_, Data::Streamed(..)) => exact::covariance(&data, self.k)?,
        };
        Ok((raw, stats))
    }

    fn block_rows(&self) -> usize {
        self.params
            .block_rows
            .unwrap_or_else(|| ((64 << 20) / (self.ncols * 4)).max(1))
    }

    fn finish(&self, mut raw: RawFit, stats: ColumnStats) -> PcaFit {
        let d = self.ncols;
        let n = stats.rows;
        let keep = raw.singular_values.len();
        // Sign rule: the largest-magnitude entry of each component is positive.
        for i in 0..keep {
            let row = &mut raw.components[i * d..(i + 1) * d];
            let (mut best, mut at) = (0f32, 0);
            for (j, v) in row.iter().enumerate() {
                if v.abs() > best {
                    best = v.abs();
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
            Method::Randomized => (self.oversampling, self.params.power_iterations),
            _ => (0, 0),
        };
        PcaFit {
            model: PcaModel {
                mean: stats.mean.iter().map(|&m| m as f32).collect(),
                components: raw.components,
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

/// What an algorithm hands back before the sign rule and the variances.
pub(crate) struct RawFit {
    singular_values: Vec<f64>,
    components: Vec<f32>,
    scores: Option<Vec<f32>>,
}

/// One pass: column means and the total variance, with rows holding NaN or infinity
/// dropped (or reported).
pub fn column_stats(
    source: &dyn RowSource,
    block: usize,
    drop_nonfinite: bool,
) -> Result<ColumnStats, PcaError> {
    let d = source.ncols();
    // Sums are shifted by the first finite row so that large offsets do not cancel.
    let mut shift: Option<Vec<f64>> = None;
    let mut sum = vec![0f64; d];
    let mut sum_sq = vec![0f64; d];
    let mut dropped = Vec::new();
    let mut rows = 0usize;
    source.visit(block, &mut |start, values| {
        let r = values.len() / d;
        for i in 0..r {
            let base = i * d;
            if let Some(col) = (0..d).find(|&j| !values.get(base + j).is_finite()) {
                if drop_nonfinite {
                    dropped.push(start + i);
                    continue;
                }
                return Err(PcaError::NonFinite {
                    row: start + i,
                    col,
                });
            }
            let sh = shift.get_or_insert_with(|| (0..d).map(|j| values.get(base + j)).collect());
            for j in 0..d {
                let v = values.get(base + j) - sh[j];
                sum[j] += v;
                sum_sq[j] += v * v;
            }
            rows += 1;
        }
        Ok(())
    })?;
    let shift = shift.unwrap_or_else(|| vec![0.0; d]);
    let nf = rows as f64;
    let mut total = 0.0;
    let mean = (0..d)
        .map(|j| {
            if rows == 0 {
                return 0.0;
            }
            let m = sum[j] / nf;
            if rows > 1 {
                total += ((sum_sq[j] - nf * m * m) / (nf - 1.0)).max(0.0);
            }
            shift[j] + m
        })
        .collect();
    Ok(ColumnStats {
        mean,
        total_variance: total,
        dropped_rows: dropped,
        rows,
    })
}

/// Called with (first row, centred block) on every pass.
pub(crate) type BlockVisitor<'a, T> = dyn FnMut(usize, MatRef<'_, T>) -> Result<(), PcaError> + 'a;

/// Called with (first row, row-major scores block).
pub type ScoreVisitor<'a> = dyn FnMut(usize, &[f32]) -> Result<(), PcaError> + 'a;

/// Precision the algorithms compute in.
pub(crate) trait Scalar:
    faer::traits::RealField
    + Copy
    + Send
    + Sync
    + 'static
    + std::ops::Sub<Output = Self>
    + std::ops::SubAssign
{
    fn of(v: f64) -> Self;
    fn f64(self) -> f64;
}

impl Scalar for f32 {
    #[inline]
    fn of(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn f64(self) -> f64 {
        self as f64
    }
}

impl Scalar for f64 {
    #[inline]
    fn of(v: f64) -> Self {
        v
    }
    #[inline]
    fn f64(self) -> f64 {
        self
    }
}

/// Visit the kept rows, centred and converted to `T`, as row-major blocks viewed as faer
/// matrices: `f(first_kept_row, block)`.
pub(crate) fn for_each_centred<T: Scalar>(
    source: &dyn RowSource,
    stats: &ColumnStats,
    block: usize,
    f: &mut BlockVisitor<'_, T>,
) -> Result<(), PcaError> {
    let d = source.ncols();
    let mean: Vec<T> = stats.mean.iter().map(|&m| T::of(m)).collect();
    let mut buf: Vec<T> = Vec::new();
    let mut dropped = stats.dropped_rows.iter().copied().peekable();
    let mut kept = 0usize;
    source.visit(block, &mut |start, values| {
        let r = values.len() / d;
        let mut keep = Vec::with_capacity(r);
        for i in 0..r {
            if dropped.peek() == Some(&(start + i)) {
                dropped.next();
            } else {
                keep.push(i);
            }
        }
        buf.resize(keep.len() * d, T::of(0.0));
        buf.par_chunks_mut(d).zip(&keep).for_each(|(out, &i)| {
            let base = i * d;
            match values {
                Rows::F32(v) => {
                    for ((o, &x), &m) in out.iter_mut().zip(&v[base..base + d]).zip(&mean) {
                        *o = T::of(x as f64) - m;
                    }
                }
                Rows::F64(v) => {
                    for ((o, &x), &m) in out.iter_mut().zip(&v[base..base + d]).zip(&mean) {
                        *o = T::of(x) - m;
                    }
                }
            }
        });
        if keep.is_empty() {
            return Ok(());
        }
        let m = MatRef::from_row_major_slice(&buf, keep.len(), d);
        f(kept, m)?;
        kept += keep.len();
        Ok(())
    })
}

/// The centred data: held in memory (one copy) or streamed from its source on every
/// pass.
pub(crate) enum Data<'a, T: Scalar> {
    Memory(Vec<T>, usize, usize),
    Streamed(&'a dyn RowSource, ColumnStats, usize),
}

impl<T: Scalar> Data<'_, T> {
    pub(crate) fn shape(&self) -> (usize, usize) {
        match self {
            Data::Memory(_, n, d) => (*n, *d),
            Data::Streamed(s, st, _) => (st.rows, s.ncols()),
        }
    }

    /// Visit centred row blocks.
    pub(crate) fn for_each(&self, f: &mut BlockVisitor<'_, T>) -> Result<(), PcaError> {
        match self {
            Data::Memory(x, n, d) => f(0, MatRef::from_row_major_slice(x, *n, *d)),
            Data::Streamed(src, stats, block) => for_each_centred::<T>(*src, stats, *block, f),
        }
    }

    /// `X W` for `W` of shape d x l.
    pub(crate) fn times(&self, w: MatRef<'_, T>) -> Result<Mat<T>, PcaError> {
        let (n, _) = self.shape();
        let mut out = Mat::<T>::zeros(n, w.ncols());
        self.for_each(&mut |start, b| {
            let rows = out.as_mut().subrows_mut(start, b.nrows());
            faer::linalg::matmul::matmul(
                rows,
                faer::Accum::Replace,
                b,
                w,
                T::of(1.0),
                faer::get_global_parallelism(),
            );
            Ok(())
        })?;
        Ok(out)
    }

    /// `X^T Q` for `Q` of shape n x l.
    pub(crate) fn t_times(&self, q: MatRef<'_, T>) -> Result<Mat<T>, PcaError> {
        let (_, d) = self.shape();
        let mut out = Mat::<T>::zeros(d, q.ncols());
        self.for_each(&mut |start, b| {
            faer::linalg::matmul::matmul(
                out.as_mut(),
                faer::Accum::Add,
                b.transpose(),
                q.subrows(start, b.nrows()),
                T::of(1.0),
                faer::get_global_parallelism(),
            );
            Ok(())
        })?;
        Ok(out)
    }
}

/// Read every row once into memory as `T`, then compute the column statistics from the
/// copy, drop non-finite rows and centre in place: one pass over the source.
fn load_centred<T: Scalar>(
    source: &dyn RowSource,
    block: usize,
    drop_nonfinite: bool,
) -> Result<(Vec<T>, ColumnStats), PcaError> {
    let (n, d) = (source.nrows(), source.ncols());
    let mut x: Vec<T> = Vec::with_capacity(n * d);
    source.visit(block, &mut |_, values| {
        let at = x.len();
        x.resize(at + values.len(), T::of(0.0));
        let dst = &mut x[at..];
        match values {
            Rows::F32(v) => dst
                .par_chunks_mut(1 << 16)
                .zip(v.par_chunks(1 << 16))
                .for_each(|(o, i)| o.iter_mut().zip(i).for_each(|(o, &i)| *o = T::of(i as f64))),
            Rows::F64(v) => dst
                .par_chunks_mut(1 << 16)
                .zip(v.par_chunks(1 << 16))
                .for_each(|(o, i)| o.iter_mut().zip(i).for_each(|(o, &i)| *o = T::of(i))),
        }
        Ok(())
    })?;
    // Non-finite rows: report the first, or squeeze them out.
    let bad: Vec<(usize, usize)> = x
        .par_chunks(d)
        .enumerate()
        .filter_map(|(i, r)| r.iter().position(|v| !v.f64().is_finite()).map(|c| (i, c)))
        .collect();
    if let Some(&(row, col)) = bad.first() {
        if !drop_nonfinite {
            return Err(PcaError::NonFinite { row, col });
        }
        let mut w = 0;
        let mut skip = bad.iter().map(|b| b.0).peekable();
        for r in 0..n {
            if skip.peek() == Some(&r) {
                skip.next();
                continue;
            }
            if w != r {
                x.copy_within(r * d..(r + 1) * d, w * d);
            }
            w += 1;
        }
        x.truncate(w * d);
    }
    let rows = x.len() / d.max(1);
    let stats = stats_of_memory(&x, rows, d, bad.iter().map(|b| b.0).collect());
    let mean: Vec<T> = stats.mean.iter().map(|&m| T::of(m)).collect();
    x.par_chunks_mut(d).for_each(|r| {
        for (v, &m) in r.iter_mut().zip(&mean) {
            *v -= m;
        }
    });
    Ok((x, stats))
}

/// Column means and total variance of a row-major matrix in memory (two passes, in
/// float64, parallel over column stripes).
fn stats_of_memory<T: Scalar>(x: &[T], rows: usize, d: usize, dropped: Vec<usize>) -> ColumnStats {
    const STRIPE: usize = 256;
    let per_stripe: Vec<(Vec<f64>, f64)> = (0..d.div_ceil(STRIPE))
        .into_par_iter()
        .map(|s| {
            let (a, b) = (s * STRIPE, ((s + 1) * STRIPE).min(d));
            let mut sum = vec![0f64; b - a];
            for r in 0..rows {
                for (acc, v) in sum.iter_mut().zip(&x[r * d + a..r * d + b]) {
                    *acc += v.f64();
                }
            }
            let mean: Vec<f64> = sum.iter().map(|s| s / rows.max(1) as f64).collect();
            let mut ss = 0f64;
            for r in 0..rows {
                for (m, v) in mean.iter().zip(&x[r * d + a..r * d + b]) {
                    let c = v.f64() - m;
                    ss += c * c;
                }
            }
            (mean, ss)
        })
        .collect();
    let mut mean = Vec::with_capacity(d);
    let mut total = 0.0;
    for (m, ss) in per_stripe {
        mean.extend(m);
        total += ss;
    }
    ColumnStats {
        mean,
        total_variance: if rows > 1 {
            total / (rows - 1) as f64
        } else {
            0.0
        },
        dropped_rows: dropped,
        rows,
    }
}

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
        mean: model.mean.iter().map(|&m| m as f64).collect(),
        total_variance: model.total_variance,
        dropped_rows: dropped_rows.to_vec(),
        rows: 0,
    };
    let comps = MatRef::from_row_major_slice(&model.components[..k * d], k, d);
    let block = ((64 << 20) / (d * 4)).max(1);
    let mut out = Vec::new();
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

/// Copy the top `k` columns of `vecs` (taken in the order of `order`) as rows, f32.
pub(crate) fn columns_as_rows<T: Scalar>(vecs: MatRef<'_, T>, order: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(order.len() * vecs.nrows());
    for &c in order {
        out.extend((0..vecs.nrows()).map(|i| vecs[(i, c)].f64() as f32));
    }
    out
}

#[cfg(test)]
mod tests;
