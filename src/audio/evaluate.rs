//! Scoring tempo, beat and downbeat estimates against annotations, with the standard
//! metrics: Accuracy1 (tempo within 4 %), Accuracy2 (also at 2x, 3x, 1/2, 1/3), and
//! F-measures of beats and downbeats with a ±70 ms window.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::synth::Annotation;

/// Ground truth found beside an audio file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Tempo (bpm), if known.
    pub bpm: Option<f64>,
    /// Beat times (seconds), if known.
    pub beats: Option<Vec<f64>>,
    /// Downbeat times (seconds), if known.
    pub downbeats: Option<Vec<f64>>,
    /// A mix's stretches (from `synth --mix`'s JSON), to score one by one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<super::synth::TruthSegment>,
}

/// Read the annotation beside `audio`: `<stem>.json` as written by `eigentechno synth`,
/// `<stem>.bpm` (one number), or `<stem>.beats` (one `time [beat-in-bar]` per line;
/// beat-in-bar 1 marks a downbeat). `None` if there is none.
pub fn find_truth(audio: &Path) -> Option<Truth> {
    let with = |ext: &str| -> PathBuf { audio.with_extension(ext) };
    let mut truth = Truth::default();
    let mut found = false;
    if let Ok(bytes) = std::fs::read(with("json"))
        && let Ok(a) = serde_json::from_slice::<Annotation>(&bytes)
    {
        truth.bpm = Some(a.bpm);
        truth.beats = Some(a.beats);
        truth.downbeats = Some(a.downbeats);
        truth.segments = a.segments;
        found = true;
    }
    if let Ok(text) = std::fs::read_to_string(with("bpm"))
        && let Ok(v) = text.trim().parse::<f64>()
    {
        truth.bpm = Some(v);
        found = true;
    }
    if let Ok(text) = std::fs::read_to_string(with("beats")) {
        let mut beats = Vec::new();
        let mut downs = Vec::new();
        let mut has_pos = false;
        for line in text.lines() {
            let mut it = line.split_whitespace();
            let Some(t) = it.next().and_then(|v| v.parse::<f64>().ok()) else {
                continue;
            };
            beats.push(t);
            if let Some(p) = it.next().and_then(|v| v.parse::<f64>().ok()) {
                has_pos = true;
                if p.round() as i64 == 1 {
                    downs.push(t);
                }
            }
        }
        if !beats.is_empty() {
            if truth.bpm.is_none() && beats.len() > 2 {
                let mut d: Vec<f64> = beats.windows(2).map(|w| w[1] - w[0]).collect();
                d.sort_by(f64::total_cmp);
                truth.bpm = Some(60.0 / d[d.len() / 2]);
            }
            truth.beats = Some(beats);
            if has_pos {
                truth.downbeats = Some(downs);
            }
            found = true;
        }
    }
    found.then_some(truth)
}

/// Tempo within 4 % of the truth.
pub fn accuracy1(est: f64, truth: f64) -> bool {
    (est / truth - 1.0).abs() <= 0.04
}

/// Tempo within 4 % of the truth or of 2x, 3x, 1/2, 1/3 of it.
pub fn accuracy2(est: f64, truth: f64) -> bool {
    [1.0, 2.0, 3.0, 0.5, 1.0 / 3.0]
        .iter()
        .any(|f| accuracy1(est, truth * f))
}

/// F-measure of event times matched one-to-one within `window` seconds.
pub fn f_measure(est: &[f64], truth: &[f64], window: f64) -> f64 {
    if est.is_empty() && truth.is_empty() {
        return 1.0;
    }
    if est.is_empty() || truth.is_empty() {
        return 0.0;
    }
    // Both sorted; greedy matching is optimal when events are further apart than 2 windows.
    let (mut i, mut j, mut hits) = (0, 0, 0usize);
    while i < est.len() && j < truth.len() {
        let d = est[i] - truth[j];
        if d.abs() <= window {
            hits += 1;
            i += 1;
            j += 1;
        } else if d < 0.0 {
            i += 1;
        } else {
            j += 1;
        }
    }
    let p = hits as f64 / est.len() as f64;
    let r = hits as f64 / truth.len() as f64;
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics() {
        assert!(accuracy1(124.0, 120.0) && !accuracy1(125.0, 120.0));
        assert!(accuracy2(240.0, 120.0) && accuracy2(40.5, 120.0) && !accuracy2(180.0, 120.0));
        let truth = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(f_measure(&[1.05, 2.0, 3.1, 4.0], &truth, 0.07), 0.75);
        assert_eq!(f_measure(&truth, &truth, 0.07), 1.0);
        assert_eq!(f_measure(&[], &truth, 0.07), 0.0);
    }

    #[test]
    fn reads_plain_text_annotations() {
        let dir = tempfile::tempdir().unwrap();
        let audio = dir.path().join("x.wav");
        std::fs::write(
            dir.path().join("x.beats"),
            "0.5 1\n1.0 2\n1.5 3\n2.0 4\n2.5 1\n",
        )
        .unwrap();
        let t = find_truth(&audio).unwrap();
        assert_eq!(t.beats.unwrap().len(), 5);
        assert_eq!(t.downbeats.unwrap(), vec![0.5, 2.5]);
        assert!((t.bpm.unwrap() - 120.0).abs() < 1e-9);
        std::fs::write(dir.path().join("x.bpm"), "126.5\n").unwrap();
        assert_eq!(find_truth(&audio).unwrap().bpm, Some(126.5));
        assert!(find_truth(&dir.path().join("none.wav")).is_none());
    }
}

