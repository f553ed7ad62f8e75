//! Polynomials in the Legendre basis on [-1, 1], and the shape distance between them.
//!
//! Comparing fitted polynomials by the Euclidean distance of their monomial
//! coefficients does not match how different the curves look. The RMS difference of two
//! curves over [-1, 1], sampled densely, has a closed form in the Legendre basis:
//! `d(p, q) = sqrt( sum_k (a_k - b_k)^2 / (2k + 1) )`, since `∫ P_j P_k = 2 δ_jk / (2k+1)`
//! and the mean over the interval divides by 2.

/// `P_0(x) .. P_degree(x)` by Bonnet's recursion.
pub fn legendre_values(x: f64, degree: usize) -> Vec<f64> {
    let mut p = Vec::with_capacity(degree + 1);
    p.push(1.0);
    if degree >= 1 {
        p.push(x);
    }
    for k in 1..degree {
        let kf = k as f64;
        let next = ((2.0 * kf + 1.0) * x * p[k] - kf * p[k - 1]) / (kf + 1.0);
        p.push(next);
    }
    p
}

/// Evaluate `sum_k coef[k] P_k(x)`.
pub fn legendre_eval(coef: &[f64], x: f64) -> f64 {
    if coef.is_empty() {
        return 0.0;
    }
    legendre_values(x, coef.len() - 1)
        .iter()
        .zip(coef)
        .map(|(p, c)| p * c)
        .sum()
}

/// Least-squares fit of `y` at points `x` (already scaled to [-1, 1]) with Legendre
/// coefficients up to `degree`. Returns `None` with fewer points than coefficients.
///
/// ```
/// use eigentechno::engine::legendre::{legendre_fit, legendre_eval};
/// let x: Vec<f64> = (0..50).map(|i| -1.0 + 2.0 * i as f64 / 49.0).collect();
/// let y: Vec<f64> = x.iter().map(|&t| 3.0 + 2.0 * t - t * t).collect();
/// let c = legendre_fit(&x, &y, 2).unwrap();
/// assert!((legendre_eval(&c, 0.5) - (3.0 + 1.0 - 0.25)).abs() < 1e-9);
/// ```
pub fn legendre_fit(x: &[f64], y: &[f64], degree: usize) -> Option<Vec<f64>> {
    let n = degree + 1;
    if x.len() != y.len() || x.len() < n {
        return None;
    }
    // Normal equations (the basis is well conditioned on [-1, 1] for low degrees).
    let mut a = vec![vec![0.0; n]; n];
    let mut b = vec![0.0; n];
    for (&xi, &yi) in x.iter().zip(y) {
        let p = legendre_values(xi, degree);
        for r in 0..n {
            b[r] += p[r] * yi;
            for c in 0..n {
                a[r][c] += p[r] * p[c];
            }
        }
    }
    solve(a, b)
}

/// Gaussian elimination with partial pivoting; `None` if singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for r in col + 1..n {
            let f = a[r][col] / a[col][col];
            let (top, bottom) = a.split_at_mut(r);
            for (x, y) in bottom[0][col..].iter_mut().zip(&top[col][col..]) {
                *x -= f * y;
            }
            b[r] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|c| a[r][c] * x[c]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    Some(x)
}

/// RMS difference over [-1, 1] of two polynomials given by Legendre coefficients
/// (missing coefficients are zero).
///
/// ```
/// use eigentechno::engine::legendre::legendre_distance;
/// // p(x) = x versus q(x) = 0: RMS of x over [-1, 1] is 1/sqrt(3).
/// assert!((legendre_distance(&[0.0, 1.0], &[0.0]) - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
/// ```
pub fn legendre_distance(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().max(b.len());
    (0..n)
        .map(|k| {
            let d = a.get(k).copied().unwrap_or(0.0) - b.get(k).copied().unwrap_or(0.0);
            d * d / (2 * k + 1) as f64
        })
        .sum::<f64>()
        .sqrt()
}

/// The embedding in which Euclidean distance is [`legendre_distance`]:
/// `e_k = a_k / sqrt(2k + 1)`.
pub fn legendre_embedding(a: &[f64]) -> Vec<f64> {
    a.iter()
        .enumerate()
        .map(|(k, c)| c / ((2 * k + 1) as f64).sqrt())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Rng;

    #[test]
    fn distance_equals_dense_rms_difference() {
        let mut r = Rng::new(3);
        for _ in 0..20 {
            let a: Vec<f64> = (0..5).map(|_| r.normal()).collect();
            let b: Vec<f64> = (0..3).map(|_| r.normal()).collect();
            let n = 200_000;
            let rms = ((0..n)
                .map(|i| {
                    let x = -1.0 + 2.0 * (i as f64 + 0.5) / n as f64;
                    let d = legendre_eval(&a, x) - legendre_eval(&b, x);
                    d * d
                })
                .sum::<f64>()
                / n as f64)
                .sqrt();
            assert!(
                (legendre_distance(&a, &b) - rms).abs() < 1e-6 * rms.max(1.0),
                "{} vs {rms}",
                legendre_distance(&a, &b)
            );
            let ea = legendre_embedding(&a);
            let mut eb = legendre_embedding(&b);
            eb.resize(5, 0.0);
            let euclid = ea
                .iter()
                .zip(&eb)
                .map(|(x, y)| (x - y).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!((euclid - legendre_distance(&a, &b)).abs() < 1e-12);
        }
    }

    #[test]
    fn known_polynomials() {
        assert_eq!(legendre_values(0.5, 3), vec![1.0, 0.5, -0.125, -0.4375]);
        // Fit recovers exact coefficients of a degree-3 polynomial.
        let x: Vec<f64> = (0..30).map(|i| -1.0 + 2.0 * i as f64 / 29.0).collect();
        let truth = [1.0, -2.0, 0.5, 0.25];
        let y: Vec<f64> = x.iter().map(|&t| legendre_eval(&truth, t)).collect();
        let c = legendre_fit(&x, &y, 3).unwrap();
        for (a, b) in c.iter().zip(truth) {
            assert!((a - b).abs() < 1e-10);
        }
        assert!(legendre_fit(&x[..2], &y[..2], 3).is_none());
    }
}
