//! Correlation matrices of the columns of a data matrix, and feature orderings that make
//! their structure visible: average-linkage clustering on `1 - |C|` with optimal leaf
//! ordering (Bar-Joseph, Gifford & Jaakkola 2001), or a spectral ordering.
//!
//! ```
//! use eigentechno::engine::corr::{pearson, order, Ordering};
//! use eigentechno::engine::pca::MemoryRows;
//! // Columns 0 and 2 move together, column 1 against them.
//! let x = [1.0f64, -1.0, 2.0, 2.0, -2.1, 4.1, 3.0, -2.9, 6.0, 4.0, -4.2, 7.9];
//! let c = pearson(&MemoryRows::f64(&x, 4, 3).unwrap()).unwrap();
//! assert!(c.get(0, 2) > 0.99 && c.get(0, 1) < -0.99);
//! let o = order(&c, Ordering::Cluster);
//! assert_eq!(o.len(), 3);
//! ```

use faer::{Accum, Mat, Side};

use super::pca::{PcaError, RowSource, column_stats, for_each_centred};

/// A `d x d` correlation matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct CorrMatrix {
    /// Features.
    pub d: usize,
    /// Row-major values; rows and columns of constant features are NaN.
    pub values: Vec<f64>,
    /// Features with zero variance (their correlation is undefined).
    pub constant: Vec<usize>,
}

impl CorrMatrix {
    /// `C[i, j]`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.values[i * self.d + j]
    }

    /// The off-diagonal values that are defined.
    pub fn off_diagonal(&self) -> Vec<f64> {
        let mut v = Vec::with_capacity(self.d * self.d);
        for i in 0..self.d {
            for j in 0..self.d {
                let c = self.get(i, j);
                if i != j && c.is_finite() {
                    v.push(c);
                }
            }
        }
        v
    }

    /// The same matrix with rows and columns taken in `order`.
    pub fn permuted(&self, order: &[usize]) -> CorrMatrix {
        let d = order.len();
        let mut values = Vec::with_capacity(d * d);
        for &i in order {
            for &j in order {
                values.push(self.get(i, j));
            }
        }
        CorrMatrix {
            d,
            values,
            constant: order
                .iter()
                .enumerate()
                .filter(|(_, o)| self.constant.contains(o))
                .map(|(i, _)| i)
                .collect(),
        }
    }
}

/// Pearson correlation of the columns of `source` (as `numpy.corrcoef(X, rowvar=False)`),
/// from the covariance accumulated in float64 while the rows stream past.
pub fn pearson(source: &dyn RowSource) -> Result<CorrMatrix, PcaError> {
    let d = source.ncols();
    let block = ((16 << 20) / (d.max(1) * 8)).max(1);
    let stats = column_stats(source, block, false)?;
    if stats.rows < 2 {
        return Err(PcaError::TooFewRows { rows: stats.rows });
    }
    let mut cov = Mat::<f64>::zeros(d, d);
    for_each_centred::<f64>(source, &stats, block, &mut |_, x| {
        faer::linalg::matmul::matmul(
            cov.as_mut(),
            Accum::Add,
            x.transpose(),
            x,
            1.0,
            faer::get_global_parallelism(),
        );
        Ok(())
    })?;
    let sd: Vec<f64> = (0..d).map(|i| cov[(i, i)].max(0.0).sqrt()).collect();
    let scale = sd.iter().copied().fold(0.0, f64::max);
    let constant: Vec<usize> = (0..d)
        .filter(|&i| sd[i] <= 1e-12 * scale.max(1e-300))
        .collect();
    let mut values = vec![0f64; d * d];
    for i in 0..d {
        for j in 0..d {
            values[i * d + j] = if constant.contains(&i) || constant.contains(&j) {
                f64::NAN
            } else if i == j {
                1.0
            } else {
                (cov[(i, j)] / (sd[i] * sd[j])).clamp(-1.0, 1.0)
            };
        }
    }
    Ok(CorrMatrix {
        d,
        values,
        constant,
    })
}

/// How to order the features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ordering {
    /// As given.
    None,
    /// Average-linkage clustering on `1 - |C|`, leaves in optimal order.
    Cluster,
    /// By the leading non-trivial eigenvector of the normalised affinity `|C|`
    /// (spectral seriation), applied recursively to each side of its sign.
    Eigen,
}

