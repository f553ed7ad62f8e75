//! PCA of a matrix held in memory, with scikit-learn's meanings: fit, transform,
//! inverse transform, log-likelihoods under the probabilistic model, and the model
//! folder written from memory (the folder `eigentechno pca` writes). The Python
//! package's `PCA` class is a front over these.

use std::path::{Path, PathBuf};

use faer::{Accum, Mat, MatRef};

use crate::engine::pca::{
    ColumnStats, MemoryRows, PcaError, PcaFit, PcaModel, PcaParams, RowSource, Rows,
    for_each_centred,
};
use crate::engine::ppca::Ppca;
use crate::error::{Error, Result};
use crate::store::NpyRowWriter;
use crate::store::pca_model::{PcaMeta, save_model};

/// Rows per block when projecting: about 64 MB of float64.
fn block_rows(d: usize) -> usize {
    ((64 << 20) / (d.max(1) * 8)).max(1)
}

fn engine_error(e: PcaError) -> Error {
    match e {
        PcaError::Interrupted => Error::Interrupted,
        e => Error::Pca(e),
    }
}

/// `Err` naming the first row and column holding NaN or infinity.
fn check_finite(x: &MemoryRows<'_>, what: &'static str) -> Result<()> {
    let d = x.ncols();
    let mut bad = None;
    x.visit(usize::MAX, &mut |_, rows| {
        let at = match rows {
            Rows::F32(v) => v.iter().position(|v| !v.is_finite()),
            Rows::F64(v) => v.iter().position(|v| !v.is_finite()),
        };
        bad = at;
        Ok(())
    })
    .map_err(engine_error)?;
    match bad {
        Some(i) => Err(Error::InvalidArgument {
            name: what,
            expected: "finite values (no NaN or infinity)".into(),
            actual: format!("a non-finite value at row {}, column {}", i / d, i % d),
        }),
        None => Ok(()),
    }
}

/// Fit a PCA to the rows of `x`. NaN or infinity in `x` is an error (as in
/// scikit-learn) unless `params.drop_nonfinite` is set.
///
/// ```
/// use eigentechno::engine::pca::{MemoryRows, PcaParams};
/// let x: Vec<f64> = (0..40).map(|i| ((i * 7) % 11) as f64).collect();
/// let fit = eigentechno::ops::fit_memory(&MemoryRows::f64(&x, 10, 4).unwrap(),
///                                        &PcaParams { k: Some(2), ..Default::default() }).unwrap();
/// assert_eq!(fit.model.k(), 2);
/// ```
pub fn fit_memory(x: &MemoryRows<'_>, params: &PcaParams) -> Result<PcaFit> {
    if !params.drop_nonfinite {
        check_finite(x, "X")?;
    }
    let cfg = params.check(x).map_err(engine_error)?;
    cfg.fit(x).map_err(engine_error)
}

/// The `pca.json` record of a fit made in memory (no source file).
pub fn meta_of_fit(fit: &PcaFit, params: &PcaParams, seconds: f64) -> PcaMeta {
    PcaMeta {
        source: String::new(),
        source_csv: None,
        n_samples: fit.model.n_samples,
        n_features: fit.model.n_features,
        k: fit.model.k(),
        method: fit.method.to_string(),
        method_reason: fit.why.clone(),
        precision: fit.precision.to_string(),
        oversampling: fit.oversampling,
        power_iterations: fit.power_iterations,
        seed: params.seed,
        total_variance: fit.model.total_variance,
        equalize: false,
        rate: None,
        dropped_rows: fit.dropped_rows.clone(),
        seconds,
    }
}

fn check_k(model: &PcaModel, k: usize) -> Result<()> {
    if k == 0 || k > model.k() {
        return Err(Error::InvalidArgument {
            name: "k",
            expected: format!("1 to {}", model.k()),
            actual: k.to_string(),
        });
    }
    Ok(())
}