/// Scores for one track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackScore {
    /// The file.
    pub file: String,
    /// Annotated tempo.
    pub truth_bpm: Option<f64>,
    /// Estimated tempo (`None`: no estimate).
    pub bpm: Option<f64>,
    /// Runner-up tempo.
    pub runner_up_bpm: Option<f64>,
    /// Accuracy1 for this track.
    pub acc1: Option<bool>,
    /// Accuracy2 for this track.
    pub acc2: Option<bool>,
    /// Beat F-measure.
    pub beat_f: Option<f64>,
    /// Downbeat F-measure.
    pub downbeat_f: Option<f64>,
    /// Why there is no estimate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Scores per stretch of a mix (empty for a single track).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentScore>,
}

/// Scores of one stretch of a mix: the beats and downbeats (estimated and true) that
/// fall inside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentScore {
    /// Start (seconds).
    pub start: f64,
    /// End (seconds).
    pub end: f64,
    /// Tempo at its start (bpm).
    pub bpm: f64,
    /// `steady`, `ramp` or `beatless`.
    pub status: super::synth::TruthStatus,
    /// How its track came in (`start`, `cut`, `crossfade`; empty within a track).
    pub join: String,
    /// Beat F-measure inside it.
    pub beat_f: f64,
    /// Downbeat F-measure inside it.
    pub downbeat_f: f64,
}

/// Score estimated beats and downbeats within each stretch of `truth`.
pub fn segment_scores(truth: &Truth, beats: &[f64], downbeats: &[f64]) -> Vec<SegmentScore> {
    let inside = |v: &[f64], s: &super::synth::TruthSegment| -> Vec<f64> {
        v.iter()
            .copied()
            .filter(|&t| t >= s.start && t < s.end)
            .collect()
    };
    truth
        .segments
        .iter()
        .map(|s| SegmentScore {
            start: s.start,
            end: s.end,
            bpm: s.bpm,
            status: s.status,
            join: s.join.clone(),
            beat_f: f_measure(
                &inside(beats, s),
                &inside(truth.beats.as_deref().unwrap_or(&[]), s),
                F_WINDOW,
            ),
            downbeat_f: f_measure(
                &inside(downbeats, s),
                &inside(truth.downbeats.as_deref().unwrap_or(&[]), s),
                F_WINDOW,
            ),
        })
        .collect()
}

/// Scores over a set of tracks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Per track.
    pub tracks: Vec<TrackScore>,
    /// Share of tracks with Accuracy1.
    pub accuracy1: f64,
    /// Share with Accuracy2.
    pub accuracy2: f64,
    /// Median absolute tempo error (bpm).
    pub median_abs_bpm_error: f64,
    /// Mean beat F-measure.
    pub beat_f: f64,
    /// Mean downbeat F-measure.
    pub downbeat_f: f64,
}

/// Window of the beat and downbeat F-measures (seconds).
pub const F_WINDOW: f64 = 0.07;

