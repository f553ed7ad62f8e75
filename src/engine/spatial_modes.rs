//! An orthonormal basis for 3 x 3 kernels built from the discrete Legendre polynomials
//! on {-1, 0, 1}: `p0 = (1, 1, 1)/sqrt 3` (mean), `p1 = (-1, 0, 1)/sqrt 2` (gradient),
//! `p2 = (1, -2, 1)/sqrt 6` (curvature). The nine modes are the outer products
//! `p_i (rows, y) x p_j (columns, x)`: mean, x-gradient, x-curvature, y-gradient, the
//! saddle (xy), ... A kernel's energy splits exactly over the modes, which says what
//! a 3 x 3 filter does (smooth, differentiate, detect edges, ...) at a glance.
//!
//! ```
//! use eigentechno::engine::spatial_modes::{decompose_3x3, MODE_NAMES};
//! // Sobel's x-gradient is (1, 2, 1) down x (-1, 0, 1) across: 8/9 of its energy is
//! // in the x-gradient mode, the rest in y-curvature x x-gradient.
//! let sobel = [-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0];
//! let share = decompose_3x3(&sobel).energy_share;
//! let x_grad = MODE_NAMES.iter().position(|&n| n == "x-gradient").unwrap();
//! assert!((share[x_grad] - 8.0 / 9.0).abs() < 1e-12);
//! ```

/// The three 1-D polynomials, orthonormal on {-1, 0, 1}.
pub const P: [[f64; 3]; 3] = [
    [
        0.577_350_269_189_625_8,
        0.577_350_269_189_625_8,
        0.577_350_269_189_625_8,
    ],
    [
        -std::f64::consts::FRAC_1_SQRT_2,
        0.0,
        std::f64::consts::FRAC_1_SQRT_2,
    ],
    [
        0.408_248_290_463_863,
        -0.816_496_580_927_726,
        0.408_248_290_463_863,
    ],
];

/// Names of the nine modes, mode `3 i + j` = `p_i` along y (rows) times `p_j` along x.
pub const MODE_NAMES: [&str; 9] = [
    "mean",
    "x-gradient",
    "x-curvature",
    "y-gradient",
    "xy-saddle",
    "y-gradient x x-curvature",
    "y-curvature",
    "y-curvature x x-gradient",
    "xy-curvature",
];

/// Mode `m` as a row-major 3 x 3 kernel.
pub fn mode(m: usize) -> [f64; 9] {
    let (i, j) = (m / 3, m % 3);
    let mut k = [0.0; 9];
    for r in 0..3 {
        for c in 0..3 {
            k[r * 3 + c] = P[i][r] * P[j][c];
        }
    }
    k
}

/// A kernel on the mode basis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decomposition {
    /// Coefficient of each mode.
    pub coefficients: [f64; 9],
    /// Share of the kernel's energy (sum of squares) in each mode; sums to 1 (all zero
    /// for a zero kernel).
    pub energy_share: [f64; 9],
}

/// Decompose a row-major 3 x 3 kernel.
pub fn decompose_3x3(kernel: &[f64; 9]) -> Decomposition {
    let mut coefficients = [0.0; 9];
    for (m, c) in coefficients.iter_mut().enumerate() {
        *c = mode(m).iter().zip(kernel).map(|(a, b)| a * b).sum();
    }
    let total: f64 = kernel.iter().map(|v| v * v).sum();
    let energy_share = coefficients.map(|c| if total > 0.0 { c * c / total } else { 0.0 });
    Decomposition {
        coefficients,
        energy_share,
    }
}

/// Names of the three 1-D modes (a width-3 kernel of a 1-D convolution).
pub const MODE_NAMES_1D: [&str; 3] = ["mean", "gradient", "curvature"];

/// Largest kernel side with a mode basis (7 x 7: 49 modes).
pub const MAX_SIDE: usize = 7;

