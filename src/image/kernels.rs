//! Pictures of a trained network's convolution kernels: the kernel grid of a layer,
//! the first layer as colour patches, the energy of its 3 x 3 kernels per spatial mode,
//! the PCA of its kernel slices, its channel-to-channel norm map, and the norm maps of
//! every layer chained into one picture of the whole network.
//!
//! Weights are drawn on the dark-centred diverging map with symmetric limits shared
//! within a layer, so a zero weight is dark grey in every cell and the same colour
//! means the same value across the layer.

use crate::engine::pca::{MemoryRows, Method, PcaModel, PcaParams};
use crate::engine::spatial_modes::{ModeBasis, mode_names};
use crate::image::colormap::ColorMap;
use crate::image::heatmap::{RgbImage, symmetric_limits};
use crate::store::weights::ConvLayer;

/// The largest side of a figure, in pixels; bigger layers are shown in part
/// (kernel grids) or max-pooled (norm maps).
pub const MAX_SIDE: u32 = 4000;

const TITLE_ROOM: u32 = 40;
const BAR_ROOM: u32 = 110;
const GAP_COLOUR: [u8; 3] = [255, 255, 255];

/// Width in pixels a line of `text` needs at `size` (DejaVu Sans averages ~0.55 em).
fn text_width(text: &str, size: u32) -> u32 {
    (text.chars().count() as f64 * size as f64 * 0.56) as u32 + 20
}

/// The layer's colour limits: symmetric, at the middle `clip` % of its weights.
pub fn layer_limits(layer: &ConvLayer, clip: f64) -> (f64, f64) {
    let w: Vec<f64> = layer.weights.iter().map(|&v| v as f64).collect();
    symmetric_limits(&w, clip)
}

fn kernel_f64(layer: &ConvLayer, o: usize, i: usize) -> Vec<f64> {
    layer.kernel(o, i).iter().map(|&v| v as f64).collect()
}

/// Pixels per weight so a kernel is about `target` pixels on its long side.
fn pixels_per_weight(layer: &ConvLayer, target: usize, lo: usize, hi: usize) -> u32 {
    (target / layer.kh.max(layer.kw)).clamp(lo, hi) as u32
}

/// The kernel grid: output channels as rows, input channels as columns (a depthwise
/// layer, one input channel per kernel, wraps into a square), at most `max_channels`
/// of each.
pub fn kernel_grid(layer: &ConvLayer, limits: (f64, f64), max_channels: usize) -> RgbImage {
    let px = pixels_per_weight(layer, 40, 1, 8);
    let (cw, ch) = (layer.kw as u32 * px, layer.kh as u32 * px);
    let gap = if cw.min(ch) >= 8 { 2 } else { 1 };
    let wrapped = layer.in_channels == 1 && layer.out_channels > 1;
    let (cells, rows, cols, note) = if wrapped {
        let n = layer.out_channels.min(max_channels * max_channels);
        let cols = (n as f64).sqrt().ceil() as usize;
        let note = if n < layer.out_channels {
            format!(", first {n} of {}", layer.out_channels)
        } else {
            String::new()
        };
        (n, n.div_ceil(cols), cols, note)
    } else {
        let (r, c) = (
            layer.out_channels.min(max_channels),
            layer.in_channels.min(max_channels),
        );
        let note = if r < layer.out_channels || c < layer.in_channels {
            format!(
                ", first {r} of {} outputs x {c} of {} inputs",
                layer.out_channels, layer.in_channels
            )
        } else {
            String::new()
        };
        (r * c, r, c, note)
    };
    // Very wide or tall grids are cut at the figure limit (cells beyond are skipped).
    let grid_w = (cols as u32 * (cw + gap)).min(MAX_SIDE) + gap;
    let grid_h = (rows as u32 * (ch + gap)).min(MAX_SIDE) + gap;
    let what = if wrapped {
        "one kernel per output channel (depthwise)".to_string()
    } else {
        "rows: output channels, columns: input channels".to_string()
    };
    let title = format!(
        "{}: {} x {} kernels of {}x{} ({what}{note})",
        layer.name, layer.out_channels, layer.in_channels, layer.kh, layer.kw
    );
    let width = (10 + grid_w + BAR_ROOM).max(text_width(&title, 16));
    let height = TITLE_ROOM + grid_h.max(160) + 12;
    let mut img = RgbImage::new(width, height);
    let (x0, y0) = (10, TITLE_ROOM);
    img.fill(x0, y0, grid_w, grid_h, GAP_COLOUR);
    for cell in 0..cells {
        let (r, c, o, i) = if wrapped {
            (cell / cols, cell % cols, cell, 0)
        } else {
            (cell / cols, cell % cols, cell / cols, cell % cols)
        };
        let (x, y) = (
            x0 + gap + c as u32 * (cw + gap),
            y0 + gap + r as u32 * (ch + gap),
        );
        if x + cw > x0 + grid_w || y + ch > y0 + grid_h {
            continue;
        }
        img.matrix(
            x,
            y,
            &kernel_f64(layer, o, i),
            (layer.kh, layer.kw),
            (px, px),
            ColorMap::DarkDiverging,
            limits,
        );
    }
    img.colour_bar(
        x0 + grid_w + 16,
        y0,
        16,
        grid_h.clamp(120, 600),
        ColorMap::DarkDiverging,
        limits,
    );
    img.text(&[(title, 10, 12, 16)]);
    img
}

