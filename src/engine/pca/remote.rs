//! Randomized PCA whose tall sketch never comes to the caller. On a cluster the rows of
//! `X` live in shards on the workers; so do the rows of the sketch `Y = X W` and of the
//! basis made from it. The method here asks only for products that are small whatever
//! the number of rows `n`: `X^T A` (`d x l`), Gram matrices `A^T B` (`l x l`), and
//! linear combinations `sum_t A_t C_t` that the workers form row by row. The caller's
//! memory and traffic per pass are then `O(d l)`, independent of `n`.
//!
//! The algorithm is the block Krylov method of [`super::randomized`] (the same test
//! matrix, the same adaptive stop, the same Rayleigh-Ritz extraction); only the making
//! of each new block differs: instead of a Householder QR of the tall block, it is
//! orthonormalised through its Gram matrix (Cholesky-QR, with an eigendecomposition in
//! place of the Cholesky factor so that a block nearly dependent on the basis loses its
//! dependent directions instead of failing), and the second round of Gram-Schmidt and
//! orthonormalisation that one machine always runs is run only when the first leaves
//! the block leaning on the basis (see `Basis::extend`).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, get_global_parallelism};

use super::centring::stop_if_asked;
use super::operator::randomized_config;
use super::randomized::{Ritz, Settling, blocks_gram, rayleigh_ritz};
use super::{ColumnStats, PcaConfig, PcaError, PcaFit, PcaParams, RawFit, Scalar};
use crate::engine::Rng;

/// Names a tall matrix (`n` rows) held where the data's rows are.
pub type TallId = u64;

