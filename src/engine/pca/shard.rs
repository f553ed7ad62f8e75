//! Products of one shard of a larger matrix, centred about the whole matrix's column
//! means: what a cluster worker computes for [`super::RemoteRows`] and for the exact
//! method's covariance. Each block of rows is centred into a scratch buffer before it is
//! multiplied (never `X W - 1 (mean W)`, which cancels badly when the means are large
//! against the spread); float32 rows are multiplied in float32, as the single-machine
//! path does, and the blocks' results are summed in float64.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, get_global_parallelism};

use super::{ColumnStats, PcaError, RowSource, Scalar, for_each_centred};

/// Scratch for one centred block: about 64 MiB, and at least one row.
fn block_rows(d: usize, bytes_per_value: usize) -> usize {
    ((64usize << 20) / (d.max(1) * bytes_per_value)).max(1)
}

fn stats_of(rows: &dyn RowSource, mean: &[f64]) -> Result<ColumnStats, PcaError> {
    if mean.len() != rows.ncols() {
        return Err(PcaError::Shape {
            expected: format!("{} column means", rows.ncols()),
            actual: format!("{}", mean.len()),
        });
    }
    Ok(ColumnStats {
        mean: mean.to_vec(),
        total_variance: 0.0,
        dropped_rows: Vec::new(),
        rows: rows.nrows(),
    })
}

fn check_rows(what: &str, m: MatRef<'_, f64>, rows: usize) -> Result<(), PcaError> {
    if m.nrows() != rows {
        return Err(PcaError::Shape {
            expected: format!("{what} with {rows} rows"),
            actual: format!("{} x {}", m.nrows(), m.ncols()),
        });
    }
    Ok(())
}

/// One shard's column statistics, read about 64 MiB of float64 at a time, as
/// [`super::column_stats`] computes them on one machine; a non-finite value is an error
/// naming its row and column. Shards combine exactly: the total centred sum of squares
/// of two parts is theirs plus `|mean_a - mean_b|^2 n_a n_b / (n_a + n_b)`.
pub fn shard_column_stats(rows: &dyn RowSource) -> Result<ColumnStats, PcaError> {
    super::column_stats(rows, block_rows(rows.ncols(), 8), false)
}

/// `(X_i - 1 mean^T) W` for a shard `X_i` (`n_i x d`) and `W` (`d x l`): `n_i x l`.
pub fn shard_times(
    rows: &dyn RowSource,
    mean: &[f64],
    w: MatRef<'_, f64>,
) -> Result<Mat<f64>, PcaError> {
    check_rows("W", w, rows.ncols())?;
    if rows.is_f64() {
        times_in::<f64>(rows, mean, w)
    } else {
        times_in::<f32>(rows, mean, w)
    }
}

