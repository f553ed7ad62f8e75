//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use eigentechno::audio::synth::Annotation;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The committed fixture corpus.
pub fn corpus() -> PathBuf {
    root().join("fixtures/corpus")
}

/// Run the eigentechno binary.
pub fn eigentechno(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eigentechno"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

/// stdout and stderr as text.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The annotation beside an audio file.
pub fn annotation(audio: &Path) -> Annotation {
    let json = audio.with_extension("json");
    serde_json::from_slice(
        &std::fs::read(&json).unwrap_or_else(|e| panic!("{}: {e}", json.display())),
    )
    .expect("annotation parses")
}

/// Audio files of the fixture corpus (every file that has an annotation).
pub fn corpus_tracks() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "json"))
        .collect();
    v.sort();
    v
}

/// Every file under `dir` (relative path, bytes), sorted.
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            out.push((rel, std::fs::read(e.path()).unwrap()));
        }
    }
    out
}

/// Onset times (seconds): peaks of the ratio of the signal energy in the next 2 ms
/// to the energy in the previous 20 ms, at least 6 dB. A plain energy detector,
/// independent of the synthesiser's code; a kick's attack is the loudest rise there is.
pub fn energy_onsets(samples: &[f32], rate: u32) -> Vec<f64> {
    let r = rate as f64;
    let mut energy = Vec::with_capacity(samples.len() + 1);
    energy.push(0.0);
    let mut acc = 0.0f64;
    for &x in samples {
        acc += x as f64 * x as f64;
        energy.push(acc);
    }
    let short = (0.002 * r) as usize;
    let long = (0.020 * r) as usize;
    let n = samples.len();
    let ratio: Vec<f64> = (0..n)
        .map(|i| {
            if i < long || i + short > n {
                return 0.0;
            }
            let after = (energy[i + short] - energy[i]) / short as f64;
            let before = (energy[i] - energy[i - long]) / long as f64;
            (after + 1e-9) / (before + 1e-9)
        })
        .collect();
    let sep = (0.05 * r) as usize;
    let mut onsets = Vec::new();
    let mut i = 0;
    while i < n {
        if ratio[i] >= 4.0 {
            // The strongest rise within the next 50 ms is the onset.
            let end = (i + sep).min(n);
            let best = (i..end)
                .max_by(|&a, &b| ratio[a].total_cmp(&ratio[b]))
                .unwrap();
            onsets.push(best as f64 / r);
            i = best + sep;
        } else {
            i += 1;
        }
    }
    onsets
}

/// A fresh folder `music/` filled by `fill`, an output folder beside it (not made),
/// and the `--set` that points a pipeline's `tracks` stage at the music.
pub fn music_run(fill: fn(&Path)) -> (tempfile::TempDir, PathBuf, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir(&music).unwrap();
    fill(&music);
    let out = dir.path().join("out");
    let set = format!("tracks.path={}", music.display());
    (dir, music, out, set)
}