fn check_width(model: &PcaModel, x: &MemoryRows<'_>) -> Result<()> {
    if x.ncols() != model.n_features {
        return Err(Error::InvalidArgument {
            name: "X",
            expected: format!("{} features (as fitted)", model.n_features),
            actual: format!("{} features", x.ncols()),
        });
    }
    Ok(())
}

/// Scores of every row of `x` on the first `k` components, in float64:
/// `(x - mean) @ components[:k].T`, row-major `n x k`.
///
/// ```
/// use eigentechno::engine::pca::{MemoryRows, PcaParams};
/// use eigentechno::ops::{fit_memory, inverse_transform_memory, transform_memory};
/// let x: Vec<f64> = (0..40).map(|i| ((i * 7) % 11) as f64).collect();
/// let rows = MemoryRows::f64(&x, 10, 4).unwrap();
/// let fit = fit_memory(&rows, &PcaParams::default()).unwrap();
/// let z = transform_memory(&fit.model, &rows, 4).unwrap();
/// let back = inverse_transform_memory(&fit.model, &z, 4).unwrap();
/// assert!(back.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-9));
/// ```
pub fn transform_memory(model: &PcaModel, x: &MemoryRows<'_>, k: usize) -> Result<Vec<f64>> {
    check_k(model, k)?;
    check_width(model, x)?;
    check_finite(x, "X")?;
    let d = model.n_features;
    let comps = model.components_f64(k);
    let comps = MatRef::from_row_major_slice(&comps, k, d);
    let stats = ColumnStats {
        mean: model.mean_f64(),
        total_variance: model.total_variance,
        dropped_rows: Vec::new(),
        rows: x.nrows(),
    };
    let mut out = vec![0.0; x.nrows() * k];
    for_each_centred::<f64>(x, &stats, block_rows(d), &mut |start, block| {
        let mut s = Mat::<f64>::zeros(block.nrows(), k);
        faer::linalg::matmul::matmul(
            s.as_mut(),
            Accum::Replace,
            block,
            comps.transpose(),
            1.0,
            faer::get_global_parallelism(),
        );
        for i in 0..block.nrows() {
            let row = &mut out[(start + i) * k..(start + i + 1) * k];
            for (j, o) in row.iter_mut().enumerate() {
                *o = s[(i, j)];
            }
        }
        Ok(())
    })
    .map_err(engine_error)?;
    Ok(out)
}

/// Rows rebuilt from scores on the first `k` components (row-major `n x k`), in
/// float64: `scores @ components[:k] + mean`, row-major `n x d`.
pub fn inverse_transform_memory(model: &PcaModel, scores: &[f64], k: usize) -> Result<Vec<f64>> {
    check_k(model, k)?;
    if !scores.len().is_multiple_of(k) || scores.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidArgument {
            name: "scores",
            expected: format!("finite rows of {k} values"),
            actual: format!("{} values", scores.len()),
        });
    }
    let (n, d) = (scores.len() / k, model.n_features);
    let comps = model.components_f64(k);
    let comps = MatRef::from_row_major_slice(&comps, k, d);
    let z = MatRef::from_row_major_slice(scores, n, k);
    let mut x = Mat::<f64>::zeros(n, d);
    faer::linalg::matmul::matmul(
        x.as_mut(),
        Accum::Replace,
        z,
        comps,
        1.0,
        faer::get_global_parallelism(),
    );
    let mean = model.mean_f64();
    let mut out = Vec::with_capacity(n * d);
    for i in 0..n {
        out.extend((0..d).map(|j| x[(i, j)] + mean[j]));
    }
    Ok(out)
}

/// scikit-learn's `noise_variance_` for the first `k` components: the variance left
/// over, per remaining dimension of the data's rank, `(total - kept) / (min(n, d) - k)`;
/// 0 when `k` reaches the rank.
pub fn sklearn_noise_variance(model: &PcaModel, k: usize) -> f64 {
    let rank = model.n_samples.min(model.n_features);
    if k >= rank {
        return 0.0;
    }
    let kept: f64 = model.explained_variance[..k.min(model.k())].iter().sum();
    ((model.total_variance - kept) / (rank - k) as f64).max(0.0)
}