/// The discrete orthonormal polynomials on `k` equally spaced points (Gram
/// polynomials; for `k = 3` exactly [`P`]): row `d` has degree `d`, and each row
/// with a nonzero last entry ends positive, so gradients rise along the axis.
pub fn polynomials(k: usize) -> Vec<Vec<f64>> {
    let centre = (k as f64 - 1.0) / 2.0;
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(k);
    for d in 0..k {
        let mut v: Vec<f64> = (0..k).map(|i| (i as f64 - centre).powi(d as i32)).collect();
        // Gram-Schmidt, twice for accuracy.
        for _ in 0..2 {
            for b in &basis {
                let dot: f64 = v.iter().zip(b).map(|(x, y)| x * y).sum();
                v.iter_mut().zip(b).for_each(|(x, y)| *x -= dot * y);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let sign = if v[k - 1] < 0.0 { -1.0 } else { 1.0 };
        basis.push(v.iter().map(|x| sign * x / norm).collect());
    }
    basis
}

fn axis_name(axis: char, degree: usize) -> Option<String> {
    match degree {
        0 => None,
        1 => Some(format!("{axis}-gradient")),
        2 => Some(format!("{axis}-curvature")),
        d => Some(format!("{axis}-degree-{d}")),
    }
}

/// The mode names for a `kh x kw` kernel (mode `kw i + j` = degree `i` along y times
/// degree `j` along x), if it has a mode basis: sides up to [`MAX_SIDE`]. For 3 x 3
/// these are [`MODE_NAMES`]; for a 1-D kernel (`kh = 1`) the axis is not named.
pub fn mode_names(kh: usize, kw: usize) -> Option<Vec<String>> {
    if kh == 0 || kw < 2 || kh > MAX_SIDE || kw > MAX_SIDE {
        return None;
    }
    let mut names = Vec::with_capacity(kh * kw);
    for i in 0..kh {
        for j in 0..kw {
            let name = match (i, j, kh) {
                (0, 0, _) => "mean".to_string(),
                (0, j, 1) => axis_name('x', j).expect("j > 0").replace("x-", ""),
                (1, 1, _) => "xy-saddle".into(),
                (2, 2, _) => "xy-curvature".into(),
                (i, j, _) => match (axis_name('y', i), axis_name('x', j)) {
                    (Some(y), Some(x)) => format!("{y} x {x}"),
                    (Some(y), None) => y,
                    (None, Some(x)) => x,
                    (None, None) => unreachable!("(0, 0) handled"),
                },
            };
            names.push(name);
        }
    }
    Some(names)
}

/// The mode basis of one kernel size, built once and applied to many kernels.
#[derive(Clone, Debug, PartialEq)]
pub struct ModeBasis {
    kh: usize,
    kw: usize,
    /// Polynomials along y (rows) and x (columns).
    py: Vec<Vec<f64>>,
    px: Vec<Vec<f64>>,
}

impl ModeBasis {
    /// The basis for `kh x kw` kernels, if the size has one (see [`mode_names`]).
    pub fn new(kh: usize, kw: usize) -> Option<ModeBasis> {
        mode_names(kh, kw)?;
        Some(ModeBasis {
            kh,
            kw,
            py: polynomials(kh),
            px: polynomials(kw),
        })
    }

    /// Number of modes (`kh * kw`).
    pub fn len(&self) -> usize {
        self.kh * self.kw
    }

    /// Whether there are no modes (never, for a built basis).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Mode `m`, row-major.
    pub fn kernel(&self, m: usize) -> Vec<f64> {
        let (row, col) = (&self.py[m / self.kw], &self.px[m % self.kw]);
        row.iter()
            .flat_map(|&a| col.iter().map(move |&b| a * b))
            .collect()
    }

    /// Squared mode coefficients of a row-major kernel of this size: the energy in each
    /// mode, summing to the kernel's energy. `None` if the length does not match.
    pub fn energy(&self, kernel: &[f64]) -> Option<Vec<f64>> {
        if kernel.len() != self.len() {
            return None;
        }
        let mut out = Vec::with_capacity(self.len());
        for p in &self.py {
            for q in &self.px {
                let c: f64 = kernel
                    .chunks_exact(self.kw)
                    .zip(p)
                    .map(|(row, a)| a * row.iter().zip(q).map(|(v, b)| v * b).sum::<f64>())
                    .sum();
                out.push(c * c);
            }
        }
        Some(out)
    }
}

/// Mode `m` of a `kh x kw` kernel, row-major (see [`ModeBasis::kernel`]).
pub fn mode_kernel(m: usize, kh: usize, kw: usize) -> Vec<f64> {
    ModeBasis::new(kh, kw).map_or_else(Vec::new, |b| b.kernel(m))
}

/// Squared mode coefficients of a row-major `kh x kw` kernel: the energy in each mode
/// (see [`mode_names`]), summing to the kernel's energy. `None` for sizes without a
/// basis. Build a [`ModeBasis`] once to decompose many kernels.
pub fn mode_energy(kernel: &[f64], kh: usize, kw: usize) -> Option<Vec<f64>> {
    ModeBasis::new(kh, kw)?.energy(kernel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nine_modes_are_orthonormal() {
        for a in 0..9 {
            for b in 0..9 {
                let dot: f64 = mode(a).iter().zip(mode(b)).map(|(x, y)| x * y).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-12, "modes {a}, {b}: {dot}");
            }
        }
    }

    #[test]
    fn a_pure_x_gradient_has_all_its_energy_in_that_mode() {
        let k = [-1.0, 0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 0.0, 1.0];
        let d = decompose_3x3(&k);
        assert!(
            (d.energy_share[1] - 1.0).abs() < 1e-12,
            "{:?}",
            d.energy_share
        );
        assert!((d.energy_share.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // A constant kernel is all mean; a Laplacian has no mean and no gradient.
        assert!((decompose_3x3(&[2.0; 9]).energy_share[0] - 1.0).abs() < 1e-12);
        let lap = decompose_3x3(&[0.0, 1.0, 0.0, 1.0, -4.0, 1.0, 0.0, 1.0, 0.0]);
        let s = lap.energy_share;
        assert!(s[0] < 1e-12 && s[1] < 1e-12 && s[3] < 1e-12, "{s:?}");
        assert!(
            (s[2] + s[6] + s[8] - 1.0).abs() < 1e-12,
            "all curvature: {s:?}"
        );
        // Energy is preserved for any kernel.
        let r = [0.3, -1.2, 0.5, 2.0, 0.1, -0.7, 0.9, 0.4, -0.2];
        let back: f64 = decompose_3x3(&r).coefficients.iter().map(|c| c * c).sum();
        assert!((back - r.iter().map(|v| v * v).sum::<f64>()).abs() < 1e-12);
    }

    #[test]
    fn one_dimensional_modes_split_the_energy() {
        let e = mode_energy(&[-1.0, 0.0, 1.0], 1, 3).unwrap();
        assert!(
            (e[1] - 2.0).abs() < 1e-12 && e[0] < 1e-24 && e[2] < 1e-24,
            "{e:?}"
        );
        let e = mode_energy(&[1.0, -2.0, 1.0], 1, 3).unwrap();
        assert!((e[2] - 6.0).abs() < 1e-12, "{e:?}");
        let r = [0.3, -1.2, 0.5];
        let total: f64 = mode_energy(&r, 1, 3).unwrap().iter().sum();
        assert!((total - r.iter().map(|v| v * v).sum::<f64>()).abs() < 1e-12);
        assert!(mode_energy(&[0.0; 81], 9, 9).is_none());
        assert_eq!(mode_names(3, 3).unwrap(), MODE_NAMES);
        assert_eq!(mode_names(1, 3).unwrap(), MODE_NAMES_1D);
    }

    #[test]
    fn gram_polynomials_are_orthonormal_and_extend_the_3_point_basis() {
        for k in 1..=MAX_SIDE {
            let b = polynomials(k);
            for (a, pa) in b.iter().enumerate() {
                for (c, pc) in b.iter().enumerate() {
                    let dot: f64 = pa.iter().zip(pc).map(|(x, y)| x * y).sum();
                    let want = if a == c { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-12, "k={k}: <p{a}, p{c}> = {dot}");
                }
            }
        }
        for (got, want) in polynomials(3).iter().zip(P) {
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-15);
            }
        }
        // Degree-1 on 5 points is the centred ramp; degree 2 is x^2 - 2, normalised.
        let p = polynomials(5);
        let ramp = 10f64.sqrt();
        for (i, v) in p[1].iter().enumerate() {
            assert!((v - (i as f64 - 2.0) / ramp).abs() < 1e-12);
        }
        for (i, v) in p[2].iter().enumerate() {
            let x = i as f64 - 2.0;
            assert!(
                (v - (x * x - 2.0) / 14f64.sqrt()).abs() < 1e-12,
                "{:?}",
                p[2]
            );
        }
    }

    #[test]
    fn larger_kernels_decompose_exactly() {
        // A 5 x 5 x-ramp is all x-gradient; a 7 x 7 kernel's energy is preserved; the
        // general path agrees with the 3 x 3 one.
        let ramp: Vec<f64> = (0..25).map(|i| (i % 5) as f64 - 2.0).collect();
        let e = mode_energy(&ramp, 5, 5).unwrap();
        let names = mode_names(5, 5).unwrap();
        let at = names.iter().position(|n| n == "x-gradient").unwrap();
        assert!((e[at] / e.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{e:?}");
        assert_eq!(names[5 * 3 + 4], "y-degree-3 x x-degree-4");
        let mut r = crate::engine::Rng::new(5);
        let k7: Vec<f64> = (0..49).map(|_| r.normal()).collect();
        let total: f64 = mode_energy(&k7, 7, 7).unwrap().iter().sum();
        assert!((total - k7.iter().map(|v| v * v).sum::<f64>()).abs() < 1e-9);
        let k3: Vec<f64> = (0..9).map(|_| r.normal()).collect();
        let (py, px) = (polynomials(3), polynomials(3));
        for m in 0..9 {
            let c: f64 = (0..9)
                .map(|t| py[m / 3][t / 3] * px[m % 3][t % 3] * k3[t])
                .sum();
            assert!((mode_energy(&k3, 3, 3).unwrap()[m] - c * c).abs() < 1e-12);
            let mk = mode_kernel(m, 3, 3);
            assert!(mk.iter().zip(mode(m)).all(|(a, b)| (a - b).abs() < 1e-12));
        }
    }
}
