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

/// The mode names for a `kh x kw` kernel, if it has a mode basis (3 x 3, or 1 x 3).
pub fn mode_names(kh: usize, kw: usize) -> Option<&'static [&'static str]> {
    match (kh, kw) {
        (3, 3) => Some(&MODE_NAMES),
        (1, 3) => Some(&MODE_NAMES_1D),
        _ => None,
    }
}

/// Squared mode coefficients of a row-major `kh x kw` kernel (3 x 3: nine modes; 1 x 3:
/// the three polynomials): the energy in each mode, summing to the kernel's energy.
/// `None` for other sizes.
pub fn mode_energy(kernel: &[f64], kh: usize, kw: usize) -> Option<Vec<f64>> {
    match (kh, kw) {
        (3, 3) => {
            let k: [f64; 9] = kernel.try_into().ok()?;
            Some(
                decompose_3x3(&k)
                    .coefficients
                    .iter()
                    .map(|c| c * c)
                    .collect(),
            )
        }
        (1, 3) => Some(
            P.iter()
                .map(|p| {
                    let c: f64 = p.iter().zip(kernel).map(|(a, b)| a * b).sum();
                    c * c
                })
                .collect(),
        ),
        _ => None,
    }
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
        assert!(mode_energy(&[0.0; 25], 5, 5).is_none());
        assert_eq!(mode_names(3, 3).unwrap().len(), 9);
    }
}
