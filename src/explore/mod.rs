//! The explorer: one self-contained page, `index.html`, beside a run's outputs, to
//! audition and browse an eigentechno run in any browser, from disk, with no server
//! and nothing fetched from the network.
//!
//! The page is rendered from the template `src/explore/page.html` (minijinja, HTML
//! autoescaping) with data read back from the output folder: the matrix report, the
//! PCA description, the listening WAVs, the figures, the outliers and samples, the
//! correlation heatmaps. It finds them by their file names, whatever the stages were
//! called, so it works on the output of any pipeline built from these stages. Small
//! waveform pictures of the components are drawn into one image, `explore/waves.png`
//! (one file to fetch rather than hundreds).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::image::heatmap::RgbImage;
use crate::pipeline::stages::csv_fields;
use crate::store::write_atomic;

const TEMPLATE: &str = include_str!("page.html");

/// Files and folders the explorer found in an output folder.
#[derive(Clone, Debug, Default)]
struct Found {
    matrix_report: Option<PathBuf>,
    bars_csv: Option<PathBuf>,
    pca_json: Option<PathBuf>,
    listen: Option<PathBuf>,
    figures: Vec<PathBuf>,
    outliers_csv: Option<PathBuf>,
    samples: Option<PathBuf>,
    heatmaps: Vec<PathBuf>,
    summary: Option<PathBuf>,
}

fn is_heatmap_json(path: &Path) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v.get("order").is_some() && v.get("limits").is_some())
}

fn find(dir: &Path) -> Found {
    let mut f = Found::default();
    let walk = walkdir::WalkDir::new(dir)
        .max_depth(3)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let n = e.file_name().to_string_lossy();
            e.depth() == 0 || !(n.starts_with('.') || n == "explore")
        })
        .filter_map(|e| e.ok());
    for e in walk {
        let p = e.path().to_path_buf();
        let name = e.file_name().to_string_lossy().to_string();
        let parent = p.parent().unwrap_or(dir);
        match name.as_str() {
            "summary.json" if e.depth() == 1 => f.summary = Some(p),
            "report.json" if parent.join("bars.npy").is_file() => {
                f.matrix_report.get_or_insert(p.clone());
                f.bars_csv.get_or_insert(parent.join("bars.csv"));
            }
            "pca.json" => {
                f.pca_json.get_or_insert(p);
            }
            "mean.wav" if parent.join("components").is_dir() => {
                f.listen.get_or_insert(parent.to_path_buf());
            }
            "outliers.csv" => {
                f.outliers_csv.get_or_insert(p);
            }
            "sample_000.wav" => {
                f.samples.get_or_insert(parent.to_path_buf());
            }
            "singular_values.png"
            | "cumulative_variance.png"
            | "component_spectra.png"
            | "average_spectrum.png"
            | "select_k.png" => f.figures.push(p),
            // A correlation heatmap: its JSON holds the order and limits.
            _ if name.ends_with(".png") && is_heatmap_json(&p.with_extension("json")) => {
                f.heatmaps.push(p.clone());
                let steps = p.with_file_name(format!(
                    "{}_steps.png",
                    p.file_stem().unwrap_or_default().to_string_lossy()
                ));
                if steps.is_file() {
                    f.heatmaps.push(steps);
                }
            }
            _ => {}
        }
    }
    f
}

/// The run at a glance.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunSummary {
    /// Output folder name.
    pub folder: String,
    /// Tracks seen, processed and failed.
    pub tracks: usize,
    /// Tracks that gave bars.
    pub tracks_ok: usize,
    /// Bars in the matrix.
    pub bars: usize,
    /// Working sample rate (Hz).
    pub rate: Option<u32>,
    /// Samples per bar.
    pub bar_samples: Option<usize>,
    /// The tempo bars were normalised to (4 beats per bar).
    pub bpm_target: Option<f64>,
    /// PCA method, precision and why.
    pub pca: Option<String>,
    /// Components kept.
    pub components: Option<usize>,
    /// Wall time of the run, when known.
    pub seconds: Option<f64>,
    /// Files that gave no bars, with the reason.
    pub skipped: Vec<(String, String)>,
}

