//! The de Bruijn graph as a picture: its k^(n-1) states on a circle, its k^n codes as
//! arrows between them, each numbered by when the sequence walks it (the Eulerian
//! circuit), and coloured from red to violet in that order so the walk can be followed
//! by eye as well as by number.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font::FONT;
use super::plots::draw_png;
use crate::error::Result;

type Pt = (f64, f64);

fn px(p: Pt) -> (i32, i32) {
    (p.0.round() as i32, p.1.round() as i32)
}

/// A point of the quadratic Bézier curve a -> c -> b at t.
fn bezier(a: Pt, c: Pt, b: Pt, t: f64) -> Pt {
    let u = 1.0 - t;
    (
        u * u * a.0 + 2.0 * u * t * c.0 + t * t * b.0,
        u * u * a.1 + 2.0 * u * t * c.1 + t * t * b.1,
    )
}

fn dist(a: Pt, b: Pt) -> f64 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// One edge's path as points, cut where it enters and leaves the node discs.
struct Curve {
    points: Vec<Pt>,
    /// Where the number may go, best first (the middle, then further along either
    /// way): the first clear of the numbers already placed is taken.
    labels: Vec<Pt>,
}

/// Points at these fractions of the way along, middle first.
const LABEL_AT: [f64; 9] = [0.5, 0.42, 0.58, 0.34, 0.66, 0.27, 0.73, 0.2, 0.8];

/// The path from `a` to `b` bowed to the right of travel (so a -> b and b -> a do
/// not overlap), between the node discs of radius `r`.
fn arc(a: Pt, b: Pt, r: f64) -> Curve {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt();
    // Right of travel in screen coordinates (y down).
    let (nx, ny) = (-dy / len, dx / len);
    // Enough to part the two directions between neighbours too.
    let bow = (0.18 * len).max(1.1 * r);
    let mid = ((a.0 + b.0) / 2.0 + nx * bow, (a.1 + b.1) / 2.0 + ny * bow);
    let points: Vec<Pt> = (0..=120)
        .map(|i| bezier(a, mid, b, i as f64 / 120.0))
        .filter(|&p| dist(p, a) > r && dist(p, b) > r)
        .collect();
    Curve {
        labels: LABEL_AT.iter().map(|&t| bezier(a, mid, b, t)).collect(),
        points,
    }
}

/// A loop on the node at `a`, leaving it outwards along `angle`.
fn self_loop(a: Pt, angle: f64, r: f64) -> Curve {
    let lr = r * 0.9;
    let centre = (
        a.0 + (r + lr * 0.6) * angle.cos(),
        a.1 + (r + lr * 0.6) * angle.sin(),
    );
    let points: Vec<Pt> = (0..=120)
        .map(|i| {
            // Clockwise on screen, starting on the node's side.
            let t = angle + PI + 2.0 * PI * i as f64 / 120.0;
            (centre.0 + lr * t.cos(), centre.1 + lr * t.sin())
        })
        .filter(|&p| dist(p, a) > r)
        .collect();
    // The far side of the loop first, then around it.
    Curve {
        labels: LABEL_AT
            .iter()
            .map(|&t| {
                let t = angle + 2.0 * PI * (t - 0.5) * 0.8;
                (centre.0 + lr * t.cos(), centre.1 + lr * t.sin())
            })
            .collect(),
        points,
    }
}

