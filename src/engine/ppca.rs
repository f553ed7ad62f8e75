//! Probabilistic PCA (Tipping & Bishop 1999): a fitted PCA read as a Gaussian,
//! `x ~ N(mu, C)` with `C = V_k diag(l) V_k^T + s2 (I - V_k V_k^T)`. Log-likelihoods in
//! low-rank form, O(d k) per sample (the d x d covariance is never formed), split into
//! the in-subspace (Mahalanobis) and residual parts; sampling; and held-out likelihood
//! for choosing k.
//!
//! ```
//! use eigentechno::engine::pca::{MemoryRows, PcaParams};
//! use eigentechno::engine::ppca::Ppca;
//! use eigentechno::engine::Rng;
//!
//! let mut rng = Rng::new(3);
//! let x: Vec<f32> = (0..200 * 5).map(|i| (rng.normal() * (1.0 + (i % 5) as f64)) as f32).collect();
//! let rows = MemoryRows::f32(&x, 200, 5).unwrap();
//! let fit = PcaParams::default().check(&rows).unwrap().fit(&rows).unwrap();
//! let model = Ppca::new(&fit.model, 2).unwrap();
//! let typical = model.score(&[0.0; 5]);
//! let odd = model.score(&[0.0, 0.0, 0.0, 30.0, 0.0]);
//! assert!(odd.log_likelihood < typical.log_likelihood);
//! ```

use faer::{Accum, Mat, MatRef};
use rayon::prelude::*;

use super::Rng;
use super::pca::{
    ColumnStats, PcaConfig, PcaError, PcaModel, Precision, RowSource, Spectrum, for_each_centred,
};

/// A probabilistic PCA model with k components.
#[derive(Clone, Debug, PartialEq)]
pub struct Ppca {
    /// Mean (d).
    pub mean: Vec<f64>,
    /// Components, row-major `k x d`, orthonormal.
    pub components: Vec<f64>,
    /// Variances along the components (k).
    pub variances: Vec<f64>,
    /// Isotropic noise variance outside the subspace.
    pub noise_variance: f64,
    /// Features d.
    pub d: usize,
    /// Constant part of every log-likelihood.
    log_norm: f64,
}

/// Receives (first row, projections of a block of rows, their squared norms).
type ProjectedSink<'a> = dyn FnMut(usize, &[f64], &[f64]) -> Result<(), PcaError> + 'a;

/// Receives (first row, scores of a block of rows).
pub type ScoreSink<'a> = dyn FnMut(usize, &[Score]) -> Result<(), PcaError> + 'a;

/// One sample's log-likelihood and its two parts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    /// `log p(x)`.
    pub log_likelihood: f64,
    /// Squared Mahalanobis distance within the subspace, `sum_i z_i^2 / l_i`.
    pub mahalanobis: f64,
    /// Squared residual outside the subspace over the noise variance, `|r|^2 / s2`.
    pub residual: f64,
}

/// Rows projected onto the first components of a fit ([`Ppca::project`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Projections {
    /// Components projected onto.
    pub k: usize,
    /// Projections, row-major, `k` per row.
    pub z: Vec<f64>,
    /// Each row's squared distance from the mean (not finite for a row holding NaN or
    /// infinity).
    pub norm2: Vec<f64>,
}

