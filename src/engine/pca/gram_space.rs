//! Coordinates on a fit's top components without forming the components. With rows n <=
//! columns d, the exact fit is the eigendecomposition `X X^T = U S^2 U^T` of the centred
//! rows' Gram matrix and the components are `V_k = X^T U_k S_k^-1` (k x d, the costly
//! part of the fit). The fitted rows' coordinates are `X V_k = U_k S_k`; any other rows
//! `Y` (centred by the same mean) have `Y V_k = (Y X^T) U_k S_k^-1`, one product with the
//! fitted rows instead of one with k components.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, get_global_parallelism};
use rayon::prelude::*;

use super::centring::load_centred;
use super::{ColumnStats, PcaConfig, PcaError, Precision, RowSource, Scalar, Spectrum};
use super::{exact, for_each_centred};

/// The rows a PCA was fitted on and other rows, on its top k components, with the fit's
/// spectrum ([`PcaConfig::project_in_gram_space`]).
#[derive(Clone, Debug)]
pub struct GramProjections {
    /// The fit's variances (k), total variance and features: those of
    /// [`PcaConfig::fit`] on the same rows.
    pub spectrum: Spectrum,
    /// The fitted rows' coordinates, row-major n x k.
    pub scores: Vec<f64>,
    /// The fitted rows' squared distances from the mean.
    pub norm2: Vec<f64>,
    /// The other rows' coordinates, row-major, k per row.
    pub other_scores: Vec<f64>,
    /// The other rows' squared distances from the mean (not finite for a row holding NaN
    /// or infinity).
    pub other_norm2: Vec<f64>,
}

impl PcaConfig {
    /// Fit as [`PcaConfig::fit`] does, but instead of the components return the
    /// coordinates of the fitted rows and of the rows of `other` on them (and every row's
    /// squared distance from the fit's mean), from the Gram matrix. `None` when the fit
    /// would not go through the Gram matrix ([`PcaConfig::uses_gram`]).
    ///
    /// The spectrum is the fit's (the same decomposition, in the same precision). The
    /// coordinates equal those of the fitted model's components up to rounding: the
    /// fitted rows' are `U_k S_k`, the other rows' `(Y X^T) U_k S_k^-1`. Cost `(n + m) n d` for m other rows, against `k n d` more
    /// for the components and `(n + m) k d` to project onto them.
    ///
    /// ```
    /// use eigentechno::engine::pca::{MemoryRows, PcaParams, project_rows};
    /// use eigentechno::engine::Rng;
    ///
    /// let mut rng = Rng::new(1);
    /// let x: Vec<f32> = (0..30 * 50).map(|i| (rng.normal() * (1.0 + (i % 7) as f64)) as f32).collect();
    /// let (fit_rows, other) = (MemoryRows::f32(&x[..20 * 50], 20, 50).unwrap(), MemoryRows::f32(&x[20 * 50..], 10, 50).unwrap());
    /// let cfg = PcaParams { k: Some(5), ..Default::default() }.check(&fit_rows).unwrap();
    /// let g = cfg.project_in_gram_space(&fit_rows, &other).unwrap().unwrap();
    /// let fit = cfg.fit(&fit_rows).unwrap();
    /// let mut z = Vec::new();
    /// project_rows(&other, &fit.model, 5, &[], &mut |_, s| { z.extend_from_slice(s); Ok(()) }).unwrap();
    /// for (a, b) in g.other_scores.iter().zip(&z) {
    ///     assert!((a.abs() - b.abs() as f64).abs() < 1e-4, "{a} {b}"); // up to sign
    /// }
    /// ```
    pub fn project_in_gram_space(
        &self,
        source: &dyn RowSource,
        other: &dyn RowSource,
    ) -> Result<Option<GramProjections>, PcaError> {
        if !self.uses_gram() {
            return Ok(None);
        }
        if (source.nrows(), source.ncols()) != (self.nrows, self.ncols) {
            return Err(PcaError::Shape {
                expected: format!("{} x {} (as checked)", self.nrows, self.ncols),
                actual: format!("{} x {}", source.nrows(), source.ncols()),
            });
        }
        if other.ncols() != self.ncols {
            return Err(PcaError::Shape {
                expected: format!("{} columns (the fitted rows')", self.ncols),
                actual: format!("{} columns", other.ncols()),
            });
        }
        match self.precision {
            Precision::F32 => self.gram_projections::<f32>(source, other),
            _ => self.gram_projections::<f64>(source, other),
        }
        .map(Some)
    }