#[derive(Clone, Debug, Serialize)]
struct Picture {
    src: String,
    caption: String,
}

#[derive(Clone, Debug, Serialize)]
struct Component {
    number: usize,
    src: String,
    /// Offset of its waveform in the picture of all of them (pixels from the top).
    wave_y: u32,
    percent: String,
}

/// Size of one component's waveform picture.
const WAVE_W: u32 = 160;
const WAVE_H: u32 = 28;

#[derive(Clone, Debug, Serialize)]
struct ReconStep {
    label: String,
    src: String,
}

#[derive(Clone, Debug, Serialize)]
struct ReconBar {
    row: usize,
    label: String,
    original: Option<String>,
    steps: Vec<ReconStep>,
}

#[derive(Clone, Debug, Serialize)]
struct OutlierRow {
    kind: &'static str,
    rank: usize,
    row: usize,
    track: String,
    start: String,
    start_s: f64,
    ll: String,
    ll_value: f64,
    src: Option<String>,
}

/// A track of the matrix report, for the tracks table.
#[derive(Clone, Debug, Serialize)]
struct TrackRow {
    track: String,
    bpm: String,
    runner_up: String,
    confidence: String,
    downbeat_confidence: String,
    drift: String,
    bars: usize,
    groove: String,
}

/// How many tracks the tracks table lists (lowest groove first).
const TRACK_ROWS: usize = 50;

/// The tracks that gave bars, lowest groove first (tracks without one last), at most
/// [`TRACK_ROWS`]; and how many there are in all.
fn track_rows(report: &Path) -> Result<(Vec<TrackRow>, usize)> {
    let r = read_json(report)?;
    let mut ok: Vec<&serde_json::Value> = r["tracks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["status"] == "ok")
        .collect();
    let groove = |t: &serde_json::Value| t["groove"].as_f64().unwrap_or(f64::INFINITY);
    ok.sort_by(|a, b| groove(a).total_cmp(&groove(b)));
    let total = ok.len();
    let fixed = |t: &serde_json::Value, k: &str, digits: usize| {
        t[k].as_f64()
            .map(|v| format!("{v:.digits$}"))
            .unwrap_or_default()
    };
    let rows = ok
        .into_iter()
        .take(TRACK_ROWS)
        .map(|t| TrackRow {
            track: t["path"].as_str().unwrap_or("?").to_string(),
            bpm: fixed(t, "bpm", 2),
            runner_up: fixed(t, "runner_up_bpm", 2),
            confidence: fixed(t, "confidence", 2),
            downbeat_confidence: fixed(t, "downbeat_confidence", 2),
            drift: fixed(t, "drift", 2),
            bars: t["bars"].as_u64().unwrap_or(0) as usize,
            groove: fixed(t, "groove", 3),
        })
        .collect();
    Ok((rows, total))
}

#[derive(Clone, Debug, Serialize)]
struct Sample {
    name: String,
    src: String,
    noise: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
struct Page {
    title: String,
    version: &'static str,
    summary: RunSummary,
    figures: Vec<Picture>,
    mean: Option<String>,
    morph: Option<String>,
    components: Vec<Component>,
    recon: Vec<ReconBar>,
    outliers: Vec<OutlierRow>,
    outliers_total: usize,
    tracks: Vec<TrackRow>,
    tracks_total: usize,
    samples: Vec<Sample>,
    heatmaps: Vec<Picture>,
}

/// How many of the most unusual (and of the most typical) bars the table lists.
const OUTLIER_ROWS: usize = 50;

fn rel(path: &Path, base: &Path) -> String {
    let r = path.strip_prefix(base).unwrap_or(path);
    r.components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect::<Vec<_>>()
        .join("/")
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::InvalidData {
        path: path.to_path_buf(),
        reason: format!("not valid JSON: {e}"),
    })
}

fn summary_of(dir: &Path, found: &Found, seconds: Option<f64>) -> Result<RunSummary> {
    let mut s = RunSummary {
        folder: dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| dir.display().to_string()),
        seconds,
        ..Default::default()
    };
    if let Some(p) = &found.matrix_report {
        let r = read_json(p)?;
        s.rate = r["rate"].as_u64().map(|v| v as u32);
        s.bar_samples = r["bar_samples"].as_u64().map(|v| v as usize);
        s.bars = r["rows"].as_u64().unwrap_or(0) as usize;
        if let (Some(rate), Some(d)) = (s.rate, s.bar_samples) {
            s.bpm_target = Some((4.0 * 60.0 * rate as f64 / d as f64 * 10.0).round() / 10.0);
        }
        for t in r["tracks"].as_array().into_iter().flatten() {
            s.tracks += 1;
            if t["status"] == "ok" {
                s.tracks_ok += 1;
            } else {
                s.skipped.push((
                    t["path"].as_str().unwrap_or("?").to_string(),
                    t["error"].as_str().unwrap_or("failed").to_string(),
                ));
            }
        }
    }
    // Files that failed before the matrix (decode errors) are in the run summary.
    if let Some(p) = &found.summary {
        let r = read_json(p)?;
        for t in r["tracks"].as_array().into_iter().flatten() {
            let path = t["path"].as_str().unwrap_or("?").to_string();
            if t["status"] == "failed" && !s.skipped.iter().any(|(q, _)| *q == path) {
                s.skipped
                    .push((path, t["error"].as_str().unwrap_or("failed").to_string()));
            }
        }
        if s.tracks == 0 {
            s.tracks = r["tracks"].as_array().map_or(0, |a| a.len());
        }
    }
    if let Some(p) = &found.pca_json {
        let r = read_json(p)?;
        s.pca = Some(format!(
            "{} ({}): {}",
            r["method"].as_str().unwrap_or("?"),
            r["precision"].as_str().unwrap_or("?"),
            r["method_reason"].as_str().unwrap_or("")
        ));
        s.components = r["k"].as_u64().map(|v| v as usize);
        if s.bars == 0 {
            s.bars = r["n_samples"].as_u64().unwrap_or(0) as usize;
        }
    }
    Ok(s)
}