/// Draw the graph of the k-symbol, order-n de Bruijn sequence `cycle` (its k^n symbols,
/// the cyclic sequence) to `path`; `labels` are the symbols' names.
pub fn draw_graph(
    path: &Path,
    k: usize,
    n: usize,
    labels: &[String],
    cycle: &[u8],
) -> Result<PathBuf> {
    let nodes = k.pow((n - 1) as u32);
    let edges = cycle.len();
    let size: u32 = if edges > 32 { 1500 } else { 1200 };
    let s = size as f64;
    let centre = (s / 2.0, s / 2.0 + 30.0);
    let ring = if nodes == 1 { 0.0 } else { s * 0.34 };
    // Node discs: large enough for their label, small enough not to touch.
    let spacing = if nodes == 1 {
        s
    } else {
        2.0 * ring * (PI / nodes as f64).sin()
    };
    let r = (spacing * 0.3).clamp(16.0, 42.0);
    let pos: Vec<Pt> = (0..nodes)
        .map(|i| {
            let t = -PI / 2.0 + 2.0 * PI * i as f64 / nodes as f64;
            (centre.0 + ring * t.cos(), centre.1 + ring * t.sin())
        })
        .collect();
    let name = |mut v: usize, len: usize| -> String {
        let mut out = vec![String::new(); len];
        for slot in out.iter_mut().rev() {
            *slot = labels[v % k].clone();
            v /= k;
        }
        if len == 0 {
            "(start)".to_string()
        } else {
            out.concat()
        }
    };
    // Edge i (from 0) is the word cycle[i..i + n] read around the end.
    let word =
        |i: usize| -> usize { (0..n).fold(0, |w, j| w * k + cycle[(i + j) % edges] as usize) };
    let tail = nodes.max(1);
    let text: String = cycle.iter().map(|&c| labels[c as usize].as_str()).collect();
    draw_png(path, (size, size), |root| {
        let title = (FONT, 30.0).into_font().color(&BLACK);
        let note = (FONT, 18.0).into_font().color(&RGBColor(70, 70, 70));
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.draw(&Text::new(
            format!(
                "de Bruijn graph, k = {k}, n = {n}: {nodes} state{}, {edges} codes",
                if nodes == 1 { "" } else { "s" }
            ),
            (30, 20),
            title,
        ))
        .map_err(e)?;
        root.draw(&Text::new(
            format!(
                "Nodes: the last {} symbol{} pressed. Arrows: the codes (node + next symbol). \
                 Numbers: the order the circuit walks them.",
                n - 1,
                if n == 2 { "" } else { "s" }
            ),
            (30, 60),
            note.clone(),
        ))
        .map_err(e)?;
        let shown = if text.chars().count() <= 90 {
            text.clone()
        } else {
            format!("{}…", text.chars().take(90).collect::<String>())
        };
        root.draw(&Text::new(
            format!("cyclic sequence: {shown}"),
            (30, size as i32 - 40),
            note.clone(),
        ))
        .map_err(e)?;
        // Loops per node so far, to fan several loops on one node (n = 1).
        let mut loops_at = vec![0usize; tail];
        let label_font = (FONT, if edges > 32 { 15.0 } else { 18.0 }).into_font();
        let mut numbers: Vec<(usize, Pt, HSLColor)> = Vec::new();
        let label_radius: i32 = if edges > 32 { 13 } else { 15 };
        for i in 0..edges {
            let w = word(i);
            let (from, to) = (w / k, w % tail);
            let hue = 0.83 * i as f64 / edges as f64;
            let colour = HSLColor(hue, 0.85, 0.40);
            let curve = if from == to {
                let base = if nodes == 1 {
                    -PI / 2.0
                } else {
                    (pos[from].1 - centre.1).atan2(pos[from].0 - centre.0)
                };
                let fan = if nodes == 1 {
                    2.0 * PI * loops_at[from] as f64 / k as f64
                } else {
                    0.0
                };
                loops_at[from] += 1;
                self_loop(pos[from], base + fan, r)
            } else {
                arc(pos[from], pos[to], r)
            };
            if curve.points.len() < 2 {
                continue;
            }
            let line: Vec<(i32, i32)> = curve.points.iter().map(|&p| px(p)).collect();
            root.draw(&PathElement::new(line, colour.stroke_width(3)))
                .map_err(e)?;
            // The arrowhead at the end, along the last stretch of the curve.
            let tip = *curve.points.last().expect("two points");
            let back = curve.points[curve.points.len().saturating_sub(6)];
            let (dx, dy) = (tip.0 - back.0, tip.1 - back.1);
            let l = (dx * dx + dy * dy).sqrt().max(1e-9);
            let (ux, uy) = (dx / l, dy / l);
            let head = 16.0;
            let left = (
                tip.0 - ux * head - uy * head * 0.5,
                tip.1 - uy * head + ux * head * 0.5,
            );
            let right = (
                tip.0 - ux * head + uy * head * 0.5,
                tip.1 - uy * head - ux * head * 0.5,
            );
            root.draw(&Polygon::new(
                vec![px(tip), px(left), px(right)],
                colour.filled(),
            ))
            .map_err(e)?;
            // The first candidate clear of the numbers already placed (else the middle).
            let clear = 2.0 * label_radius as f64 + 3.0;
            let at = curve
                .labels
                .iter()
                .copied()
                .find(|&p| {
                    numbers.iter().all(|&(_, q, _)| dist(p, q) > clear)
                        && pos.iter().all(|&q| dist(p, q) > r + clear / 2.0)
                })
                .unwrap_or(curve.labels[0]);
            numbers.push((i + 1, at, colour));
        }
        // Numbers over every line, each on a white disc ringed in its edge's colour.
        for (number, at, colour) in numbers {
            root.draw(&Circle::new(px(at), label_radius, WHITE.filled()))
                .map_err(e)?;
            root.draw(&Circle::new(px(at), label_radius, colour.stroke_width(2)))
                .map_err(e)?;
            let style = label_font
                .clone()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new(number.to_string(), px(at), style))
                .map_err(e)?;
        }
        // The nodes last, over the lines' ends.
        let node_font = (FONT, (r * 0.8).min(26.0)).into_font();
        for (v, &p) in pos.iter().enumerate() {
            root.draw(&Circle::new(
                px(p),
                r as i32,
                RGBColor(235, 240, 250).filled(),
            ))
            .map_err(e)?;
            root.draw(&Circle::new(px(p), r as i32, BLACK.stroke_width(2)))
                .map_err(e)?;
            let label = name(v, n - 1);
            let fits = (r * 1.8) / label.chars().count().max(1) as f64;
            let font = if fits < r * 0.8 * 0.6 {
                (FONT, fits / 0.6).into_font()
            } else {
                node_font.clone()
            };
            let style = font.color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new(label, px(p), style)).map_err(e)?;
        }
        Ok(())
    })
}