/// The first layer of an RGB network: each output channel's kernel as a colour
/// patch, mid grey at zero (`None` unless the layer reads 3 channels).
pub fn rgb_patches(layer: &ConvLayer, limits: (f64, f64)) -> Option<RgbImage> {
    if layer.in_channels != 3 || layer.groups != 1 || layer.kh * layer.kw < 2 {
        return None;
    }
    let n = layer.out_channels.min(1024);
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    let px = pixels_per_weight(layer, 48, 2, 16);
    let (cw, ch) = (layer.kw as u32 * px, layer.kh as u32 * px);
    let gap = 4;
    let m = limits.1.max(1e-30);
    let title = format!(
        "{}: {} kernels as RGB (input channels 0, 1, 2 = R, G, B; grey = 0, limits +-{:.3})",
        layer.name, layer.out_channels, m
    );
    let width = (cols as u32 * (cw + gap) + gap + 20).max(text_width(&title, 14));
    let height = TITLE_ROOM + rows as u32 * (ch + gap) + gap + 10;
    let mut img = RgbImage::new(width, height);
    img.fill(
        10,
        TITLE_ROOM,
        cols as u32 * (cw + gap) + gap,
        rows as u32 * (ch + gap) + gap,
        [20, 20, 20],
    );
    let hw = layer.kh * layer.kw;
    for o in 0..n {
        let (x0, y0) = (
            10 + gap + (o % cols) as u32 * (cw + gap),
            TITLE_ROOM + gap + (o / cols) as u32 * (ch + gap),
        );
        for p in 0..hw {
            let colour = [0, 1, 2].map(|c| {
                let v = layer.kernel(o, c)[p] as f64 / m;
                (127.5 + 127.5 * v.clamp(-1.0, 1.0)).round() as u8
            });
            img.fill(
                x0 + (p % layer.kw) as u32 * px,
                y0 + (p / layer.kw) as u32 * px,
                px,
                px,
                colour,
            );
        }
    }
    img.text(&[(title, 10, 12, 14)]);
    Some(img)
}

/// How a layer's kernel energy splits over the spatial modes.
#[derive(Clone, Debug, PartialEq)]
pub struct ModeEnergy {
    /// The modes' names.
    pub names: Vec<String>,
    /// Share of the layer's energy in each mode (sums to 1).
    pub layer_share: Vec<f64>,
    /// Per output channel, the share of that channel's energy in each mode
    /// (row-major `out x modes`; zero rows for all-zero channels).
    pub channel_share: Vec<f64>,
}

