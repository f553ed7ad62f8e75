//! Tempo, beats and downbeats of a file or of samples in memory, and their scores
//! against annotations.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::audio::Signal;
use crate::audio::evaluate::{EvalReport, evaluate_files};
use crate::audio::rhythm::{Rhythm, RhythmOptions, SegmentSummary, analyse, analyse_file};
use crate::error::{Error, Result};

/// Tempo settings as given; [`TempoParams::check`] turns them into [`TempoOptions`].
#[derive(Clone, Debug, PartialEq)]
pub struct TempoParams {
    /// Rate the audio is analysed at (Hz).
    pub rate: u32,
    /// Slowest tempo considered (bpm).
    pub bpm_min: f64,
    /// Fastest tempo considered (bpm).
    pub bpm_max: f64,
    /// Beats per bar.
    pub beats_per_bar: usize,
}

impl Default for TempoParams {
    fn default() -> Self {
        let r = RhythmOptions::default();
        TempoParams {
            rate: 8_820,
            bpm_min: r.bpm_min,
            bpm_max: r.bpm_max,
            beats_per_bar: r.beats_per_bar,
        }
    }
}

/// Checked tempo settings: a rate from 1 kHz to 48 kHz, 20 <= bpm_min < bpm_max <= 400,
/// 1 to 16 beats per bar.
#[derive(Clone, Debug, PartialEq)]
pub struct TempoOptions {
    rate: u32,
    rhythm: RhythmOptions,
}

impl TempoParams {
    /// Check the settings.
    pub fn check(&self) -> Result<TempoOptions> {
        super::check_range("rate", self.rate as f64, 1_000.0, 48_000.0)?;
        super::check_range("bpm_min", self.bpm_min, 20.0, 400.0)?;
        super::check_range("bpm_max", self.bpm_max, 20.0, 400.0)?;
        if self.bpm_min >= self.bpm_max {
            return Err(Error::InvalidArgument {
                name: "bpm_max",
                expected: format!("more than bpm_min ({})", self.bpm_min),
                actual: self.bpm_max.to_string(),
            });
        }
        super::check_range("beats_per_bar", self.beats_per_bar as f64, 1.0, 16.0)?;
        Ok(TempoOptions {
            rate: self.rate,
            rhythm: RhythmOptions {
                bpm_min: self.bpm_min,
                bpm_max: self.bpm_max,
                beats_per_bar: self.beats_per_bar,
                ..RhythmOptions::default()
            },
        })
    }
}

impl Default for TempoOptions {
    fn default() -> Self {
        TempoParams::default().check().expect("defaults are valid")
    }
}

impl TempoOptions {
    /// The analysis rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }
    /// The rhythm analysis' settings.
    pub fn rhythm(&self) -> &RhythmOptions {
        &self.rhythm
    }
}

/// Tempo, beats and downbeats of one file, as `eigentechno tempo --json` reports them
/// (fields in the JSON's order).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TempoReport {
    /// Beat times (s).
    pub beats: Vec<f64>,
    /// Tempo (bpm).
    pub bpm: f64,
    /// Confidence of the tempo (0 to 1).
    pub confidence: f64,
    /// Downbeat times (s).
    pub downbeats: Vec<f64>,
    /// Confidence of the bar phase (0 to 1), over all sections weighted by their beats.
    pub downbeat_confidence: f64,
    /// The file.
    pub file: String,
    /// The second-best tempo (bpm).
    pub runner_up_bpm: f64,
    /// Stretches of steady tempo, drift or no pulse (start, end, bpm, drift, status);
    /// `bpm` is the tempo of the longest steady one.
    pub segments: Vec<SegmentSummary>,
}

impl TempoReport {
    /// The report of `rhythm`, found in `file`.
    pub fn new(file: &Path, rhythm: &Rhythm) -> TempoReport {
        TempoReport {
            file: file.display().to_string(),
            bpm: rhythm.bpm,
            confidence: rhythm.confidence,
            runner_up_bpm: rhythm.runner_up_bpm,
            beats: rhythm.beats.clone(),
            downbeats: rhythm.downbeats.clone(),
            downbeat_confidence: rhythm.downbeat_confidence,
            segments: rhythm
                .segments
                .iter()
                .map(|s| SegmentSummary::of(s, &rhythm.phase_confidence))
                .collect(),
        }
    }
}