/// Log-likelihood of every row of `x` under the probabilistic PCA model with the first
/// `k` components and isotropic noise `noise_variance` (scikit-learn's
/// `score_samples`, computed in low-rank form).
///
/// ```
/// use eigentechno::engine::pca::{MemoryRows, PcaParams};
/// use eigentechno::ops::{fit_memory, score_memory, sklearn_noise_variance};
/// let x: Vec<f64> = (0..60).map(|i| ((i * 7) % 13) as f64).collect();
/// let rows = MemoryRows::f64(&x, 15, 4).unwrap();
/// let fit = fit_memory(&rows, &PcaParams { k: Some(2), ..Default::default() }).unwrap();
/// let ll = score_memory(&fit.model, &rows, 2, sklearn_noise_variance(&fit.model, 2)).unwrap();
/// assert_eq!(ll.len(), 15);
/// assert!(ll.iter().all(|v| v.is_finite()));
/// ```
pub fn score_memory(
    model: &PcaModel,
    x: &MemoryRows<'_>,
    k: usize,
    noise_variance: f64,
) -> Result<Vec<f64>> {
    check_k(model, k)?;
    check_width(model, x)?;
    check_finite(x, "X")?;
    let ppca = Ppca::with_noise_variance(model, k, noise_variance).map_err(engine_error)?;
    let mut out = vec![0.0; x.nrows()];
    ppca.score_rows(x, &mut |start, scores| {
        for (o, s) in out[start..].iter_mut().zip(scores) {
            *o = s.log_likelihood;
        }
        Ok(())
    })
    .map_err(engine_error)?;
    Ok(out)
}

/// Write a model fitted in memory into `dir` as `eigentechno pca` writes it (arrays,
/// `explained_variance.csv`, `pca.json`, and `scores.npy` when the training scores
/// are given, row-major `n x k`), so every command that reads a model folder reads it.
///
/// ```
/// use eigentechno::engine::pca::{MemoryRows, PcaParams};
/// let x: Vec<f64> = (0..60).map(|i| ((i * 7) % 13) as f64).collect();
/// let rows = MemoryRows::f64(&x, 15, 4).unwrap();
/// let params = PcaParams { k: Some(2), ..Default::default() };
/// let fit = eigentechno::ops::fit_memory(&rows, &params).unwrap();
/// let meta = eigentechno::ops::meta_of_fit(&fit, &params, 0.0);
/// let dir = tempfile::tempdir().unwrap();
/// eigentechno::ops::save_memory_model(dir.path(), &fit.model, &meta, None).unwrap();
/// let (back, _) = eigentechno::ops::load_model(dir.path()).unwrap();
/// assert_eq!(back.explained_variance, fit.model.explained_variance);
/// ```
pub fn save_memory_model(
    dir: &Path,
    model: &PcaModel,
    meta: &PcaMeta,
    scores: Option<&[f32]>,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    if let Some(scores) = scores {
        let k = model.k();
        let mut w = NpyRowWriter::create(&dir.join("scores.npy"), k)?;
        for row in scores.chunks(k) {
            w.push(row)?;
        }
        files.push(w.finish()?);
    }
    files.extend(save_model(dir, model, meta)?);
    Ok(files)
}

// ---------------------------------------------------------------- shards of a cluster

fn check_len(name: &'static str, values: &[f64], rows: usize, cols: usize) -> Result<()> {
    if values.len() != rows * cols {
        return Err(Error::InvalidArgument {
            name,
            expected: format!("{rows} x {cols} values"),
            actual: format!("{} values", values.len()),
        });
    }
    Ok(())
}

fn row_major(m: MatRef<'_, f64>) -> Vec<f64> {
    let mut out = Vec::with_capacity(m.nrows() * m.ncols());
    for i in 0..m.nrows() {
        out.extend((0..m.ncols()).map(|j| m[(i, j)]));
    }
    out
}

