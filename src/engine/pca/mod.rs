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

mod centring;
mod exact;
mod gram_space;
mod model;
mod operator;
mod params;
mod randomized;
mod remote;
mod shard;
mod source;

use faer::MatRef;

pub use centring::{ColumnStats, column_stats};
pub(crate) use centring::{Data, for_each_centred};
pub use gram_space::GramProjections;
pub use model::{F64Parts, PcaFit, PcaModel, ScoreVisitor, Spectrum, project_rows};
pub use operator::{CentredProducts, fit_covariance, fit_randomized_operator};
pub use params::{Method, PcaConfig, PcaParams, Precision};
pub use remote::{RemoteRows, TallId, fit_randomized_remote};
pub use shard::{add_shard_covariance_tile, shard_column_stats, shard_t_times, shard_times};
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
    /// A parameter out of its range.
    #[error("{0}")]
    InvalidParameter(String),
    /// Interrupted between blocks ([`crate::interrupt`]).
    #[error("interrupted")]
    Interrupted,
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

/// What an algorithm hands back before the sign rule and the variances.
pub(crate) struct RawFit {
    singular_values: Vec<f64>,
    /// Power iterations run (randomized; 0 for exact).
    power_iterations: usize,
    /// Row-major `k x d`, in float64 whatever the arithmetic (a float32 model rounds them).
    components: Vec<f64>,
    scores: Option<Vec<f32>>,
}

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

/// Copy the top `k` columns of `vecs` (taken in the order of `order`) as rows, f64.
pub(crate) fn columns_as_rows<T: Scalar>(vecs: MatRef<'_, T>, order: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(order.len() * vecs.nrows());
    for &c in order {
        out.extend((0..vecs.nrows()).map(|i| vecs[(i, c)].f64()));
    }
    out
}

#[cfg(test)]
mod tests;
