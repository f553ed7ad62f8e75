//! Isik's figures of an eigentechno fit, as PNG: the singular values, the cumulative
//! explained variance, the spectra of the first components (each over component 0)
//! and the average spectrum of the bars.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;
use realfft::RealFftPlanner;

use crate::error::{Error, Result};

pub(crate) const FONT: &str = "sans-serif";

pub(crate) fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded DejaVu Sans: plotters' ab_glyph backend then needs no fontconfig.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Encode {
        path: path.to_path_buf(),
        reason: format!("drawing the figure: {e}"),
    }
}

/// Draw into a temporary PNG beside `path`, then move it into place.
fn draw_png(
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
            .build_cartesian_2d(0.0..(n as f64 + 1.0), (lo..hi).log_scale())
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("component")
            .y_desc("singular value")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.3}"))
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
            .build_cartesian_2d((1.0..(n as f64).max(2.0)).log_scale(), 0.0..100.0)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("components kept")
            .y_desc("% of variance")
            .x_label_formatter(&|v| format!("{v:.0}"))
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

fn hz(v: &f64) -> String {
    if *v >= 1000.0 {
        format!("{:.0}k", v / 1000.0)
    } else {
        format!("{v:.0}")
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
            .build_cartesian_2d((f0..rate as f64 / 2.0).log_scale(), lo..hi)
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

/// Spectra of components 1..=n, each panel over component 0 (grey).
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
                "Component spectra (colour) over component 0 (grey), dB against log frequency",
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
                .caption(format!("component {}", i + 1), (FONT, 15))
                .margin(6)
                .x_label_area_size(22)
                .y_label_area_size(36)
                .build_cartesian_2d((f0..rate as f64 / 2.0).log_scale(), lo..hi)
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

/// A single curve with an optional marked point (used for held-out likelihood over k).
pub fn curve(
    path: &Path,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    pts: &[(f64, f64)],
    mark: Option<(f64, f64)>,
) -> Result<PathBuf> {
    let (x0, x1) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    let (y0, y1) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    draw_png(path, (1000, 600), |root| {
        let mut c = ChartBuilder::on(root)
            .caption(title, (FONT, 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style((FONT, 14))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(|e| e.to_string())?;
        c.draw_series(LineSeries::new(
            pts.to_vec(),
            LINE_COLOURS[0].stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
        c.draw_series(
            pts.iter()
                .map(|&p| Circle::new(p, 3, LINE_COLOURS[0].filled())),
        )
        .map_err(|e| e.to_string())?;
        if let Some(m) = mark {
            c.draw_series(std::iter::once(Circle::new(
                m,
                8,
                LINE_COLOURS[1].stroke_width(3),
            )))
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}