/// The spatial-mode energy of a layer's kernels (sides 2 to 7; 1-D kernels too).
pub fn mode_energy_of(layer: &ConvLayer) -> Option<ModeEnergy> {
    let names = mode_names(layer.kh, layer.kw)?;
    let basis = ModeBasis::new(layer.kh, layer.kw)?;
    let m = names.len();
    let mut layer_e = vec![0.0; m];
    let mut channel_share = vec![0.0; layer.out_channels * m];
    for o in 0..layer.out_channels {
        let row = &mut channel_share[o * m..(o + 1) * m];
        for i in 0..layer.in_channels {
            let e = basis.energy(&kernel_f64(layer, o, i))?;
            for (r, v) in row.iter_mut().zip(&e) {
                *r += v;
            }
        }
        for (l, v) in layer_e.iter_mut().zip(row.iter()) {
            *l += v;
        }
        let total: f64 = row.iter().sum();
        if total > 0.0 {
            row.iter_mut().for_each(|v| *v /= total);
        }
    }
    let total: f64 = layer_e.iter().sum();
    if total > 0.0 {
        layer_e.iter_mut().for_each(|v| *v /= total);
    }
    Some(ModeEnergy {
        names,
        layer_share: layer_e,
        channel_share,
    })
}

/// The mode-energy figure: the layer's share per mode (bars, each mode drawn beside
/// its name) and every output channel's shares (a heatmap, rows = channels).
pub fn modes_figure(layer: &ConvLayer, energy: &ModeEnergy) -> RgbImage {
    let m = energy.names.len();
    let (mh, mw) = (layer.kh, layer.kw);
    let mode_px = (24 / mh.max(mw)).clamp(3, 8) as u32;
    let row_h = (mh as u32 * mode_px + 10).max(30);
    let left_h = TITLE_ROOM + 20 + m as u32 * row_h + 10;
    let rows = layer.out_channels.min(1024);
    let cell_h = (480 / rows.max(1)).clamp(1, 12) as u32;
    let cell_w = 22;
    let right_x = 560;
    let right_h = TITLE_ROOM + 40 + rows as u32 * cell_h + 10;
    let width = right_x + m as u32 * cell_w + BAR_ROOM;
    let mut img = RgbImage::new(width, left_h.max(right_h).max(220));
    let mut texts = vec![(
        format!(
            "{}: energy of its {}x{} kernels per spatial mode (Legendre basis)",
            layer.name, layer.kh, layer.kw
        ),
        10,
        12,
        16,
    )];
    let basis = ModeBasis::new(mh, mw).expect("the energy was computed on this basis");
    let modes: Vec<Vec<f64>> = (0..m).map(|k| basis.kernel(k)).collect();
    let limit = modes.iter().flatten().fold(1e-12f64, |a, v| a.max(v.abs()));
    for (k, name) in energy.names.iter().enumerate() {
        let y = TITLE_ROOM + 20 + k as u32 * row_h;
        img.matrix(
            10,
            y,
            &modes[k],
            (mh, mw),
            (mode_px, mode_px),
            ColorMap::DarkDiverging,
            (-limit, limit),
        );
        texts.push((
            format!("{} {name}", k + 1),
            (18 + mw as u32 * mode_px) as i32,
            y as i32 + 4,
            13,
        ));
        let share = energy.layer_share[k];
        img.fill(
            240,
            y + 2,
            (share * 240.0).round() as u32,
            20,
            [230, 150, 40],
        );
        texts.push((
            format!("{:.1} %", 100.0 * share),
            250 + (share * 240.0) as i32,
            y as i32 + 5,
            12,
        ));
    }
    texts.push(("whole layer".into(), 240, TITLE_ROOM as i32 + 2, 13));
    let y0 = TITLE_ROOM + 40;
    img.matrix(
        right_x,
        y0,
        &energy.channel_share[..rows * m],
        (rows, m),
        (cell_w, cell_h),
        ColorMap::Viridis,
        (0.0, 1.0),
    );
    for k in 0..m {
        texts.push((
            format!("{}", k + 1),
            (right_x + k as u32 * cell_w + 6) as i32,
            y0 as i32 - 16,
            12,
        ));
    }
    texts.push((
        "per output channel".into(),
        right_x as i32,
        TITLE_ROOM as i32 + 2,
        13,
    ));
    img.text(&texts);
    img.colour_bar(
        right_x + m as u32 * cell_w + 12,
        y0,
        14,
        (rows as u32 * cell_h).max(120),
        ColorMap::Viridis,
        (0.0, 1.0),
    );
    img
}

