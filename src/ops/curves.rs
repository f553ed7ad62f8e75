//! Polynomial curves compared by how they look (post 3): the RMS difference of two
//! curves over their domain, from their Legendre embeddings ([`crate::engine::poly`]),
//! beside the naive distance between their power-basis coefficients. Rows of
//! coefficients or of sampled curves in a `.npy`, or the tempo curves of a run's
//! tracks (`report.json`), in; `distances.npy`, `naive.npy`, `curves.png` and
//! `curves.json` out.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use serde::Serialize;

use crate::engine::corr::order_by_distance;
use crate::engine::legendre::{legendre_embedding, legendre_eval};
use crate::engine::poly::{
    Basis, MAX_COEFFICIENTS, PolyError, check_coefficients, check_domain, distance_matrix,
    embedding, even_grid, fit_legendre, legendre_to_power, legendre_to_power_on_domain,
    to_legendre,
};
use crate::error::{Error, Result};
use crate::image::colormap::ColorMap;
use crate::image::heatmap::{HeatmapStyle, RgbImage, clip_limits, render};
use crate::image::plots::curves_panel;
use crate::store::{NdArray, read_json, read_npy, write_atomic, write_npy};

use super::corrmatrix::round_to_digits;

/// Most rows compared: the two matrices are `n x n` float64 (2 x 134 MB at 4096).
pub const MAX_CURVES: usize = 4096;

/// Most rows drawn: a heatmap cell is 2 pixels at 360 rows.
pub const MAX_DRAWN: usize = 360;

/// Settings of [`curves_of_path`] as given; [`CurveParams::check`] makes them
/// [`CurveOptions`].
#[derive(Clone, Debug, Default)]
pub struct CurveParams {
    /// The curves' domain `(A, B)` (`None`: [-1, 1]); not for a run folder.
    pub domain: Option<(f64, f64)>,
    /// The coefficients' basis (`None`: power); not for sampled curves or a run.
    pub basis: Option<Basis>,
    /// Rows are curves sampled on an evenly spaced grid over the domain (both ends
    /// included), fitted by least squares first.
    pub samples: bool,
    /// Degree of that fit (`None`: 3); only with `samples`.
    pub degree: Option<usize>,
    /// Compare shapes only: subtract each curve's mean over the domain. Always so for
    /// a run folder (the tracks' mean tempos would swamp how their tempo moves).
    pub centre: bool,
}

super::checked_options!(
    /// Checked curve settings: a domain A < B, a degree with at most
    /// [`MAX_COEFFICIENTS`] coefficients, and only settings that apply together.
    CurveOptions(CurveParams)
);

impl CurveParams {
    /// Check the settings.
    pub fn check(self) -> Result<CurveOptions> {
        if let Some(d) = self.domain {
            check_domain(d).map_err(poly_error)?;
        }
        if let Some(d) = self.degree {
            if !self.samples {
                return Err(Error::InvalidArgument {
                    name: "degree",
                    expected: "only with samples (a degree is for fitting sampled curves)".into(),
                    actual: d.to_string(),
                });
            }
            if d + 1 > MAX_COEFFICIENTS {
                return Err(poly_error(PolyError::TooLong { got: d + 1 }));
            }
        }
        if let (true, Some(b)) = (self.samples, self.basis) {
            return Err(Error::InvalidArgument {
                name: "basis",
                expected: "no basis with samples (the rows are values, not coefficients)".into(),
                actual: basis_name(b).into(),
            });
        }
        Ok(CurveOptions(self))
    }

    fn domain(&self) -> (f64, f64) {
        self.domain.unwrap_or((-1.0, 1.0))
    }
}

/// An engine refusal as an argument error (what the fronts report as bad input).
pub(crate) fn poly_error(e: PolyError) -> Error {
    let (name, expected, actual) = match e {
        PolyError::Empty(what) => (what, "at least one value".into(), "none".into()),
        PolyError::NotFinite { what, value, index } => (
            what,
            "finite numbers".into(),
            format!("{value} at index {index}"),
        ),
        PolyError::BadDomain(a, b) => (
            "domain",
            "two finite numbers A < B".into(),
            format!("({a}, {b})"),
        ),
        PolyError::TooLong { got } => (
            "degree",
            format!(
                "at most {} ({MAX_COEFFICIENTS} coefficients)",
                MAX_COEFFICIENTS - 1
            ),
            (got - 1).to_string(),
        ),
        PolyError::Mismatch { x, y } => ("y", format!("{x} points, as x"), y.to_string()),
        PolyError::Underdetermined { degree, distinct } => (
            "degree",
            format!("below the number of distinct x values ({distinct})"),
            degree.to_string(),
        ),
    };
    Error::InvalidArgument {
        name,
        expected,
        actual,
    }
}

