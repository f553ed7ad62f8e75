//! Randomized PCA (Halko, Martinsson & Tropp 2011, algorithms 4.4 and 5.1): sketch the
//! range of the centred data with a Gaussian test matrix of k + p columns, sharpen it
//! with q power iterations (each re-orthonormalised by a thin QR, so small singular
//! values are not lost to rounding), then take the exact SVD of the small projection.
//! q is adaptive: the iterations stop once the sketch's top k singular values settle.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, get_global_parallelism};

use super::{Data, PcaConfig, PcaError, RawFit, Scalar};
use crate::engine::Rng;

pub(super) fn orthonormal<T: Scalar>(m: Mat<T>) -> Mat<T> {
    m.qr().compute_thin_Q()
}

pub(super) fn fit<T: Scalar>(data: &Data<'_, T>, cfg: &PcaConfig) -> Result<RawFit, PcaError> {
    let (n, d) = data.shape();
    let k = cfg.k;
    let l = (k + cfg.oversampling).min(n.min(d));
    let par = get_global_parallelism();
    let mut rng = Rng::new(cfg.params.seed);
    let omega = Mat::<T>::from_fn(d, l, |_, _| T::of(rng.normal()));
    let mut q = orthonormal(data.times(omega.as_ref())?);
    drop(omega);
    // Q (n x m, orthonormal columns) and B^T = X^T Q (d x m).
    let mut iterations = 0;
    let (q, bt) = if cfg.params.krylov {
        // Block Krylov (Rokhlin, Szlam & Tygert 2009; Musco & Musco 2015): keep every
        // power-iteration block, each orthogonalised against the ones before, and
        // extract from their span. For the flat spectra of audio it converges far
        // faster than keeping the last block only, for the same passes over the data;
        // and X^T Q comes out of the iteration itself, block by block.
        let mut blocks = vec![q];
        let mut z_blocks: Vec<Mat<T>> = Vec::new();
        let mut settle = Settling::new(cfg, d);
        loop {
            let z = data.t_times(blocks.last().expect("one block").as_ref())?;
            let grown = blocks.len() * l;
            // z completes X^T Q for the basis so far: stop here, with nothing more to
            // compute, once its top k singular values have settled.
            let settled = settle.add_block(&z, k);
            z_blocks.push(z);
            if settled || blocks.len() > cfg.params.power_iterations || grown + l > n.min(d) {
                break;
            }
            let mut y = data.times(z_blocks.last().expect("just pushed").as_ref())?;
            // Block Gram-Schmidt against the basis (twice), a QR, and the same again:
            // when the data's rank is near the basis size, the projected block is mostly
            // rounding noise, and only a second pass after normalising makes it
            // orthogonal to the basis.
            for _ in 0..2 {
                project_out(&blocks, &mut y, par);
                project_out(&blocks, &mut y, par);
                y = orthonormal(y);
            }
            blocks.push(y);
        }
        iterations = blocks.len() - 1;
        (concat_cols(&blocks), concat_cols(&z_blocks))
    } else {
        let mut settle = Settling::new(cfg, d);
        loop {
            let z = data.t_times(q.as_ref())?;
            settle.restart();
            if settle.add_block(&z, k) || iterations == cfg.params.power_iterations {
                break (q, z);
            }
            let z = orthonormal(z);
            q = orthonormal(data.times(z.as_ref())?);
            iterations += 1;
        }
    };
    let gram = basis_gram(&q, par);
    let Ritz {
        sigma,
        components,
        y,
        ub,
    } = rayleigh_ritz(gram, bt, k, par)?;
    // Left vectors (Q Y) Ub = Q (Y Ub).
    let mut lub = Mat::<f64>::zeros(y.nrows(), k);
    matmul(
        lub.as_mut(),
        Accum::Replace,
        y.as_ref(),
        ub.as_ref(),
        1.0,
        par,
    );
    let ub_t = Mat::<T>::from_fn(y.nrows(), k, |i, j| T::of(lub[(i, j)]));
    let mut left = Mat::<T>::zeros(n, k);
    matmul(
        left.as_mut(),
        Accum::Replace,
        q.as_ref(),
        ub_t.as_ref(),
        T::of(1.0),
        par,
    );
    let mut scores = Vec::with_capacity(n * k);
    for i in 0..n {
        scores.extend((0..k).map(|j| (left[(i, j)].f64() * sigma[j]) as f32));
    }
    Ok(RawFit {
        power_iterations: iterations,
        singular_values: sigma,
        components,
        scores: Some(scores),
    })
}