/// PCA of all the layer's `kh x kw` kernel slices (one row per output-input pair):
/// the mean kernel and the dominant shapes. `None` when there are fewer than two
/// slices or one weight per slice, or the slices do not vary.
pub fn slice_pca(layer: &ConvLayer, components: usize) -> Option<PcaModel> {
    let d = layer.kh * layer.kw;
    let n = layer.out_channels * layer.in_channels;
    if d < 2 || n < 2 || components == 0 {
        return None;
    }
    let rows = MemoryRows::f32(&layer.weights, n, d).ok()?;
    let params = PcaParams {
        k: Some(components.min(d).min(n - 1)),
        method: Method::Exact,
        ..Default::default()
    };
    Some(params.check(&rows).ok()?.fit(&rows).ok()?.model)
}

/// The PCA figure: the mean slice, then the components with their explained variance.
pub fn pca_figure(layer: &ConvLayer, model: &PcaModel) -> RgbImage {
    let (kh, kw) = (layer.kh, layer.kw);
    let k = model.k();
    let mean: Vec<f64> = model.mean.iter().map(|&v| v as f64).collect();
    let mean_m = mean.iter().fold(0.0f64, |a, v| a.max(v.abs())).max(1e-30);
    let comp_m = model
        .components
        .iter()
        .fold(0.0f64, |a, v| a.max(v.abs() as f64))
        .max(1e-30);
    let panels: Vec<(String, Vec<f64>, f64)> = std::iter::once(("mean".to_string(), mean, mean_m))
        .chain((0..k).map(|c| {
            (
                format!(
                    "PC{} {:.1} %",
                    c + 1,
                    100.0 * model.explained_variance_ratio[c]
                ),
                model.component(c).iter().map(|&v| v as f64).collect(),
                comp_m,
            )
        }))
        .collect();
    let title = format!(
        "{}: PCA of its {} kernel slices of {kh}x{kw} (mean, then components; first {k} explain {:.1} %)",
        layer.name,
        model.n_samples,
        100.0 * model.explained_variance_ratio.iter().sum::<f64>()
    );
    let mut texts = vec![(title, 10, 12, 14)];
    let img = if kh == 1 {
        // 1-D kernels: one strip per row, caption at the left.
        let px = (720 / kw).clamp(1, 16) as u32;
        let strip_h = 18;
        let width = (150 + kw as u32 * px + 20).max(text_width(&texts[0].0, 14));
        let mut img = RgbImage::new(width, TITLE_ROOM + panels.len() as u32 * 28 + 10);
        for (j, (caption, v, m)) in panels.iter().enumerate() {
            let y = TITLE_ROOM + j as u32 * 28;
            img.matrix(
                150,
                y,
                v,
                (1, kw),
                (px, strip_h),
                ColorMap::DarkDiverging,
                (-m, *m),
            );
            texts.push((caption.clone(), 10, y as i32 + 2, 13));
        }
        img
    } else {
        let px = (72 / kh.max(kw)).clamp(2, 24) as u32;
        let (pw, ph) = (kw as u32 * px, kh as u32 * px);
        let step = pw.max(96) + 12;
        let width = (10 + panels.len() as u32 * step).max(text_width(&texts[0].0, 14));
        let mut img = RgbImage::new(width, TITLE_ROOM + ph + 40);
        for (j, (caption, v, m)) in panels.iter().enumerate() {
            let x = 10 + j as u32 * step;
            img.matrix(
                x,
                TITLE_ROOM,
                v,
                (kh, kw),
                (px, px),
                ColorMap::DarkDiverging,
                (-m, *m),
            );
            texts.push((caption.clone(), x as i32, (TITLE_ROOM + ph + 8) as i32, 12));
        }
        img
    };
    let mut img = img;
    img.text(&texts);
    img
}