/// The mean log-likelihood of the projected rows under the model of [`Ppca::new`] with
/// each k of `ks` components of `model` (None where that model does not exist: k too
/// large, or no variance left outside the subspace). Equal to
/// `Ppca::new(model, k)?.mean_log_likelihood(rows)` for every k, from one projection
/// onto the largest k (Tipping & Bishop: every k's maximum-likelihood model comes from
/// the same eigenpairs), so the cost over all k is one pass over the rows, then sums over the
/// projections (no further pass, no refit).
///
/// ```
/// use eigentechno::engine::pca::{MemoryRows, PcaParams};
/// use eigentechno::engine::ppca::{Ppca, mean_log_likelihoods};
/// use eigentechno::engine::Rng;
///
/// let mut rng = Rng::new(3);
/// let x: Vec<f32> = (0..200 * 6).map(|i| (rng.normal() * (1.0 + (i % 6) as f64)) as f32).collect();
/// let rows = MemoryRows::f32(&x, 200, 6).unwrap();
/// let fit = PcaParams::default().check(&rows).unwrap().fit(&rows).unwrap();
/// let z = Ppca::new(&fit.model, 4).unwrap().project(&rows).unwrap();
/// let all = mean_log_likelihoods(&fit.model, &[1, 2, 4], &z);
/// let one = Ppca::new(&fit.model, 2).unwrap().mean_log_likelihood(&rows).unwrap();
/// assert!((all[1].unwrap() - one).abs() < 1e-9 * one.abs());
/// ```
pub fn mean_log_likelihoods(
    model: &PcaModel,
    ks: &[usize],
    rows: &Projections,
) -> Vec<Option<f64>> {
    spectrum_mean_log_likelihoods(&model.spectrum(), ks, rows)
}

/// As [`mean_log_likelihoods`], from the fit's spectrum alone (the components are not
/// needed once the rows are projected).
pub fn spectrum_mean_log_likelihoods(
    spectrum: &Spectrum,
    ks: &[usize],
    rows: &Projections,
) -> Vec<Option<f64>> {
    let parts: Vec<Option<(Vec<f64>, f64, f64)>> = ks
        .iter()
        .map(|&k| {
            let s2 = Ppca::default_noise_variance(spectrum, k);
            (k <= rows.k)
                .then(|| Ppca::parts(spectrum, k, s2).ok())
                .flatten()
                .map(|(l, norm)| (l, norm, s2))
        })
        .collect();
    let kk = rows.k;
    // Per row: the log-likelihood under every k, accumulated in one sweep of its
    // projections (the same sums, in the same order, as Ppca::score_from).
    let (sums, counts) = rows
        .norm2
        .par_iter()
        .enumerate()
        .filter(|(_, n2)| n2.is_finite())
        .map(|(i, &n2)| {
            let z = &rows.z[i * kk..(i + 1) * kk];
            parts
                .iter()
                .map(|p| {
                    let Some((l, log_norm, s2)) = p else {
                        return (0.0, 0);
                    };
                    let (mut maha, mut inside) = (0.0, 0.0);
                    for (zi, li) in z.iter().zip(l) {
                        maha += zi * zi / li;
                        inside += zi * zi;
                    }
                    let ll = log_norm - 0.5 * (maha + (n2 - inside).max(0.0) / s2);
                    if ll.is_finite() {
                        (ll, 1usize)
                    } else {
                        (0.0, 0)
                    }
                })
                .unzip::<f64, usize, Vec<f64>, Vec<usize>>()
        })
        .reduce(
            || (vec![0.0; ks.len()], vec![0usize; ks.len()]),
            |(mut a, mut an), (b, bn)| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                an.iter_mut().zip(&bn).for_each(|(x, y)| *x += y);
                (a, an)
            },
        );
    parts
        .iter()
        .zip(sums.iter().zip(&counts))
        .map(|(p, (&s, &n))| p.as_ref().map(|_| s / n.max(1) as f64))
        .collect()
}

/// What select-k scores: a fit's spectrum and two sets of rows projected onto its top
/// components ([`held_out_projections`]).
#[derive(Clone, Debug)]
pub struct HeldOut {
    /// The fit's variances, total variance and features.
    pub spectrum: Spectrum,
    /// The held-out rows, projected.
    pub held: Projections,
    /// The fitted rows, projected.
    pub train: Projections,
}

/// The largest k, at most `kmax`, that has a model (some variance left outside its
/// subspace, see [`Ppca::new`]).
fn largest_model(spectrum: &Spectrum, kmax: usize) -> Option<usize> {
    (1..=kmax.min(spectrum.k()))
        .rev()
        .find(|&k| Ppca::parts(spectrum, k, Ppca::default_noise_variance(spectrum, k)).is_ok())
}