fn affinity(c: &CorrMatrix, i: usize, j: usize) -> f64 {
    let v = c.get(i, j).abs();
    if v.is_finite() { v } else { 0.0 }
}

/// A feature order (indices of the input columns).
pub fn order(c: &CorrMatrix, how: Ordering) -> Vec<usize> {
    match how {
        Ordering::None => (0..c.d).collect(),
        Ordering::Cluster => cluster_order(c),
        Ordering::Eigen => spectral_order(c),
    }
}

fn spectral_order(c: &CorrMatrix) -> Vec<usize> {
    spectral_part(c, (0..c.d).collect())
}

/// The features of `part` sorted by the leading non-trivial eigenvector of their
/// normalised affinity `D^-1/2 |C| D^-1/2` (the relaxed normalised cut); each side of
/// its sign is ordered the same way, recursively, so that several blocks each come out
/// contiguous (one eigenvector alone can give two blocks the same values).
fn spectral_part(c: &CorrMatrix, part: Vec<usize>) -> Vec<usize> {
    let d = part.len();
    if d < 3 {
        return part;
    }
    let deg: Vec<f64> = part
        .iter()
        .map(|&i| {
            part.iter()
                .map(|&j| affinity(c, i, j))
                .sum::<f64>()
                .max(1e-12)
        })
        .collect();
    let a = Mat::<f64>::from_fn(d, d, |x, y| {
        affinity(c, part[x], part[y]) / (deg[x] * deg[y]).sqrt()
    });
    let Ok(eig) = a.self_adjoint_eigen(Side::Lower) else {
        return part;
    };
    // A part with no internal split (one block) has a second eigenvalue well below 1.
    let lam = eig.S().column_vector();
    let u = eig.U();
    let key: Vec<f64> = (0..d).map(|x| u[(x, d - 2)] / deg[x].sqrt()).collect();
    let mut idx: Vec<usize> = (0..d).collect();
    idx.sort_by(|&x, &y| key[x].total_cmp(&key[y]).then(x.cmp(&y)));
    let sorted: Vec<usize> = idx.iter().map(|&x| part[x]).collect();
    if lam[d - 2] < 0.5 {
        return sorted;
    }
    let split = idx.iter().position(|&x| key[x] >= 0.0).unwrap_or(d);
    if split == 0 || split == d {
        return sorted;
    }
    let left = spectral_part(c, sorted[..split].to_vec());
    let right = spectral_part(c, sorted[split..].to_vec());
    // Join the two halves at their most similar ends.
    let ends = |v: &[usize]| (v[0], v[v.len() - 1]);
    let ((l0, l1), (r0, r1)) = (ends(&left), ends(&right));
    let options = [
        (affinity(c, l1, r0), false, false),
        (affinity(c, l1, r1), false, true),
        (affinity(c, l0, r0), true, false),
        (affinity(c, l0, r1), true, true),
    ];
    let best = options
        .iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .expect("four options");
    let mut out: Vec<usize> = if best.1 {
        left.into_iter().rev().collect()
    } else {
        left
    };
    if best.2 {
        out.extend(right.into_iter().rev());
    } else {
        out.extend(right);
    }
    out
}

/// A binary merge tree: leaves `0..n`, internal node `n + m` is merge `m`.
struct Tree {
    n: usize,
    children: Vec<(usize, usize)>,
    leaves: Vec<Vec<usize>>,
}

fn average_linkage(dist: &[f64], n: usize) -> Tree {
    // Naive O(n^3) agglomeration: fine for the feature counts heatmaps are drawn for.
    let mut active: Vec<usize> = (0..n).collect();
    let mut leaves: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    let mut d = dist.to_vec();
    let mut size = vec![1usize; n];
    let mut node_of: Vec<usize> = (0..n).collect();
    let mut children = Vec::with_capacity(n.saturating_sub(1));
    while active.len() > 1 {
        let (mut best, mut bi, mut bj) = (f64::INFINITY, 0, 1);
        for (x, &i) in active.iter().enumerate() {
            for &j in &active[x + 1..] {
                if d[i * n + j] < best {
                    (best, bi, bj) = (d[i * n + j], i, j);
                }
            }
        }
        // Merge bj into bi (slots); the cluster keeps slot bi.
        for &k in &active {
            if k != bi && k != bj {
                let v = (d[bi * n + k] * size[bi] as f64 + d[bj * n + k] * size[bj] as f64)
                    / (size[bi] + size[bj]) as f64;
                d[bi * n + k] = v;
                d[k * n + bi] = v;
            }
        }
        size[bi] += size[bj];
        let node = n + children.len();
        children.push((node_of[bi], node_of[bj]));
        let mut l = leaves[node_of[bi]].clone();
        l.extend(leaves[node_of[bj]].iter().copied());
        leaves.push(l);
        node_of[bi] = node;
        active.retain(|&k| k != bj);
    }
    Tree {
        n,
        children,
        leaves,
    }
}