/// The centred `n x d` data and tall matrices beside it, held elsewhere, known through
/// products that are small whatever `n`.
pub trait RemoteRows: Sync {
    /// `(n, d)`.
    fn shape(&self) -> (usize, usize);
    /// Keep `(X - 1 mean^T) W` (`n x l`, for `W` of shape `d x l`) as `target`. `W` is
    /// given, not lent, so that it can be freed as soon as it is sent.
    fn times(&self, w: Mat<f64>, target: TallId) -> Result<(), PcaError>;
    /// `(X - 1 mean^T)^T A` for the tall `A` (`n x a`): `d x a`.
    fn t_times(&self, a: TallId) -> Result<Mat<f64>, PcaError>;
    /// `A^T B` for tall `A` (`n x a`) and `B` (`n x b`): `a x b`.
    fn gram(&self, a: TallId, b: TallId) -> Result<Mat<f64>, PcaError>;
    /// Keep `sum_t A_t C_t` as `target`, for tall `A_t` (`n x a_t`) and `C_t` (`a_t x c`).
    fn combine(&self, terms: &[(TallId, MatRef<'_, f64>)], target: TallId) -> Result<(), PcaError>;
    /// `a` is no longer needed.
    fn release(&self, a: TallId);
    /// Whether the rows are stored in float32. The fit then keeps the `X^T Q` blocks it
    /// holds in float32 too, as one machine's float32 fit does (half the client's
    /// largest part); the sums arrive in float64 and are rounded once.
    fn rows_are_f32(&self) -> bool {
        false
    }
}

/// A tall matrix held by the [`RemoteRows`], with its width.
#[derive(Clone, Copy)]
struct Tall {
    id: TallId,
    cols: usize,
}

struct Basis<'a> {
    op: &'a dyn RemoteRows,
    next: TallId,
    held: Vec<TallId>,
}

impl Basis<'_> {
    fn checked(m: Mat<f64>, what: &str, rows: usize, cols: usize) -> Result<Mat<f64>, PcaError> {
        if (m.nrows(), m.ncols()) != (rows, cols) {
            return Err(PcaError::Shape {
                expected: format!("{what} of {rows} x {cols}"),
                actual: format!("{} x {}", m.nrows(), m.ncols()),
            });
        }
        Ok(m)
    }

    fn gram(&self, a: Tall, b: Tall) -> Result<Mat<f64>, PcaError> {
        Self::checked(self.op.gram(a.id, b.id)?, "a Gram matrix", a.cols, b.cols)
    }

    fn t_times(&self, a: Tall) -> Result<Mat<f64>, PcaError> {
        let d = self.op.shape().1;
        Self::checked(self.op.t_times(a.id)?, "X^T A", d, a.cols)
    }

    fn name(&mut self) -> TallId {
        self.next += 1;
        self.held.push(self.next);
        self.next
    }

    fn release(&mut self, t: Tall) {
        self.op.release(t.id);
        self.held.retain(|&id| id != t.id);
    }

    fn times(&mut self, w: Mat<f64>) -> Result<Tall, PcaError> {
        stop_if_asked()?;
        let id = self.name();
        let cols = w.ncols();
        self.op.times(w, id)?;
        Ok(Tall { id, cols })
    }

    fn combine(&mut self, terms: &[(Tall, MatRef<'_, f64>)]) -> Result<Tall, PcaError> {
        stop_if_asked()?;
        let cols = terms[0].1.ncols();
        let id = self.name();
        let named: Vec<(TallId, MatRef<'_, f64>)> = terms.iter().map(|(t, c)| (t.id, *c)).collect();
        self.op.combine(&named, id)?;
        Ok(Tall { id, cols })
    }

    /// `y` with every block's component removed: `y - sum_b B (B^T y)` (classical block
    /// Gram-Schmidt; [`Basis::extend`] calls it twice per round).
    fn project_out(&mut self, blocks: &[Tall], y: Tall) -> Result<Tall, PcaError> {
        let coefficients = blocks
            .iter()
            .map(|b| {
                let g = self.gram(*b, y)?;
                Ok(Mat::from_fn(g.nrows(), g.ncols(), |i, j| -g[(i, j)]))
            })
            .collect::<Result<Vec<Mat<f64>>, PcaError>>()?;
        let identity = Mat::<f64>::identity(y.cols, y.cols);
        let mut terms = vec![(y, identity.as_ref())];
        terms.extend(
            blocks
                .iter()
                .copied()
                .zip(coefficients.iter().map(|c| c.as_ref())),
        );
        let out = self.combine(&terms)?;
        self.release(y);
        Ok(out)
    }

    /// An orthonormal basis of `y`'s span through its Gram matrix `G = V diag(e) V^T`:
    /// `y V_+ diag(e_+)^-1/2`, directions below rounding dropped. One pass leaves the
    /// columns orthonormal to about `cond(G)` times rounding; a second pass, run when
    /// that is above about 1e-12, mends it (Cholesky-QR2).
    fn orthonormalise(&mut self, mut y: Tall) -> Result<Tall, PcaError> {
        for _ in 0..2 {
            let g = self.gram(y, y)?;
            let eig = g
                .self_adjoint_eigen(faer::Side::Lower)
                .map_err(|_| PcaError::NoConvergence("eigensolver on a sketch block"))?;
            let e = eig.S().column_vector();
            let emax = (0..y.cols).map(|i| e[i]).fold(0.0, f64::max);
            // Gram matrices square the condition: 1e-20 of the largest is rounding.
            let kept: Vec<usize> = (0..y.cols).filter(|&i| e[i] > 1e-20 * emax).collect();
            let emin = kept.iter().map(|&i| e[i]).fold(f64::INFINITY, f64::min);
            let r_inv = Mat::<f64>::from_fn(y.cols, kept.len(), |i, j| {
                eig.U()[(i, kept[j])] / e[kept[j]].sqrt()
            });
            let out = self.combine(&[(y, r_inv.as_ref())])?;
            self.release(y);
            y = out;
            if emax <= 1e4 * emin {
                break;
            }
        }
        Ok(y)
    }

    /// The largest part of `y`'s columns along the basis `blocks`: `max |B^T y|`.
    fn leak(&self, blocks: &[Tall], y: Tall) -> Result<f64, PcaError> {
        let mut most = 0.0f64;
        for b in blocks {
            let g = self.gram(*b, y)?;
            for j in 0..g.ncols() {
                for i in 0..g.nrows() {
                    most = most.max(g[(i, j)].abs());
                }
            }
        }
        Ok(most)
    }

    /// The next block of the basis from `y`: its part outside `blocks`, orthonormal.
    /// Block Gram-Schmidt twice, then orthonormalised; and all of it again when the
    /// result still leans on the basis, as it does when most of `y` lay in the basis'
    /// span (near the data's rank): what was left is then rounding noise, whose parts
    /// along the basis are, once normalised, of order one.
    fn extend(&mut self, blocks: &[Tall], mut y: Tall) -> Result<Tall, PcaError> {
        for round in 0..2 {
            y = self.project_out(blocks, y)?;
            y = self.project_out(blocks, y)?;
            y = self.orthonormalise(y)?;
            if round == 0 && (y.cols == 0 || self.leak(blocks, y)? <= 1e-10) {
                break;
            }
        }
        Ok(y)
    }
}

/// An orthonormal basis of `z`'s span (`z V_+ diag(e_+)^-1/2` from `z^T z = V diag(e)
/// V^T`): unlike a QR, it needs no copy of `z` beside the result. Its columns are
/// orthonormal to `cond(z)^2` times rounding, which is all a Krylov block needs: the
/// next block is orthonormalised against the basis anyway.
fn orthonormal_by_gram(z: &Mat<f64>, par: faer::Par) -> Result<Mat<f64>, PcaError> {
    let g = blocks_gram(std::slice::from_ref(z), std::slice::from_ref(z), par);
    let eig = g
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|_| PcaError::NoConvergence("eigensolver on X^T Q"))?;
    let e = eig.S().column_vector();
    let emax = (0..z.ncols()).map(|i| e[i]).fold(0.0, f64::max);
    let kept: Vec<usize> = (0..z.ncols()).filter(|&i| e[i] > 1e-20 * emax).collect();
    let r_inv = Mat::<f64>::from_fn(z.ncols(), kept.len(), |i, j| {
        eig.U()[(i, kept[j])] / e[kept[j]].sqrt()
    });
    let mut out = Mat::<f64>::zeros(z.nrows(), kept.len());
    matmul(
        out.as_mut(),
        Accum::Replace,
        z.as_ref(),
        r_inv.as_ref(),
        1.0,
        par,
    );
    Ok(out)
}

/// The block Krylov method of [`super::randomized`] on `op`, holding `X^T Q` in the
/// rows' precision.
fn fit(op: &dyn RemoteRows, cfg: &PcaConfig) -> Result<RawFit, PcaError> {
    if op.rows_are_f32() {
        fit_holding::<f32>(op, cfg)
    } else {
        fit_holding::<f64>(op, cfg)
    }
}

fn fit_holding<T: Scalar>(op: &dyn RemoteRows, cfg: &PcaConfig) -> Result<RawFit, PcaError> {
    let (n, d) = op.shape();
    let k = cfg.k;
    let l = (k + cfg.oversampling).min(n.min(d));
    let par = get_global_parallelism();
    let mut basis = Basis {
        op,
        next: 0,
        held: Vec::new(),
    };
    let result = (|| {
        let mut rng = Rng::new(cfg.params.seed);
        let omega = Mat::<f64>::from_fn(d, l, |_, _| rng.normal());
        let y = basis.times(omega)?;
        let mut blocks = vec![basis.orthonormalise(y)?];
        let mut z_blocks: Vec<Mat<T>> = Vec::new();
        let mut settle = Settling::new(cfg);
        loop {
            stop_if_asked()?;
            let last = *blocks.last().expect("one block");
            let z = basis.t_times(last)?;
            let grown: usize = blocks.iter().map(|b| b.cols).sum();
            let held = Mat::<T>::from_fn(z.nrows(), z.ncols(), |i, j| T::of(z[(i, j)]));
            let settled = settle.add_block(&z_blocks, &held, k);
            z_blocks.push(held);
            if settled
                || blocks.len() > cfg.params.power_iterations
                || grown + l > n.min(d)
                || last.cols == 0
            {
                break;
            }
            // The next block from an orthonormal basis of z's span: the same span as
            // X z, without z's columns' spread of scales in the Gram matrices below.
            let z_next = orthonormal_by_gram(&z, par)?;
            drop(z);
            let y = basis.times(z_next)?;
            let y = basis.extend(&blocks, y)?;
            if y.cols == 0 {
                basis.release(y);
                break;
            }
            blocks.push(y);
        }
        let m: usize = blocks.iter().map(|b| b.cols).sum();
        let mut gram = Mat::<f64>::zeros(m, m);
        let mut at_i = 0;
        for (i, bi) in blocks.iter().enumerate() {
            let mut at_j = at_i;
            for bj in &blocks[i..] {
                let g = basis.gram(*bi, *bj)?;
                for r in 0..bi.cols {
                    for c in 0..bj.cols {
                        gram[(at_i + r, at_j + c)] = g[(r, c)];
                        gram[(at_j + c, at_i + r)] = g[(r, c)];
                    }
                }
                at_j += bj.cols;
            }
            at_i += bi.cols;
        }
        // Z^T Z: the stop test has it already when it ran over every block.
        let zz = settle
            .into_gram(m)
            .unwrap_or_else(|| blocks_gram(&z_blocks, &z_blocks, par));
        let Ritz {
            sigma, components, ..
        } = rayleigh_ritz(gram, zz, z_blocks, k, par)?;
        Ok(RawFit {
            power_iterations: blocks.len() - 1,
            singular_values: sigma,
            components,
            scores: None,
        })
    })();
    for id in std::mem::take(&mut basis.held) {
        op.release(id);
    }
    result
}

/// The randomized method on rows held elsewhere (`op`), whose column means and total
/// variance are `stats`: block Krylov as [`PcaParams::check`] then
/// [`super::PcaConfig::fit`] run it in float64, with the sketch's rows kept where the
/// data's are. No scores (project the rows with the model where they are).
pub fn fit_randomized_remote(
    op: &dyn RemoteRows,
    stats: ColumnStats,
    params: &PcaParams,
) -> Result<PcaFit, PcaError> {
    let cfg = randomized_config(op.shape(), params, &stats)?;
    let raw = fit(op, &cfg)?;
    Ok(cfg.finish(raw, stats, true))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;
    use crate::engine::pca::{MemoryRows, Method, Precision, column_stats};

    /// Rows in memory, seen only through the remote products; it counts what it holds.
    struct InMemory {
        x: Mat<f64>,
        tall: Mutex<HashMap<TallId, Mat<f64>>>,
        most_held: Mutex<usize>,
        /// Passes over tall blocks that write one (`combine`).
        combines: Mutex<usize>,
        /// What [`RemoteRows::rows_are_f32`] says.
        f32: bool,
    }

    impl InMemory {
        fn new(x: Mat<f64>) -> Self {
            InMemory {
                x,
                tall: Mutex::new(HashMap::new()),
                most_held: Mutex::new(0),
                combines: Mutex::new(0),
                f32: false,
            }
        }
        fn get(&self, id: TallId) -> Mat<f64> {
            self.tall.lock().unwrap()[&id].clone()
        }
        fn put(&self, id: TallId, m: Mat<f64>) {
            let mut tall = self.tall.lock().unwrap();
            tall.insert(id, m);
            let mut most = self.most_held.lock().unwrap();
            *most = (*most).max(tall.len());
        }
    }

    fn product(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
        let mut out = Mat::zeros(a.nrows(), b.ncols());
        matmul(out.as_mut(), Accum::Replace, a, b, 1.0, faer::Par::Seq);
        out
    }

    impl RemoteRows for InMemory {
        fn shape(&self) -> (usize, usize) {
            (self.x.nrows(), self.x.ncols())
        }
        fn times(&self, w: Mat<f64>, target: TallId) -> Result<(), PcaError> {
            self.put(target, product(self.x.as_ref(), w.as_ref()));
            Ok(())
        }
        fn t_times(&self, a: TallId) -> Result<Mat<f64>, PcaError> {
            Ok(product(self.x.transpose(), self.get(a).as_ref()))
        }
        fn gram(&self, a: TallId, b: TallId) -> Result<Mat<f64>, PcaError> {
            Ok(product(self.get(a).transpose(), self.get(b).as_ref()))
        }
        fn combine(
            &self,
            terms: &[(TallId, MatRef<'_, f64>)],
            target: TallId,
        ) -> Result<(), PcaError> {
            *self.combines.lock().unwrap() += 1;
            let mut out = Mat::<f64>::zeros(self.x.nrows(), terms[0].1.ncols());
            for (a, c) in terms {
                let a = self.get(*a);
                matmul(
                    out.as_mut(),
                    Accum::Add,
                    a.as_ref(),
                    *c,
                    1.0,
                    faer::Par::Seq,
                );
            }
            self.put(target, out);
            Ok(())
        }
        fn release(&self, a: TallId) {
            self.tall.lock().unwrap().remove(&a);
        }
        fn rows_are_f32(&self) -> bool {
            self.f32
        }
    }

    /// Randomized float64 PCA with k = 8: adaptive (`None`), or `q` power iterations in
    /// full.
    fn randomized_k8(q: Option<usize>) -> PcaParams {
        let mut params = PcaParams {
            k: Some(8),
            method: Method::Randomized,
            precision: Precision::F64,
            ..Default::default()
        };
        if let Some(q) = q {
            params.power_iterations = q;
            params.tolerance = 0.0;
        }
        params
    }

    /// `(n, d)` rows with a decaying spectrum, far from zero (what bars look like to
    /// PCA); their column statistics; and the centred rows seen only through products.
    fn bar_like(n: usize, d: usize, seed: u64) -> (Vec<f64>, ColumnStats, InMemory) {
        let mut rng = Rng::new(seed);
        let x: Vec<f64> = (0..n * d)
            .map(|i| rng.normal() * (1.0 / (1.0 + (i % d) as f64 / 3.0)) + 2.0)
            .collect();
        let rows = MemoryRows::f64(&x, n, d).unwrap();
        let stats = column_stats(&rows, n, false).unwrap();
        let op = InMemory::new(Mat::from_fn(n, d, |i, j| x[i * d + j] - stats.mean[j]));
        (x, stats, op)
    }

    #[test]
    fn rows_held_elsewhere_give_the_fit_of_the_rows_in_memory() {
        let (n, d) = (150, 60);
        let (x, stats, op) = bar_like(n, d, 11);
        let rows = MemoryRows::f64(&x, n, d).unwrap();
        for q in [None, Some(0), Some(2)] {
            let params = randomized_k8(q);
            let want = params.check(&rows).unwrap().fit(&rows).unwrap();
            *op.combines.lock().unwrap() = 0;
            let got = fit_randomized_remote(&op, stats.clone(), &params).unwrap();
            assert_eq!(got.power_iterations, want.power_iterations, "q = {q:?}");
            // A well-conditioned block is made in one round (Gram-Schmidt twice, one
            // Cholesky-QR pass): 3 passes writing a block per power iteration, and 1
            // for the first block.
            let combines = *op.combines.lock().unwrap();
            assert_eq!(combines, 1 + 3 * got.power_iterations, "q = {q:?}");
            for (a, b) in got
                .model
                .singular_values
                .iter()
                .zip(&want.model.singular_values)
            {
                assert!((a - b).abs() <= 1e-9 * b, "q = {q:?}: {a} {b}");
            }
            let (gc, wc) = (
                &got.model.f64_parts.as_ref().unwrap().components,
                &want.model.f64_parts.as_ref().unwrap().components,
            );
            for i in 0..8 {
                let dot: f64 = (0..d).map(|j| gc[i * d + j] * wc[i * d + j]).sum();
                assert!(
                    (dot.abs() - 1.0).abs() < 1e-8,
                    "q = {q:?}, component {i}: {dot}"
                );
            }
            // Everything it asked to keep was released.
            assert!(op.tall.lock().unwrap().is_empty());
        }
        // At most the basis blocks and a block being built are held at once.
        assert!(*op.most_held.lock().unwrap() <= 16);
    }

    #[test]
    fn a_rank_deficient_matrix_drops_directions_instead_of_failing() {
        // Rank 5 in 40 columns: the sketch (k + 16 columns) outgrows the data's rank.
        let (n, d, r) = (80, 40, 5);
        let mut rng = Rng::new(2);
        let a = Mat::<f64>::from_fn(n, r, |_, _| rng.normal());
        let b = Mat::<f64>::from_fn(r, d, |_, _| rng.normal());
        let x = product(a.as_ref(), b.as_ref());
        let flat: Vec<f64> = (0..n * d).map(|i| x[(i / d, i % d)]).collect();
        let rows = MemoryRows::f64(&flat, n, d).unwrap();
        let stats = column_stats(&rows, n, false).unwrap();
        let op = InMemory::new(Mat::from_fn(n, d, |i, j| flat[i * d + j] - stats.mean[j]));
        let params = PcaParams {
            k: Some(4),
            method: Method::Randomized,
            precision: Precision::F64,
            ..Default::default()
        };
        let want = params.check(&rows).unwrap().fit(&rows).unwrap();
        let got = fit_randomized_remote(&op, stats, &params).unwrap();
        // Past the rank, the new block is rounding noise leaning on the basis: it takes
        // the second round (and Cholesky-QR's second pass).
        let combines = *op.combines.lock().unwrap();
        assert!(combines > 1 + 3 * got.power_iterations, "{combines}");
        for (a, b) in got
            .model
            .singular_values
            .iter()
            .zip(&want.model.singular_values)
        {
            assert!((a - b).abs() <= 1e-8 * b, "{a} {b}");
        }
    }

    #[test]
    fn float32_rows_keep_x_t_q_in_float32_and_give_the_same_fit() {
        let (n, d) = (150, 60);
        let (x, stats, mut op) = bar_like(n, d, 5);
        op.f32 = true;
        let rows = MemoryRows::f64(&x, n, d).unwrap();
        for q in [None, Some(2)] {
            let params = randomized_k8(q);
            let want = params.check(&rows).unwrap().fit(&rows).unwrap();
            let got = fit_randomized_remote(&op, stats.clone(), &params).unwrap();
            // The adaptive stop is not held back by the rounding of X^T Q to float32.
            assert_eq!(got.power_iterations, want.power_iterations, "q = {q:?}");
            let (g, w) = (&got.model.singular_values, &want.model.singular_values);
            let worst = g
                .iter()
                .zip(w)
                .map(|(a, b)| (a - b).abs() / b)
                .fold(0.0, f64::max);
            // float32's rounding of X^T Q (2.5e-8 here; 1.6e-15 when it is held in
            // float64), and no more than a few times it.
            assert!(worst <= 1e-6 && worst > 1e-10, "q = {q:?}: {worst:e}");
        }
    }
}