/// Fit `config` on `train` and project `held` and `train` onto the top components (the
/// largest number of them that has a model), for [`spectrum_mean_log_likelihoods`] of
/// every k. When the exact fit goes through the Gram matrix (fewer rows than features)
/// in float32, or keeps float64 components, the components are never formed ([`PcaConfig::project_in_gram_space`]): the rows'
/// coordinates come from the Gram matrix's eigenvectors and one product of the held-out
/// rows with the training rows. Otherwise the model is fitted and both sets are
/// projected onto its components ([`Ppca::project`]).
///
/// ```
/// use eigentechno::engine::pca::{MemoryRows, PcaParams};
/// use eigentechno::engine::ppca::{Ppca, held_out_projections, spectrum_mean_log_likelihoods};
/// use eigentechno::engine::Rng;
///
/// let mut rng = Rng::new(3);
/// let x: Vec<f32> = (0..40 * 60).map(|i| (rng.normal() * (1.0 + (i % 6) as f64)) as f32).collect();
/// let (train, held) = (MemoryRows::f32(&x[..30 * 60], 30, 60).unwrap(), MemoryRows::f32(&x[30 * 60..], 10, 60).unwrap());
/// let cfg = PcaParams { k: Some(20), ..Default::default() }.check(&train).unwrap();
/// let h = held_out_projections(&cfg, &train, &held).unwrap();
/// let all = spectrum_mean_log_likelihoods(&h.spectrum, &[3, 20], &h.held);
/// let fit = cfg.fit(&train).unwrap();
/// let one = Ppca::new(&fit.model, 3).unwrap().mean_log_likelihood(&held).unwrap();
/// assert!((all[0].unwrap() - one).abs() < 1e-9 * one.abs());
/// ```
pub fn held_out_projections(
    config: &PcaConfig,
    train: &dyn RowSource,
    held: &dyn RowSource,
) -> Result<HeldOut, PcaError> {
    // The Gram route gives the likelihoods under the fitted model to that model's own
    // precision: float64 components, or a float32 fit (whose error exceeds the components'
    // rounding to float32). A float64 fit of float32 data keeps float32 components, which
    // only projecting onto them reproduces to float64 precision (and it is a small fit).
    let gram = config.precision() == Precision::F32 || config.keeps_f64(train);
    if let Some(g) = gram
        .then(|| config.project_in_gram_space(train, held))
        .transpose()?
        .flatten()
    {
        let kfit = g.spectrum.k();
        let k = largest_model(&g.spectrum, kfit).ok_or(PcaError::ZeroVariance)?;
        let keep = |z: &[f64], norm2: Vec<f64>| Projections {
            k,
            z: z.chunks(kfit).flat_map(|r| &r[..k]).copied().collect(),
            norm2,
        };
        return Ok(HeldOut {
            held: keep(&g.other_scores, g.other_norm2),
            train: keep(&g.scores, g.norm2),
            spectrum: g.spectrum,
        });
    }
    let fit = config.fit(train)?;
    let spectrum = fit.model.spectrum();
    let k = largest_model(&spectrum, spectrum.k()).ok_or(PcaError::ZeroVariance)?;
    let top = Ppca::new(&fit.model, k)?;
    Ok(HeldOut {
        held: top.project(held)?,
        train: top.project(train)?,
        spectrum,
    })
}

impl Ppca {
    /// From a fitted PCA, keeping its first `k` components. The noise variance is
    /// `(total variance - sum of the k kept variances) / (d - k)`, so a randomized fit
    /// (which knows only its top components) works too.
    pub fn new(model: &PcaModel, k: usize) -> Result<Ppca, PcaError> {
        Ppca::with_noise_variance(model, k, Ppca::default_noise_variance(&model.spectrum(), k))
    }