/// Explained-variance ratios from a model folder's `explained_variance.csv`.
fn variance_ratios(pca_dir: &Path) -> Vec<f64> {
    std::fs::read_to_string(pca_dir.join("explained_variance.csv"))
        .map(|t| {
            t.lines()
                .skip(1)
                .filter_map(|l| l.split(',').nth(2)?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Min/max envelope of a WAV's first channel, drawn small.
fn waveform(wav: &Path) -> Result<RgbImage> {
    let (w, h) = (WAVE_W, WAVE_H);
    let mut reader = hound::WavReader::open(wav).map_err(|e| Error::InvalidData {
        path: wav.to_path_buf(),
        reason: format!("not a readable WAV: {e}"),
    })?;
    let spec = reader.spec();
    let ch = spec.channels.max(1) as usize;
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1i64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .step_by(ch)
                .map(|v| v.unwrap_or(0) as f32 * scale)
                .collect()
        }
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .step_by(ch)
            .map(|v| v.unwrap_or(0.0))
            .collect(),
    };
    let mut img = RgbImage::new(w, h);
    img.fill(0, 0, w, h, [246, 246, 243]);
    let peak = samples.iter().fold(1e-9f32, |a, v| a.max(v.abs()));
    let per = samples.len().div_ceil(w as usize).max(1);
    for (x, chunk) in samples.chunks(per).enumerate() {
        let (lo, hi) = chunk
            .iter()
            .fold((0.0f32, 0.0f32), |(a, b), &v| (a.min(v), b.max(v)));
        let y = |v: f32| ((1.0 - v / peak) * 0.5 * (h - 1) as f32).round() as u32;
        let (top, bottom) = (y(hi), y(lo));
        img.fill(x as u32, top, 1, bottom - top + 1, [40, 90, 140]);
    }
    Ok(img)
}

fn numbered_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
                && p.extension().is_some_and(|e| e == "wav")
        })
        .collect();
    v.sort();
    v
}

