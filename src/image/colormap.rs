//! Colour maps, defined once for every heatmap and kernel grid.

use plotters::style::colors::colormaps::{ColorMap as _, ViridisRGB};

/// A colour map: `t` in [0, 1] to sRGB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMap {
    /// matplotlib's default sequential map (for the "before" picture of `--steps`).
    Viridis,
    /// Diverging with a dull dark grey at the centre (t = 0.5, zero) and luminance rising
    /// with magnitude to a bright cyan (t = 0) and a bright amber (t = 1), as Kovesi's
    /// CET-D "dark centre" maps and matplotlib's `berlin`.
    DarkDiverging,
}

/// Colour of undefined cells (constant features): neutral mid grey.
pub const UNDEFINED: [u8; 3] = [128, 128, 128];

const DARK_DIVERGING: [(f64, [f64; 3]); 5] = [
    (0.0, [120.0, 222.0, 255.0]),
    (0.25, [38.0, 110.0, 200.0]),
    (0.5, [45.0, 45.0, 45.0]),
    (0.75, [200.0, 70.0, 40.0]),
    (1.0, [255.0, 222.0, 120.0]),
];

impl ColorMap {
    /// The colour at `t` (clamped to [0, 1]; NaN gives [`UNDEFINED`]).
    pub fn rgb(self, t: f64) -> [u8; 3] {
        if t.is_nan() {
            return UNDEFINED;
        }
        let t = t.clamp(0.0, 1.0);
        match self {
            ColorMap::Viridis => {
                let c = ViridisRGB.get_color(t as f32);
                [c.0, c.1, c.2]
            }
            ColorMap::DarkDiverging => {
                let i = DARK_DIVERGING
                    .windows(2)
                    .position(|w| t <= w[1].0)
                    .unwrap_or(DARK_DIVERGING.len() - 2);
                let ((t0, a), (t1, b)) = (DARK_DIVERGING[i], DARK_DIVERGING[i + 1]);
                let f = (t - t0) / (t1 - t0);
                [0, 1, 2].map(|k| (a[k] + f * (b[k] - a[k])).round() as u8)
            }
        }
    }
}

/// Rec. 709 luma of an sRGB colour (0..255).
pub fn luma(c: [u8; 3]) -> f64 {
    0.2126 * c[0] as f64 + 0.7152 * c[1] as f64 + 0.0722 * c[2] as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dark_diverging_is_dark_at_zero_and_brightens_with_magnitude() {
        let m = ColorMap::DarkDiverging;
        let top = luma(m.rgb(1.0)).max(luma(m.rgb(0.0)));
        assert!(luma(m.rgb(0.5)) < 0.25 * top);
        for i in 0..50 {
            let (a, b) = (0.5 + i as f64 / 100.0, 0.5 + (i + 1) as f64 / 100.0);
            assert!(luma(m.rgb(b)) >= luma(m.rgb(a)), "warm side at {b}");
            let (a, b) = (0.5 - i as f64 / 100.0, 0.5 - (i + 1) as f64 / 100.0);
            assert!(luma(m.rgb(b)) >= luma(m.rgb(a)), "cool side at {b}");
        }
        assert_eq!(m.rgb(f64::NAN), UNDEFINED);
        assert_eq!(m.rgb(7.0), m.rgb(1.0), "saturates");
    }
}
