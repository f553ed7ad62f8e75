//! Polynomial curves as points of a Euclidean space: the post's similarity function as
//! a tool. A curve is a polynomial on a domain `[A, B]`; mapped to `t` in [-1, 1]
//! (`x = (A + B)/2 + (B - A)/2 * t`, which keeps the RMS over the domain) and written
//! in the Legendre basis, its embedding `c_k / sqrt(2k + 1)` ([`legendre_embedding`])
//! puts two curves at the Euclidean distance of their RMS difference over the domain.
//! The naive distance, between power-basis coefficients, is kept beside it for
//! contrast.
//!
//! Coefficients are in ascending order, as `numpy.polynomial`. The conversions run
//! Horner's scheme in the target basis (as numpy's `poly2leg`), so the domain is mapped
//! without forming the shifted power-basis coefficients first. The fit is a
//! least-squares problem in the Legendre basis on [-1, 1], solved by QR: the basis is
//! nearly orthogonal there, and the power basis (the Vandermonde matrix) at degree 12
//! is not.
//!
//! ```
//! use eigentechno::engine::poly::{curve_distance, Basis};
//! // x and x^3 on [-1, 1]: the RMS of x - x^3 is sqrt(8/105).
//! let d = curve_distance(&[0.0, 1.0], &[0.0, 0.0, 0.0, 1.0], (-1.0, 1.0), Basis::Power).unwrap();
//! assert!((d - (8.0f64 / 105.0).sqrt()).abs() < 1e-15);
//! ```

use faer::Mat;
use faer::linalg::solvers::SolveLstsq;

use super::legendre::{legendre_embedding, legendre_values};

/// The basis coefficients are given in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// `sum_k c_k x^k`, `x` in the domain (`numpy.polynomial.polynomial`).
    Power,
    /// `sum_k c_k P_k(t)`, `t` in [-1, 1] the domain mapped (`numpy.polynomial.Legendre`
    /// with its default window): the domain does not change the curve's distances.
    Legendre,
}

/// Most coefficients a curve may have (degree 64): beyond that the power basis means
/// nothing in double precision, and a row this long is more likely sampled values.
pub const MAX_COEFFICIENTS: usize = 65;

/// What is wrong with a curve or its domain.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PolyError {
    /// No coefficients or no points.
    #[error("{0} is empty")]
    Empty(&'static str),
    /// A value is NaN or infinite.
    #[error("{what} holds {value} at index {index}")]
    NotFinite {
        /// Which input.
        what: &'static str,
        /// The offending value.
        value: f64,
        /// Where (flat index).
        index: usize,
    },
    /// The domain is not an interval `A < B` of finite numbers.
    #[error("the domain must be two finite numbers A < B, got ({0}, {1})")]
    BadDomain(f64, f64),
    /// More coefficients than [`MAX_COEFFICIENTS`].
    #[error("{got} coefficients (degree {}): at most {MAX_COEFFICIENTS} (degree {}) are accepted", got - 1, MAX_COEFFICIENTS - 1)]
    TooLong {
        /// Coefficients given or asked for.
        got: usize,
    },
    /// `x` and `y` differ in length.
    #[error("x has {x} points but y has {y}")]
    Mismatch {
        /// Points in x.
        x: usize,
        /// Points in y.
        y: usize,
    },
    /// A fit of this degree is not determined by these points.
    #[error("degree {degree} needs at least {} distinct x values, got {distinct}", degree + 1)]
    Underdetermined {
        /// The degree asked for.
        degree: usize,
        /// Distinct x values.
        distinct: usize,
    },
}

fn check_finite(what: &'static str, v: &[f64]) -> Result<(), PolyError> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(PolyError::NotFinite {
            what,
            value: v[index],
            index,
        }),
        None => Ok(()),
    }
}

/// Check a domain `(A, B)`: finite, `A < B`.
pub fn check_domain((a, b): (f64, f64)) -> Result<(), PolyError> {
    if a.is_finite() && b.is_finite() && a < b {
        Ok(())
    } else {
        Err(PolyError::BadDomain(a, b))
    }
}

/// Check one curve's coefficients: some, finite, at most [`MAX_COEFFICIENTS`].
pub fn check_coefficients(what: &'static str, c: &[f64]) -> Result<(), PolyError> {
    if c.is_empty() {
        return Err(PolyError::Empty(what));
    }
    if c.len() > MAX_COEFFICIENTS {
        return Err(PolyError::TooLong { got: c.len() });
    }
    check_finite(what, c)
}

