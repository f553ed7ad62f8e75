//! Isik's figures of an eigentechno fit, as PNG: the singular values, the cumulative
//! explained variance, the spectra of the first components (each over component 1)
//! and the average spectrum of the bars.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use realfft::RealFftPlanner;

use super::font::{FONT, register_font};
use crate::error::{Error, Result};

fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Encode {
        path: path.to_path_buf(),
        reason: format!("drawing the figure: {e}"),
    }
}

/// Draw into a temporary PNG beside `path`, then move it into place.
pub(crate) fn draw_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(
        &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    ) -> std::result::Result<(), String>,
) -> Result<PathBuf> {
    register_font();
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp.png", std::process::id()));
    {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        draw(&root).map_err(|e| plot_err(path, e))?;
        root.present().map_err(|e| plot_err(path, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    Ok(path.to_path_buf())
}

/// Mean magnitude spectrum of `x` over Hann-windowed frames of `window` samples, `hop`
/// apart (one frame, zero-padded, if `x` is shorter). `window / 2 + 1` bins.
pub fn mean_spectrum(x: &[f32], window: usize, hop: usize) -> Vec<f64> {
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(window);
    let hann: Vec<f32> = (0..window)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / window as f32).cos())
        .collect();
    let mut acc = vec![0f64; window / 2 + 1];
    let mut frames = 0;
    let mut input = vec![0f32; window];
    let mut spec = fft.make_output_vec();
    let mut start = 0;
    loop {
        for (i, v) in input.iter_mut().enumerate() {
            *v = x.get(start + i).copied().unwrap_or(0.0) * hann[i];
        }
        fft.process(&mut input, &mut spec).expect("planned length");
        for (a, c) in acc.iter_mut().zip(&spec) {
            *a += c.norm() as f64;
        }
        frames += 1;
        start += hop;
        if start + window > x.len() {
            break;
        }
    }
    acc.iter_mut().for_each(|a| *a /= frames as f64);
    acc
}

fn db(v: f64) -> f64 {
    20.0 * v.max(1e-12).log10()
}

/// The first `count` singular values (log scale).
pub fn singular_values(path: &Path, sv: &[f64], count: usize) -> Result<PathBuf> {
    let n = sv.len().min(count).max(1);
    let pts: Vec<(f64, f64)> = sv[..n.min(sv.len())]
        .iter()
        .enumerate()
        .map(|(i, &s)| ((i + 1) as f64, s.max(1e-12)))
        .collect();
    let hi = pts.iter().map(|p| p.1).fold(1e-12, f64::max) * 1.5;
    let lo = pts
        .iter()
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .min(hi / 10.0)
        / 1.5;
    draw_png(path, (1000, 600), |root| {
        let mut c = ChartBuilder::on(root)
            .caption(format!("First {n} singular values"), (FONT, 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..(n as f64 + 1.0), LogAxis::new(lo, hi))
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("component")
            .y_desc("singular value")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| plain(*v))
            .label_style((FONT, 14))
            .draw()
            .map_err(|e| e.to_string())?;
        c.draw_series(LineSeries::new(pts, BLUE.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Cumulative explained variance against the number of components.
pub fn cumulative_variance(path: &Path, cumulative: &[f64]) -> Result<PathBuf> {
    let n = cumulative.len().max(1);
    let pts: Vec<(f64, f64)> = cumulative
        .iter()
        .enumerate()
        .map(|(i, &c)| ((i + 1) as f64, c * 100.0))
        .collect();
    draw_png(path, (1000, 600), |root| {
        let mut c = ChartBuilder::on(root)
            .caption("Cumulative explained variance", (FONT, 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(LogAxis::new(1.0, (n as f64).max(2.0)), 0.0..100.0)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("components kept (log scale)")
            .y_desc("% of variance")
            .x_label_formatter(&|v| plain(*v))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FONT, 14))
            .draw()
            .map_err(|e| e.to_string())?;
        c.draw_series(LineSeries::new(pts, RED.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Readable, distinct line colours (dark enough on white).
const LINE_COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// Curves for [`curves_panel`]: the eight line colours, then eight lighter ones, so
/// that up to 16 curves differ by colour alone.
const CURVE_COLOURS: [RGBColor; 16] = [
    LINE_COLOURS[0],
    LINE_COLOURS[1],
    LINE_COLOURS[2],
    LINE_COLOURS[3],
    LINE_COLOURS[4],
    LINE_COLOURS[5],
    LINE_COLOURS[6],
    LINE_COLOURS[7],
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(120, 160, 220),
    RGBColor(240, 130, 130),
    RGBColor(110, 200, 100),
    RGBColor(190, 160, 215),
    RGBColor(250, 180, 100),
    RGBColor(0, 0, 0),
];

/// Most curves given a legend entry each; more are drawn without one.
const MAX_LEGEND: usize = 16;

/// A panel of curves (each a list of (x, y) points) over one x range, coloured in
/// turn, named in a legend when there are at most 16: the left part of `eigentechno
/// curves`' figure, as an image to stack beside heatmaps.
pub fn curves_panel(
    curves: &[Vec<(f64, f64)>],
    names: &[String],
    title: &str,
    (x_desc, y_desc): (&str, &str),
    (width, height): (u32, u32),
) -> Result<super::heatmap::RgbImage> {
    register_font();
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in curves.iter().flatten() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    // No span (or no points): a unit range.
    if x0.partial_cmp(&x1) != Some(std::cmp::Ordering::Less) {
        (x0, x1) = (-1.0, 1.0);
    }
    // Flat curves (all equal) still get a y range; otherwise 5 % room each side.
    let span = y1 - y0;
    let pad = if span > 1e-9 * y1.abs().max(y0.abs()).max(1e-300) && span.is_finite() {
        0.05 * span
    } else {
        0.5 * y0.abs().max(1.0)
    };
    let (y0, y1) = if y0.is_finite() {
        (y0 - pad, y1 + pad)
    } else {
        (-1.0, 1.0)
    };
    let mut img = super::heatmap::RgbImage::new(width, height);
    let drawn = (|| -> std::result::Result<(), String> {
        let root = BitMapBackend::with_buffer(&mut img.pixels, (width, height)).into_drawing_area();
        // The legend in a strip of its own: inside the axes it hides curves.
        let legend = curves.len() <= MAX_LEGEND;
        let (plot, strip) = root.split_horizontally(if legend { width - 150 } else { width });
        let mut c = ChartBuilder::on(&plot)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .light_line_style(WHITE)
            .x_label_formatter(&|v| plain(*v))
            .y_label_formatter(&|v| plain(*v))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, pts) in curves.iter().enumerate() {
            let colour = CURVE_COLOURS[i % CURVE_COLOURS.len()];
            c.draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
                .map_err(|e| e.to_string())?;
            if legend {
                let y = 44 + 18 * i as i32;
                strip
                    .draw(&PathElement::new(
                        vec![(4, y), (24, y)],
                        colour.stroke_width(3),
                    ))
                    .map_err(|e| e.to_string())?;
                let name: String = names
                    .get(i)
                    .map_or(String::new(), |n| n.chars().take(20).collect());
                strip
                    .draw(&Text::new(name, (30, y - 7), (FONT, 12).into_font()))
                    .map_err(|e| e.to_string())?;
            }
        }
        root.present().map_err(|e| e.to_string())
    })();
    drawn.map_err(|e| Error::Encode {
        path: title.into(),
        reason: format!("drawing the curves: {e}"),
    })?;
    Ok(img)
}

fn hz(v: &f64) -> String {
    if *v >= 1000.0 {
        format!("{}k", plain(v / 1000.0))
    } else {
        plain(*v)
    }
}

fn spectrum_points(spec: &[f64], rate: u32, window: usize) -> Vec<(f64, f64)> {
    let lowest = rate as f64 / window as f64;
    spec.iter()
        .enumerate()
        .skip((20.0 / lowest).ceil().max(1.0) as usize)
        .map(|(i, &m)| (i as f64 * rate as f64 / window as f64, db(m)))
        .collect()
}

fn db_range(series: &[&[(f64, f64)]]) -> (f64, f64) {
    let hi = series
        .iter()
        .flat_map(|s| s.iter().map(|p| p.1))
        .fold(f64::NEG_INFINITY, f64::max);
    (hi - 80.0, hi + 3.0)
}

/// The average spectrum of the bars (dB, log frequency).
pub fn average_spectrum(path: &Path, spec: &[f64], rate: u32, window: usize) -> Result<PathBuf> {
    let pts = spectrum_points(spec, rate, window);
    let (lo, hi) = db_range(&[&pts]);
    let f0 = (rate as f64 / window as f64).max(20.0);
    draw_png(path, (1000, 600), |root| {
        let mut c = ChartBuilder::on(root)
            .caption("Average spectrum of the bars", (FONT, 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(LogAxis::new(f0, rate as f64 / 2.0), lo..hi)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("Hz")
            .y_desc("dB")
            .x_label_formatter(&hz)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FONT, 14))
            .draw()
            .map_err(|e| e.to_string())?;
        c.draw_series(LineSeries::new(pts, BLACK.stroke_width(1)))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Spectra of the components after the first (`spectra[1..]`, components 2, 3, ... as a
/// person counts them), each panel over the first component (grey).
pub fn component_spectra(
    path: &Path,
    spectra: &[Vec<f64>],
    rate: u32,
    window: usize,
) -> Result<PathBuf> {
    let base = spectrum_points(&spectra[0], rate, window);
    let others: Vec<Vec<(f64, f64)>> = spectra[1..]
        .iter()
        .map(|s| spectrum_points(s, rate, window))
        .collect();
    let cols = 4;
    let rows = others.len().div_ceil(cols).max(1);
    let f0 = (rate as f64 / window as f64).max(20.0);
    draw_png(path, (1400, 260 * rows as u32 + 40), |root| {
        let root = root
            .titled(
                "Component spectra (colour) over component 1 (grey), dB against log frequency",
                (FONT, 22),
            )
            .map_err(|e| e.to_string())?;
        for (i, (area, pts)) in root
            .split_evenly((rows, cols))
            .iter()
            .zip(&others)
            .enumerate()
        {
            let (lo, hi) = db_range(&[&base, pts]);
            let mut c = ChartBuilder::on(area)
                .caption(format!("component {}", i + 2), (FONT, 15))
                .margin(6)
                .x_label_area_size(22)
                .y_label_area_size(36)
                .build_cartesian_2d(LogAxis::new(f0, rate as f64 / 2.0), lo..hi)
                .map_err(|e| e.to_string())?;
            c.configure_mesh()
                .label_style((FONT, 10))
                .x_label_formatter(&hz)
                .y_label_formatter(&|v| format!("{v:.0}"))
                .y_labels(5)
                .draw()
                .map_err(|e| e.to_string())?;
            c.draw_series(LineSeries::new(
                base.clone(),
                RGBColor(170, 170, 170).stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
            c.draw_series(LineSeries::new(
                pts.clone(),
                LINE_COLOURS[i % LINE_COLOURS.len()].stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// Held-out and training mean log-likelihood over k (select-k), drawn as each value's
/// distance below the best held-out value on a symmetric-log axis: the held-out curve
/// touches 0 at the best k, the training curve goes below 0 (above the best held-out
/// value) as k grows; decades from 1 to millions stay readable. Log k axis; the best k
/// marked and labelled. `curve` holds (k, held-out, train).
pub fn likelihood_over_k(
    path: &Path,
    curve: &[(usize, f64, f64)],
    best_k: usize,
) -> Result<PathBuf> {
    let best = curve
        .iter()
        .find(|c| c.0 == best_k)
        .map(|c| c.1)
        .unwrap_or(f64::NAN);
    let held: Vec<(f64, f64)> = curve.iter().map(|c| (c.0 as f64, best - c.1)).collect();
    let train: Vec<(f64, f64)> = curve.iter().map(|c| (c.0 as f64, best - c.2)).collect();
    let (k0, k1) = curve.iter().fold((f64::INFINITY, 1.0f64), |(a, b), c| {
        (a.min(c.0 as f64), b.max(c.0 as f64))
    });
    let k0 = if k0.is_finite() { k0 } else { 1.0 };
    let x = LogAxis::new(k0 / 1.15, k1.max(k0 * 2.0) * 1.15);
    let y = SymLog::covering(held.iter().chain(&train).map(|p| p.1));
    draw_png(path, (1000, 620), |root| {
        let mut c = ChartBuilder::on(root)
            .caption(
                format!("Held-out log-likelihood over k (best k = {best_k})"),
                (FONT, 24),
            )
            .margin(15)
            .margin_left(20)
            .x_label_area_size(50)
            .y_label_area_size(100)
            .build_cartesian_2d(x, y)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("components k (log scale)")
            .y_desc(
                "best held-out minus mean log-likelihood per bar (symmetric log; lower is better)",
            )
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .x_label_formatter(&|v| plain(*v))
            .y_label_formatter(&|v| plain(*v))
            .draw()
            .map_err(|e| e.to_string())?;
        let held_colour = LINE_COLOURS[0];
        let train_colour = LINE_COLOURS[4];
        c.draw_series(LineSeries::new(train.clone(), train_colour.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label("training rows (the fit's own)")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], train_colour.stroke_width(2))
            });
        c.draw_series(
            train
                .iter()
                .map(|&p| Circle::new(p, 2, train_colour.filled())),
        )
        .map_err(|e| e.to_string())?;
        c.draw_series(LineSeries::new(held.clone(), held_colour.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label("held-out rows")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], held_colour.stroke_width(2))
            });
        c.draw_series(
            held.iter()
                .map(|&p| Circle::new(p, 3, held_colour.filled())),
        )
        .map_err(|e| e.to_string())?;
        let mark = (best_k as f64, 0.0);
        c.draw_series(std::iter::once(Circle::new(
            mark,
            9,
            LINE_COLOURS[1].stroke_width(3),
        )))
        .map_err(|e| e.to_string())?
        .label(format!("best k = {best_k}"))
        .legend(|(x, y)| Circle::new((x + 12, y), 6, LINE_COLOURS[1].stroke_width(2)));
        c.draw_series(std::iter::once(
            EmptyElement::at(mark)
                + Text::new(
                    format!("best k = {best_k}"),
                    (12, 8),
                    (FONT, 16).into_font().color(&LINE_COLOURS[1]),
                ),
        ))
        .map_err(|e| e.to_string())?;
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// A number as a person writes it: no thousands separators, no trailing zeros
/// (`200`, `1000000`, `0.1`, `-50`, `2.5k` is not used here).
pub(crate) fn plain(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v.is_finite() {
            "0".into()
        } else {
            v.to_string()
        };
    }
    // Enough decimals for the leading significant digit and one more, then trimmed.
    let decimals = (1.0 - v.abs().log10().floor()).clamp(0.0, 12.0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

/// 1, 2 and 5 of each decade (only 1 when the range spans many decades) that lie in
/// `lo..=hi`; with `minor`, also the other integers of each decade.
fn decade_ticks(lo: f64, hi: f64, minor: bool) -> Vec<f64> {
    let (e0, e1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let spans = e1 - e0;
    let mults: &[f64] = if minor {
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    } else if spans <= 4 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let step = if !minor && spans > 10 { 2 } else { 1 };
    let mut out = Vec::new();
    for e in (e0..=e1).step_by(step) {
        for m in mults {
            // Rounded to the tick's own digits so 0.1 is 0.1, not 0.1000000002.
            let v: f64 = plain(m * 10f64.powi(e))
                .parse()
                .unwrap_or(m * 10f64.powi(e));
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                out.push(v);
            }
        }
    }
    if !minor && out.len() < 3 {
        return decade_ticks(lo, hi, true);
    }
    out
}

/// A log axis with ticks at 1, 2 and 5 of each decade (plotters' own log axis puts its
/// ticks at values that round to repeated or missing labels).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogAxis {
    lo: f64,
    hi: f64,
}

impl LogAxis {
    pub(crate) fn new(lo: f64, hi: f64) -> LogAxis {
        let lo = lo.max(1e-300);
        LogAxis {
            lo,
            hi: hi.max(lo * 1.0001),
        }
    }
}

impl plotters::coord::ranged1d::ValueFormatter<f64> for LogAxis {
    fn format(value: &f64) -> String {
        plain(*value)
    }
}

impl plotters::coord::ranged1d::Ranged for LogAxis {
    type FormatOption = plotters::coord::ranged1d::NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = (value.max(1e-300).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln());
        limit.0 + (f * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        let minor = hint.weight().allow_light_points();
        let mut v = decade_ticks(self.lo, self.hi, minor);
        if !minor {
            // Thin evenly when there is no room for every label.
            let room = hint.max_num_points().max(2);
            if v.len() > room {
                let step = v.len().div_ceil(room);
                v = v.into_iter().step_by(step).collect();
            }
        }
        v
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// A symmetric-log axis: linear within +-1, logarithmic beyond
/// (`sign(v) log10(1 + |v|)`), ticks at 0 and +-1, 10, 100, ...
#[derive(Clone, Copy, Debug)]
pub(crate) struct SymLog {
    lo: f64,
    hi: f64,
}

impl SymLog {
    fn t(v: f64) -> f64 {
        v.signum() * v.abs().ln_1p() / std::f64::consts::LN_10
    }

    fn inv(u: f64) -> f64 {
        u.signum() * (10f64.powf(u.abs()) - 1.0)
    }

    /// The range covering `values` (non-finite ones ignored) with a margin.
    pub(crate) fn covering(values: impl Iterator<Item = f64>) -> SymLog {
        let (a, b) = values
            .filter(|v| v.is_finite())
            .map(SymLog::t)
            .fold((0.0f64, 1.0f64), |(a, b), u| (a.min(u), b.max(u)));
        let pad = 0.04 * (b - a);
        SymLog {
            lo: SymLog::inv(a - pad),
            hi: SymLog::inv(b + pad),
        }
    }
}

impl plotters::coord::ranged1d::ValueFormatter<f64> for SymLog {
    fn format(value: &f64) -> String {
        plain(*value)
    }
}

impl plotters::coord::ranged1d::Ranged for SymLog {
    type FormatOption = plotters::coord::ranged1d::NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (a, b) = (SymLog::t(self.lo), SymLog::t(self.hi));
        let f = (SymLog::t(*value) - a) / (b - a);
        limit.0 + (f * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        let minor = hint.weight().allow_light_points();
        let side = |lo: f64, hi: f64, sign: f64| -> Vec<f64> {
            if hi < 1.0 {
                return Vec::new();
            }
            decade_ticks(1.0, hi, minor)
                .into_iter()
                .filter(|&v| v >= lo)
                .map(|v| sign * v)
                .collect::<Vec<_>>()
        };
        let mut v = side(1.0, self.hi, 1.0);
        v.extend(side(1.0, -self.lo, -1.0));
        if !minor {
            // Only decades, thinned to fit.
            v.retain(|x| {
                let l = x.abs().log10();
                (l - l.round()).abs() < 1e-9
            });
            // +-1 crowd 0 when the axis spans several decades.
            if SymLog::t(self.hi) - SymLog::t(self.lo) > 4.0 {
                v.retain(|x| x.abs() > 1.0);
            }
            let room = hint.max_num_points().max(3);
            while v.len() + 1 > room {
                let before = v.len();
                v.retain(|x| (x.abs().log10().round() as i64) % 2 == 0);
                if v.len() == before {
                    break;
                }
            }
        }
        v.push(0.0);
        v.sort_by(f64::total_cmp);
        v
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}