/// Track and start time of rows, from `bars.csv`.
fn bar_places(csv: Option<&PathBuf>, rows: &[usize]) -> std::collections::HashMap<usize, String> {
    let mut out = std::collections::HashMap::new();
    let Some(text) = csv.and_then(|p| std::fs::read_to_string(p).ok()) else {
        return out;
    };
    for line in text.lines().skip(1) {
        let f = csv_fields(line);
        if let Some(row) = f.first().and_then(|r| r.parse::<usize>().ok())
            && rows.contains(&row)
            && f.len() >= 4
        {
            let start = f[3]
                .parse::<f64>()
                .map_or(f[3].clone(), |t| format!("{t:.2}"));
            out.insert(row, format!("{} at {start} s", f[1]));
        }
    }
    out
}

fn reconstructions(listen: &Path, base: &Path, csv: Option<&PathBuf>) -> Vec<ReconBar> {
    let dir = listen.join("reconstructions");
    let mut bars: std::collections::BTreeMap<usize, ReconBar> = Default::default();
    let mut ks: std::collections::BTreeMap<usize, Vec<(usize, ReconStep)>> = Default::default();
    for p in numbered_files(&dir, "row_") {
        let name = p
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let parts: Vec<&str> = name.split('_').collect();
        let Some(row) = parts.get(1).and_then(|r| r.parse::<usize>().ok()) else {
            continue;
        };
        let bar = bars.entry(row).or_insert_with(|| ReconBar {
            row,
            label: format!("bar {row}"),
            original: None,
            steps: Vec::new(),
        });
        let src = rel(&p, base);
        match parts.get(2..) {
            Some(["original"]) => bar.original = Some(src),
            Some(["k", "all"]) => ks.entry(row).or_default().push((
                usize::MAX,
                ReconStep {
                    label: "all".into(),
                    src,
                },
            )),
            Some(["k", k]) => {
                if let Ok(k) = k.parse::<usize>() {
                    ks.entry(row).or_default().push((
                        k,
                        ReconStep {
                            label: k.to_string(),
                            src,
                        },
                    ))
                }
            }
            _ => {}
        }
    }
    let rows: Vec<usize> = bars.keys().copied().collect();
    let places = bar_places(csv, &rows);
    for (row, mut steps) in ks {
        steps.sort_by_key(|(k, _)| *k);
        if let Some(bar) = bars.get_mut(&row) {
            bar.steps = steps.into_iter().map(|(_, s)| s).collect();
            if let Some(p) = places.get(&row) {
                bar.label = format!("bar {row}: {p}");
            }
        }
    }
    bars.into_values().filter(|b| !b.steps.is_empty()).collect()
}

fn outliers(csv: &Path, base: &Path) -> Result<(Vec<OutlierRow>, usize)> {
    let text = std::fs::read_to_string(csv).map_err(|e| Error::io(csv, e))?;
    let dir = csv.parent().unwrap_or(base);
    // WAVs are named RR_row_NNNNNN.wav under unusual/ and typical/.
    let wav_of = |kind: &str| -> std::collections::HashMap<usize, String> {
        numbered_files(&dir.join(kind), "")
            .into_iter()
            .filter_map(|p| {
                let stem = p.file_stem()?.to_string_lossy().to_string();
                let row = stem.rsplit('_').next()?.parse().ok()?;
                Some((row, rel(&p, base)))
            })
            .collect()
    };
    let (unusual, typical) = (wav_of("unusual"), wav_of("typical"));
    let mut all = Vec::new();
    for line in text.lines().skip(1) {
        // rank,row,track,start_s,log_likelihood,... (track may be quoted).
        let f = csv_fields(line);
        if f.len() < 5 {
            continue;
        }
        let (Ok(rank), Ok(row), Ok(start), Ok(ll)) = (
            f[0].parse::<usize>(),
            f[1].parse::<usize>(),
            f[3].parse::<f64>(),
            f[4].parse::<f64>(),
        ) else {
            continue;
        };
        all.push((rank, row, f[2].clone(), start, ll));
    }
    let total = all.len();
    // The most unusual bars, then the most typical (all of them when few).
    let head = OUTLIER_ROWS.min(total.div_ceil(2));
    let tail = OUTLIER_ROWS.min(total - head);
    let mut rows = Vec::new();
    for (i, (rank, row, track, start, ll)) in all.iter().enumerate() {
        let kind = if i < head {
            "unusual"
        } else if i >= total - tail {
            "typical"
        } else {
            continue;
        };
        let src = if kind == "unusual" {
            unusual.get(row)
        } else {
            typical.get(row)
        }
        .cloned();
        rows.push(OutlierRow {
            kind,
            rank: rank + 1,
            row: *row,
            track: track.clone(),
            start: format!("{start:.2}"),
            start_s: *start,
            ll: format!("{ll:.1}"),
            ll_value: *ll,
            src,
        });
    }
    Ok((rows, total))
}