/// `x * sum_k c_k P_k` in the Legendre basis: `x P_k = ((k+1) P_{k+1} + k P_{k-1}) / (2k+1)`.
fn legendre_mul_x(c: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; c.len() + 1];
    for (k, &ck) in c.iter().enumerate() {
        let kf = k as f64;
        let den = 2.0 * kf + 1.0;
        out[k + 1] += ck * (kf + 1.0) / den;
        if k > 0 {
            out[k - 1] += ck * kf / den;
        }
    }
    out
}

/// Legendre coefficients of `p(m + h t)` for `p` in the power basis: Horner's scheme
/// with every step (`q <- q * (m + h t) + p_k`) done in the Legendre basis.
fn power_to_legendre_mapped(p: &[f64], m: f64, h: f64) -> Vec<f64> {
    let mut q: Vec<f64> = Vec::with_capacity(p.len());
    for &pk in p.iter().rev() {
        let xq = legendre_mul_x(&q);
        let mut next: Vec<f64> = xq.iter().map(|v| h * v).collect();
        for (n, v) in next.iter_mut().zip(&q) {
            *n += m * v;
        }
        next[0] += pk;
        q = next;
    }
    q.truncate(p.len().max(1));
    q
}

/// Legendre coefficients (on [-1, 1]) of the power-basis polynomial `p` (numpy's
/// `poly2leg`).
///
/// ```
/// use eigentechno::engine::poly::power_to_legendre;
/// // x^2 = (1/3) P_0 + (2/3) P_2.
/// let l = power_to_legendre(&[0.0, 0.0, 1.0]);
/// assert!((l[0] - 1.0 / 3.0).abs() < 1e-15 && l[1] == 0.0 && (l[2] - 2.0 / 3.0).abs() < 1e-15);
/// ```
pub fn power_to_legendre(p: &[f64]) -> Vec<f64> {
    power_to_legendre_mapped(p, 0.0, 1.0)
}

/// Legendre coefficients, in `t` on [-1, 1], of the power-basis polynomial `p` on the
/// domain `(A, B)`: of `p(x)` with `x = (A + B)/2 + (B - A)/2 * t`.
pub fn power_on_domain_to_legendre(p: &[f64], (a, b): (f64, f64)) -> Vec<f64> {
    power_to_legendre_mapped(p, 0.5 * (a + b), 0.5 * (b - a))
}

/// `q * (m + h x)` in the power basis.
fn power_mul_linear(q: &[f64], m: f64, h: f64) -> Vec<f64> {
    let mut out = vec![0.0; q.len() + 1];
    for (k, &v) in q.iter().enumerate() {
        out[k] += m * v;
        out[k + 1] += h * v;
    }
    out
}

/// Power-basis coefficients of the Legendre series `l` (numpy's `leg2poly`), by the
/// three-term recursion `P_{k+1} = ((2k+1) x P_k - k P_{k-1}) / (k+1)`.
///
/// ```
/// use eigentechno::engine::poly::legendre_to_power;
/// // P_3 = (5x^3 - 3x) / 2.
/// assert_eq!(legendre_to_power(&[0.0, 0.0, 0.0, 1.0]), vec![0.0, -1.5, 0.0, 2.5]);
/// ```
pub fn legendre_to_power(l: &[f64]) -> Vec<f64> {
    let n = l.len();
    let mut out = vec![0.0; n.max(1)];
    let (mut prev, mut cur) = (Vec::new(), vec![1.0]);
    for (k, &lk) in l.iter().enumerate() {
        for (o, p) in out.iter_mut().zip(&cur) {
            *o += lk * p;
        }
        let kf = k as f64;
        let mut next = power_mul_linear(&cur, 0.0, (2.0 * kf + 1.0) / (kf + 1.0));
        for (nx, p) in next.iter_mut().zip(&prev) {
            *nx -= kf / (kf + 1.0) * p;
        }
        prev = std::mem::replace(&mut cur, next);
    }
    out
}

/// Power-basis coefficients in `x` on `(A, B)` of the Legendre series `l` in
/// `t = (x - (A + B)/2) / ((B - A)/2)`. Ill-conditioned far from 0 (on (100, 101),
/// say): the power basis there is; keep such curves in the Legendre basis.
pub fn legendre_to_power_on_domain(l: &[f64], (a, b): (f64, f64)) -> Vec<f64> {
    let t = legendre_to_power(l);
    let (m, h) = (0.5 * (a + b), 0.5 * (b - a));
    // Horner in the power basis with t = -m/h + x/h.
    let mut q: Vec<f64> = Vec::with_capacity(t.len());
    for &tk in t.iter().rev() {
        let mut next = power_mul_linear(&q, -m / h, 1.0 / h);
        next[0] += tk;
        q = next;
    }
    q.truncate(t.len());
    q
}