/// Analyse every annotated file (in parallel) and score it.
pub fn evaluate_files(
    files: &[PathBuf],
    rate: u32,
    opts: &super::rhythm::RhythmOptions,
) -> EvalReport {
    use rayon::prelude::*;
    let tracks: Vec<TrackScore> = files
        .par_iter()
        .filter_map(|path| {
            let truth = find_truth(path)?;
            let mut s = TrackScore {
                file: path.display().to_string(),
                truth_bpm: truth.bpm,
                bpm: None,
                runner_up_bpm: None,
                acc1: None,
                acc2: None,
                beat_f: None,
                downbeat_f: None,
                error: None,
                segments: Vec::new(),
            };
            match super::rhythm::analyse_file(path, rate, opts) {
                Ok(Some(r)) => {
                    s.bpm = Some(r.bpm);
                    s.runner_up_bpm = Some(r.runner_up_bpm);
                    s.acc1 = truth.bpm.map(|t| accuracy1(r.bpm, t));
                    s.acc2 = truth.bpm.map(|t| accuracy2(r.bpm, t));
                    s.beat_f = truth
                        .beats
                        .as_ref()
                        .map(|b| f_measure(&r.beats, b, F_WINDOW));
                    s.downbeat_f = truth
                        .downbeats
                        .as_ref()
                        .map(|d| f_measure(&r.downbeats, d, F_WINDOW));
                    s.segments = segment_scores(&truth, &r.beats, &r.downbeats);
                }
                Ok(None) => s.error = Some("no steady beat found".into()),
                Err(e) => s.error = Some(e.to_string()),
            }
            Some(s)
        })
        .collect();
    let share = |f: &dyn Fn(&TrackScore) -> Option<bool>| {
        let v: Vec<bool> = tracks
            .iter()
            .filter(|t| t.truth_bpm.is_some())
            .map(|t| f(t).unwrap_or(false))
            .collect();
        if v.is_empty() {
            0.0
        } else {
            v.iter().filter(|&&b| b).count() as f64 / v.len() as f64
        }
    };
    let mean = |f: &dyn Fn(&TrackScore) -> Option<f64>| {
        let v: Vec<f64> = tracks.iter().filter_map(f).collect();
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let mut errs: Vec<f64> = tracks
        .iter()
        .filter_map(|t| Some((t.bpm.unwrap_or(0.0) - t.truth_bpm?).abs()))
        .collect();
    errs.sort_by(f64::total_cmp);
    EvalReport {
        accuracy1: share(&|t| t.acc1),
        accuracy2: share(&|t| t.acc2),
        median_abs_bpm_error: if errs.is_empty() {
            0.0
        } else {
            errs[errs.len() / 2]
        },
        beat_f: mean(&|t| t.beat_f.or(t.truth_bpm.map(|_| 0.0))),
        downbeat_f: mean(&|t| t.downbeat_f.or(t.truth_bpm.map(|_| 0.0))),
        tracks,
    }
}

impl EvalReport {
    /// A table: one row per track, then the totals.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<40} {:>8} {:>8} {:>8} {:>5} {:>5} {:>7} {:>7}",
            "file", "truth", "bpm", "2nd", "acc1", "acc2", "beatF", "downF"
        );
        let opt =
            |v: Option<f64>, p: usize| v.map(|x| format!("{x:.p$}")).unwrap_or_else(|| "-".into());
        let yn = |v: Option<bool>| v.map(|b| if b { "yes" } else { "NO" }).unwrap_or("-");
        for t in &self.tracks {
            let name = Path::new(&t.file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "{:<40} {:>8} {:>8} {:>8} {:>5} {:>5} {:>7} {:>7}{}",
                name,
                opt(t.truth_bpm, 2),
                opt(t.bpm, 2),
                opt(t.runner_up_bpm, 1),
                yn(t.acc1),
                yn(t.acc2),
                opt(t.beat_f, 3),
                opt(t.downbeat_f, 3),
                t.error
                    .as_deref()
                    .map(|e| format!("  ({e})"))
                    .unwrap_or_default()
            );
            for g in &t.segments {
                let what = format!(
                    "  {:>7.1}-{:<7.1} {:<8} {:<9}",
                    g.start,
                    g.end,
                    g.status.as_str(),
                    g.join
                );
                let _ = writeln!(
                    s,
                    "{what:<40} {:>8.2} {:>8} {:>8} {:>5} {:>5} {:>7.3} {:>7.3}",
                    g.bpm, "", "", "", "", g.beat_f, g.downbeat_f
                );
            }
        }
        let _ = writeln!(
            s,
            "{} tracks: Accuracy1 {:.3}, Accuracy2 {:.3}, median |bpm error| {:.3}, beat F {:.3}, downbeat F {:.3}",
            self.tracks.len(),
            self.accuracy1,
            self.accuracy2,
            self.median_abs_bpm_error,
            self.beat_f,
            self.downbeat_f
        );
        s
    }
}
