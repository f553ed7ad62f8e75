//! Column means and the total variance, and the centred data: streamed block by block
//! from the source or held in memory.

use faer::{Mat, MatRef};
use rayon::prelude::*;

use super::{PcaError, RowSource, Rows, Scalar};

/// Column statistics from the first pass over the data.
#[derive(Clone, Debug)]
pub struct ColumnStats {
    /// Column means.
    pub mean: Vec<f64>,
    /// Sum over columns of the sample variance (n - 1 denominator).
    pub total_variance: f64,
    /// Rows that were dropped as non-finite (0-based, in the source's numbering).
    pub dropped_rows: Vec<usize>,
    /// Rows kept.
    pub rows: usize,
}

/// One pass: column means and the total variance, with rows holding NaN or infinity
/// dropped (or reported).
pub fn column_stats(
    source: &dyn RowSource,
    block: usize,
    drop_nonfinite: bool,
) -> Result<ColumnStats, PcaError> {
    let d = source.ncols();
    // Sums are shifted by the first finite row so that large offsets do not cancel.
    let mut shift: Option<Vec<f64>> = None;
    let mut sum = vec![0f64; d];
    let mut sum_sq = vec![0f64; d];
    let mut dropped = Vec::new();
    let mut rows = 0usize;
    source.visit(block, &mut |start, values| {
        stop_if_asked()?;
        let r = values.len() / d;
        for i in 0..r {
            let base = i * d;
            if let Some(col) = (0..d).find(|&j| !values.get(base + j).is_finite()) {
                if drop_nonfinite {
                    dropped.push(start + i);
                    continue;
                }
                return Err(PcaError::NonFinite {
                    row: start + i,
                    col,
                });
            }
            let sh = shift.get_or_insert_with(|| (0..d).map(|j| values.get(base + j)).collect());
            for j in 0..d {
                let v = values.get(base + j) - sh[j];
                sum[j] += v;
                sum_sq[j] += v * v;
            }
            rows += 1;
        }
        Ok(())
    })?;
    let shift = shift.unwrap_or_else(|| vec![0.0; d]);
    let nf = rows as f64;
    let mut total = 0.0;
    let mean = (0..d)
        .map(|j| {
            if rows == 0 {
                return 0.0;
            }
            let m = sum[j] / nf;
            if rows > 1 {
                total += ((sum_sq[j] - nf * m * m) / (nf - 1.0)).max(0.0);
            }
            shift[j] + m
        })
        .collect();
    Ok(ColumnStats {
        mean,
        total_variance: total,
        dropped_rows: dropped,
        rows,
    })
}

/// Called with (first row, centred block) on every pass.
pub(crate) type BlockVisitor<'a, T> = dyn FnMut(usize, MatRef<'_, T>) -> Result<(), PcaError> + 'a;

/// Visit the kept rows, centred and converted to `T`, as row-major blocks viewed as faer
/// matrices: `f(first_kept_row, block)`.
pub(crate) fn for_each_centred<T: Scalar>(
    source: &dyn RowSource,
    stats: &ColumnStats,
    block: usize,
    f: &mut BlockVisitor<'_, T>,
) -> Result<(), PcaError> {
    let d = source.ncols();
    // Centred in float64, then rounded: float32 rows far from zero keep the precision
    // of their deviations, not that of a rounded mean.
    let mean = &stats.mean;
    let mut buf: Vec<T> = Vec::new();
    let mut dropped = stats.dropped_rows.iter().copied().peekable();
    let mut kept = 0usize;
    source.visit(block, &mut |start, values| {
        stop_if_asked()?;
        let r = values.len() / d;
        let mut keep = Vec::with_capacity(r);
        for i in 0..r {
            if dropped.peek() == Some(&(start + i)) {
                dropped.next();
            } else {
                keep.push(i);
            }
        }
        buf.resize(keep.len() * d, T::of(0.0));
        buf.par_chunks_mut(d).zip(&keep).for_each(|(out, &i)| {
            let base = i * d;
            match values {
                Rows::F32(v) => {
                    for ((o, &x), &m) in out.iter_mut().zip(&v[base..base + d]).zip(mean) {
                        *o = T::of(x as f64 - m);
                    }
                }
                Rows::F64(v) => {
                    for ((o, &x), &m) in out.iter_mut().zip(&v[base..base + d]).zip(mean) {
                        *o = T::of(x - m);
                    }
                }
            }
        });
        if keep.is_empty() {
            return Ok(());
        }
        let m = MatRef::from_row_major_slice(&buf, keep.len(), d);
        f(kept, m)?;
        kept += keep.len();
        Ok(())
    })
}

