//! PCA of a matrix known only through products with it: the distributed front holds
//! the rows in shards on other machines and computes `X W` and `X^T Q` (centred) by
//! summing per-shard products. The randomized method runs unchanged on such an
//! operator (the same sketch, iterations and extraction as on a matrix in memory);
//! the exact method takes the covariance summed over shards.

use faer::{Mat, MatRef};

use super::{
    ColumnStats, Data, Method, PcaConfig, PcaError, PcaFit, PcaParams, Precision, RawFit,
    RowSource, Rows, exact, randomized,
};

/// The centred `n x d` data, through its products.
pub trait CentredProducts: Sync {
    /// `(n, d)`.
    fn shape(&self) -> (usize, usize);
    /// `(X - 1 mean^T) W` for `W` of shape `d x l`: `n x l`.
    fn times(&self, w: MatRef<'_, f64>) -> Result<Mat<f64>, PcaError>;
    /// `(X - 1 mean^T)^T Q` for `Q` of shape `n x l`: `d x l`.
    fn t_times(&self, q: MatRef<'_, f64>) -> Result<Mat<f64>, PcaError>;
}

/// A shape for [`PcaParams::check`], which looks at nothing else.
struct Shape(usize, usize);

impl RowSource for Shape {
    fn nrows(&self) -> usize {
        self.0
    }
    fn ncols(&self) -> usize {
        self.1
    }
    fn is_f64(&self) -> bool {
        true
    }
    fn visit(
        &self,
        _: usize,
        _: &mut dyn FnMut(usize, Rows<'_>) -> Result<(), PcaError>,
    ) -> Result<(), PcaError> {
        Err(PcaError::Source("a shape holds no rows".into()))
    }
}

fn config(
    params: &PcaParams,
    method: Method,
    stats: &ColumnStats,
    d: usize,
) -> Result<PcaConfig, PcaError> {
    if stats.mean.len() != d {
        return Err(PcaError::Shape {
            expected: format!("a mean of {d} values"),
            actual: format!("{} values", stats.mean.len()),
        });
    }
    if stats.total_variance <= 0.0 || !stats.total_variance.is_finite() {
        return Err(PcaError::ZeroVariance);
    }
    PcaParams {
        method,
        precision: Precision::F64,
        ..params.clone()
    }
    .check(&Shape(stats.rows, d))
}

/// The randomized method's configuration for rows of `shape` known only through
/// products, checked against their statistics.
pub(super) fn randomized_config(
    (n, d): (usize, usize),
    params: &PcaParams,
    stats: &ColumnStats,
) -> Result<PcaConfig, PcaError> {
    if n != stats.rows {
        return Err(PcaError::Shape {
            expected: format!("{} rows (the statistics')", stats.rows),
            actual: format!("{n} rows"),
        });
    }
    config(params, Method::Randomized, stats, d)
}

/// The randomized method on `op`, whose column means and total variance are `stats`:
/// what [`PcaParams::check`] then [`PcaConfig::fit`] give on the same rows in memory
/// with `method = randomized` and float64 precision. No scores (the rows are
/// elsewhere: project them with the model).
pub fn fit_randomized_operator(
    op: &dyn CentredProducts,
    stats: ColumnStats,
    params: &PcaParams,
) -> Result<PcaFit, PcaError> {
    let cfg = randomized_config(op.shape(), params, &stats)?;
    let mut raw = randomized::fit(&Data::<f64>::Operator(op), &cfg)?;
    raw.scores = None;
    Ok(cfg.finish(raw, stats, true))
}

/// The exact method from the centred covariance sum `X^T X` (row-major `d x d`; only
/// the lower triangle is read), as the covariance path of [`PcaConfig::fit`] computes
/// it. `params.k` components (all when `None`).
pub fn fit_covariance(
    cov: &[f64],
    stats: ColumnStats,
    params: &PcaParams,
) -> Result<PcaFit, PcaError> {
    let d = stats.mean.len();
    if cov.len() != d * d {
        return Err(PcaError::Shape {
            expected: format!("{d} x {d} covariance"),
            actual: format!("{} values", cov.len()),
        });
    }
    let cfg = config(params, Method::Exact, &stats, d)?;
    let c = MatRef::from_row_major_slice(cov, d, d);
    let raw: RawFit = exact::from_covariance(c, cfg.k)?;
    Ok(cfg.finish(raw, stats, true))
}

#[cfg(test)]
mod tests {
    use faer::Accum;
    use faer::linalg::matmul::matmul;

    use super::*;
    use crate::engine::Rng;
    use crate::engine::pca::{MemoryRows, column_stats};

    /// The centred rows in memory, seen only through products.
    struct InMemory(Mat<f64>);

    impl CentredProducts for InMemory {
        fn shape(&self) -> (usize, usize) {
            (self.0.nrows(), self.0.ncols())
        }
        fn times(&self, w: MatRef<'_, f64>) -> Result<Mat<f64>, PcaError> {
            let mut out = Mat::zeros(self.0.nrows(), w.ncols());
            matmul(
                out.as_mut(),
                Accum::Replace,
                self.0.as_ref(),
                w,
                1.0,
                faer::Par::Seq,
            );
            Ok(out)
        }
        fn t_times(&self, q: MatRef<'_, f64>) -> Result<Mat<f64>, PcaError> {
            let mut out = Mat::zeros(self.0.ncols(), q.ncols());
            matmul(
                out.as_mut(),
                Accum::Replace,
                self.0.transpose(),
                q,
                1.0,
                faer::Par::Seq,
            );
            Ok(out)
        }
    }

    #[test]
    fn an_operator_gives_the_fit_of_the_rows_in_memory() {
        let (n, d) = (120, 40);
        let mut rng = Rng::new(9);
        let x: Vec<f64> = (0..n * d)
            .map(|i| rng.normal() * (1.0 + (i % d) as f64 / 4.0) + 3.0)
            .collect();
        let rows = MemoryRows::f64(&x, n, d).unwrap();
        let stats = column_stats(&rows, n, false).unwrap();
        let centred = Mat::from_fn(n, d, |i, j| x[i * d + j] - stats.mean[j]);
        let params = PcaParams {
            k: Some(6),
            method: Method::Randomized,
            precision: Precision::F64,
            ..Default::default()
        };
        let want = params.check(&rows).unwrap().fit(&rows).unwrap();
        let got =
            fit_randomized_operator(&InMemory(centred.clone()), stats.clone(), &params).unwrap();
        for (a, b) in got
            .model
            .singular_values
            .iter()
            .zip(&want.model.singular_values)
        {
            assert!((a - b).abs() <= 1e-10 * b, "{a} {b}");
        }
        let (gc, wc) = (
            &got.model.f64_parts.as_ref().unwrap().components,
            &want.model.f64_parts.as_ref().unwrap().components,
        );
        assert!(gc.iter().zip(wc).all(|(a, b)| (a - b).abs() < 1e-9));

        // Exact, from the covariance sum.
        let mut cov = Mat::<f64>::zeros(d, d);
        matmul(
            cov.as_mut(),
            Accum::Replace,
            centred.transpose(),
            centred.as_ref(),
            1.0,
            faer::Par::Seq,
        );
        let cov: Vec<f64> = (0..d * d).map(|i| cov[(i / d, i % d)]).collect();
        let exact = PcaParams {
            method: Method::Exact,
            ..params.clone()
        };
        let want = exact.check(&rows).unwrap().fit(&rows).unwrap();
        let got = fit_covariance(&cov, stats, &exact).unwrap();
        for (a, b) in got
            .model
            .singular_values
            .iter()
            .zip(&want.model.singular_values)
        {
            assert!((a - b).abs() <= 1e-9 * b, "{a} {b}");
        }
    }
}