fn times_in<T: Scalar>(
    rows: &dyn RowSource,
    mean: &[f64],
    w: MatRef<'_, f64>,
) -> Result<Mat<f64>, PcaError> {
    let stats = stats_of(rows, mean)?;
    let (n, d, l) = (rows.nrows(), rows.ncols(), w.ncols());
    let w_t = Mat::<T>::from_fn(d, l, |i, j| T::of(w[(i, j)]));
    let mut out = Mat::<f64>::zeros(n, l);
    let mut part = Mat::<T>::zeros(0, l);
    let par = get_global_parallelism();
    let block = block_rows(d, size_of::<T>());
    for_each_centred::<T>(rows, &stats, block, &mut |start, b| {
        part.resize_with(b.nrows(), l, |_, _| T::of(0.0));
        matmul(
            part.as_mut(),
            Accum::Replace,
            b,
            w_t.as_ref(),
            T::of(1.0),
            par,
        );
        for j in 0..l {
            for i in 0..b.nrows() {
                out[(start + i, j)] = part[(i, j)].f64();
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// `(X_i - 1 mean^T)^T Q_i` for a shard `X_i` (`n_i x d`) and its rows `Q_i` of `Q`
/// (`n_i x l`): `d x l`, to be summed over the shards.
pub fn shard_t_times(
    rows: &dyn RowSource,
    mean: &[f64],
    q: MatRef<'_, f64>,
) -> Result<Mat<f64>, PcaError> {
    check_rows("Q", q, rows.nrows())?;
    if rows.is_f64() {
        t_times_in::<f64>(rows, mean, q)
    } else {
        t_times_in::<f32>(rows, mean, q)
    }
}

fn t_times_in<T: Scalar>(
    rows: &dyn RowSource,
    mean: &[f64],
    q: MatRef<'_, f64>,
) -> Result<Mat<f64>, PcaError> {
    let stats = stats_of(rows, mean)?;
    let (d, l) = (rows.ncols(), q.ncols());
    let mut out = Mat::<f64>::zeros(d, l);
    let mut part = Mat::<T>::zeros(d, l);
    let mut q_block = Mat::<T>::zeros(0, l);
    let par = get_global_parallelism();
    let block = block_rows(d, size_of::<T>());
    for_each_centred::<T>(rows, &stats, block, &mut |start, b| {
        let r = b.nrows();
        q_block.resize_with(r, l, |_, _| T::of(0.0));
        for j in 0..l {
            for i in 0..r {
                q_block[(i, j)] = T::of(q[(start + i, j)]);
            }
        }
        matmul(
            part.as_mut(),
            Accum::Replace,
            b.transpose(),
            q_block.as_ref(),
            T::of(1.0),
            par,
        );
        for j in 0..l {
            for i in 0..d {
                out[(i, j)] += part[(i, j)].f64();
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Add columns `lo..hi` of `(X_i - 1 mean^T)^T (X_i - 1 mean^T)` to `tile` (`d x (hi -
/// lo)`), in float64 whatever the shard's precision: the exact method's covariance,
/// summed over shards a tile at a time. The shard is read `block` rows at a time (0:
/// about 64 MiB of float64), so that a memory plan can bound the scratch.
pub fn add_shard_covariance_tile(
    mut tile: MatMut<'_, f64>,
    rows: &dyn RowSource,
    mean: &[f64],
    lo: usize,
    hi: usize,
    block: usize,
) -> Result<(), PcaError> {
    let d = rows.ncols();
    if lo >= hi || hi > d || tile.nrows() != d || tile.ncols() != hi - lo {
        return Err(PcaError::Shape {
            expected: format!("a tile of {d} rows and columns lo..hi within 0..{d}"),
            actual: format!("{} x {} for columns {lo}..{hi}", tile.nrows(), tile.ncols()),
        });
    }
    let stats = stats_of(rows, mean)?;
    let par = get_global_parallelism();
    let block = if block == 0 {
        block_rows(d, size_of::<f64>())
    } else {
        block
    };
    for_each_centred::<f64>(rows, &stats, block, &mut |_, b| {
        matmul(
            tile.as_mut(),
            Accum::Add,
            b.transpose(),
            b.subcols(lo, hi - lo),
            1.0,
            par,
        );
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Rng;
    use crate::engine::pca::MemoryRows;

    /// A shard whose columns sit far from zero (means of 1e3 against a spread of 1):
    /// products of the uncentred rows minus `mean W` would lose about 3 digits of
    /// float32 here.
    fn shard(n: usize, d: usize, seed: u64) -> (Vec<f32>, Vec<f64>) {
        let mut rng = Rng::new(seed);
        let offsets: Vec<f64> = (0..d).map(|j| 1000.0 + j as f64).collect();
        let x: Vec<f32> = (0..n * d)
            .map(|i| (offsets[i % d] + rng.normal()) as f32)
            .collect();
        // The whole matrix's means differ from this shard's: a little off the offsets.
        let mean: Vec<f64> = offsets.iter().map(|m| m + 0.25).collect();
        (x, mean)
    }

    fn centred(x: &[f32], mean: &[f64], n: usize, d: usize) -> Mat<f64> {
        Mat::from_fn(n, d, |i, j| x[i * d + j] as f64 - mean[j])
    }

    fn product(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
        let mut out = Mat::zeros(a.nrows(), b.ncols());
        matmul(out.as_mut(), Accum::Replace, a, b, 1.0, faer::Par::Seq);
        out
    }

    fn max_abs(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
        let mut m = 0.0f64;
        for j in 0..a.ncols() {
            for i in 0..a.nrows() {
                m = m.max((a[(i, j)] - b[(i, j)]).abs());
            }
        }
        m
    }

    #[test]
    fn products_equal_float64_products_of_the_centred_rows() {
        let (n, d, l) = (37, 11, 5);
        let (x, mean) = shard(n, d, 3);
        let rows = MemoryRows::f32(&x, n, d).unwrap();
        let c = centred(&x, &mean, n, d);
        let mut rng = Rng::new(4);
        let w = Mat::<f64>::from_fn(d, l, |_, _| rng.normal());
        let q = Mat::<f64>::from_fn(n, l, |_, _| rng.normal());
        let xw = shard_times(&rows, &mean, w.as_ref()).unwrap();
        let xtq = shard_t_times(&rows, &mean, q.as_ref()).unwrap();
        let xw_ref = product(c.as_ref(), w.as_ref());
        let xtq_ref = product(c.transpose(), q.as_ref());
        // float32 products of centred values of about 1: errors about 1e-7 of sqrt(d)
        // (rounding the uncentred rows, or the mean, would give about 1e-4).
        assert!(max_abs(xw.as_ref(), xw_ref.as_ref()) < 1e-5);
        assert!(max_abs(xtq.as_ref(), xtq_ref.as_ref()) < 1e-5);
        // float64 rows give float64 products.
        let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let rows64 = MemoryRows::f64(&x64, n, d).unwrap();
        let xw64 = shard_times(&rows64, &mean, w.as_ref()).unwrap();
        assert!(max_abs(xw64.as_ref(), xw_ref.as_ref()) < 1e-10);
    }

    #[test]
    fn covariance_tiles_add_up_to_the_covariance() {
        let (n, d) = (29, 9);
        let (x, mean) = shard(n, d, 5);
        let rows = MemoryRows::f32(&x, n, d).unwrap();
        let c = centred(&x, &mean, n, d);
        let full = product(c.transpose(), c.as_ref());
        let mut tiles = Mat::<f64>::zeros(d, d);
        for (lo, hi) in [(0, 4), (4, 8), (8, 9)] {
            let mut tile = Mat::<f64>::zeros(d, hi - lo);
            add_shard_covariance_tile(tile.as_mut(), &rows, &mean, lo, hi, 0).unwrap();
            // Adding a second time, in blocks of 4 rows, doubles: the tile accumulates.
            add_shard_covariance_tile(tile.as_mut(), &rows, &mean, lo, hi, 4).unwrap();
            for j in 0..hi - lo {
                for i in 0..d {
                    tiles[(i, lo + j)] = tile[(i, j)] / 2.0;
                }
            }
        }
        assert!(max_abs(tiles.as_ref(), full.as_ref()) < 1e-9);
    }

    #[test]
    fn wrong_shapes_are_refused() {
        let (x, mean) = shard(4, 3, 1);
        let rows = MemoryRows::f32(&x, 4, 3).unwrap();
        assert!(shard_times(&rows, &mean, Mat::<f64>::zeros(2, 2).as_ref()).is_err());
        assert!(shard_t_times(&rows, &mean, Mat::<f64>::zeros(3, 2).as_ref()).is_err());
        assert!(shard_times(&rows, &mean[..2], Mat::<f64>::zeros(3, 2).as_ref()).is_err());
        let mut tile = Mat::<f64>::zeros(3, 2);
        assert!(add_shard_covariance_tile(tile.as_mut(), &rows, &mean, 2, 4, 0).is_err());
        assert!(add_shard_covariance_tile(tile.as_mut(), &rows, &mean, 1, 2, 0).is_err());
    }
}
