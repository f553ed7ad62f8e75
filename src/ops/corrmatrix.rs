//! Correlation-matrix heatmaps done right (the five rules), of a matrix's columns, and
//! the spectral band energies of every bar: a feature matrix worth looking at that way.

use std::path::{Path, PathBuf};

use realfft::RealFftPlanner;
use serde::Serialize;

use crate::engine::corr::{CorrMatrix, Ordering, order, pearson};
use crate::engine::pca::{MemoryRows, RowSource};
use crate::error::{Error, Result};
use crate::image::colormap::ColorMap;
use crate::image::heatmap::{HeatmapStyle, RgbImage, clip_limits, render, symmetric_limits};
use crate::store::{NpyMatrix, NpyRowWriter, StoredRows, write_atomic};

/// Heatmap settings as given; [`CorrParams::check`] makes them [`CorrOptions`].
#[derive(Clone, Debug)]
pub struct CorrParams {
    /// Feature order.
    pub order: Ordering,
    /// Colour limits at the middle `clip` % of the off-diagonal values.
    pub clip: f64,
    /// Also draw the post's story, rule by rule, beside the PNG (`*_steps.png`).
    pub steps: bool,
    /// At most this many columns (the first ones; 0: all).
    pub max_columns: usize,
}

impl Default for CorrParams {
    fn default() -> Self {
        CorrParams {
            order: Ordering::Cluster,
            clip: 99.5,
            steps: false,
            max_columns: 0,
        }
    }
}

super::checked_options!(
    /// Checked heatmap settings: `clip` from 50 to 100.
    CorrOptions(CorrParams)
);

impl CorrParams {
    /// Check the settings.
    pub fn check(self) -> Result<CorrOptions> {
        super::check_range("clip", self.clip, 50.0, 100.0)?;
        Ok(CorrOptions(self))
    }
}

/// What was drawn (also written as JSON beside the PNG).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CorrReport {
    /// Every off-diagonal |r| is under [`NOISE_CORRELATION`]: the figure says so.
    pub nothing_to_show: bool,
    /// The largest off-diagonal |r|.
    pub largest_off_diagonal: f64,
    /// Input column indices in drawing order.
    pub order: Vec<usize>,
    /// Colour limits `[-m, m]`.
    pub limits: [f64; 2],
    /// The percentage of off-diagonal values inside the limits' quantiles.
    pub clip_percent: f64,
    /// `none`, `cluster` or `eigen`.
    pub ordering: String,
    /// Columns with zero variance (drawn as grey rows and columns).
    pub constant_columns: Vec<usize>,
    /// Features drawn.
    pub features: usize,
    /// Rows the correlations were computed from.
    pub rows: usize,
    /// Column labels in input order, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
}

fn ordering_name(o: Ordering) -> &'static str {
    super::Choice::name(o)
}

/// Only the first `cols` columns of a source.
struct FirstColumns<'a> {
    inner: &'a dyn RowSource,
    cols: usize,
}

impl RowSource for FirstColumns<'_> {
    fn nrows(&self) -> usize {
        self.inner.nrows()
    }
    fn ncols(&self) -> usize {
        self.cols
    }
    fn is_f64(&self) -> bool {
        true
    }
    fn visit(
        &self,
        max_rows: usize,
        f: &mut dyn FnMut(
            usize,
            crate::engine::pca::Rows<'_>,
        ) -> std::result::Result<(), crate::engine::pca::PcaError>,
    ) -> std::result::Result<(), crate::engine::pca::PcaError> {
        let d = self.inner.ncols();
        let mut buf = Vec::new();
        self.inner.visit(max_rows, &mut |start, rows| {
            buf.clear();
            for r in 0..rows.len() / d {
                buf.extend((0..self.cols).map(|c| rows.get(r * d + c)));
            }
            f(start, crate::engine::pca::Rows::F64(&buf))
        })
    }
}

/// Off-diagonal correlations all under this are numerical noise: there is nothing to
/// draw. (float32 data correlates at 1e-7 to 1e-5 by rounding alone; no sample of
/// fewer than 10^8 rows can show a true correlation this small either.)
pub const NOISE_CORRELATION: f64 = 1e-4;

/// `x` with `digits` significant digits, written plainly (0.25, 0.0031, 2.5e-7).
pub(crate) fn round_to_digits(x: f64, digits: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let mag = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&mag) {
        return format!("{:.*e}", (digits - 1).max(0) as usize, x);
    }
    let decimals = (digits - 1 - mag).max(0) as usize;
    format!("{x:.decimals$}")
}

