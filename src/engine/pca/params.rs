//! What the user asks for ([`PcaParams`]) and its check against the data's shape,
//! which settles the method and the precision ([`PcaConfig`]).

use std::fmt;

use super::{PcaError, RowSource};

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
    /// Randomized: the most power iterations, each re-orthonormalised. With a
    /// `tolerance` the fit stops earlier, once the top k singular values have settled.
    pub power_iterations: usize,
    /// Randomized: stop the power iterations once no top-k singular value of the sketch
    /// moved by more than this fraction of itself in the last iteration (1e-5 by
    /// default). 0: always run `power_iterations`. A fixed count of 3 left the last of
    /// the top-64 singular values of a bar-like spectrum 1e-4 off; the sketch's values
    /// only rise towards the true ones, so a settled sketch is a converged one.
    pub tolerance: f64,
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
            power_iterations: 12,
            tolerance: 1e-5,
            krylov: true,
            seed: 0,
            drop_nonfinite: false,
            block_rows: None,
            memory_budget: 8 << 30,
        }
    }
}

/// Validated parameters, bound to a data shape: [`PcaConfig::fit`] can only be reached
/// through [`PcaParams::check`].
#[derive(Clone, Debug)]
pub struct PcaConfig {
    pub(super) params: PcaParams,
    pub(super) nrows: usize,
    pub(super) ncols: usize,
    pub(super) k: usize,
    pub(super) method: Method,
    pub(super) precision: Precision,
    pub(super) oversampling: usize,
    pub(super) why: String,
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
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(PcaError::InvalidParameter(format!(
                "tolerance must be a finite number of at least 0, got {}",
                self.tolerance
            )));
        }
        // With a tolerance, bar-like and image spectra settle in about 4 iterations:
        // cost the sketch at that, not at the cap.
        let q = if self.tolerance > 0.0 {
            self.power_iterations.min(4)
        } else {
            self.power_iterations
        } as f64;
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
}