    /// As [`Ppca::new`] with the noise variance given: scikit-learn's PCA takes the
    /// variance left over per remaining component of the data's rank,
    /// `(total - kept) / (min(n, d) - k)`, which differs from `d - k` when there are
    /// fewer rows than features.
    pub fn with_noise_variance(
        model: &PcaModel,
        k: usize,
        noise_variance: f64,
    ) -> Result<Ppca, PcaError> {
        let (variances, log_norm) = Ppca::parts(&model.spectrum(), k, noise_variance)?;
        Ok(Ppca {
            // Float64 when the model has them (a float64 fit): rounding the mean and the
            // components to float32 moves the log-likelihoods by ~1e-6 relative.
            mean: model.mean_f64(),
            components: model.components_f64(k),
            variances,
            noise_variance,
            d: model.n_features,
            log_norm,
        })
    }

    /// The variances kept and the constant part of every log-likelihood of the model with
    /// `k` components and noise variance `noise_variance` (an error when it has none).
    fn parts(model: &Spectrum, k: usize, noise_variance: f64) -> Result<(Vec<f64>, f64), PcaError> {
        let d = model.n_features;
        if k == 0 || k >= d || k > model.k() {
            return Err(PcaError::Parameter {
                name: "k",
                expected: format!(
                    "1 to {} (fewer than the {d} features, at most the {} components fitted)",
                    (d - 1).min(model.k()),
                    model.k()
                ),
                actual: k.to_string(),
            });
        }
        let variances: Vec<f64> = model.explained_variance[..k].to_vec();
        let floor = 1e-12 * model.total_variance / d as f64;
        if noise_variance.is_nan() || noise_variance <= floor || variances.iter().any(|&l| l <= 0.0)
        {
            return Err(PcaError::Parameter {
                name: "k",
                expected: "components that leave some variance outside the subspace".into(),
                actual: format!(
                    "k = {k} leaves a noise variance of {noise_variance:e}: the data has rank <= {k}, or no variance"
                ),
            });
        }
        let log_norm = -0.5
            * (variances.iter().map(|l| l.ln()).sum::<f64>()
                + (d - k) as f64 * noise_variance.ln()
                + d as f64 * (2.0 * std::f64::consts::PI).ln());
        Ok((variances, log_norm))
    }

    /// The noise variance of [`Ppca::new`]: the variance outside the first `k`
    /// components, per remaining feature.
    fn default_noise_variance(model: &Spectrum, k: usize) -> f64 {
        let d = model.n_features;
        let kept: f64 = model.explained_variance[..k.min(model.k())].iter().sum();
        (model.total_variance - kept) / d.saturating_sub(k).max(1) as f64
    }

    /// Components kept.
    pub fn k(&self) -> usize {
        self.variances.len()
    }

    fn score_from(&self, z: impl Iterator<Item = f64>, norm2: f64) -> Score {
        let (mut maha, mut inside) = (0.0, 0.0);
        for (zi, l) in z.zip(&self.variances) {
            maha += zi * zi / l;
            inside += zi * zi;
        }
        let residual = (norm2 - inside).max(0.0) / self.noise_variance;
        Score {
            log_likelihood: self.log_norm - 0.5 * (maha + residual),
            mahalanobis: maha,
            residual,
        }
    }

    /// Score one sample (d values).
    pub fn score(&self, x: &[f32]) -> Score {
        let c: Vec<f64> = x
            .iter()
            .zip(&self.mean)
            .map(|(&v, m)| v as f64 - m)
            .collect();
        let norm2 = c.iter().map(|v| v * v).sum();
        let z = (0..self.k()).map(|i| {
            self.components[i * self.d..(i + 1) * self.d]
                .iter()
                .zip(&c)
                .map(|(a, b)| a * b)
                .sum::<f64>()
        });
        self.score_from(z, norm2)
    }