/// Correlate the columns of `source`, order them, and draw `out` (PNG) with `out`'s
/// `.json` beside it. When every off-diagonal correlation is under
/// [`NOISE_CORRELATION`], the figure says there is nothing to show (columns in their
/// own order, colour limits at +-1) and the report's `nothing_to_show` is set.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let m = eigentechno::store::NpyMatrix::open("fixtures/corr/X.npy".as_ref())?;
/// let png = dir.path().join("c.png");
/// let (report, files) = eigentechno::ops::corrmatrix_to_file(
///     &m, "fixtures/corr/X.npy".as_ref(), None, &png, &Default::default())?;
/// assert_eq!(report.order.len(), report.features);
/// assert!(files.contains(&png));
/// # Ok(()) }
/// ```
pub fn corrmatrix_to_file(
    source: &dyn RowSource,
    what: &Path,
    labels: Option<Vec<String>>,
    out: &Path,
    opts: &CorrOptions,
) -> Result<(CorrReport, Vec<PathBuf>)> {
    let first;
    let source: &dyn RowSource = if opts.max_columns > 0 && source.ncols() > opts.max_columns {
        first = FirstColumns {
            inner: source,
            cols: opts.max_columns,
        };
        &first
    } else {
        source
    };
    let c = pearson(source).map_err(|e| Error::InvalidData {
        path: what.to_path_buf(),
        reason: e.to_string(),
    })?;
    let labels = labels.map(|l| l.into_iter().take(c.d).collect::<Vec<_>>());
    let off = c.off_diagonal();
    let largest = off
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    // Nothing to show (PCA scores, say: uncorrelated by construction). Stretching noise
    // over the colour range and clustering it would draw structure that is not there:
    // keep the columns' order and the full range, and say so in the title.
    let nothing = largest < NOISE_CORRELATION;
    let ord = if nothing {
        (0..c.d).collect()
    } else {
        order(&c, opts.order)
    };
    let limits = if nothing {
        (-1.0, 1.0)
    } else {
        symmetric_limits(&off, opts.clip)
    };
    let permuted = c.permuted(&ord);
    let title = if nothing {
        format!(
            "Nothing to show: |r| < {NOISE_CORRELATION:e} off the diagonal (largest {}), {} features",
            round_to_digits(largest, 2),
            c.d
        )
    } else {
        format!(
            "Pearson correlation, {} features ({} order), limits +-{}",
            c.d,
            ordering_name(opts.order),
            round_to_digits(limits.1, 2)
        )
    };
    let style = HeatmapStyle {
        map: ColorMap::DarkDiverging,
        limits,
        labels: labels
            .as_ref()
            .map(|l| ord.iter().map(|&i| l[i].clone()).collect()),
        title,
    };
    let (img, _) = render(&permuted.values, c.d, &style);
    let mut files = vec![img.write_png(out)?];
    if opts.steps && !nothing {
        files.push(steps(&c, &ord, opts.clip, labels.as_deref())?.write_png(
            &out.with_file_name(format!(
            "{}_steps.png",
            out.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default()
        )),
        )?);
    }
    let report = CorrReport {
        nothing_to_show: nothing,
        largest_off_diagonal: largest,
        order: ord,
        limits: [limits.0, limits.1],
        clip_percent: opts.clip,
        ordering: ordering_name(opts.order).into(),
        constant_columns: c.constant.clone(),
        features: c.d,
        rows: source.nrows(),
        labels,
    };
    let json = serde_json::to_vec_pretty(&report).expect("serialises");
    files.push(write_atomic(&out.with_extension("json"), &json)?);
    Ok((report, files))
}

/// Pearson correlation of the columns of `source` (`d x d`, row-major, in the columns'
/// own order, as `numpy.corrcoef(X.T)`) and the order `order` puts them in (the
/// heatmap's rows, first to last).
///
/// ```
/// use eigentechno::engine::pca::MemoryRows;
/// use eigentechno::engine::corr::Ordering;
/// let x = [1.0, 2.0, 3.0, 2.0, 4.0, 1.0, 3.0, 6.0, 2.0, 4.0, 8.0, 0.0];
/// let (c, order) = eigentechno::ops::corrmatrix_of_rows(
///     &MemoryRows::f64(&x, 4, 3).unwrap(), Ordering::Cluster).unwrap();
/// assert!((c[1] - 1.0).abs() < 1e-12); // columns 0 and 1 move together
/// assert_eq!(order.len(), 3);
/// ```
pub fn corrmatrix_of_rows(
    source: &dyn RowSource,
    ordering: Ordering,
) -> Result<(Vec<f64>, Vec<usize>)> {
    let c = pearson(source).map_err(|e| match e {
        crate::engine::pca::PcaError::Interrupted => Error::Interrupted,
        e => Error::Pca(e),
    })?;
    let ord = order(&c, ordering);
    Ok((c.values, ord))
}

