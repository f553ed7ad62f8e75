//! Reading a run's outputs back for the page, through [`crate::store`]: the matrix
//! report, the PCA description, the listening WAVs, the outliers and the tracks.

use std::path::{Path, PathBuf};

use super::RunSummary;
use super::find::{Found, numbered_files, rel};
use super::render::{OutlierRow, ReconBar, ReconStep, TrackRow, WAVE_H, WAVE_W};
use crate::error::{Error, Result};
use crate::image::heatmap::RgbImage;
use crate::store::read_json;
use crate::store::tables::{self, BarRow, VarianceRow, read_table};

/// How many tracks the tracks table lists (lowest groove first).
pub(super) const TRACK_ROWS: usize = 50;

/// The tracks that gave bars, lowest groove first (tracks without one last), at most
/// [`TRACK_ROWS`]; and how many there are in all.
/// The folder the tracks were listed from: the deepest folder holding them all.
fn input_folder(paths: &[&Path]) -> PathBuf {
    let mut base = match paths.first().and_then(|p| p.parent()) {
        Some(p) => p.to_path_buf(),
        None => return PathBuf::new(),
    };
    for p in &paths[1..] {
        while !p.starts_with(&base) {
            if !base.pop() {
                return PathBuf::new();
            }
        }
    }
    base
}

pub(super) fn track_rows(report: &Path) -> Result<(Vec<TrackRow>, usize)> {
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
    let paths: Vec<&Path> = ok
        .iter()
        .filter_map(|t| t["path"].as_str().map(Path::new))
        .collect();
    let base = input_folder(&paths);
    let rows = ok
        .into_iter()
        .take(TRACK_ROWS)
        .map(|t| TrackRow {
            track: t["path"]
                .as_str()
                .map(|p| rel(Path::new(p), &base))
                .unwrap_or_else(|| "?".into()),
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

/// How many of the most unusual (and of the most typical) bars the table lists.
pub(super) const OUTLIER_ROWS: usize = 50;

pub(super) fn summary_of(dir: &Path, found: &Found, seconds: Option<f64>) -> Result<RunSummary> {
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
pub(super) fn variance_ratios(pca_dir: &Path) -> Vec<f64> {
    read_table::<VarianceRow>(&pca_dir.join("explained_variance.csv"))
        .map(|rows| rows.into_iter().map(|r| r.ratio).collect())
        .unwrap_or_default()
}

/// Min/max envelope of a WAV's first channel, drawn small.
pub(super) fn waveform(wav: &Path) -> Result<RgbImage> {
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

/// Track and start time of rows, from `bars.csv`.
pub(super) fn bar_places(
    csv: Option<&PathBuf>,
    rows: &[usize],
) -> std::collections::HashMap<usize, String> {
    let Some(table) = csv.and_then(|p| read_table::<BarRow>(p).ok()) else {
        return Default::default();
    };
    table
        .into_iter()
        .filter(|b| rows.contains(&b.row))
        .map(|b| (b.row, format!("{} at {:.2} s", b.track, b.start_s)))
        .collect()
}

pub(super) fn reconstructions(listen: &Path, base: &Path, csv: Option<&PathBuf>) -> Vec<ReconBar> {
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

pub(super) fn outliers(csv: &Path, base: &Path) -> Result<(Vec<OutlierRow>, usize)> {
    let table = read_table::<tables::OutlierRow>(csv)?;
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
    // Rows without a start time (a matrix without bars.csv) have no place to show.
    let all: Vec<_> = table
        .into_iter()
        .filter_map(|o| Some((o.rank, o.row, o.track, o.start_s?, o.log_likelihood)))
        .collect();
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
pub(super) fn playable_bars(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_are_named_relative_to_their_folder() {
        let paths = [
            Path::new("/music/set/a.wav"),
            Path::new("/music/set/sub/b.flac"),
            Path::new("/music/set/c.mp3"),
        ];
        let base = input_folder(&paths);
        assert_eq!(base, Path::new("/music/set"));
        assert_eq!(rel(paths[1], &base), "sub/b.flac");
        assert_eq!(input_folder(&[Path::new("/x/one.wav")]), Path::new("/x"));
        assert_eq!(input_folder(&[]), PathBuf::new());
    }
}