/// Rhythm of the audio file at `path` (decoded and resampled to the options' rate).
/// A track without a steady beat is [`Error::NoRhythm`].
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// use eigentechno::audio::synth::{SynthFormat, SynthParams, synth_track, write_synth_track};
/// let dir = tempfile::tempdir().unwrap();
/// let params = SynthParams { bpm_min: 126.0, bpm_max: 126.0, seconds: 12.0, ..Default::default() };
/// let path = write_synth_track(dir.path(), "t", SynthFormat::Wav, &synth_track(1, 0, &params))?;
/// let r = eigentechno::ops::tempo_of_file(&path, &Default::default())?;
/// assert!((r.bpm - 126.0).abs() < 0.5);
/// # Ok(()) }
/// ```
pub fn tempo_of_file(path: &Path, opts: &TempoOptions) -> Result<Rhythm> {
    analyse_file(path, opts.rate, &opts.rhythm)?
        .ok_or_else(|| Error::NoRhythm(format!("{}: no steady beat found", path.display())))
}

/// Rhythm of mono samples at `rate` Hz in memory. A signal without a steady beat is
/// [`Error::NoRhythm`].
///
/// ```
/// use eigentechno::audio::synth::{SynthParams, synth_track};
/// let params = SynthParams { bpm_min: 130.0, bpm_max: 130.0, seconds: 12.0, channels: 1,
///                            rate: 22_050, ..Default::default() };
/// let t = synth_track(3, 0, &params);
/// let r = eigentechno::ops::tempo_of_samples(t.samples, 22_050, &Default::default()).unwrap();
/// assert!((r.bpm - 130.0).abs() < 0.5);
/// ```
pub fn tempo_of_samples(samples: Vec<f32>, rate: u32, opts: &TempoOptions) -> Result<Rhythm> {
    let signal = Signal::new(rate, samples);
    let signal = if rate == opts.rate {
        signal
    } else {
        crate::audio::resample(signal, opts.rate)?
    };
    analyse(&signal, &opts.rhythm)
        .ok_or_else(|| Error::NoRhythm("no steady beat found in the samples".into()))
}

/// [`tempo_of_file`] of every file, in parallel, in the given order.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let files = vec!["fixtures/corpus/wav-0000.wav".into(), "no/such/file.wav".into()];
/// let results = eigentechno::ops::tempo_of_files(&files, &Default::default());
/// assert!(results[0].is_ok() && results[1].is_err());
/// # Ok(()) }
/// ```
pub fn tempo_of_files(files: &[PathBuf], opts: &TempoOptions) -> Vec<Result<Rhythm>> {
    if let [one] = files {
        // One file: on this thread, so decoding can take another core (see analyse_file).
        return vec![tempo_of_file(one, opts)];
    }
    files.par_iter().map(|f| tempo_of_file(f, opts)).collect()
}

/// Score tempo, beat and downbeat estimates of the audio files under `dir` against the
/// annotations beside them (`.json` from `synth`, `.bpm`, `.beats`).
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let report = eigentechno::ops::evaluate_folder("fixtures/corpus".as_ref(), &Default::default())?;
/// assert_eq!(report.tracks.len(), 10);
/// # Ok(()) }
/// ```
pub fn evaluate_folder(dir: &Path, opts: &TempoOptions) -> Result<EvalReport> {
    let files: Vec<PathBuf> = super::list_tracks(dir, true)?
        .into_iter()
        .map(|t| t.path)
        .collect();
    let report = evaluate_files(&files, opts.rate, &opts.rhythm);
    if report.tracks.is_empty() {
        return Err(Error::InvalidData {
            path: dir.to_path_buf(),
            reason: "no audio file with an annotation (.json, .bpm, .beats) beside it".into(),
        });
    }
    Ok(report)
}