/// One shard's part of a distributed PCA's first pass: its rows, column means and
/// centred sum of squares over all columns (`(rows - 1)` times its total variance), as
/// one machine computes them. Shards combine exactly (Chan et al.'s pairwise rule).
///
/// ```
/// let x = [1.0f32, 2.0, 3.0, 6.0];
/// let rows = eigentechno::engine::pca::MemoryRows::f32(&x, 2, 2).unwrap();
/// let (n, mean, m2) = eigentechno::ops::shard_column_stats(&rows).unwrap();
/// assert_eq!((n, mean), (2, vec![2.0, 4.0]));
/// assert!((m2 - 10.0).abs() < 1e-12);
/// ```
pub fn shard_column_stats(rows: &MemoryRows<'_>) -> Result<(usize, Vec<f64>, f64)> {
    let s = crate::engine::pca::shard_column_stats(rows).map_err(engine_error)?;
    let m2 = s.total_variance * s.rows.saturating_sub(1) as f64;
    Ok((s.rows, s.mean, m2))
}

/// One shard's part of a distributed PCA's `X W`: `(X_i - 1 mean^T) W` for `W`
/// (row-major `d x l`), row-major `n_i x l`. `mean` is the whole matrix's; float32
/// shards are multiplied in float32 as the single-machine path does.
///
/// ```
/// let x = [1.0f32, 2.0, 3.0, 5.0];
/// let rows = eigentechno::engine::pca::MemoryRows::f32(&x, 2, 2).unwrap();
/// let xw = eigentechno::ops::shard_times(&rows, &[2.0, 3.5], &[1.0, 1.0], 1).unwrap();
/// assert_eq!(xw, vec![-2.5, 2.5]);
/// ```
pub fn shard_times(rows: &MemoryRows<'_>, mean: &[f64], w: &[f64], l: usize) -> Result<Vec<f64>> {
    check_len("w", w, rows.ncols(), l)?;
    let w = MatRef::from_row_major_slice(w, rows.ncols(), l);
    let out = crate::engine::pca::shard_times(rows, mean, w).map_err(engine_error)?;
    Ok(row_major(out.as_ref()))
}

/// One shard's part of `X^T Q`: `(X_i - 1 mean^T)^T Q_i` for its rows `Q_i` (row-major
/// `n_i x l`), row-major `d x l`; the shards' parts add up to the whole.
pub fn shard_t_times(rows: &MemoryRows<'_>, mean: &[f64], q: &[f64], l: usize) -> Result<Vec<f64>> {
    check_len("q", q, rows.nrows(), l)?;
    let q = MatRef::from_row_major_slice(q, rows.nrows(), l);
    let out = crate::engine::pca::shard_t_times(rows, mean, q).map_err(engine_error)?;
    Ok(row_major(out.as_ref()))
}

/// `prev` (or zeros) plus columns `lo..hi` of the shard's centred scatter `(X_i - 1
/// mean^T)^T (X_i - 1 mean^T)`, in float64: row-major `d x (hi - lo)`, the shard read
/// `block` rows at a time (0: about 64 MiB). Chained over a worker's shards, it sums the
/// exact method's covariance one column tile at a time; the task holds `prev`, the new
/// tile and one block.
pub fn shard_covariance_tile(
    rows: &MemoryRows<'_>,
    mean: &[f64],
    lo: usize,
    hi: usize,
    block: usize,
    prev: Option<&[f64]>,
) -> Result<Vec<f64>> {
    let d = rows.ncols();
    let width = hi.saturating_sub(lo);
    let mut tile = match prev {
        Some(p) => {
            check_len("prev", p, d, width)?;
            p.to_vec()
        }
        None => vec![0.0; d * width],
    };
    let view = faer::MatMut::from_row_major_slice_mut(&mut tile, d, width);
    crate::engine::pca::add_shard_covariance_tile(view, rows, mean, lo, hi, block)
        .map_err(engine_error)?;
    Ok(tile)
}