/// The Frobenius norm of every kernel, as the layer's `out x total_in` connection
/// matrix (NaN where a grouped convolution has no connection).
pub fn norm_map(layer: &ConvLayer) -> (Vec<f64>, usize, usize) {
    let (rows, cols) = (layer.out_channels, layer.total_in_channels());
    let mut v = vec![f64::NAN; rows * cols];
    let per_group = (layer.out_channels / layer.groups).max(1);
    for o in 0..rows {
        let g = o / per_group;
        for i in 0..layer.in_channels {
            let n: f64 = layer
                .kernel(o, i)
                .iter()
                .map(|&w| (w as f64) * (w as f64))
                .sum::<f64>()
                .sqrt();
            v[o * cols + g * layer.in_channels + i] = n;
        }
    }
    (v, rows, cols)
}

/// Max-pool a matrix by `f` in both directions (NaN ignored).
fn pool(values: &[f64], rows: usize, cols: usize, f: usize) -> (Vec<f64>, usize, usize) {
    if f <= 1 {
        return (values.to_vec(), rows, cols);
    }
    let (r2, c2) = (rows.div_ceil(f), cols.div_ceil(f));
    let mut out = vec![f64::NAN; r2 * c2];
    for r in 0..rows {
        for c in 0..cols {
            let v = values[r * cols + c];
            let o = &mut out[(r / f) * c2 + c / f];
            if !v.is_nan() && (o.is_nan() || v > *o) {
                *o = v;
            }
        }
    }
    (out, r2, c2)
}

/// The top of a norm map's colour scale: its 99.5th percentile, so a few large
/// kernels do not leave the rest of the layer dark.
fn norm_top(v: &[f64]) -> f64 {
    crate::image::heatmap::clip_limits(v, 99.0).1.max(1e-30)
}

/// One layer's norm map: rows = output channels, columns = input channels.
pub fn norm_figure(layer: &ConvLayer) -> RgbImage {
    let (v, rows, cols) = norm_map(layer);
    let f = rows.max(cols).div_ceil(MAX_SIDE as usize);
    let (v, rows, cols) = pool(&v, rows, cols, f);
    let cell = (640 / rows.max(cols)).clamp(1, 16) as u32;
    let hi = norm_top(&v);
    let (gw, gh) = (cols as u32 * cell, rows as u32 * cell);
    let pooled = if f > 1 {
        format!(", max over {f}x{f} blocks")
    } else {
        String::new()
    };
    let title = format!(
        "{}: kernel norm, output (rows) x input channel (columns){pooled}",
        layer.name
    );
    let mut img = RgbImage::new(
        (10 + gw + BAR_ROOM).max(text_width(&title, 14)),
        TITLE_ROOM + gh.max(140) + 10,
    );
    img.matrix(
        10,
        TITLE_ROOM,
        &v,
        (rows, cols),
        (cell, cell),
        ColorMap::Viridis,
        (0.0, hi),
    );
    img.colour_bar(
        10 + gw + 14,
        TITLE_ROOM,
        14,
        gh.clamp(120, 600),
        ColorMap::Viridis,
        (0.0, hi),
    );
    img.text(&[(title, 10, 12, 14)]);
    img
}

