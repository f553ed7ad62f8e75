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

mod find;
mod read;
mod render;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::image::heatmap::RgbImage;
use crate::store::{read_json, write_atomic};
use find::*;
use read::*;
use render::*;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_and_html_escaping() {
        let csv_fields = |line: &str| -> Vec<String> {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes());
            let rec = r.records().next().unwrap().unwrap();
            rec.iter().map(str::to_string).collect()
        };
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