/// A curve's Legendre coefficients on [-1, 1] (its domain mapped there).
pub fn to_legendre(c: &[f64], domain: (f64, f64), basis: Basis) -> Vec<f64> {
    match basis {
        Basis::Power => power_on_domain_to_legendre(c, domain),
        Basis::Legendre => c.to_vec(),
    }
}

/// The curve's embedding: Euclidean distances between embeddings (zero-padded to one
/// length) are RMS differences of the curves over the domain.
pub fn embedding(c: &[f64], domain: (f64, f64), basis: Basis) -> Result<Vec<f64>, PolyError> {
    check_coefficients("coefficients", c)?;
    check_domain(domain)?;
    Ok(legendre_embedding(&to_legendre(c, domain, basis)))
}

/// RMS difference over the domain of two curves (coefficients of different lengths
/// are zero-padded).
pub fn curve_distance(
    a: &[f64],
    b: &[f64],
    domain: (f64, f64),
    basis: Basis,
) -> Result<f64, PolyError> {
    check_coefficients("a", a)?;
    check_coefficients("b", b)?;
    let (ea, eb) = (embedding(a, domain, basis)?, embedding(b, domain, basis)?);
    Ok(euclidean(&ea, &eb))
}

/// Euclidean distance of two vectors, the shorter zero-padded. Differences, not the
/// Gram identity: it would cancel for near curves.
pub fn euclidean(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().max(b.len());
    (0..n)
        .map(|k| {
            let d = a.get(k).copied().unwrap_or(0.0) - b.get(k).copied().unwrap_or(0.0);
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

/// The `n x n` matrix (row-major) of Euclidean distances between `rows` (zero-padded).
/// With embeddings: the curve distances; with power coefficients: the naive ones.
pub fn distance_matrix(rows: &[Vec<f64>]) -> Vec<f64> {
    let n = rows.len();
    let mut d = vec![0.0; n * n];
    for i in 0..n {
        for j in i + 1..n {
            let v = euclidean(&rows[i], &rows[j]);
            d[i * n + j] = v;
            d[j * n + i] = v;
        }
    }
    d
}

/// `x` mapped from `(A, B)` to [-1, 1].
pub fn to_unit(x: f64, (a, b): (f64, f64)) -> f64 {
    (2.0 * x - (a + b)) / (b - a)
}

/// `n` evenly spaced points from `A` to `B`, both included (`numpy.linspace`).
pub fn even_grid(n: usize, (a, b): (f64, f64)) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect()
}

/// Least-squares fits of degree `degree`, one per row of `ys` (each sampled at `x`),
/// as Legendre coefficients in `t` on [-1, 1] (`x` mapped from `domain`). One QR
/// factorisation of the Legendre-Vandermonde matrix serves every row.
///
/// ```
/// use eigentechno::engine::poly::fit_legendre;
/// let x: Vec<f64> = (0..20).map(|i| i as f64).collect();
/// let y: Vec<f64> = x.iter().map(|v| 1.0 + 0.5 * v).collect();
/// // On (0, 19): x = 9.5 + 9.5 t, so y = 5.75 + 4.75 t.
/// let c = fit_legendre(&x, &[y], 1, (0.0, 19.0)).unwrap();
/// assert!((c[0][0] - 5.75).abs() < 1e-12 && (c[0][1] - 4.75).abs() < 1e-12);
/// ```
pub fn fit_legendre(
    x: &[f64],
    ys: &[Vec<f64>],
    degree: usize,
    domain: (f64, f64),
) -> Result<Vec<Vec<f64>>, PolyError> {
    if x.is_empty() {
        return Err(PolyError::Empty("x"));
    }
    if ys.is_empty() {
        return Err(PolyError::Empty("y"));
    }
    check_domain(domain)?;
    if degree + 1 > MAX_COEFFICIENTS {
        return Err(PolyError::TooLong { got: degree + 1 });
    }
    check_finite("x", x)?;
    for (r, y) in ys.iter().enumerate() {
        if y.len() != x.len() {
            return Err(PolyError::Mismatch {
                x: x.len(),
                y: y.len(),
            });
        }
        check_finite("y", y).map_err(|e| match e {
            PolyError::NotFinite { what, value, index } => PolyError::NotFinite {
                what,
                value,
                index: r * x.len() + index,
            },
            e => e,
        })?;
    }
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    if sorted.len() < degree + 1 {
        return Err(PolyError::Underdetermined {
            degree,
            distinct: sorted.len(),
        });
    }
    let (n, k) = (x.len(), degree + 1);
    let mut v = Mat::<f64>::zeros(n, k);
    for (i, &xi) in x.iter().enumerate() {
        for (j, p) in legendre_values(to_unit(xi, domain), degree)
            .into_iter()
            .enumerate()
        {
            v[(i, j)] = p;
        }
    }
    let rhs = Mat::<f64>::from_fn(n, ys.len(), |i, r| ys[r][i]);
    let sol = v.qr().solve_lstsq(&rhs);
    Ok((0..ys.len())
        .map(|r| (0..k).map(|j| sol[(j, r)]).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Rng;
    use crate::engine::legendre::legendre_eval;

    fn power_eval(p: &[f64], x: f64) -> f64 {
        p.iter().rev().fold(0.0, |acc, c| acc * x + c)
    }

    fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    #[test]
    fn distances_by_hand() {
        // x vs x^3 on [-1, 1]: (1/2) ∫ (x - x^3)^2 = 1/3 - 2/5 + 1/7 = 8/105.
        let d = curve_distance(
            &[0.0, 1.0],
            &[0.0, 0.0, 0.0, 1.0],
            (-1.0, 1.0),
            Basis::Power,
        )
        .unwrap();
        assert!((d - (8.0f64 / 105.0).sqrt()).abs() < 1e-15, "{d}");
        // 1 vs x on [0, 1]: mean of (1 - x)^2 is 1/3.
        let d = curve_distance(&[1.0], &[0.0, 1.0], (0.0, 1.0), Basis::Power).unwrap();
        assert!((d - (1.0f64 / 3.0).sqrt()).abs() < 1e-15, "{d}");
        // x vs 0 on [2, 4]: mean of x^2 is (64 - 8) / 6.
        let d = curve_distance(&[0.0, 1.0], &[0.0], (2.0, 4.0), Basis::Power).unwrap();
        assert!((d - (56.0f64 / 6.0).sqrt()).abs() < 1e-14, "{d}");
        // The naive distance calls x and x^3 as far apart as 1 and 0 ...
        assert_eq!(euclidean(&[0.0, 1.0], &[0.0, 0.0, 0.0, 1.0]), 2f64.sqrt());
        // ... and in the Legendre basis the domain changes nothing.
        let l = curve_distance(&[0.0, 1.0], &[1.0], (5.0, 9.0), Basis::Legendre).unwrap();
        assert!((l - (1.0 + 1.0 / 3.0f64).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn conversions_of_known_polynomials() {
        // x^3 = (3/5) P_1 + (2/5) P_3; 1 + x = P_0 + P_1.
        assert!(close(
            &power_to_legendre(&[0.0, 0.0, 0.0, 1.0]),
            &[0.0, 0.6, 0.0, 0.4],
            1e-15
        ));
        assert_eq!(power_to_legendre(&[1.0, 1.0]), vec![1.0, 1.0]);
        // P_2 = (3x^2 - 1) / 2; P_4 = (35x^4 - 30x^2 + 3) / 8.
        assert_eq!(legendre_to_power(&[0.0, 0.0, 1.0]), vec![-0.5, 0.0, 1.5]);
        assert!(close(
            &legendre_to_power(&[0.0, 0.0, 0.0, 0.0, 1.0]),
            &[3.0 / 8.0, 0.0, -30.0 / 8.0, 0.0, 35.0 / 8.0],
            1e-15
        ));
        // x on (0, 2) is 1 + t.
        assert_eq!(
            power_on_domain_to_legendre(&[0.0, 1.0], (0.0, 2.0)),
            vec![1.0, 1.0]
        );
        assert!(close(
            &legendre_to_power_on_domain(&[1.0, 1.0], (0.0, 2.0)),
            &[0.0, 1.0],
            1e-15
        ));
    }

    #[test]
    fn round_trips_and_pointwise_agreement() {
        let mut r = Rng::new(7);
        for &dom in &[(-1.0, 1.0), (0.0, 1.0), (-3.0, 5.0)] {
            for deg in 0..=12 {
                let p: Vec<f64> = (0..=deg).map(|_| r.normal()).collect();
                let l = power_on_domain_to_legendre(&p, dom);
                assert_eq!(l.len(), p.len());
                let back = legendre_to_power_on_domain(&l, dom);
                // Exact to rounding of the curve's size on the domain, |p_k| R^k summed.
                let reach = dom.0.abs().max(dom.1.abs());
                let terms: Vec<f64> = p.iter().map(|c| c.abs()).collect();
                let scale = power_eval(&terms, reach);
                assert!(
                    close(&back, &p, 1e-14 * scale),
                    "{dom:?} {deg}: {back:?} vs {p:?}"
                );
                for i in 0..=10 {
                    let t = -1.0 + 0.2 * i as f64;
                    let x = 0.5 * (dom.0 + dom.1) + 0.5 * (dom.1 - dom.0) * t;
                    let (a, b) = (power_eval(&p, x), legendre_eval(&l, t));
                    // Relative to the terms' magnitudes (p(x) itself may cancel), in
                    // either basis: |P_k| <= 1, so sum |l_k| bounds the curve's size.
                    let terms: Vec<f64> = p.iter().map(|c| c.abs()).collect();
                    let size = power_eval(&terms, x.abs())
                        .max(l.iter().map(|c| c.abs()).sum())
                        .max(1.0);
                    assert!(
                        (a - b).abs() <= 1e-13 * size,
                        "{dom:?} {deg} {x}: {a} vs {b}, size {size}"
                    );
                }
            }
        }
    }

    #[test]
    fn distance_is_the_dense_rms_difference_on_a_domain() {
        let mut r = Rng::new(11);
        let dom = (-3.0, 5.0);
        for _ in 0..5 {
            let a: Vec<f64> = (0..6).map(|_| r.normal()).collect();
            let b: Vec<f64> = (0..3).map(|_| r.normal()).collect();
            let n = 200_000;
            let ms = (0..n)
                .map(|i| {
                    let x = dom.0 + (dom.1 - dom.0) * (i as f64 + 0.5) / n as f64;
                    (power_eval(&a, x) - power_eval(&b, x)).powi(2)
                })
                .sum::<f64>()
                / n as f64;
            let d = curve_distance(&a, &b, dom, Basis::Power).unwrap();
            assert!((d - ms.sqrt()).abs() < 1e-6 * d, "{d} vs {}", ms.sqrt());
        }
    }

    #[test]
    fn fit_recovers_a_degree_12_polynomial_and_matrices_are_symmetric() {
        let mut r = Rng::new(5);
        let truth: Vec<f64> = (0..13).map(|_| r.normal()).collect();
        let dom = (10.0, 30.0);
        let x = even_grid(200, dom);
        let y: Vec<f64> = x
            .iter()
            .map(|&v| legendre_eval(&truth, to_unit(v, dom)))
            .collect();
        let c = fit_legendre(&x, &[y.clone(), y], 12, dom).unwrap();
        assert!(close(&c[0], &truth, 1e-11), "{:?}", c[0]);
        assert_eq!(c[0], c[1]);
        let rows = vec![vec![0.0, 0.0], vec![1.0], vec![3.0, 0.0, 4.0]];
        let d = distance_matrix(&rows);
        assert_eq!(d[1], 1.0);
        assert_eq!(d[2 * 3], 5.0);
        for i in 0..3 {
            assert_eq!(d[i * 3 + i], 0.0);
            for j in 0..3 {
                assert_eq!(d[i * 3 + j], d[j * 3 + i]);
            }
        }
    }

    #[test]
    fn bad_input_is_refused() {
        let dom = (-1.0, 1.0);
        assert_eq!(
            curve_distance(&[], &[1.0], dom, Basis::Power),
            Err(PolyError::Empty("a"))
        );
        assert!(matches!(
            curve_distance(&[1.0, f64::NAN], &[1.0], dom, Basis::Power),
            Err(PolyError::NotFinite { index: 1, .. })
        ));
        assert_eq!(
            embedding(&[1.0], (1.0, 1.0), Basis::Power),
            Err(PolyError::BadDomain(1.0, 1.0))
        );
        assert!(embedding(&[1.0], (0.0, f64::INFINITY), Basis::Power).is_err());
        assert!(matches!(
            embedding(&[0.0; 66], dom, Basis::Power),
            Err(PolyError::TooLong { got: 66 })
        ));
        let x = [0.0, 0.0, 1.0, 1.0];
        assert_eq!(
            fit_legendre(&x, &[vec![1.0; 4]], 2, dom),
            Err(PolyError::Underdetermined {
                degree: 2,
                distinct: 2
            })
        );
        assert_eq!(
            fit_legendre(&x, &[vec![1.0; 3]], 1, dom),
            Err(PolyError::Mismatch { x: 4, y: 3 })
        );
        assert!(matches!(
            fit_legendre(&x, &[vec![1.0, 1.0, 1.0, f64::NAN]], 1, dom),
            Err(PolyError::NotFinite { index: 3, .. })
        ));
    }
}