/// The post's story: the default picture, then each rule applied in turn.
fn steps(c: &CorrMatrix, ord: &[usize], clip: f64, labels: Option<&[String]>) -> Result<RgbImage> {
    let all: Vec<f64> = c.values.iter().copied().filter(|v| v.is_finite()).collect();
    let full = (
        all.iter().copied().fold(f64::INFINITY, f64::min),
        all.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let clipped = clip_limits(&c.off_diagonal(), clip);
    let sym = symmetric_limits(&c.off_diagonal(), clip);
    let ordered = c.permuted(ord);
    let lab = |o: Option<&[usize]>| {
        labels.map(|l| match o {
            Some(o) => o.iter().map(|&i| l[i].clone()).collect(),
            None => l.to_vec(),
        })
    };
    let panels = [
        (
            &c.values,
            ColorMap::Viridis,
            full,
            "1. default: viridis, full range",
            None,
        ),
        (
            &c.values,
            ColorMap::Viridis,
            clipped,
            "2. clip to the middle values",
            None,
        ),
        (
            &c.values,
            ColorMap::Viridis,
            sym,
            "3. symmetric bounds",
            None,
        ),
        (
            &c.values,
            ColorMap::DarkDiverging,
            sym,
            "4. diverging, dark at 0",
            None,
        ),
        (
            &ordered.values,
            ColorMap::DarkDiverging,
            sym,
            "5. a good order",
            Some(ord),
        ),
    ];
    let images: Vec<RgbImage> = panels
        .iter()
        .map(|(v, map, limits, title, o)| {
            render(
                v,
                c.d,
                &HeatmapStyle {
                    map: *map,
                    limits: *limits,
                    labels: lab(*o),
                    title: title.to_string(),
                },
            )
            .0
        })
        .collect();
    Ok(RgbImage::hstack(&images))
}

/// Labels for a matrix file: `<stem>.labels.txt` beside it (one per line), if present.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("x.labels.txt"), "low\nhigh\n").unwrap();
/// let labels = eigentechno::ops::labels_beside(&dir.path().join("x.npy"));
/// assert_eq!(labels, Some(vec!["low".to_string(), "high".into()]));
/// # Ok(()) }
/// ```
pub fn labels_beside(npy: &Path) -> Option<Vec<String>> {
    let stem = npy.file_stem()?.to_string_lossy().to_string();
    let text = std::fs::read_to_string(npy.with_file_name(format!("{stem}.labels.txt"))).ok()?;
    Some(text.lines().map(str::to_string).collect())
}

/// A numeric table read from CSV: row-major values, rows, columns, header labels.
pub type CsvMatrix = (Vec<f64>, usize, usize, Option<Vec<String>>);

/// Read a CSV of numbers (an optional header row gives the labels) as a row-major
/// float64 matrix.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let csv = dir.path().join("x.csv");
/// std::fs::write(&csv, "1,2\n3,nan\n").unwrap();
/// let (values, rows, cols, labels) = eigentechno::ops::read_csv_matrix(&csv)?;
/// assert_eq!((rows, cols, labels), (2, 2, None));
/// assert!(values[3].is_nan());
/// # Ok(()) }
/// ```
pub fn read_csv_matrix(path: &Path) -> Result<CsvMatrix> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad = |reason: String| Error::InvalidData {
        path: path.to_path_buf(),
        reason,
    };
    // (1-based line number in the file, line), blank lines skipped.
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
        .peekable();
    let mut labels: Option<Vec<String>> = None;
    if let Some((_, first)) = lines.peek()
        && first.split(',').any(|f| {
            let f = f.trim();
            !f.is_empty() && !f.eq_ignore_ascii_case("nan") && f.parse::<f64>().is_err()
        })
        && first.split(',').all(|f| f.trim().parse::<f64>().is_err())
    {
        labels = Some(
            first
                .split(',')
                .map(|s| s.trim().trim_matches('"').to_string())
                .collect(),
        );
        lines.next();
    }
    let mut values = Vec::new();
    let mut cols: Option<(usize, usize)> = labels.as_ref().map(|l| (l.len(), 1));
    let mut rows = 0;
    for (line_no, line) in lines {
        let fields: Vec<&str> = line.split(',').collect();
        if let Some((c, at)) = cols
            && c != fields.len()
        {
            return Err(bad(format!(
                "line {line_no}: {} fields, expected {c} (as on line {at})",
                fields.len()
            )));
        }
        cols.get_or_insert((fields.len(), line_no));
        for (j, f) in fields.iter().enumerate() {
            let f = f.trim();
            let v = if f.is_empty() || f.eq_ignore_ascii_case("nan") {
                f64::NAN
            } else {
                f.parse::<f64>().map_err(|_| {
                    let name = labels
                        .as_ref()
                        .and_then(|l| l.get(j))
                        .map(|n| format!(" ('{n}')"))
                        .unwrap_or_default();
                    bad(format!(
                        "line {line_no}, column {}{name}: '{f}' is not a number",
                        j + 1
                    ))
                })?
            };
            values.push(v);
        }
        rows += 1;
    }
    let cols = cols
        .filter(|_| rows > 0)
        .ok_or_else(|| bad("no data rows".into()))?
        .0;
    Ok((values, rows, cols, labels))
}

