//! Randomized PCA (Halko, Martinsson & Tropp 2011, algorithms 4.4 and 5.1): sketch the
//! range of the centred data with a Gaussian test matrix of k + p columns, sharpen it
//! with q power iterations (each re-orthonormalised by a thin QR, so small singular
//! values are not lost to rounding), then take the exact SVD of the small projection.
//! q is adaptive: the iterations stop once the sketch's top k singular values settle.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, get_global_parallelism};

use super::{Data, PcaConfig, PcaError, RawFit, Scalar};
use crate::engine::Rng;

fn orthonormal<T: Scalar>(m: Mat<T>) -> Mat<T> {
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
    let mut settle = Settling::new(cfg);
    let (q, bt) = if cfg.params.krylov {
        // Block Krylov (Rokhlin, Szlam & Tygert 2009; Musco & Musco 2015): keep every
        // power-iteration block, each orthogonalised against the ones before, and
        // extract from their span. For the flat spectra of audio it converges far
        // faster than keeping the last block only, for the same passes over the data;
        // and X^T Q comes out of the iteration itself, block by block.
        let mut blocks = vec![q];
        let mut z_blocks: Vec<Mat<T>> = Vec::new();
        loop {
            let z = data.t_times(blocks.last().expect("one block").as_ref())?;
            let grown = blocks.len() * l;
            // z completes X^T Q for the basis so far: stop here, with nothing more to
            // compute, once its top k singular values have settled.
            let settled = settle.add_block(&z_blocks, &z, k);
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
        (blocks, z_blocks)
    } else {
        loop {
            let z = data.t_times(q.as_ref())?;
            settle.restart();
            if settle.add_block(&[], &z, k) || iterations == cfg.params.power_iterations {
                break (vec![q], vec![z]);
            }
            let z = orthonormal(z);
            q = orthonormal(data.times(z.as_ref())?);
            iterations += 1;
        }
    };
    let gram = blocks_gram(&q, &q, par);
    // Z^T Z: the stop test has it already when it ran over every block.
    let zz = settle
        .into_gram(cols(&bt))
        .unwrap_or_else(|| blocks_gram(&bt, &bt, par));
    let Ritz {
        sigma,
        components,
        y,
        ub,
    } = rayleigh_ritz(gram, zz, bt, k, par)?;
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
    let mut at = 0;
    for b in &q {
        matmul(
            left.as_mut(),
            Accum::Add,
            b.as_ref(),
            ub_t.as_ref().subrows(at, b.ncols()),
            T::of(1.0),
            par,
        );
        at += b.ncols();
    }
    drop(q);
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

/// Columns in all of `blocks`.
fn cols<T: Scalar>(blocks: &[Mat<T>]) -> usize {
    blocks.iter().map(|b| b.ncols()).sum()
}

/// Rows at a time when float32 blocks are widened to float64 for a product.
const WIDEN_ROWS: usize = 4096;

/// `A^T B` in float64 for `A` and `B` given as blocks of columns (the same rows), a
/// few thousand rows at a time, so float32 blocks are never widened whole.
pub(super) fn blocks_gram<T: Scalar>(a: &[Mat<T>], b: &[Mat<T>], par: faer::Par) -> Mat<f64> {
    let mut gram = Mat::<f64>::zeros(cols(a), cols(b));
    let Some(n) = a.first().map(|m| m.nrows()) else {
        return gram;
    };
    for start in (0..n).step_by(WIDEN_ROWS) {
        let rows = (n - start).min(WIDEN_ROWS);
        let widen = |blocks: &[Mat<T>]| {
            let total = cols(blocks);
            let mut out = Mat::<f64>::zeros(rows, total);
            let mut at = 0;
            for m in blocks {
                for j in 0..m.ncols() {
                    for i in 0..rows {
                        out[(i, at + j)] = m[(start + i, j)].f64();
                    }
                }
                at += m.ncols();
            }
            out
        };
        let wa = widen(a);
        let wb = if std::ptr::eq(a, b) {
            None
        } else {
            Some(widen(b))
        };
        matmul(
            gram.as_mut(),
            Accum::Add,
            wa.transpose(),
            wb.as_ref().unwrap_or(&wa).as_ref(),
            1.0,
            par,
        );
    }
    gram
}

/// `out = A C` in float64 for `A` given as blocks of columns and `C` with one row per
/// column of `A`, a few thousand rows of `A` at a time.
fn blocks_times<T: Scalar>(
    a: &[Mat<T>],
    c: MatRef<'_, f64>,
    mut out: MatMut<'_, f64>,
    par: faer::Par,
) {
    let n = out.nrows();
    out.fill(0.0);
    for start in (0..n).step_by(WIDEN_ROWS) {
        let rows = (n - start).min(WIDEN_ROWS);
        let mut at = 0;
        for m in a {
            let wide = Mat::<f64>::from_fn(rows, m.ncols(), |i, j| m[(start + i, j)].f64());
            matmul(
                out.as_mut().subrows_mut(start, rows),
                Accum::Add,
                wide.as_ref(),
                c.subrows(at, m.ncols()),
                1.0,
                par,
            );
            at += m.ncols();
        }
    }
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

/// From the basis' Gram matrix `Q^T Q` (m x m), and `Z = B^T = X^T Q` (d x m, as
/// blocks of columns) with its Gram matrix `Z^T Z`: B = Q^T X = Ub S W^T, from the
/// eigendecomposition of the small m x m matrix B B^T in float64 (so float32 data loses
/// nothing here); then X ~ Q B = (Q Ub) S W^T. Z is read a few thousand rows at a time
/// (no `d x m` copy of it is made) and freed as soon as the components are formed.
pub(super) fn rayleigh_ritz<T: Scalar>(
    gram: Mat<f64>,
    zz: Mat<f64>,
    z: Vec<Mat<T>>,
    k: usize,
    par: faer::Par,
) -> Result<Ritz, PcaError> {
    let d = z.first().map_or(0, |b| b.nrows());
    let m = gram.nrows();
    // In float32, block Gram-Schmidt leaves Q orthonormal only approximately (and
    // nearly dependent where the basis outgrows the data's rank), and Rayleigh-Ritz on
    // such a basis overestimates singular values, enough to make the kept variance
    // exceed the total. Correct in float64: with Q^T Q = V diag(e) V^T, the columns of
    // Q Y, Y = V_+ diag(e_+)^-1/2 (dependent directions dropped), are orthonormal and
    // X^T (Q Y) = Z Y.
    let geig = gram
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|_| PcaError::NoConvergence("eigensolver on the sketch basis"))?;
    let e = geig.S().column_vector();
    let emax = (0..m).map(|i| e[i]).fold(0.0, f64::max);
    let kept: Vec<usize> = (0..m).filter(|&i| e[i] > 1e-6 * emax).collect();
    let y = Mat::<f64>::from_fn(m, kept.len(), |i, j| {
        geig.U()[(i, kept[j])] / e[kept[j]].sqrt()
    });
    let m_kept = kept.len();
    if m_kept < k {
        return Err(PcaError::NoConvergence(
            "randomized sketch (it spans fewer than k directions)",
        ));
    }
    // B B^T on the orthonormal basis: (Z Y)^T (Z Y) = Y^T (Z^T Z) Y. Its rounding grows
    // with |Y|^2, large only where Q^T Q has eigenvalues near the cut-off above: that
    // is float32's nearly dependent basis, where Z's own float32 rounding is larger.
    let mut zz_y = Mat::<f64>::zeros(m, m_kept);
    matmul(
        zz_y.as_mut(),
        Accum::Replace,
        zz.as_ref(),
        y.as_ref(),
        1.0,
        par,
    );
    drop(zz);
    let mut bbt = Mat::<f64>::zeros(m_kept, m_kept);
    matmul(
        bbt.as_mut(),
        Accum::Replace,
        y.transpose(),
        zz_y.as_ref(),
        1.0,
        par,
    );
    drop(zz_y);
    let eig = bbt
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|_| PcaError::NoConvergence("eigensolver on the sketch"))?;
    let lam = eig.S().column_vector();
    let order: Vec<usize> = (0..m_kept).rev().take(k).collect();
    let sigma: Vec<f64> = order.iter().map(|&i| lam[i].max(0.0).sqrt()).collect();
    let ub = Mat::<f64>::from_fn(m_kept, k, |i, j| eig.U()[(i, order[j])]);
    // W = B^T Ub S^-1 = Z (Y Ub S^-1), written straight into the row-major k x d
    // components (the same layout as W's d x k, column-major).
    let mut y_ub = Mat::<f64>::zeros(m, k);
    matmul(
        y_ub.as_mut(),
        Accum::Replace,
        y.as_ref(),
        ub.as_ref(),
        1.0,
        par,
    );
    for (i, &s) in sigma.iter().enumerate() {
        let inv = if s > 0.0 { 1.0 / s } else { 0.0 };
        y_ub.as_mut().col_mut(i).iter_mut().for_each(|v| *v *= inv);
    }
    let mut components = vec![0.0f64; k * d];
    blocks_times(
        &z,
        y_ub.as_ref(),
        MatMut::from_column_major_slice_mut(&mut components, d, k),
        par,
    );
    drop(z);
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
/// compared with the last block's. Z's blocks stay with the caller.
pub(super) struct Settling {
    tolerance: f64,
    gram: Mat<f64>,
    last: Option<Vec<f64>>,
}

impl Settling {
    pub(super) fn new(cfg: &PcaConfig) -> Self {
        Settling {
            tolerance: cfg.params.tolerance,
            gram: Mat::zeros(0, 0),
            last: None,
        }
    }

    /// Forget the blocks (plain subspace iteration replaces its basis), keeping the
    /// last values to compare with.
    fn restart(&mut self) {
        self.gram = Mat::zeros(0, 0);
    }

    /// `Z^T Z` when the test has seen all of Z's `cols` columns (it skips the work
    /// when there is no tolerance to test).
    pub(super) fn into_gram(self, cols: usize) -> Option<Mat<f64>> {
        (self.gram.nrows() == cols && cols > 0).then_some(self.gram)
    }

    /// Add Z's next block `z`, after the blocks `before` (the ones added since the
    /// last restart); true when the top k values moved less than the tolerance since
    /// the last call.
    pub(super) fn add_block<T: Scalar>(&mut self, before: &[Mat<T>], z: &Mat<T>, k: usize) -> bool {
        if self.tolerance <= 0.0 {
            return false;
        }
        let par = get_global_parallelism();
        let old = self.gram.nrows();
        debug_assert_eq!(old, cols(before));
        let new = z.ncols();
        let z_alone = std::slice::from_ref(z);
        let cross = blocks_gram(before, z_alone, par);
        let own = blocks_gram(z_alone, z_alone, par);
        let mut gram = Mat::<f64>::zeros(old + new, old + new);
        gram.as_mut()
            .submatrix_mut(0, 0, old, old)
            .copy_from(self.gram.as_ref());
        for j in 0..new {
            for i in 0..old {
                gram[(i, old + j)] = cross[(i, j)];
                gram[(old + j, i)] = cross[(i, j)];
            }
            for i in 0..new {
                gram[(old + i, old + j)] = own[(i, j)];
            }
        }
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
