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

    /// Fill a rectangle (clipped to the image).
    pub fn fill(&mut self, x0: u32, y0: u32, w: u32, h: u32, c: [u8; 3]) {
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
            out.blit(img, x0, 0);
            x0 += img.width;
        }
        out
    }

    /// Images one above the other, left edges aligned.
    pub fn vstack(images: &[RgbImage]) -> RgbImage {
        let w = images.iter().map(|i| i.width).max().unwrap_or(1);
        let h = images.iter().map(|i| i.height).sum();
        let mut out = RgbImage::new(w, h);
        let mut y0 = 0;
        for img in images {
            out.blit(img, 0, y0);
            y0 += img.height;
        }
        out
    }

    /// Copy `img` in with its top-left corner at (x0, y0) (clipped).
    pub fn blit(&mut self, img: &RgbImage, x0: u32, y0: u32) {
        let w = img.width.min(self.width.saturating_sub(x0));
        for y in 0..img.height.min(self.height.saturating_sub(y0)) {
            let src = (y * img.width * 3) as usize;
            let dst = (((y0 + y) * self.width + x0) * 3) as usize;
            self.pixels[dst..dst + (w * 3) as usize]
                .copy_from_slice(&img.pixels[src..src + (w * 3) as usize]);
        }
    }

    /// Write text (embedded font): `(text, x, y, pixel size)`, top-left anchored.
    pub fn text(&mut self, items: &[(String, i32, i32, u32)]) {
        super::font::register_font();
        let (w, h) = (self.width, self.height);
        let root = BitMapBackend::with_buffer(&mut self.pixels, (w, h)).into_drawing_area();
        for (t, x, y, size) in items {
            let font = (super::font::FONT, *size as f64).into_font().color(&BLACK);
            let _ = root.draw(&Text::new(t.clone(), (*x, *y), font));
        }
        let _ = root.present();
    }

    /// Draw a row-major `rows x cols` matrix with cells of `cell_w x cell_h` pixels from
    /// (x0, y0): `(v - lo) / (hi - lo)` through `map`; NaN cells are [`UNDEFINED`].
    ///
    /// [`UNDEFINED`]: super::colormap::UNDEFINED
    #[allow(clippy::too_many_arguments)]
    pub fn matrix(
        &mut self,
        x0: u32,
        y0: u32,
        values: &[f64],
        (rows, cols): (usize, usize),
        (cell_w, cell_h): (u32, u32),
        map: ColorMap,
        (lo, hi): (f64, f64),
    ) {
        let span = if hi > lo { hi - lo } else { 1.0 };
        for r in 0..rows {
            for c in 0..cols {
                let v = values[r * cols + c];
                let colour = map.rgb(if v.is_nan() {
                    f64::NAN
                } else {
                    (v - lo) / span
                });
                self.fill(
                    x0 + c as u32 * cell_w,
                    y0 + r as u32 * cell_h,
                    cell_w,
                    cell_h,
                    colour,
                );
            }
        }
    }

    /// A vertical colour bar `width x height` at (x, y), `hi` at the top, with its
    /// ends and middle labelled to its right.
    #[allow(clippy::too_many_arguments)]
    pub fn colour_bar(
        &mut self,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        map: ColorMap,
        (lo, hi): (f64, f64),
    ) {
        for i in 0..height {
            let t = 1.0 - i as f64 / (height.max(2) - 1) as f64;
            self.fill(x, y + i, width, 1, map.rgb(t));
        }
        let label = |v: f64| {
            if v != 0.0 && (v.abs() < 0.01 || v.abs() >= 1000.0) {
                format!("{v:+.2e}")
            } else {
                format!("{v:+.2}")
            }
        };
        let items: Vec<(String, i32, i32, u32)> = [(0.0, hi), (0.5, (lo + hi) / 2.0), (1.0, lo)]
            .iter()
            .map(|&(t, v)| {
                (
                    label(v),
                    (x + width + 4) as i32,
                    y as i32 + (t * (height as f64 - 1.0)) as i32 - 6,
                    12,
                )
            })
            .collect();
        self.text(&items);
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
    img.matrix(
        x0,
        y0,
        values,
        (d, d),
        (cell, cell),
        style.map,
        style.limits,
    );
    img.colour_bar(bar_x, y0, 24, grid, style.map, style.limits);
    let mut texts = vec![(style.title.clone(), x0 as i32, 12, 18)];
    if let Some(labels) = &style.labels {
        let step = ((12 / cell.max(1)) + 1) as usize;
        for (i, l) in labels.iter().enumerate().step_by(step) {
            let text: String = l.chars().take(16).collect();
            let y = y0 as i32 + i as i32 * cell as i32 + cell as i32 / 2 - 5;
            texts.push((text, 4, y, 10));
        }
    }
    img.text(&texts);
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