/// Correlation heatmap of a `.npy` or `.csv` file's columns.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let csv = dir.path().join("x.csv");
/// std::fs::write(&csv, "a,b,c\n1,2,3\n2,4,1\n3,6,2\n4,8,0\n").unwrap();
/// let (report, _) = eigentechno::ops::corrmatrix_of_file(&csv, &dir.path().join("c.png"), &Default::default())?;
/// assert_eq!(report.labels.as_deref(), Some(&["a".to_string(), "b".into(), "c".into()][..]));
/// # Ok(()) }
/// ```
pub fn corrmatrix_of_file(
    input: &Path,
    out: &Path,
    opts: &CorrOptions,
) -> Result<(CorrReport, Vec<PathBuf>)> {
    if input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        let (values, rows, cols, labels) = read_csv_matrix(input)?;
        let src = MemoryRows::f64(&values, rows, cols)?;
        corrmatrix_to_file(&src, input, labels, out, opts)
    } else {
        let m = NpyMatrix::open(input)?;
        corrmatrix_to_file(&m, input, labels_beside(input), out, opts)
    }
}

/// Energy (dB) of every bar in `bands` log-spaced frequency bands from 40 Hz to
/// Nyquist: `OUT/bands.npy` (N x bands) and `bands.labels.txt`. Returns the `.npy`.
/// `matrix` is a `.npy` file or a distributed ingest's `manifest.json` (its shards are
/// read in order).
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let npy = eigentechno::ops::band_energies("fixtures/pca/X.npy".as_ref(), 8_820, 12, dir.path())?;
/// assert_eq!(eigentechno::store::read_npy(&npy)?.shape(), &[300, 12]);
/// # Ok(()) }
/// ```
pub fn band_energies(matrix: &Path, rate: u32, bands: usize, out_dir: &Path) -> Result<PathBuf> {
    use rayon::prelude::*;
    let m = StoredRows::open(matrix)?;
    let d = m.ncols();
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(d);
    let (lo, hi) = (40.0f64, rate as f64 / 2.0);
    let edges: Vec<f64> = (0..=bands)
        .map(|b| lo * (hi / lo).powf(b as f64 / bands as f64))
        .collect();
    let bin = |f: f64| ((f * d as f64 / rate as f64).round() as usize).min(d / 2);
    let path = out_dir.join("bands.npy");
    let mut w = NpyRowWriter::create(&path, bands)?;
    let block = ((64 << 20) / (d * 4)).max(1);
    let mut failed = None;
    m.visit(block, &mut |_, rows| {
        let r = rows.len() / d;
        let feats: Vec<Vec<f32>> = (0..r)
            .into_par_iter()
            .map(|i| {
                let mut x: Vec<f32> = (0..d).map(|j| rows.get(i * d + j) as f32).collect();
                let mut spec = fft.make_output_vec();
                fft.process(&mut x, &mut spec).expect("planned length");
                (0..bands)
                    .map(|b| {
                        let (a, z) = (bin(edges[b]), bin(edges[b + 1]).max(bin(edges[b]) + 1));
                        let e: f64 = spec[a..z.min(spec.len())]
                            .iter()
                            .map(|c| c.norm_sqr() as f64)
                            .sum();
                        (10.0 * (e + 1e-12).log10()) as f32
                    })
                    .collect()
            })
            .collect();
        for f in &feats {
            if let Err(e) = w.push(f) {
                failed = Some(e);
                return Err(crate::engine::pca::PcaError::Source(
                    "writing bands.npy failed".into(),
                ));
            }
        }
        Ok(())
    })
    .map_err(|e| {
        failed.take().unwrap_or(Error::InvalidData {
            path: matrix.to_path_buf(),
            reason: e.to_string(),
        })
    })?;
    let npy = w.finish()?;
    let labels: String = (0..bands)
        .map(|b| format!("{:.0}-{:.0} Hz\n", edges[b], edges[b + 1]))
        .collect();
    write_atomic(&out_dir.join("bands.labels.txt"), labels.as_bytes())?;
    Ok(npy)
}