/// `Q^T Q` of the basis, in float64, a few thousand rows at a time.
fn basis_gram<T: Scalar>(q: &Mat<T>, par: faer::Par) -> Mat<f64> {
    let (n, m) = (q.nrows(), q.ncols());
    let mut gram = Mat::<f64>::zeros(m, m);
    for start in (0..n).step_by(4096) {
        let rows = (n - start).min(4096);
        let qb = Mat::<f64>::from_fn(rows, m, |i, j| q[(start + i, j)].f64());
        matmul(
            gram.as_mut(),
            Accum::Add,
            qb.transpose(),
            qb.as_ref(),
            1.0,
            par,
        );
    }
    gram
}

/// What Rayleigh-Ritz on a sketch basis gives: the top k singular values, the
/// components (row-major `k x d`), and the small matrices whose product turns the basis
/// into the left singular vectors (`Q Y Ub`).
pub(super) struct Ritz {
    pub(super) sigma: Vec<f64>,
    pub(super) components: Vec<f64>,
    pub(super) y: Mat<f64>,
    pub(super) ub: Mat<f64>,
}

/// From the basis' Gram matrix `Q^T Q` (m x m) and `B^T = X^T Q` (d x m): B = Q^T X =
/// Ub S W^T, from the eigendecomposition of the small m x m matrix B B^T in float64 (so
/// float32 data loses nothing here); then X ~ Q B = (Q Ub) S W^T.
pub(super) fn rayleigh_ritz<T: Scalar>(
    gram: Mat<f64>,
    bt: Mat<T>,
    k: usize,
    par: faer::Par,
) -> Result<Ritz, PcaError> {
    let (d, m) = (bt.nrows(), bt.ncols());
    // In float32, block Gram-Schmidt leaves Q orthonormal only approximately (and
    // nearly dependent where the basis outgrows the data's rank), and Rayleigh-Ritz on
    // such a basis overestimates singular values, enough to make the kept variance
    // exceed the total. Correct in float64: with Q^T Q = V diag(e) V^T, the columns of
    // Q Y, Y = V_+ diag(e_+)^-1/2 (dependent directions dropped), are orthonormal and
    // X^T (Q Y) = (X^T Q) Y.
    let geig = gram
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|_| PcaError::NoConvergence("eigensolver on the sketch basis"))?;
    let e = geig.S().column_vector();
    let emax = (0..m).map(|i| e[i]).fold(0.0, f64::max);
    let kept: Vec<usize> = (0..m).filter(|&i| e[i] > 1e-6 * emax).collect();
    let y = Mat::<f64>::from_fn(m, kept.len(), |i, j| {
        geig.U()[(i, kept[j])] / e[kept[j]].sqrt()
    });
    let m = kept.len();
    if m < k {
        return Err(PcaError::NoConvergence(
            "randomized sketch (it spans fewer than k directions)",
        ));
    }
    let bt_raw = Mat::<f64>::from_fn(d, bt.ncols(), |i, j| bt[(i, j)].f64());
    drop(bt);
    let mut bt64 = Mat::<f64>::zeros(d, m);
    matmul(
        bt64.as_mut(),
        Accum::Replace,
        bt_raw.as_ref(),
        y.as_ref(),
        1.0,
        par,
    );
    drop(bt_raw);
    let mut bbt = Mat::<f64>::zeros(m, m);
    matmul(
        bbt.as_mut(),
        Accum::Replace,
        bt64.transpose(),
        bt64.as_ref(),
        1.0,
        par,
    );
    let eig = bbt
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|_| PcaError::NoConvergence("eigensolver on the sketch"))?;
    let lam = eig.S().column_vector();
    let order: Vec<usize> = (0..m).rev().take(k).collect();
    let sigma: Vec<f64> = order.iter().map(|&i| lam[i].max(0.0).sqrt()).collect();
    let ub = Mat::<f64>::from_fn(m, k, |i, j| eig.U()[(i, order[j])]);
    let mut w = Mat::<f64>::zeros(d, k);
    matmul(
        w.as_mut(),
        Accum::Replace,
        bt64.as_ref(),
        ub.as_ref(),
        1.0,
        par,
    );
    let mut components = Vec::with_capacity(k * d);
    for (i, &s) in sigma.iter().enumerate() {
        let inv = if s > 0.0 { 1.0 / s } else { 0.0 };
        components.extend((0..d).map(|j| w[(j, i)] * inv));
    }
    Ok(Ritz {
        sigma,
        components,
        y,
        ub,
    })
}