/// The centred data: held in memory (one copy) or streamed from its source on every
/// pass.
pub(crate) enum Data<'a, T: Scalar> {
    Memory(Vec<T>, usize, usize),
    Streamed(&'a dyn RowSource, ColumnStats, usize),
    /// Known only through its products (float64; the randomized method only).
    Operator(&'a dyn super::CentredProducts),
}

fn to_f64<T: Scalar>(m: MatRef<'_, T>) -> Mat<f64> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)].f64())
}

fn of_f64<T: Scalar>(m: Mat<f64>) -> Mat<T> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| T::of(m[(i, j)]))
}

impl<T: Scalar> Data<'_, T> {
    pub(crate) fn shape(&self) -> (usize, usize) {
        match self {
            Data::Memory(_, n, d) => (*n, *d),
            Data::Streamed(s, st, _) => (st.rows, s.ncols()),
            Data::Operator(op) => op.shape(),
        }
    }

    /// Visit centred row blocks.
    pub(crate) fn for_each(&self, f: &mut BlockVisitor<'_, T>) -> Result<(), PcaError> {
        match self {
            Data::Memory(x, n, d) => {
                // Every pass of the randomized method: a place to stop when asked.
                stop_if_asked()?;
                f(0, MatRef::from_row_major_slice(x, *n, *d))
            }
            Data::Streamed(src, stats, block) => for_each_centred::<T>(*src, stats, *block, f),
            Data::Operator(_) => Err(PcaError::Source(
                "an operator gives products, not rows".into(),
            )),
        }
    }

    /// `X W` for `W` of shape d x l.
    pub(crate) fn times(&self, w: MatRef<'_, T>) -> Result<Mat<T>, PcaError> {
        if let Data::Operator(op) = self {
            stop_if_asked()?;
            return Ok(of_f64(op.times(to_f64(w).as_ref())?));
        }
        let (n, _) = self.shape();
        let mut out = Mat::<T>::zeros(n, w.ncols());
        self.for_each(&mut |start, b| {
            let rows = out.as_mut().subrows_mut(start, b.nrows());
            faer::linalg::matmul::matmul(
                rows,
                faer::Accum::Replace,
                b,
                w,
                T::of(1.0),
                faer::get_global_parallelism(),
            );
            Ok(())
        })?;
        Ok(out)
    }

    /// `X^T Q` for `Q` of shape n x l.
    pub(crate) fn t_times(&self, q: MatRef<'_, T>) -> Result<Mat<T>, PcaError> {
        if let Data::Operator(op) = self {
            stop_if_asked()?;
            return Ok(of_f64(op.t_times(to_f64(q).as_ref())?));
        }
        let (_, d) = self.shape();
        let mut out = Mat::<T>::zeros(d, q.ncols());
        self.for_each(&mut |start, b| {
            faer::linalg::matmul::matmul(
                out.as_mut(),
                faer::Accum::Add,
                b.transpose(),
                q.subrows(start, b.nrows()),
                T::of(1.0),
                faer::get_global_parallelism(),
            );
            Ok(())
        })?;
        Ok(out)
    }
}