    /// Score every row of `source`, block by block (the matrix is streamed, never
    /// held): `f(first_row, scores)`.
    pub fn score_rows(
        &self,
        source: &dyn RowSource,
        f: &mut ScoreSink<'_>,
    ) -> Result<(), PcaError> {
        let k = self.k();
        self.for_each_projected(source, &mut |start, z, norm2| {
            let scores: Vec<Score> = norm2
                .par_iter()
                .enumerate()
                .map(|(i, &n2)| {
                    if !n2.is_finite() {
                        // A row holding NaN or infinity has no likelihood.
                        return Score {
                            log_likelihood: f64::NAN,
                            mahalanobis: f64::NAN,
                            residual: f64::NAN,
                        };
                    }
                    self.score_from(z[i * k..(i + 1) * k].iter().copied(), n2)
                })
                .collect();
            f(start, &scores)
        })
    }

    /// Stream the rows of `source` block by block: `f(first_row, z, norm2)` with `z` the
    /// block's projections onto the components (row-major, k per row) and `norm2` each
    /// row's squared distance from the mean.
    fn for_each_projected(
        &self,
        source: &dyn RowSource,
        f: &mut ProjectedSink<'_>,
    ) -> Result<(), PcaError> {
        if source.ncols() != self.d {
            return Err(PcaError::Shape {
                expected: format!("{} columns (the model's)", self.d),
                actual: format!("{} columns", source.ncols()),
            });
        }
        let (d, k) = (self.d, self.k());
        let v = MatRef::from_row_major_slice(&self.components, k, d);
        let block = ((32 << 20) / (d * 8)).max(1);
        let stats = ColumnStats {
            mean: self.mean.clone(),
            total_variance: 0.0,
            dropped_rows: Vec::new(),
            rows: source.nrows(),
        };
        for_each_centred::<f64>(source, &stats, block, &mut |start, x| {
            let r = x.nrows();
            let mut zm = Mat::<f64>::zeros(r, k);
            faer::linalg::matmul::matmul(
                zm.as_mut(),
                Accum::Replace,
                x,
                v.transpose(),
                1.0,
                faer::get_global_parallelism(),
            );
            let norm2: Vec<f64> = (0..r)
                .into_par_iter()
                .map(|i| (0..d).map(|j| x[(i, j)] * x[(i, j)]).sum())
                .collect();
            let z: Vec<f64> = (0..r)
                .flat_map(|i| (0..k).map(move |j| (i, j)))
                .map(|(i, j)| zm[(i, j)])
                .collect();
            f(start, &z, &norm2)
        })
    }

    /// The rows of `source` projected onto this model's components, with their squared
    /// distances from the mean: one pass over the rows, from which the log-likelihood under
    /// every smaller model (the first k components of the same fit) follows by prefix
    /// sums, with no further pass (see [`mean_log_likelihoods`]).
    pub fn project(&self, source: &dyn RowSource) -> Result<Projections, PcaError> {
        let k = self.k();
        let mut out = Projections {
            k,
            z: Vec::with_capacity(source.nrows() * k),
            norm2: Vec::with_capacity(source.nrows()),
        };
        self.for_each_projected(source, &mut |_, z, norm2| {
            out.z.extend_from_slice(z);
            out.norm2.extend_from_slice(norm2);
            Ok(())
        })?;
        Ok(out)
    }

    /// Average log-likelihood of the rows of `source` (non-finite rows skipped).
    pub fn mean_log_likelihood(&self, source: &dyn RowSource) -> Result<f64, PcaError> {
        let (mut sum, mut n) = (0.0, 0usize);
        self.score_rows(source, &mut |_, s| {
            for v in s.iter().filter(|v| v.log_likelihood.is_finite()) {
                sum += v.log_likelihood;
                n += 1;
            }
            Ok(())
        })?;
        Ok(sum / n.max(1) as f64)
    }

