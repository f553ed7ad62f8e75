//! Figures of a trained classifier: its training curves, its error as the least confident
//! rows are set aside, and its embedding with the confidence field behind it.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::font::FONT;
use super::plots::draw_png;
use crate::error::Result;

/// One epoch of the training curves.
pub struct EpochPoint {
    /// 1, 2, ...
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f64,
    /// Training accuracy (0 to 1).
    pub train_accuracy: f64,
    /// Test accuracy, when measured.
    pub test_accuracy: Option<f64>,
}

/// Loss (left) and accuracy (right) over the epochs.
pub fn training_curves(path: &Path, title: &str, epochs: &[EpochPoint]) -> Result<PathBuf> {
    let n = epochs.len().max(1) as f64;
    let max_loss = epochs.iter().map(|e| e.loss).fold(1e-9, f64::max) * 1.1;
    let accs = epochs
        .iter()
        .flat_map(|e| [Some(e.train_accuracy), e.test_accuracy])
        .flatten();
    let lo_acc = accs.fold(1.0, f64::min).min(0.9);
    let lo_acc = ((lo_acc * 20.0).floor() / 20.0).max(0.0);
    draw_png(path, (1200, 500), |root| {
        let title_area = root.titled(title, (FONT, 22)).map_err(|e| e.to_string())?;
        let (left, right) = title_area.split_horizontally(600);
        let mut c = ChartBuilder::on(&left)
            .caption("training loss", (FONT, 18))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.5..n + 0.5, 0.0..max_loss)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("epoch")
            .label_style((FONT, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        c.draw_series(LineSeries::new(
            epochs.iter().map(|e| (e.epoch as f64, e.loss)),
            BLUE.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
        let mut c = ChartBuilder::on(&right)
            .caption("accuracy", (FONT, 18))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.5..n + 0.5, lo_acc..1.0)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("epoch")
            .y_label_formatter(&|v| format!("{:.0} %", v * 100.0))
            .label_style((FONT, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        c.draw_series(LineSeries::new(
            epochs.iter().map(|e| (e.epoch as f64, e.train_accuracy)),
            BLUE.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?
        .label("train (as seen)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        let test: Vec<(f64, f64)> = epochs
            .iter()
            .filter_map(|e| e.test_accuracy.map(|t| (e.epoch as f64, t)))
            .collect();
        if !test.is_empty() {
            c.draw_series(LineSeries::new(test.clone(), RED.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label("test")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
            c.draw_series(test.iter().map(|&p| Circle::new(p, 3, RED.filled())))
                .map_err(|e| e.to_string())?;
        }
        c.configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FONT, 14))
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Error (percent) against coverage (percent of rows kept, most confident first).
pub fn rejection_curve(path: &Path, title: &str, points: &[(f64, f64)]) -> Result<PathBuf> {
    let hi = points.iter().map(|p| p.1).fold(1e-3, f64::max) * 100.0 * 1.15;
    draw_png(path, (800, 550), |root| {
        let mut c = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..100.0, 0.0..hi)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("coverage: rows kept, most confident first (%)")
            .y_desc("error among them (%)")
            .label_style((FONT, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        let pts: Vec<(f64, f64)> = points
            .iter()
            .map(|&(c, e)| (c * 100.0, e * 100.0))
            .collect();
        c.draw_series(LineSeries::new(pts, BLUE.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// A scalar field on a regular grid over a rectangle, row 0 at `y0`.
pub struct Field {
    /// x range.
    pub x: (f64, f64),
    /// y range.
    pub y: (f64, f64),
    /// Cells across.
    pub nx: usize,
    /// Cells down.
    pub ny: usize,
    /// `ny` rows of `nx` values in [0, 1].
    pub values: Vec<f64>,
}

/// What the embedding map shows.
pub struct EmbeddingMap<'a> {
    /// The title.
    pub title: &'a str,
    /// Axis names.
    pub axes: (&'a str, &'a str),
    /// Points and their class.
    pub points: &'a [(f64, f64, u32)],
    /// Class names, by class index.
    pub class_names: &'a [String],
    /// Support points (drawn as black crosses).
    pub support: &'a [(f64, f64)],
    /// The confidence field behind the points.
    pub field: Option<&'a Field>,
    /// A class drawn as black rings instead of a colour: rows of classes the model never
    /// saw.
    pub outsider: Option<u32>,
}

/// Ten well-separated colours (matplotlib's tab10).
const TAB10: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// tab10, then its colours lightened halfway to white (tab20's pairs), then again.
fn class_colour(c: u32) -> RGBColor {
    let (r, g, b) = TAB10[c as usize % 10];
    let lighten = |v: u8| -> u8 {
        let mut v = v as u32;
        for _ in 0..(c as usize / 10).min(2) {
            v = (v + 255) / 2;
        }
        v as u8
    };
    RGBColor(lighten(r), lighten(g), lighten(b))
}

/// Points coloured by class over a grey-to-white confidence field (white where the model
/// is unsure), support points as crosses.
pub fn embedding_map(path: &Path, m: &EmbeddingMap) -> Result<PathBuf> {
    let (mut x0, mut x1, mut y0, mut y1) = match m.field {
        Some(f) => (f.x.0, f.x.1, f.y.0, f.y.1),
        None => bounds(m.points.iter().map(|p| (p.0, p.1))),
    };
    if x1.partial_cmp(&x0) != Some(std::cmp::Ordering::Greater) {
        (x0, x1) = (x0 - 1.0, x0 + 1.0);
    }
    if y1.partial_cmp(&y0) != Some(std::cmp::Ordering::Greater) {
        (y0, y1) = (y0 - 1.0, y0 + 1.0);
    }
    draw_png(path, (1000, 860), |root| {
        let (plot, legend) = root.split_horizontally(840);
        let mut c = ChartBuilder::on(&plot)
            .caption(m.title, (FONT, 18))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        if let Some(f) = m.field {
            let (dx, dy) = ((f.x.1 - f.x.0) / f.nx as f64, (f.y.1 - f.y.0) / f.ny as f64);
            c.draw_series((0..f.ny).flat_map(|j| {
                (0..f.nx).map(move |i| {
                    let v = f.values[j * f.nx + i].clamp(0.0, 1.0);
                    // Confidence 1 is a mid grey, 0 white: the points stay readable.
                    let g = (255.0 - 110.0 * v) as u8;
                    let (xa, ya) = (f.x.0 + i as f64 * dx, f.y.0 + j as f64 * dy);
                    Rectangle::new([(xa, ya), (xa + dx, ya + dy)], RGBColor(g, g, g).filled())
                })
            }))
            .map_err(|e| e.to_string())?;
        }
        c.configure_mesh()
            .disable_mesh()
            .x_desc(m.axes.0)
            .y_desc(m.axes.1)
            .label_style((FONT, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        c.draw_series(
            m.points
                .iter()
                .filter(|p| Some(p.2) != m.outsider)
                .map(|&(x, y, k)| Circle::new((x, y), 2, class_colour(k).mix(0.7).filled())),
        )
        .map_err(|e| e.to_string())?;
        c.draw_series(
            m.points
                .iter()
                .filter(|p| Some(p.2) == m.outsider)
                .map(|&(x, y, _)| Circle::new((x, y), 3, BLACK.mix(0.6).stroke_width(1))),
        )
        .map_err(|e| e.to_string())?;
        c.draw_series(
            m.support
                .iter()
                .map(|&p| Cross::new(p, 5, BLACK.stroke_width(2))),
        )
        .map_err(|e| e.to_string())?;
        let names: Vec<(String, RGBColor)> = m
            .class_names
            .iter()
            .enumerate()
            .map(|(k, n)| (n.clone(), class_colour(k as u32)))
            .chain((!m.support.is_empty()).then(|| ("support point".to_string(), BLACK)))
            .collect();
        for (i, (name, colour)) in names.iter().enumerate() {
            let y = 60 + 24 * i as i32;
            let style = if m.outsider == Some(i as u32) {
                BLACK.stroke_width(1)
            } else {
                colour.filled()
            };
            legend
                .draw(&Circle::new((12, y), 5, style))
                .map_err(|e| e.to_string())?;
            legend
                .draw(&Text::new(name.clone(), (24, y - 8), (FONT, 14)))
                .map_err(|e| e.to_string())?;
        }
        if m.field.is_some() {
            let y = 80 + 24 * names.len() as i32;
            legend
                .draw(&Text::new("background: confidence", (4, y), (FONT, 13)))
                .map_err(|e| e.to_string())?;
            legend
                .draw(&Text::new(
                    "(grey sure, white unsure)",
                    (4, y + 18),
                    (FONT, 13),
                ))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// The bounding box of the points, padded by 5 %.
pub fn bounds(points: impl Iterator<Item = (f64, f64)>) -> (f64, f64, f64, f64) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return (-1.0, 1.0, -1.0, 1.0);
    }
    let (px, py) = (0.05 * (x1 - x0).max(1e-9), 0.05 * (y1 - y0).max(1e-9));
    (x0 - px, x1 + px, y0 - py, y1 + py)
}

/// What diffusion.png shows of a parameter-diffusion run.
pub struct DiffusionPicture<'a> {
    /// The title.
    pub title: &'a str,
    /// Per epoch end: (epoch, each replica's accuracy, the ensemble's).
    pub accuracy: &'a [(usize, Vec<f64>, f64)],
    /// Per exchange: (step, each neighbour pair's parameter distance).
    pub distances: &'a [(usize, Vec<f64>)],
    /// The neighbour pairs, in the distances' order.
    pub pairs: &'a [[usize; 2]],
    /// Influence, K x K: row i is how replica i's learning divides between the shards.
    pub influence: &'a [Vec<f64>],
}

/// diffusion.png: the replicas' accuracy over training (left), their spread as the
/// parameter distance between neighbours at each exchange (middle), and where each
/// replica's learning came from (right: the influence matrix).
pub fn diffusion_picture(path: &Path, d: &DiffusionPicture) -> Result<PathBuf> {
    let k = d.influence.len();
    draw_png(path, (1500, 520), |root| {
        let title_area = root
            .titled(d.title, (FONT, 20))
            .map_err(|e| e.to_string())?;
        let panels = title_area.split_evenly((1, 3));
        // Accuracy.
        let epochs = d.accuracy.iter().map(|p| p.0).max().unwrap_or(1).max(1) as f64;
        let accs = d
            .accuracy
            .iter()
            .flat_map(|p| p.1.iter().copied().chain([p.2]));
        let lo = accs.fold(1.0, f64::min);
        let lo = ((lo * 20.0).floor() / 20.0).clamp(0.0, 0.95);
        let mut c = ChartBuilder::on(&panels[0])
            .caption("accuracy on the probe rows", (FONT, 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0.5..epochs + 0.5, lo..1.0)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("epoch")
            .y_label_formatter(&|v| format!("{:.1} %", v * 100.0))
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        for r in 0..k {
            let colour = class_colour(r as u32);
            c.draw_series(LineSeries::new(
                d.accuracy
                    .iter()
                    .filter_map(|p| p.1.get(r).map(|&a| (p.0 as f64, a))),
                colour.stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
        }
        c.draw_series(LineSeries::new(
            d.accuracy.iter().map(|p| (p.0 as f64, p.2)),
            BLACK.stroke_width(3),
        ))
        .map_err(|e| e.to_string())?
        .label("ensemble")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(3)));
        c.configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FONT, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        // Spread.
        let steps = d.distances.iter().map(|p| p.0).max().unwrap_or(1).max(1) as f64;
        let hi = d
            .distances
            .iter()
            .flat_map(|p| p.1.iter().copied())
            .fold(1e-9, f64::max)
            * 1.1;
        let mut c = ChartBuilder::on(&panels[1])
            .caption("parameter distance between neighbours", (FONT, 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..steps, 0.0..hi)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("step (before each exchange)")
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        for (q, pair) in d.pairs.iter().enumerate() {
            c.draw_series(LineSeries::new(
                d.distances
                    .iter()
                    .filter_map(|p| p.1.get(q).map(|&v| (p.0 as f64, v))),
                class_colour(pair[0] as u32).stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
        }
        // Influence: rows are replicas (0 at the top), columns shards, cells centred on
        // whole numbers.
        let side = k as f64 - 0.5;
        let mut c = ChartBuilder::on(&panels[2])
            .caption("share of each replica's learning by shard", (FONT, 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(-0.5..side, -0.5..side)
            .map_err(|e| e.to_string())?;
        let whole = |v: f64| (v - v.round()).abs() < 1e-6 && v > -0.5 && v < side;
        c.configure_mesh()
            .disable_mesh()
            .x_desc("shard")
            .y_desc("replica")
            .x_labels(k.min(16) + 1)
            .y_labels(k.min(16) + 1)
            .x_label_formatter(&|v| {
                if whole(*v) {
                    format!("{}", v.round())
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| {
                if whole(*v) {
                    format!("{}", (k as f64 - 1.0 - v).round())
                } else {
                    String::new()
                }
            })
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, row) in d.influence.iter().enumerate() {
            for (j, &f) in row.iter().enumerate() {
                let (x, y) = (j as f64, (k - 1 - i) as f64);
                let shade = (255.0 * (1.0 - f.clamp(0.0, 1.0))) as u8;
                c.draw_series([Rectangle::new(
                    [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                    RGBColor(shade, shade, 255).filled(),
                )])
                .map_err(|e| e.to_string())?;
                if k <= 12 {
                    c.draw_series([Text::new(
                        format!("{f:.2}"),
                        (x - 0.2, y + 0.1),
                        (FONT, 13).into_font().color(&BLACK),
                    )])
                    .map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    })
}