/// Read every row once into memory as `T`, then compute the column statistics from the
/// copy, drop non-finite rows and centre in place: one pass over the source.
pub(super) fn load_centred<T: Scalar>(
    source: &dyn RowSource,
    block: usize,
    drop_nonfinite: bool,
) -> Result<(Vec<T>, ColumnStats), PcaError> {
    let (n, d) = (source.nrows(), source.ncols());
    let mut x: Vec<T> = Vec::with_capacity(n * d);
    source.visit(block, &mut |_, values| {
        stop_if_asked()?;
        let at = x.len();
        x.resize(at + values.len(), T::of(0.0));
        let dst = &mut x[at..];
        match values {
            Rows::F32(v) => dst
                .par_chunks_mut(1 << 16)
                .zip(v.par_chunks(1 << 16))
                .for_each(|(o, i)| o.iter_mut().zip(i).for_each(|(o, &i)| *o = T::of(i as f64))),
            Rows::F64(v) => dst
                .par_chunks_mut(1 << 16)
                .zip(v.par_chunks(1 << 16))
                .for_each(|(o, i)| o.iter_mut().zip(i).for_each(|(o, &i)| *o = T::of(i))),
        }
        Ok(())
    })?;
    // Non-finite rows: report the first, or squeeze them out.
    let bad: Vec<(usize, usize)> = x
        .par_chunks(d)
        .enumerate()
        .filter_map(|(i, r)| r.iter().position(|v| !v.f64().is_finite()).map(|c| (i, c)))
        .collect();
    if let Some(&(row, col)) = bad.first() {
        if !drop_nonfinite {
            return Err(PcaError::NonFinite { row, col });
        }
        let mut w = 0;
        let mut skip = bad.iter().map(|b| b.0).peekable();
        for r in 0..n {
            if skip.peek() == Some(&r) {
                skip.next();
                continue;
            }
            if w != r {
                x.copy_within(r * d..(r + 1) * d, w * d);
            }
            w += 1;
        }
        x.truncate(w * d);
    }
    let rows = x.len() / d.max(1);
    let stats = stats_of_memory(&x, rows, d, bad.iter().map(|b| b.0).collect());
    // Centred in float64, then rounded (as `for_each_centred`).
    let mean = &stats.mean;
    x.par_chunks_mut(d).for_each(|r| {
        for (v, &m) in r.iter_mut().zip(mean) {
            *v = T::of(v.f64() - m);
        }
    });
    Ok((x, stats))
}

/// Column means and total variance of a row-major matrix in memory (two passes, in
/// float64, parallel over column stripes).
fn stats_of_memory<T: Scalar>(x: &[T], rows: usize, d: usize, dropped: Vec<usize>) -> ColumnStats {
    const STRIPE: usize = 256;
    let per_stripe: Vec<(Vec<f64>, f64)> = (0..d.div_ceil(STRIPE))
        .into_par_iter()
        .map(|s| {
            let (a, b) = (s * STRIPE, ((s + 1) * STRIPE).min(d));
            let mut sum = vec![0f64; b - a];
            for r in 0..rows {
                for (acc, v) in sum.iter_mut().zip(&x[r * d + a..r * d + b]) {
                    *acc += v.f64();
                }
            }
            let mean: Vec<f64> = sum.iter().map(|s| s / rows.max(1) as f64).collect();
            let mut ss = 0f64;
            for r in 0..rows {
                for (m, v) in mean.iter().zip(&x[r * d + a..r * d + b]) {
                    let c = v.f64() - m;
                    ss += c * c;
                }
            }
            (mean, ss)
        })
        .collect();
    let mut mean = Vec::with_capacity(d);
    let mut total = 0.0;
    for (m, ss) in per_stripe {
        mean.extend(m);
        total += ss;
    }
    ColumnStats {
        mean,
        total_variance: if rows > 1 {
            total / (rows - 1) as f64
        } else {
            0.0
        },
        dropped_rows: dropped,
        rows,
    }
}

/// Every pass over the rows stops between blocks when asked to ([`crate::interrupt`]).
pub(super) fn stop_if_asked() -> Result<(), PcaError> {
    if crate::interrupt::requested() {
        Err(PcaError::Interrupted)
    } else {
        Ok(())
    }
}