fn cluster_order(c: &CorrMatrix) -> Vec<usize> {
    let n = c.d;
    if n < 3 {
        return (0..n).collect();
    }
    let dist: Vec<f64> = (0..n * n)
        .map(|k| {
            if k / n == k % n {
                0.0
            } else {
                1.0 - affinity(c, k / n, k % n)
            }
        })
        .collect();
    order_by_distance(&dist, n)
}

/// An order of `n` items by their `n x n` distances (row-major, symmetric): average
/// linkage with optimal leaf order, as [`Ordering::Cluster`] orders correlations.
pub fn order_by_distance(dist: &[f64], n: usize) -> Vec<usize> {
    if n < 3 {
        return (0..n).collect();
    }
    let tree = average_linkage(dist, n);
    optimal_leaf_order(&tree, dist)
}

/// Bar-Joseph et al.'s dynamic programme: among the 2^(n-1) orders the tree allows,
/// the one with the least total distance between neighbouring leaves. `m[i][j]` is the
/// best cost of the subtree at the lowest common ancestor of leaves i and j, with i at
/// its left end and j at its right end (each pair has one such subtree).
fn optimal_leaf_order(tree: &Tree, dist: &[f64]) -> Vec<usize> {
    let n = tree.n;
    let mut m = vec![0f64; n * n];
    // For the ordered pair (i left, j right): the inner ends (k, l) that achieved it.
    let mut via = vec![(usize::MAX, usize::MAX); n * n];
    let kids = |v: usize| -> Option<(usize, usize)> { (v >= n).then(|| tree.children[v - n]) };
    // The leaves that can sit at the far end of subtree `v` when `i` sits at one end.
    let far_side = |v: usize, i: usize| -> &[usize] {
        match kids(v) {
            None => &tree.leaves[v],
            Some((a, b)) => {
                if tree.leaves[a].contains(&i) {
                    &tree.leaves[b]
                } else {
                    &tree.leaves[a]
                }
            }
        }
    };
    for (step, &(l, r)) in tree.children.iter().enumerate() {
        let _v = n + step;
        for &i in &tree.leaves[l] {
            // best_to[m] = min over k at L's far side from i of m[i][k] + dist[k][m].
            let mut best_to = vec![(f64::INFINITY, usize::MAX); n];
            for &mm in &tree.leaves[r] {
                for &k in far_side(l, i) {
                    let cost = if k == i { 0.0 } else { m[i * n + k] } + dist[k * n + mm];
                    if cost < best_to[mm].0 {
                        best_to[mm] = (cost, k);
                    }
                }
            }
            for &j in &tree.leaves[r] {
                let (mut best, mut arg) = (f64::INFINITY, (usize::MAX, usize::MAX));
                for &mm in far_side(r, j) {
                    let cost = best_to[mm].0 + if mm == j { 0.0 } else { m[mm * n + j] };
                    if cost < best {
                        best = cost;
                        arg = (best_to[mm].1, mm);
                    }
                }
                m[i * n + j] = best;
                m[j * n + i] = best;
                via[i * n + j] = arg;
                via[j * n + i] = (arg.1, arg.0);
            }
        }
    }
    let root = n + tree.children.len() - 1;
    let (l, r) = tree.children[root - n];
    let mut best = (f64::INFINITY, 0, 0);
    for &i in &tree.leaves[l] {
        for &j in &tree.leaves[r] {
            if m[i * n + j] < best.0 {
                best = (m[i * n + j], i, j);
            }
        }
    }
    let mut out = Vec::with_capacity(n);
    emit(best.1, best.2, n, &via, &mut out);
    out
}