    /// Draw `count` samples `x = mu + V_k diag(sqrt(l)) z`, plus isotropic noise of
    /// variance `s2` outside the subspace when `noise` is set. Seedable: sample `i` of a
    /// seed is the same whatever `count`.
    pub fn sample(&self, count: usize, noise: bool, seed: u64) -> Vec<Vec<f32>> {
        let (d, k) = (self.d, self.k());
        (0..count)
            .into_par_iter()
            .map(|i| {
                let mut rng = Rng::for_item(seed, i as u64);
                let mut x = self.mean.clone();
                for j in 0..k {
                    let a = rng.normal() * self.variances[j].sqrt();
                    for (o, c) in x.iter_mut().zip(&self.components[j * d..(j + 1) * d]) {
                        *o += a * c;
                    }
                }
                if noise {
                    // e ~ N(0, s2 I), then its part inside the subspace removed.
                    let s = self.noise_variance.sqrt();
                    let mut e: Vec<f64> = (0..d).map(|_| rng.normal() * s).collect();
                    for j in 0..k {
                        let c = &self.components[j * d..(j + 1) * d];
                        let p: f64 = c.iter().zip(&e).map(|(a, b)| a * b).sum();
                        for (v, cj) in e.iter_mut().zip(c) {
                            *v -= p * cj;
                        }
                    }
                    for (o, v) in x.iter_mut().zip(&e) {
                        *o += v;
                    }
                }
                x.into_iter().map(|v| v as f32).collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::pca::{MemoryRows, PcaParams};

    /// Dense reference: log N(x; mu, C) with C formed explicitly (small d).
    fn dense_log_likelihood(p: &Ppca, x: &[f32]) -> f64 {
        let d = p.d;
        // C^-1 = V diag(1/l) V^T + (I - V V^T) / s2; log det C = sum log l + (d - k) log s2.
        let mut cinv = vec![0f64; d * d];
        for a in 0..d {
            cinv[a * d + a] = 1.0 / p.noise_variance;
        }
        for j in 0..p.k() {
            let v = &p.components[j * d..(j + 1) * d];
            let w = 1.0 / p.variances[j] - 1.0 / p.noise_variance;
            for a in 0..d {
                for b in 0..d {
                    cinv[a * d + b] += w * v[a] * v[b];
                }
            }
        }
        let c: Vec<f64> = x.iter().zip(&p.mean).map(|(&v, m)| v as f64 - m).collect();
        let mut q = 0.0;
        for a in 0..d {
            for b in 0..d {
                q += c[a] * cinv[a * d + b] * c[b];
            }
        }
        let logdet: f64 = p.variances.iter().map(|l| l.ln()).sum::<f64>()
            + (d - p.k()) as f64 * p.noise_variance.ln();
        -0.5 * (q + logdet + d as f64 * (2.0 * std::f64::consts::PI).ln())
    }

    #[test]
    fn low_rank_score_equals_the_dense_gaussian() {
        let (n, d) = (80, 12);
        let mut rng = Rng::new(11);
        let x: Vec<f32> = (0..n * d)
            .map(|i| (rng.normal() * (1.0 + (i % d) as f64 * 0.3)) as f32)
            .collect();
        let rows = MemoryRows::f32(&x, n, d).unwrap();
        let fit = PcaParams::default()
            .check(&rows)
            .unwrap()
            .fit(&rows)
            .unwrap();
        for k in [1, 4, 11] {
            let p = Ppca::new(&fit.model, k).unwrap();
            let mut streamed = Vec::new();
            p.score_rows(&rows, &mut |_, s| {
                streamed.extend_from_slice(s);
                Ok(())
            })
            .unwrap();
            for i in [0, 17, 79] {
                let row = &x[i * d..(i + 1) * d];
                let want = dense_log_likelihood(&p, row);
                let got = p.score(row);
                assert!(
                    (got.log_likelihood - want).abs() < 1e-9 * want.abs(),
                    "k {k} row {i}"
                );
                assert!((streamed[i].log_likelihood - want).abs() < 1e-9 * want.abs());
            }
        }
        assert!(Ppca::new(&fit.model, 12).is_err(), "k = d");
        assert!(Ppca::new(&fit.model, 0).is_err());
    }
}