/// The whole network: every layer's norm map, chained so that each layer's output
/// channels line up with the next layer's input channels (a staircase: layer 1 with
/// its outputs across, layer 2 below it with its inputs across, layer 3 beside that
/// with its inputs down, ...). Each map is scaled to its own maximum.
pub fn network_figure(layers: &[ConvLayer]) -> RgbImage {
    let maps: Vec<(Vec<f64>, usize, usize)> = layers
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            let (v, r, c) = norm_map(layer);
            if l % 2 == 0 {
                // Transposed: inputs down, outputs across.
                let mut t = vec![0.0; v.len()];
                for i in 0..r {
                    for j in 0..c {
                        t[j * r + i] = v[i * c + j];
                    }
                }
                (t, c, r)
            } else {
                (v, r, c)
            }
        })
        .collect();
    // Positions in cells, then a scale that fits.
    let gap_cells = 2usize;
    let mut pos = Vec::with_capacity(maps.len());
    let (mut x, mut y) = (0usize, 0usize);
    for l in 0..maps.len() {
        if l > 0 {
            let (px, py) = pos[l - 1];
            let (_, pr, pc): &(Vec<f64>, usize, usize) = &maps[l - 1];
            (x, y) = if l % 2 == 1 {
                (px, py + pr + gap_cells)
            } else {
                (px + pc + gap_cells, py)
            };
        }
        pos.push((x, y));
    }
    let total_w = pos
        .iter()
        .zip(&maps)
        .map(|(p, m)| p.0 + m.2)
        .max()
        .unwrap_or(1);
    let total_h = pos
        .iter()
        .zip(&maps)
        .map(|(p, m)| p.1 + m.1)
        .max()
        .unwrap_or(1);
    let side = (MAX_SIDE - 40) as usize;
    let f = total_w.max(total_h).div_ceil(side).max(1);
    let cell = if f > 1 {
        1
    } else {
        (1600 / total_w.max(total_h)).clamp(1, 12) as u32
    };
    let (w, h) = (
        (total_w.div_ceil(f) as u32 * cell + 40).max(760),
        TITLE_ROOM + 20 + total_h.div_ceil(f) as u32 * cell + 20,
    );
    let mut img = RgbImage::new(w, h);
    let mut texts = vec![(
        format!(
            "{} conv layers, kernel norms chained: each layer's outputs meet the next layer's inputs{}",
            layers.len(),
            if f > 1 {
                format!(" (max over {f}x{f} blocks)")
            } else {
                String::new()
            }
        ),
        10,
        12,
        14,
    )];
    for (l, ((v, r, c), (px, py))) in maps.iter().zip(&pos).enumerate() {
        let (pv, pr, pc) = pool(v, *r, *c, f);
        let (x0, y0) = (
            20 + (px / f) as u32 * cell,
            TITLE_ROOM + 20 + (py / f) as u32 * cell,
        );
        img.matrix(
            x0,
            y0,
            &pv,
            (pr, pc),
            (cell, cell),
            ColorMap::Viridis,
            (0.0, norm_top(&pv)),
        );
        if pr as u32 * cell >= 14 && pc as u32 * cell >= 14 {
            texts.push((format!("{}", l + 1), x0 as i32 + 2, y0 as i32 + 1, 11));
        }
    }
    img.text(&texts);
    img
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::colormap::luma;
    use crate::store::weights::{Layout, layer_from_tensor};

    fn layer(shape: &[usize], data: Vec<f32>) -> ConvLayer {
        layer_from_tensor("test", shape, data, Layout::Oihw, 1)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn grid_cells_show_the_weights_on_a_shared_symmetric_scale() {
        // 2 outputs x 1 input... use 2 x 2 so the grid is not wrapped.
        let mut w = vec![0.0f32; 2 * 2 * 9];
        w[4] = 1.0; // kernel (0,0) centre: +max
        w[9 + 4] = -1.0; // kernel (0,1) centre: -max
        let l = layer(&[2, 2, 3, 3], w);
        let lim = layer_limits(&l, 100.0);
        assert_eq!(lim, (-1.0, 1.0));
        let img = kernel_grid(&l, lim, 64);
        let px = 8u32; // 40 / 3 -> 13 clamped to 8
        let centre = |r: u32, c: u32| {
            let gap = 2;
            let x = 10 + gap + c * (3 * px + gap) + px + px / 2;
            let y = TITLE_ROOM + gap + r * (3 * px + gap) + px + px / 2;
            img.get(x, y)
        };
        assert_eq!(centre(0, 0), ColorMap::DarkDiverging.rgb(1.0));
        assert_eq!(centre(0, 1), ColorMap::DarkDiverging.rgb(0.0));
        let zero = centre(1, 0);
        assert_eq!(zero, ColorMap::DarkDiverging.rgb(0.5));
        assert!(luma(zero) < 0.25 * luma(centre(0, 0)));
    }

    #[test]
    fn norm_map_of_a_depthwise_layer_is_diagonal() {
        let mut l = layer(&[4, 1, 3, 3], (0..36).map(|v| v as f32).collect());
        l.groups = 4;
        let (v, r, c) = norm_map(&l);
        assert_eq!((r, c), (4, 4));
        for o in 0..4 {
            for i in 0..4 {
                assert_eq!(v[o * 4 + i].is_nan(), o != i, "({o},{i})");
            }
        }
        let k1: f64 = (9..18).map(|x| (x * x) as f64).sum::<f64>().sqrt();
        assert!((v[5] - k1).abs() < 1e-9);
    }

    #[test]
    fn mode_energy_of_gradient_filters_is_all_gradient() {
        // Output 0: x-gradients on both inputs; output 1: y-gradient.
        let gx = [-1.0f32, 0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 0.0, 1.0];
        let gy = [-1.0f32, -1.0, -1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let w: Vec<f32> = [gx, gx, gy, gy].concat();
        let e = mode_energy_of(&layer(&[2, 2, 3, 3], w)).unwrap();
        assert!((e.layer_share[1] - 0.5).abs() < 1e-12 && (e.layer_share[3] - 0.5).abs() < 1e-12);
        assert!((e.channel_share[1] - 1.0).abs() < 1e-12);
        assert!((e.channel_share[9 + 3] - 1.0).abs() < 1e-12);
        assert!(mode_energy_of(&layer(&[2, 2, 9, 9], vec![1.0; 324])).is_none());
        let e5 = mode_energy_of(&layer(&[1, 1, 5, 5], vec![1.0; 25])).unwrap();
        assert!(
            (e5.layer_share[0] - 1.0).abs() < 1e-12,
            "a constant 5x5 is all mean"
        );
    }

    #[test]
    fn slice_pca_finds_the_one_shape_that_varies() {
        // Slices = a * gradient + constant mean: one component, the gradient.
        let gx = [-1.0f32, 0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 0.0, 1.0];
        let mut w = Vec::new();
        for a in [-2.0f32, -1.0, 0.5, 1.0, 3.0, 4.0] {
            w.extend(gx.iter().map(|g| a * g + 0.25));
        }
        let m = slice_pca(&layer(&[3, 2, 3, 3], w), 4).unwrap();
        assert!(m.explained_variance_ratio[0] > 0.999_999);
        let c = m.component(0);
        let norm = 6f32.sqrt();
        for (ci, g) in c.iter().zip(gx) {
            assert!((ci.abs() - (g / norm).abs()).abs() < 1e-5, "{c:?}");
        }
        for (mj, g) in m.mean.iter().zip(gx) {
            assert!((mj - (5.5 / 6.0 * g + 0.25)).abs() < 1e-6, "{:?}", m.mean);
        }
    }
}