    fn gram_projections<T: Scalar>(
        &self,
        source: &dyn RowSource,
        other: &dyn RowSource,
    ) -> Result<GramProjections, PcaError> {
        let (d, k) = (self.ncols, self.k);
        let (x, stats) = load_centred::<T>(source, self.block_rows(), self.params.drop_nonfinite)?;
        self.check_stats(&stats)?;
        let n = stats.rows;
        let xm = MatRef::from_row_major_slice(&x, n, d);
        let g = exact::gram_matrix(xm);
        let (sigma, uk) = exact::gram_top(g.as_ref(), k)?;
        let denom = (n - 1) as f64;
        let spectrum = Spectrum {
            explained_variance: sigma.iter().map(|s| s * s / denom).collect(),
            total_variance: stats.total_variance,
            n_features: d,
        };
        let norm2: Vec<f64> = x
            .par_chunks(d)
            .map(|r| r.iter().map(|v| v.f64() * v.f64()).sum())
            .collect();
        // The fitted rows' coordinates X V_k = U_k S_k, read off the decomposition (in
        // float32 fits within about 1e-5 of float64, as the fit's own spectrum is: the
        // product G U_k S_k^-1 would cost a tenth of select-k for no better truth).
        let scores: Vec<f64> = (0..n)
            .flat_map(|i| (0..k).map(move |j| (i, j)))
            .map(|(i, j)| uk[(i, j)].f64() * sigma[j])
            .collect();
        // W = U_k S_k^-1 (no direction where a singular value is zero).
        let w = Mat::<f64>::from_fn(n, k, |i, j| {
            if sigma[j] > 0.0 {
                uk[(i, j)].f64() / sigma[j]
            } else {
                0.0
            }
        });
        drop(uk);
        drop(g);
        // The other rows, centred by the mean the fitted rows were centred by (rounded to
        // the fit's precision), block by block: (Y X^T) in the fit's precision, then
        // (Y X^T) W in float64.
        let block = ((32 << 20) / (d * std::mem::size_of::<T>())).max(1);
        let mut other_scores = Vec::with_capacity(other.nrows() * k);
        let mut other_norm2 = Vec::with_capacity(other.nrows());
        let other_stats = ColumnStats {
            dropped_rows: Vec::new(),
            rows: other.nrows(),
            ..stats
        };
        for_each_centred::<T>(other, &other_stats, block, &mut |_, y| {
            let r = y.nrows();
            let mut yx = Mat::<T>::zeros(r, n);
            matmul(
                yx.as_mut(),
                Accum::Replace,
                y,
                xm.transpose(),
                T::of(1.0),
                get_global_parallelism(),
            );
            let yx = Mat::<f64>::from_fn(r, n, |i, j| yx[(i, j)].f64());
            let mut z = Mat::<f64>::zeros(r, k);
            matmul(
                z.as_mut(),
                Accum::Replace,
                yx.as_ref(),
                w.as_ref(),
                1.0,
                get_global_parallelism(),
            );
            other_norm2.par_extend((0..r).into_par_iter().map(|i| {
                (0..d)
                    .map(|j| y[(i, j)].f64() * y[(i, j)].f64())
                    .sum::<f64>()
            }));
            other_scores.extend(
                (0..r)
                    .flat_map(|i| (0..k).map(move |j| (i, j)))
                    .map(|(i, j)| z[(i, j)]),
            );
            Ok(())
        })?;
        Ok(GramProjections {
            spectrum,
            scores,
            norm2,
            other_scores,
            other_norm2,
        })
    }
}