/// Every listed bar playable: the outliers stage writes only the first few as WAV;
/// the others are cut from the bar matrix into `explore/bars/` (one loop; the page's
/// player loops).
fn playable_bars(
    rows: &mut [OutlierRow],
    bars: &Path,
    rate: u32,
    out: &Path,
    base: &Path,
) -> Result<()> {
    if rows.iter().all(|r| r.src.is_some()) || !bars.is_file() {
        return Ok(());
    }
    let matrix = crate::store::NpyMatrix::open(bars)?;
    for r in rows.iter_mut().filter(|r| r.src.is_none()) {
        if r.row >= crate::engine::pca::RowSource::nrows(&matrix) {
            continue;
        }
        let p = out.join(format!("row_{:06}.wav", r.row));
        if !p.is_file() {
            let bar = matrix.read_rows(r.row, 1)?;
            crate::audio::wav::write_wav_interleaved(
                &p,
                rate,
                1,
                &bar,
                crate::audio::wav::WavFormat::Pcm16,
            )?;
        }
        r.src = Some(rel(&p, base));
    }
    Ok(())
}

fn caption(p: &Path) -> String {
    p.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .replace('_', " ")
}

/// When the page is written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Moment {
    /// By the `explore` stage at the end of a run that took this many seconds so far
    /// (the folder's `summary.json`, if any, is from an earlier run and is not read).
    EndOfRun(f64),
    /// Afterwards, by `eigentechno explore` (the run's `summary.json` is read; the
    /// run's time is kept from the page written at its end).
    Afterwards,
}