/// Leaves from `i` to `j` (the subtree at their lowest common ancestor), in order.
fn emit(i: usize, j: usize, n: usize, via: &[(usize, usize)], out: &mut Vec<usize>) {
    if i == j {
        out.push(i);
        return;
    }
    let (k, l) = via[i * n + j];
    emit(i, k, n, via, out);
    emit(l, j, n, via, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Rng;
    use crate::engine::pca::MemoryRows;

    /// Four blocks of features, each driven by its own latent signal, randomly permuted.
    fn blocks(seed: u64) -> (CorrMatrix, Vec<usize>) {
        let (n, sizes) = (400, [5usize, 8, 3, 6]);
        let d: usize = sizes.iter().sum();
        let mut rng = Rng::new(seed);
        let mut perm: Vec<usize> = (0..d).collect();
        for i in (1..d).rev() {
            perm.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut block_of = Vec::new();
        for (b, &s) in sizes.iter().enumerate() {
            block_of.extend(std::iter::repeat_n(b, s));
        }
        let mut x = vec![0f64; n * d];
        for r in 0..n {
            let latent: Vec<f64> = (0..4).map(|_| rng.normal()).collect();
            for (col, &f) in perm.iter().enumerate() {
                let sign = if f % 3 == 0 { -1.0 } else { 1.0 };
                x[r * d + col] = sign * latent[block_of[f]] + 0.6 * rng.normal();
            }
        }
        let c = pearson(&MemoryRows::f64(&x, n, d).unwrap()).unwrap();
        let block_of_col = perm.iter().map(|&f| block_of[f]).collect();
        (c, block_of_col)
    }

    fn contiguous(order: &[usize], block_of_col: &[usize]) -> bool {
        let seq: Vec<usize> = order.iter().map(|&c| block_of_col[c]).collect();
        let mut seen = Vec::new();
        for (i, b) in seq.iter().enumerate() {
            if i == 0 || seq[i - 1] != *b {
                if seen.contains(b) {
                    return false;
                }
                seen.push(*b);
            }
        }
        true
    }

    #[test]
    fn cluster_and_eigen_orders_make_permuted_blocks_contiguous() {
        for seed in 0..5 {
            let (c, blocks) = blocks(seed);
            let none = order(&c, Ordering::None);
            assert!(
                !contiguous(&none, &blocks) || seed > 0,
                "the shuffle mixes the blocks"
            );
            for how in [Ordering::Cluster, Ordering::Eigen] {
                let o = order(&c, how);
                let mut sorted = o.clone();
                sorted.sort();
                assert_eq!(sorted, (0..c.d).collect::<Vec<_>>(), "a permutation");
                assert!(contiguous(&o, &blocks), "{how:?}, seed {seed}: {o:?}");
            }
        }
    }

    #[test]
    fn optimal_leaf_order_is_no_worse_than_any_tree_order_on_small_cases() {
        // Brute force over all 2^(n-1) flips of the tree for n = 7.
        let mut rng = Rng::new(4);
        let n = 7;
        let mut dist = vec![0f64; n * n];
        for i in 0..n {
            for j in i + 1..n {
                let v = rng.uniform();
                dist[i * n + j] = v;
                dist[j * n + i] = v;
            }
        }
        let tree = average_linkage(&dist, n);
        let best = optimal_leaf_order(&tree, &dist);
        let cost = |o: &[usize]| o.windows(2).map(|w| dist[w[0] * n + w[1]]).sum::<f64>();
        fn orders(t: &Tree, v: usize) -> Vec<Vec<usize>> {
            if v < t.n {
                return vec![vec![v]];
            }
            let (a, b) = t.children[v - t.n];
            let mut out = Vec::new();
            for x in orders(t, a) {
                for y in orders(t, b) {
                    out.push([x.clone(), y.clone()].concat());
                    out.push([y, x.clone()].concat());
                }
            }
            out
        }
        let all = orders(&tree, n + tree.children.len() - 1);
        let min = all.iter().map(|o| cost(o)).fold(f64::INFINITY, f64::min);
        assert!(
            (cost(&best) - min).abs() < 1e-12,
            "{} vs brute force {min}",
            cost(&best)
        );
    }
}