/// Whether the sketch's top k singular values have settled: the Gram matrix of
/// Z = X^T Q (in float64, grown a block at a time) gives them as the square roots of
/// its top eigenvalues (Q's columns are orthonormal to rounding), and they are
/// compared with the last block's.
pub(super) struct Settling {
    tolerance: f64,
    cols: usize,
    /// Z's blocks so far, in float64 (d x l each).
    z: Vec<Mat<f64>>,
    gram: Mat<f64>,
    last: Option<Vec<f64>>,
}

impl Settling {
    pub(super) fn new(cfg: &PcaConfig, d: usize) -> Self {
        Settling {
            tolerance: cfg.params.tolerance,
            cols: d,
            z: Vec::new(),
            gram: Mat::zeros(0, 0),
            last: None,
        }
    }

    /// Forget the blocks (plain subspace iteration replaces its basis), keeping the
    /// last values to compare with.
    fn restart(&mut self) {
        self.z.clear();
        self.gram = Mat::zeros(0, 0);
    }

    /// Add Z's next block; true when the top k values moved less than the tolerance
    /// since the last call.
    pub(super) fn add_block<T: Scalar>(&mut self, z: &Mat<T>, k: usize) -> bool {
        if self.tolerance <= 0.0 {
            return false;
        }
        let par = get_global_parallelism();
        let zb = Mat::<f64>::from_fn(self.cols, z.ncols(), |i, j| z[(i, j)].f64());
        let (old, new) = (self.gram.nrows(), zb.ncols());
        let mut gram = Mat::<f64>::zeros(old + new, old + new);
        gram.as_mut()
            .submatrix_mut(0, 0, old, old)
            .copy_from(self.gram.as_ref());
        let mut at = 0;
        for b in self.z.iter().chain(std::iter::once(&zb)) {
            let w = b.ncols();
            let mut cross = Mat::<f64>::zeros(w, new);
            matmul(
                cross.as_mut(),
                Accum::Replace,
                b.transpose(),
                zb.as_ref(),
                1.0,
                par,
            );
            for i in 0..w {
                for j in 0..new {
                    gram[(at + i, old + j)] = cross[(i, j)];
                    gram[(old + j, at + i)] = cross[(i, j)];
                }
            }
            at += w;
        }
        self.z.push(zb);
        self.gram = gram;
        // Eigenvalues only (no vectors): a few times cheaper on the growing basis.
        let Ok(lam) = self.gram.self_adjoint_eigenvalues(faer::Side::Lower) else {
            return false;
        };
        let m = lam.len();
        let values: Vec<f64> = (0..k.min(m))
            .map(|i| lam[m - 1 - i].max(0.0).sqrt())
            .collect();
        let settled = self.last.as_ref().is_some_and(|last| {
            let top = values.first().copied().unwrap_or(0.0);
            last.len() == values.len()
                && values.iter().zip(last).all(|(&v, &u)| {
                    // Values at rounding level of the largest cannot settle relatively.
                    (v - u).abs() <= self.tolerance * v.max(1e-6 * top)
                })
        });
        self.last = Some(values);
        settled
    }
}

/// `y -= B (B^T y)` for every block `B` of an orthonormal basis.
fn project_out<T: Scalar>(blocks: &[Mat<T>], y: &mut Mat<T>, par: faer::Par) {
    for b in blocks {
        let mut c = Mat::<T>::zeros(b.ncols(), y.ncols());
        matmul(
            c.as_mut(),
            Accum::Replace,
            b.transpose(),
            y.as_ref(),
            T::of(1.0),
            par,
        );
        matmul(
            y.as_mut(),
            Accum::Add,
            b.as_ref(),
            c.as_ref(),
            T::of(-1.0),
            par,
        );
    }
}

pub(super) fn concat_cols<T: Scalar>(blocks: &[Mat<T>]) -> Mat<T> {
    let n = blocks[0].nrows();
    let total = blocks.iter().map(|b| b.ncols()).sum();
    let mut out = Mat::<T>::zeros(n, total);
    let mut at = 0;
    for b in blocks {
        out.as_mut()
            .subcols_mut(at, b.ncols())
            .copy_from(b.as_ref());
        at += b.ncols();
    }
    out
}