/// Curves ready to compare.
#[derive(Clone, Debug, PartialEq)]
pub struct Curves {
    /// A name per row (`X.labels.txt` beside the `.npy`, `row N`, or the track).
    pub names: Vec<String>,
    /// Legendre coefficients in `t` on [-1, 1] (the domain mapped there).
    pub legendre: Vec<Vec<f64>>,
    /// Power-basis coefficients as the naive distance compares them: the rows as
    /// given, the fitted ones in `x`, or a track's in normalised time `t`.
    pub power: Vec<Vec<f64>>,
    /// The x range the curves are drawn over.
    pub domain: (f64, f64),
    /// `coefficients`, `samples` or `run`.
    pub source: &'static str,
    /// The basis the rows were given in (`power`, `legendre`; `samples`: fitted).
    pub basis: &'static str,
    /// The fit's degree (`samples` only).
    pub degree: Option<usize>,
    /// Each curve's mean was subtracted.
    pub centred: bool,
    /// What the values are (`bpm` for tempo curves).
    pub unit: Option<&'static str>,
    /// Tracks of a run without a tempo curve (failed, or under 8 beat intervals).
    pub skipped: Vec<String>,
}

fn bad_file(path: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidData {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Read curves from `path`: a `.npy` of rows (coefficients, or samples with
/// `samples`), or a run folder (its `report.json`, or that file itself), whose tracks'
/// tempo curves are compared centred.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let npy = dir.path().join("c.npy");
/// let rows = ndarray::arr2(&[[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]).into_dyn();
/// eigentechno::store::write_npy(&npy, &eigentechno::store::NdArray::F64(rows))?;
/// let curves = eigentechno::ops::curves_of_path(&npy, &Default::default())?;
/// let (report, _) = eigentechno::ops::curves_to_dir(&curves, &dir.path().join("out"))?;
/// // x and x^3 on [-1, 1]: sqrt(8/105) apart, though their coefficients are sqrt(2) apart.
/// assert!((report.distances[0][1] - (8.0f64 / 105.0).sqrt()).abs() < 1e-15);
/// assert_eq!(report.naive[0][1], 2f64.sqrt());
/// # Ok(()) }
/// ```
pub fn curves_of_path(path: &Path, opts: &CurveOptions) -> Result<Curves> {
    let report = if path.is_dir() {
        Some(find_report(path)?)
    } else if path.file_name().is_some_and(|n| n == "report.json") {
        Some(path.to_path_buf())
    } else {
        None
    };
    match report {
        Some(r) => {
            if opts.domain.is_some() || opts.basis.is_some() || opts.samples {
                return Err(Error::InvalidArgument {
                    name: "domain, basis or samples",
                    expected: "none of them with a run folder (its tempo curves say theirs)".into(),
                    actual: path.display().to_string(),
                });
            }
            tempo_curves(&r)
        }
        None => npy_curves(path, opts),
    }
}

/// `report.json` in `dir`, or in one of its folders (a run's `matrix/`).
fn find_report(dir: &Path) -> Result<PathBuf> {
    let here = dir.join("report.json");
    if here.is_file() {
        return Ok(here);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("report.json"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.into_iter().next().ok_or_else(|| {
        bad_file(
            dir,
            "no report.json here or in its folders: give a run's output folder, or a .npy",
        )
    })
}

/// The tracks' tempo curves from a run's `report.json`, centred, in normalised time.
fn tempo_curves(report: &Path) -> Result<Curves> {
    let v = read_json(report)?;
    let tracks = v
        .get("tracks")
        .and_then(|t| t.as_array())
        .ok_or_else(|| bad_file(report, "no 'tracks' list: not a run's report.json"))?;
    let (mut paths, mut legendre, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for t in tracks {
        let path = t.get("path").and_then(|p| p.as_str()).unwrap_or("?");
        let coefficients: Option<Vec<f64>> = t
            .get("tempo_curve")
            .and_then(|c| c.get("coefficients"))
            .and_then(|c| c.as_array())
            .map(|c| c.iter().filter_map(|x| x.as_f64()).collect());
        match coefficients {
            Some(c) if !c.is_empty() => {
                check_coefficients("coefficients", &c).map_err(|e| {
                    bad_file(report, format!("{path}: tempo_curve: {}", poly_error(e)))
                })?;
                paths.push(path.to_string());
                legendre.push(c);
            }
            _ => skipped.push(path.to_string()),
        }
    }
    if legendre.is_empty() {
        return Err(bad_file(
            report,
            format!(
                "none of its {} tracks has a tempo_curve (a run before tempo curves were \
                 reported? run it again)",
                tracks.len()
            ),
        ));
    }
    check_rows(report, legendre.len())?;
    let names = track_names(&paths);
    let mut curves = Curves {
        names,
        power: legendre.iter().map(|l| legendre_to_power(l)).collect(),
        legendre,
        domain: (-1.0, 1.0),
        source: "run",
        basis: "legendre",
        degree: None,
        centred: false,
        unit: Some("bpm"),
        skipped,
    };
    centre(&mut curves);
    Ok(curves)
}

/// Short names for tracks: the file stems, or more of the path where stems repeat.
fn track_names(paths: &[String]) -> Vec<String> {
    let stem = |p: &str| {
        Path::new(p)
            .file_stem()
            .map_or(p.to_string(), |s| s.to_string_lossy().to_string())
    };
    let stems: Vec<String> = paths.iter().map(|p| stem(p)).collect();
    stems
        .iter()
        .zip(paths)
        .map(|(s, p)| {
            if stems.iter().filter(|t| *t == s).count() > 1 {
                p.clone()
            } else {
                s.clone()
            }
        })
        .collect()
}

/// Subtract each curve's mean over the domain: the Legendre `c_0`, which is also what
/// the power basis' constant term loses.
fn centre(c: &mut Curves) {
    for (l, p) in c.legendre.iter_mut().zip(&mut c.power) {
        p[0] -= l[0];
        l[0] = 0.0;
    }
    c.centred = true;
}

fn check_rows(path: &Path, n: usize) -> Result<()> {
    if n > MAX_CURVES {
        return Err(bad_file(
            path,
            format!("{n} curves: at most {MAX_CURVES} are compared (two {n} x {n} matrices)"),
        ));
    }
    Ok(())
}

fn npy_curves(path: &Path, opts: &CurveOptions) -> Result<Curves> {
    let a = read_npy(path)?;
    let shape = a.shape().to_vec();
    let what = if opts.samples {
        "sampled curves"
    } else {
        "coefficients"
    };
    if shape.len() != 2 {
        return Err(bad_file(
            path,
            format!(
                "a {}-D array of shape {shape:?}: expected 2-D, one curve's {what} per row",
                shape.len()
            ),
        ));
    }
    let (n, d) = (shape[0], shape[1]);
    if n == 0 || d == 0 {
        return Err(bad_file(
            path,
            format!("no curves: shape {shape:?} (expected rows of {what})"),
        ));
    }
    check_rows(path, n)?;
    let values = a.to_f64();
    let values = values.as_slice().expect("read_npy gives C order");
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(bad_file(
            path,
            format!(
                "{what} hold {} at row {}, column {}",
                values[i],
                i / d,
                i % d
            ),
        ));
    }
    let rows: Vec<Vec<f64>> = values.chunks(d).map(<[f64]>::to_vec).collect();
    let domain = opts.domain();
    let names = super::labels_beside(path)
        .filter(|l| l.len() == n)
        .unwrap_or_else(|| (0..n).map(|i| format!("row {i}")).collect());
    let mut curves = if opts.samples {
        let degree = opts.degree.unwrap_or(3);
        let x = even_grid(d, domain);
        let legendre = fit_legendre(&x, &rows, degree, domain).map_err(|e| match e {
            PolyError::Underdetermined { .. } => Error::InvalidArgument {
                name: "degree",
                expected: format!(
                    "below the {d} samples per row of {} (a degree-{degree} fit needs {} points)",
                    path.display(),
                    degree + 1
                ),
                actual: degree.to_string(),
            },
            e => poly_error(e),
        })?;
        Curves {
            names,
            power: legendre
                .iter()
                .map(|l| legendre_to_power_on_domain(l, domain))
                .collect(),
            legendre,
            domain,
            source: "samples",
            basis: "power",
            degree: Some(degree),
            centred: false,
            unit: None,
            skipped: Vec::new(),
        }
    } else {
        if d > MAX_COEFFICIENTS {
            return Err(bad_file(
                path,
                format!(
                    "{d} coefficients per row: at most {MAX_COEFFICIENTS} (degree {}); rows of \
                     sampled values? give --samples",
                    MAX_COEFFICIENTS - 1
                ),
            ));
        }
        let basis = opts.basis.unwrap_or(Basis::Power);
        Curves {
            names,
            legendre: rows.iter().map(|r| to_legendre(r, domain, basis)).collect(),
            power: match basis {
                Basis::Power => rows,
                Basis::Legendre => rows
                    .iter()
                    .map(|l| legendre_to_power_on_domain(l, domain))
                    .collect(),
            },
            domain,
            source: "coefficients",
            basis: basis_name(basis),
            degree: None,
            centred: false,
            unit: None,
            skipped: Vec::new(),
        }
    };
    if opts.centre {
        centre(&mut curves);
    }
    Ok(curves)
}

fn basis_name(b: Basis) -> &'static str {
    match b {
        Basis::Power => "power",
        Basis::Legendre => "legendre",
    }
}

/// One row's nearest other row by each distance.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Nearest {
    /// The row.
    pub name: String,
    /// Its nearest curve (by the RMS difference; the first of equals).
    pub curve: String,
    /// The RMS difference to it.
    pub curve_distance: f64,
    /// Its nearest by the naive coefficient distance.
    pub naive: String,
    /// The RMS difference (not the naive distance) to that one.
    pub naive_curve_distance: f64,
}

/// What [`curves_to_dir`] wrote (also `curves.json`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CurvesReport {
    /// Curves compared.
    pub rows: usize,
    /// Their names, in row order (the matrices' order).
    pub names: Vec<String>,
    /// `coefficients`, `samples` or `run`.
    pub source: &'static str,
    /// The basis of the input coefficients.
    pub basis: &'static str,
    /// The domain (`run`: normalised time, each track's span mapped to [-1, 1]).
    pub domain: [f64; 2],
    /// The fit's degree (`samples`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degree: Option<usize>,
    /// Each curve's mean was subtracted (shapes compared).
    pub centred: bool,
    /// The values' unit, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<&'static str>,
    /// Each row's Legendre embedding on [-1, 1]: Euclidean distances between them are
    /// `distances`.
    pub embeddings: Vec<Vec<f64>>,
    /// Each row's nearest other row by each distance (none with one row).
    pub nearest: Vec<Nearest>,
    /// Rows whose nearest neighbour by the naive distance is also a nearest curve
    /// (within 1e-9 of the largest distance: equal curves tie).
    pub nearest_agree: usize,
    /// The figure's row order (cluster order of `distances`).
    pub order: Vec<usize>,
    /// Colour limits of the two heatmaps, `[0, hi]`: curve distance, naive distance.
    pub limits: [[f64; 2]; 2],
    /// RMS differences over the domain (`distances.npy`; not in `curves.json`).
    #[serde(skip)]
    pub distances: Vec<Vec<f64>>,
    /// Euclidean distances between power-basis coefficients (`naive.npy`; not in
    /// `curves.json`).
    #[serde(skip)]
    pub naive: Vec<Vec<f64>>,
    /// Tracks of a run without a tempo curve.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// Compare `curves`: write `distances.npy` and `naive.npy` (n x n float64),
/// `curves.png` (the curves, then both distance matrices in one order; up to
/// [`MAX_DRAWN`] rows) and `curves.json` ([`CurvesReport`]) into `out`.
pub fn curves_to_dir(curves: &Curves, out: &Path) -> Result<(CurvesReport, Vec<PathBuf>)> {
    let n = curves.legendre.len();
    let embeddings: Vec<Vec<f64>> = curves
        .legendre
        .iter()
        .map(|l| legendre_embedding(l))
        .collect();
    let dist = distance_matrix(&embeddings);
    let naive = distance_matrix(&curves.power);
    let order = order_by_distance(&dist, n);
    let limits = [upper_limit(&dist, n), upper_limit(&naive, n)];
    let nearest_of = |m: &[f64], i: usize| {
        (0..n)
            .filter(|&j| j != i)
            .min_by(|&a, &b| m[i * n + a].total_cmp(&m[i * n + b]))
    };
    let tie = 1e-9 * dist.iter().fold(0.0f64, |m, v| m.max(*v));
    let mut nearest = Vec::new();
    let mut agree = 0;
    for i in 0..n {
        if let (Some(c), Some(v)) = (nearest_of(&dist, i), nearest_of(&naive, i)) {
            agree += usize::from(dist[i * n + v] <= dist[i * n + c] + tie);
            nearest.push(Nearest {
                name: curves.names[i].clone(),
                curve: curves.names[c].clone(),
                curve_distance: dist[i * n + c],
                naive: curves.names[v].clone(),
                naive_curve_distance: dist[i * n + v],
            });
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let square = |m: &[f64]| {
        NdArray::F64(
            Array2::from_shape_vec((n, n), m.to_vec())
                .expect("n x n")
                .into_dyn(),
        )
    };
    let mut files = vec![
        write_npy(&out.join("distances.npy"), &square(&dist))?,
        write_npy(&out.join("naive.npy"), &square(&naive))?,
    ];
    if n <= MAX_DRAWN {
        files.push(
            figure(curves, &dist, &naive, &order, limits)?.write_png(&out.join("curves.png"))?,
        );
    }
    let rows_of = |m: &[f64]| -> Vec<Vec<f64>> { m.chunks(n).map(<[f64]>::to_vec).collect() };
    let report = CurvesReport {
        rows: n,
        names: curves.names.clone(),
        source: curves.source,
        basis: curves.basis,
        domain: [curves.domain.0, curves.domain.1],
        degree: curves.degree,
        centred: curves.centred,
        unit: curves.unit,
        embeddings,
        nearest,
        nearest_agree: agree,
        order,
        limits: limits.map(|l| [l.0, l.1]),
        distances: rows_of(&dist),
        naive: rows_of(&naive),
        skipped: curves.skipped.clone(),
    };
    let json = serde_json::to_vec_pretty(&report).expect("serialises");
    files.push(write_atomic(&out.join("curves.json"), &json)?);
    Ok((report, files))
}

/// Colour limits of a distance matrix by the heatmap rules, for values that start at a
/// meaningful zero: from 0 (identical curves) to the top of the middle 99.5 % of the
/// off-diagonal values, so that one far curve does not wash out the rest.
fn upper_limit(m: &[f64], n: usize) -> (f64, f64) {
    let off: Vec<f64> = (0..n * n)
        .filter(|k| k / n != k % n)
        .map(|k| m[k])
        .collect();
    let hi = clip_limits(&off, 99.5).1;
    (0.0, if hi > 0.0 { hi } else { 1.0 })
}

/// The figure: the curves, then the curve distances and the naive ones, both in the
/// cluster order of the curve distances so that cells compare one to one. Distances
/// are not signed: a sequential map from 0 (dark) to the limit, not the diverging one
/// of correlations.
fn figure(
    c: &Curves,
    dist: &[f64],
    naive: &[f64],
    order: &[usize],
    limits: [(f64, f64); 2],
) -> Result<RgbImage> {
    let n = c.names.len();
    let permute = |m: &[f64]| -> Vec<f64> {
        order
            .iter()
            .flat_map(|&i| order.iter().map(move |&j| m[i * n + j]))
            .collect()
    };
    let unit = c.unit.map_or(String::new(), |u| format!(" {u}"));
    let heat = |m: &[f64], (lo, hi): (f64, f64), what: &str| {
        let all_zero = m.iter().all(|v| *v == 0.0);
        render(
            &permute(m),
            n,
            &HeatmapStyle {
                map: ColorMap::Viridis,
                limits: (lo, hi),
                labels: Some(order.iter().map(|&i| c.names[i].clone()).collect()),
                title: if all_zero {
                    format!("{what}: every distance is 0")
                } else {
                    format!("{what}, 0 to {}{unit}", round_to_digits(hi, 2))
                },
            },
        )
        .0
    };
    let coefficients = match c.source {
        "run" => "power coefficients in t",
        _ if c.basis == "legendre" => "power coefficients",
        _ => "coefficients",
    };
    let right = heat(dist, limits[0], "RMS curve distance");
    let middle = heat(
        naive,
        limits[1],
        &format!("Naive: distance of {coefficients}"),
    );
    let height = right.height.max(middle.height).max(420);
    let points: Vec<Vec<(f64, f64)>> = c
        .legendre
        .iter()
        .map(|l| {
            even_grid(200, (-1.0, 1.0))
                .into_iter()
                .map(|t| {
                    let x = c.domain.0 + 0.5 * (t + 1.0) * (c.domain.1 - c.domain.0);
                    (x, legendre_eval(l, t))
                })
                .collect()
        })
        .collect();
    let title = match (c.source, c.centred) {
        ("run", _) => "Tempo curves minus their mean (cubic fits)".to_string(),
        ("samples", centred) => format!(
            "Fitted curves (degree {}){}",
            c.degree.unwrap_or(0),
            if centred { ", minus their means" } else { "" }
        ),
        (_, true) => "Curves minus their means".to_string(),
        _ => "Curves".to_string(),
    };
    let x_desc = if c.source == "run" {
        "time, each track's span mapped to [-1, 1]"
    } else {
        "x"
    };
    let y_desc = if c.source == "run" { "bpm" } else { "y" };
    let width = if n <= 16 { 720 } else { 570 };
    let left = curves_panel(&points, &c.names, &title, (x_desc, y_desc), (width, height))?;
    Ok(RgbImage::hstack(&[left, middle, right]))
}

/// `poly_distance`: the RMS difference over `domain` of two curves.
pub fn poly_distance(a: &[f64], b: &[f64], domain: (f64, f64), basis: Basis) -> Result<f64> {
    crate::engine::poly::curve_distance(a, b, domain, basis).map_err(poly_error)
}

/// `poly_embedding`: each row's embedding (rows of `d` coefficients, row-major; each
/// out row as long as its input row).
pub fn poly_embedding(
    rows: &[f64],
    d: usize,
    domain: (f64, f64),
    basis: Basis,
) -> Result<Vec<f64>> {
    if rows.is_empty() || d == 0 {
        return Err(poly_error(PolyError::Empty("coefficients")));
    }
    let mut out = Vec::with_capacity(rows.len());
    for (r, row) in rows.chunks(d).enumerate() {
        out.extend(embedding(row, domain, basis).map_err(|e| match e {
            PolyError::NotFinite { what, value, index } => poly_error(PolyError::NotFinite {
                what,
                value,
                index: r * d + index,
            }),
            e => poly_error(e),
        })?);
    }
    Ok(out)
}

/// `poly_fit`: least-squares fits of degree `degree` to each row of `ys` at `x`, as
/// coefficients in `basis` on `domain` (`None`: from the least to the largest `x`).
/// In the power basis, the coefficients are in `x` itself (as
/// `numpy.polynomial.polynomial.polyfit`; the domain then changes only the route); in
/// the Legendre basis, in `t` on [-1, 1] (as `numpy.polynomial.Legendre.fit(x, y,
/// degree, domain).coef`).
pub fn poly_fit(
    x: &[f64],
    ys: &[Vec<f64>],
    degree: usize,
    domain: Option<(f64, f64)>,
    basis: Basis,
) -> Result<Vec<Vec<f64>>> {
    let domain = match domain {
        Some(d) => d,
        None => {
            let (lo, hi) = x
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            if x.iter().any(|v| !v.is_finite()) || x.is_empty() {
                (-1.0, 1.0) // the fit reports the bad x itself
            } else if lo < hi {
                (lo, hi)
            } else {
                // One distinct x: a constant fits (degree 0); the fit refuses more.
                (lo - 1.0, lo + 1.0)
            }
        }
    };
    let l = fit_legendre(x, ys, degree, domain).map_err(poly_error)?;
    Ok(match basis {
        Basis::Legendre => l,
        Basis::Power => l
            .iter()
            .map(|c| legendre_to_power_on_domain(c, domain))
            .collect(),
    })
}