/// Write `DIR/index.html` (and `DIR/explore/`: waveform pictures and `page.json`,
/// the page's data) for the outputs in `dir`. Returns the page's path.
pub fn write_explorer(dir: &Path, moment: Moment) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::InvalidArgument {
            name: "explore folder",
            expected: "an eigentechno output folder".into(),
            actual: format!("'{}' is not a folder", dir.display()),
        });
    }
    let mut found = find(dir);
    if moment != Moment::Afterwards {
        found.summary = None;
    }
    if found.pca_json.is_none() && found.matrix_report.is_none() && found.listen.is_none() {
        return Err(Error::InvalidData {
            path: dir.to_path_buf(),
            reason: "no eigentechno outputs here (no matrix report, PCA model or listening files)"
                .into(),
        });
    }
    let explore = dir.join("explore");
    std::fs::create_dir_all(&explore).map_err(|e| Error::io(&explore, e))?;
    let state = explore.join("page.json");
    let seconds = match moment {
        Moment::EndOfRun(s) => Some(s),
        Moment::Afterwards => read_json(&state)
            .ok()
            .and_then(|v| v["summary"]["seconds"].as_f64()),
    };
    let summary = summary_of(dir, &found, seconds)?;

    let ratios = found
        .pca_json
        .as_ref()
        .and_then(|p| p.parent())
        .map(variance_ratios)
        .unwrap_or_default();
    let (mut components, mut mean, mut morph, mut recon) = (Vec::new(), None, None, Vec::new());
    if let Some(listen) = &found.listen {
        mean = Some(rel(&listen.join("mean.wav"), dir));
        let m = listen.join("morph.wav");
        if m.is_file() {
            morph = Some(rel(&m, dir));
        }
        let files = numbered_files(&listen.join("components"), "component_");
        use rayon::prelude::*;
        let pictures = files
            .par_iter()
            .map(|p| waveform(p))
            .collect::<Result<Vec<_>>>()?;
        if !pictures.is_empty() {
            RgbImage::vstack(&pictures).write_png(&explore.join("waves.png"))?;
        }
        components = files
            .iter()
            .enumerate()
            .map(|(i, p)| Component {
                number: i + 1,
                src: rel(p, dir),
                wave_y: i as u32 * WAVE_H,
                percent: ratios
                    .get(i)
                    .map(|r| format!("{:.2} %", 100.0 * r))
                    .unwrap_or_default(),
            })
            .collect();
        recon = reconstructions(listen, dir, found.bars_csv.as_ref());
    }
    let (mut outlier_rows, outliers_total) = match &found.outliers_csv {
        Some(p) => outliers(p, dir)?,
        None => (Vec::new(), 0),
    };
    if let (Some(report), Some(rate)) = (&found.matrix_report, summary.rate) {
        playable_bars(
            &mut outlier_rows,
            &report.with_file_name("bars.npy"),
            rate,
            &explore.join("bars"),
            dir,
        )?;
    }
    let (tracks, tracks_total) = match &found.matrix_report {
        Some(p) => track_rows(p)?,
        None => (Vec::new(), 0),
    };
    let samples = found
        .samples
        .as_ref()
        .map(|d| {
            numbered_files(d, "sample_")
                .into_iter()
                .filter(|p| !p.to_string_lossy().ends_with("_noise.wav"))
                .map(|p| {
                    let noise = p.with_file_name(format!(
                        "{}_noise.wav",
                        p.file_stem().unwrap_or_default().to_string_lossy()
                    ));
                    Sample {
                        name: caption(&p),
                        src: rel(&p, dir),
                        noise: noise.is_file().then(|| rel(&noise, dir)),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let pictures = |v: &[PathBuf]| {
        v.iter()
            .map(|p| Picture {
                src: rel(p, dir),
                caption: caption(p),
            })
            .collect::<Vec<_>>()
    };
    let page = Page {
        title: format!("eigentechno: {}", summary.folder),
        version: env!("CARGO_PKG_VERSION"),
        summary,
        figures: pictures(&found.figures),
        mean,
        morph,
        components,
        recon,
        outliers: outlier_rows,
        outliers_total,
        tracks,
        tracks_total,
        samples,
        heatmaps: pictures(&found.heatmaps),
    };
    let html = render(&page).map_err(|e| Error::Encode {
        path: dir.join("index.html"),
        reason: format!("rendering the page template: {e}"),
    })?;
    write_atomic(
        &state,
        &serde_json::to_vec_pretty(&page).expect("serialises"),
    )?;
    write_atomic(&dir.join("index.html"), html.as_bytes())
}

/// HTML-escape `&`, `<`, `>`, `"` and `'` (minijinja also escapes `/`, which only
/// makes every file path in the page longer).
fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn render(page: &Page) -> std::result::Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(s) if !value.is_safe() && state.auto_escape() == minijinja::AutoEscape::Html => {
            let mut buf = String::with_capacity(s.len());
            escape_html(s, &mut buf);
            out.write_str(&buf).map_err(minijinja::Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.add_template("page.html", TEMPLATE)?;
    env.get_template("page.html")?.render(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_and_html_escaping() {
        assert_eq!(
            csv_fields(r#"0,12,"a, ""quoted"" track.wav",1.5,-3.25"#),
            vec!["0", "12", r#"a, "quoted" track.wav"#, "1.5", "-3.25"]
        );
        let mut s = String::new();
        escape_html(r#"<a href="x">Tom & Jerry's/dir</a>"#, &mut s);
        assert_eq!(
            s,
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s/dir&lt;/a&gt;"
        );
    }

    #[test]
    fn the_template_escapes_what_it_is_given() {
        let page = Page {
            title: "<script>alert(1)</script>".into(),
            version: "0",
            summary: RunSummary {
                skipped: vec![("bad\"file.wav".into(), "<b>corrupt</b>".into())],
                ..Default::default()
            },
            figures: Vec::new(),
            mean: None,
            morph: None,
            components: Vec::new(),
            recon: Vec::new(),
            outliers: Vec::new(),
            outliers_total: 0,
            tracks: Vec::new(),
            tracks_total: 0,
            samples: Vec::new(),
            heatmaps: Vec::new(),
        };
        let html = render(&page).unwrap();
        assert!(!html.contains("<script>alert"), "title escaped");
        assert!(html.contains("&lt;b&gt;corrupt&lt;/b&gt;"));
        assert!(html.contains("bad&quot;file.wav"));
    }
}
