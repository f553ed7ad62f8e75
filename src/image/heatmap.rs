//! Heatmaps of square matrices (correlation matrices), drawn into a pixel buffer:
//! cells, optional labels, a colour bar, written as PNG. And the post's five rules:
//! clip to the middle of the values, symmetric bounds, a dark-centred diverging map,
//! and a good order (the order itself comes from `engine::corr`).

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::colormap::ColorMap;
use crate::error::{Error, Result};

/// An sRGB image.
#[derive(Clone, Debug, PartialEq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major RGB bytes.
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// A white image.
    pub fn new(width: u32, height: u32) -> RgbImage {
        RgbImage {
            width,
            height,
            pixels: vec![255; (width * height * 3) as usize],
        }
    }

    /// The pixel at (x, y).
    pub fn get(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    fn fill(&mut self, x0: u32, y0: u32, w: u32, h: u32, c: [u8; 3]) {
        for y in y0..(y0 + h).min(self.height) {
            for x in x0..(x0 + w).min(self.width) {
                let i = ((y * self.width + x) * 3) as usize;
                self.pixels[i..i + 3].copy_from_slice(&c);
            }
        }
    }

    /// Images side by side, tops aligned.
    pub fn hstack(images: &[RgbImage]) -> RgbImage {
        let w = images.iter().map(|i| i.width).sum();
        let h = images.iter().map(|i| i.height).max().unwrap_or(1);
        let mut out = RgbImage::new(w, h);
        let mut x0 = 0;
        for img in images {
            for y in 0..img.height {
                let src = (y * img.width * 3) as usize;
                let dst = ((y * w + x0) * 3) as usize;
                out.pixels[dst..dst + (img.width * 3) as usize]
                    .copy_from_slice(&img.pixels[src..src + (img.width * 3) as usize]);
            }
            x0 += img.width;
        }
        out
    }

    /// Write as PNG, atomically.
    pub fn write_png(&self, path: &Path) -> Result<PathBuf> {
        let mut bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut bytes, self.width, self.height);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().map_err(|e| png_err(path, e))?;
            w.write_image_data(&self.pixels)
                .map_err(|e| png_err(path, e))?;
        }
        crate::store::write_atomic(path, &bytes)
    }
}

fn png_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Encode {
        path: path.to_path_buf(),
        reason: format!("writing PNG: {e}"),
    }
}

/// How to draw one heatmap.
#[derive(Clone, Debug)]
pub struct HeatmapStyle {
    /// Colour map.
    pub map: ColorMap,
    /// Values mapped to the two ends of the map (outside: saturated).
    pub limits: (f64, f64),
    /// Labels of the rows/columns, in drawing order.
    pub labels: Option<Vec<String>>,
    /// Title above the map.
    pub title: String,
}

/// Where the cells landed, for reading pixels back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layout {
    /// Left edge of the cell grid.
    pub x0: u32,
    /// Top edge of the cell grid.
    pub y0: u32,
    /// Cell size in pixels.
    pub cell: u32,
    /// Left edge of the colour bar.
    pub bar_x: u32,
}

impl Layout {
    /// The centre pixel of cell (row, col).
    pub fn centre(&self, row: usize, col: usize) -> (u32, u32) {
        (
            self.x0 + col as u32 * self.cell + self.cell / 2,
            self.y0 + row as u32 * self.cell + self.cell / 2,
        )
    }
}

/// The limits of the post's rules: the middle `percent` % of `values` (off-diagonal
/// correlations), made symmetric: `(-m, m)` with `m` the larger magnitude of the two
/// quantiles.
pub fn symmetric_limits(values: &[f64], percent: f64) -> (f64, f64) {
    let (lo, hi) = clip_limits(values, percent);
    let m = lo.abs().max(hi.abs()).max(1e-12);
    (-m, m)
}

/// The `(100 - percent) / 2` and `(100 + percent) / 2` percentiles (linear
/// interpolation, as numpy).
pub fn clip_limits(values: &[f64], percent: f64) -> (f64, f64) {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (-1.0, 1.0);
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (v.len() - 1) as f64;
        let (i, f) = (pos.floor() as usize, pos - pos.floor());
        v[i] + f * (v[(i + 1).min(v.len() - 1)] - v[i])
    };
    let tail = (1.0 - percent / 100.0) / 2.0;
    (q(tail), q(1.0 - tail))
}

/// Draw a `d x d` matrix (row-major `values`).
pub fn render(values: &[f64], d: usize, style: &HeatmapStyle) -> (RgbImage, Layout) {
    let cell = (720 / d.max(1)).clamp(2, 40) as u32;
    let grid = cell * d as u32;
    let label_room = if style.labels.is_some() { 110 } else { 16 };
    let (x0, y0) = (label_room, 44);
    let bar_x = x0 + grid + 24;
    let width = bar_x + 24 + 70;
    let height = (y0 + grid + 24).max(y0 + 200);
    let mut img = RgbImage::new(width, height);
    let (lo, hi) = style.limits;
    let span = if hi > lo { hi - lo } else { 1.0 };
    for r in 0..d {
        for c in 0..d {
            let v = values[r * d + c];
            let col = style.map.rgb(if v.is_nan() {
                f64::NAN
            } else {
                (v - lo) / span
            });
            img.fill(x0 + c as u32 * cell, y0 + r as u32 * cell, cell, cell, col);
        }
    }
    // Colour bar: top = hi, bottom = lo.
    for y in 0..grid {
        let t = 1.0 - y as f64 / (grid.max(2) - 1) as f64;
        img.fill(bar_x, y0 + y, 24, 1, style.map.rgb(t));
    }
    // Text through plotters on the same pixels (embedded font).
    super::plots::register_font();
    {
        let root = BitMapBackend::with_buffer(&mut img.pixels, (width, height)).into_drawing_area();
        let font = |size| (super::plots::FONT, size).into_font().color(&BLACK);
        let _ = root.draw(&Text::new(style.title.clone(), (x0 as i32, 12), font(18)));
        for (t, v) in [(0.0, hi), (0.5, (lo + hi) / 2.0), (1.0, lo)] {
            let y = y0 as i32 + (t * (grid as f64 - 1.0)) as i32 - 6;
            let _ = root.draw(&Text::new(
                format!("{v:+.2}"),
                (bar_x as i32 + 28, y),
                font(12),
            ));
        }
        if let Some(labels) = &style.labels {
            let step = ((12 / cell.max(1)) + 1) as usize;
            for (i, l) in labels.iter().enumerate().step_by(step) {
                let text: String = l.chars().take(16).collect();
                let y = y0 as i32 + i as i32 * cell as i32 + cell as i32 / 2 - 5;
                let _ = root.draw(&Text::new(text, (4, y), font(10)));
            }
        }
        let _ = root.present();
    }
    (
        img,
        Layout {
            x0,
            y0,
            cell,
            bar_x,
        },
    )
}
