//! Exact PCA: eigendecomposition of the smaller of the Gram matrix `X X^T` (rows <=
//! columns, centred matrix held in memory) and the covariance `X^T X` (built block by
//! block while the rows stream past, so the data is never held).

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{BlockStructure, matmul as tri_matmul};
use faer::{Accum, Mat, MatRef, Side, get_global_parallelism};

use super::{Data, PcaError, RawFit, Scalar, columns_as_rows};

/// Eigenpairs of a symmetric matrix whose lower triangle is filled, largest first.
/// Eigenvalues (largest first), the eigenvector matrix, and their column order.
type TopEigen<T> = (Vec<f64>, Mat<T>, Vec<usize>);

fn top_eigen<T: Scalar>(a: MatRef<'_, T>, k: usize) -> Result<TopEigen<T>, PcaError> {
    let eig = a
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| PcaError::NoConvergence("symmetric eigensolver"))?;
    let m = a.nrows();
    let values = eig.S().column_vector();
    let order: Vec<usize> = (0..m).rev().take(k).collect();
    let lambdas = order.iter().map(|&i| values[i].f64().max(0.0)).collect();
    Ok((lambdas, eig.U().to_owned(), order))
}

/// The Gram matrix `X X^T` of the centred rows `x` (n x d), lower triangle filled.
pub(super) fn gram_matrix<T: Scalar>(x: MatRef<'_, T>) -> Mat<T> {
    let n = x.nrows();
    let mut g = Mat::<T>::zeros(n, n);
    tri_matmul(
        g.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        x,
        BlockStructure::Rectangular,
        x.transpose(),
        BlockStructure::Rectangular,
        T::of(1.0),
        get_global_parallelism(),
    );
    g
}

/// The top `k` eigenpairs of a Gram matrix `g = X X^T` (lower triangle filled): the
/// singular values of `X` (largest first) and `U_k` (n x k), so that `U_k S_k` are the
/// rows' coordinates on the top k components and `V_k^T = S_k^-1 U_k^T X`.
pub(super) fn gram_top<T: Scalar>(
    g: MatRef<'_, T>,
    k: usize,
) -> Result<(Vec<f64>, Mat<T>), PcaError> {
    let (lambdas, u, order) = top_eigen(g, k)?;
    let sigma: Vec<f64> = lambdas.iter().map(|l| l.sqrt()).collect();
    let uk = Mat::<T>::from_fn(g.nrows(), k, |i, j| u[(i, order[j])]);
    Ok((sigma, uk))
}

/// Rows <= columns: the centred data `x` (row-major n x d) is in memory.
pub(super) fn gram<T: Scalar>(x: &[T], n: usize, d: usize, k: usize) -> Result<RawFit, PcaError> {
    let x = MatRef::from_row_major_slice(x, n, d);
    let g = gram_matrix(x);
    let (sigma, uk) = gram_top(g.as_ref(), k)?;
    drop(g);
    // V_k^T = S^-1 U_k^T X.
    let mut vt = Mat::<T>::zeros(k, d);
    matmul(
        vt.as_mut(),
        Accum::Replace,
        uk.transpose(),
        x,
        T::of(1.0),
        get_global_parallelism(),
    );
    let mut components = Vec::with_capacity(k * d);
    for i in 0..k {
        // |U_k^T X| row i is s_i in exact arithmetic; normalising by the computed norm
        // keeps components of (near-)zero variance unit length too.
        let norm = (0..d).map(|j| vt[(i, j)].f64().powi(2)).sum::<f64>().sqrt();
        let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        components.extend((0..d).map(|j| vt[(i, j)].f64() * scale));
    }
    let mut scores = Vec::with_capacity(n * k);
    for i in 0..n {
        scores.extend((0..k).map(|j| (uk[(i, j)].f64() * sigma[j]) as f32));
    }
    Ok(RawFit {
        power_iterations: 0,
        singular_values: sigma,
        components,
        scores: Some(scores),
    })
}

/// The covariance `X^T X`, accumulated block by block as the data streams past.
pub(super) fn covariance<T: Scalar>(data: &Data<'_, T>, k: usize) -> Result<RawFit, PcaError> {
    let (_, d) = data.shape();
    let mut c = Mat::<T>::zeros(d, d);
    data.for_each(&mut |_, b| {
        tri_matmul(
            c.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Add,
            b.transpose(),
            BlockStructure::Rectangular,
            b,
            BlockStructure::Rectangular,
            T::of(1.0),
            get_global_parallelism(),
        );
        Ok(())
    })?;
    from_covariance(c.as_ref(), k)
}

/// The top `k` components from the covariance `X^T X` (lower triangle filled).
pub(super) fn from_covariance<T: Scalar>(c: MatRef<'_, T>, k: usize) -> Result<RawFit, PcaError> {
    let (lambdas, v, order) = top_eigen(c, k)?;
    Ok(RawFit {
        power_iterations: 0,
        singular_values: lambdas.iter().map(|l| l.sqrt()).collect(),
        components: columns_as_rows(v.as_ref(), &order),
        scores: None,
    })
}
