//! Finding a run's outputs in its folder by their file names, whatever the stages
//! were called.

use std::path::{Path, PathBuf};

/// Files and folders the explorer found in an output folder.
#[derive(Clone, Debug, Default)]
pub(super) struct Found {
    pub(super) matrix_report: Option<PathBuf>,
    pub(super) bars_csv: Option<PathBuf>,
    pub(super) pca_json: Option<PathBuf>,
    pub(super) listen: Option<PathBuf>,
    pub(super) figures: Vec<PathBuf>,
    pub(super) outliers_csv: Option<PathBuf>,
    pub(super) samples: Option<PathBuf>,
    pub(super) heatmaps: Vec<PathBuf>,
    pub(super) summary: Option<PathBuf>,
}

pub(super) fn is_heatmap_json(path: &Path) -> bool {
    crate::store::read_json(path)
        .ok()
        .is_some_and(|v| v.get("order").is_some() && v.get("limits").is_some())
}

pub(super) fn find(dir: &Path) -> Found {
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

pub(super) fn numbered_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
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

pub(super) fn rel(path: &Path, base: &Path) -> String {
    let r = path.strip_prefix(base).unwrap_or(path);
    r.components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect::<Vec<_>>()
        .join("/")
}

pub(super) fn caption(p: &Path) -> String {
    p.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .replace('_', " ")
}
