//! Tempo, beats, downbeats and the bar grid of a track.
//!
//! 1. Onset strength: log-magnitude spectral flux over a short STFT (29 ms windows,
//!    7 ms hop at 8,820 Hz), broadband and below 250 Hz; and a chromagram from a long
//!    STFT (232 ms) for harmonic change.
//! 2. Tempo: the autocorrelation of the onset strength (the engine's
//!    [`crate::engine::conv::autocorrelate`]), scored at each candidate
//!    period with its multiples (2T, 4T: beats group into bars) and weighted by a
//!    log-normal prior centred on dance tempi. Half/double-tempo errors are the common
//!    failure: the multiples term and the prior address them, and the runner-up tempo
//!    is reported.
//! 3. Beats: Ellis's (2007) dynamic-programming tracker at that period, then a smooth
//!    grid fitted through the beats (a cubic in the beat index), so a steady track gets
//!    a grid precise to a fraction of a millisecond and a drifting one follows its drift.
//! 4. Downbeats: which beat of the bar is "1", from harmonic change (chords and bass
//!    change at bar starts), and low and broadband onset strength at the beat.
//! 5. Local tempo curve and a drift measure: the Legendre distance of the fitted local
//!    tempo curve from its mean.

mod beats;
mod downbeats;
mod features;
mod segments;
mod tempo;

use serde::{Deserialize, Serialize};

use super::signal::Signal;

pub use beats::{
    BeatGrid, GridSegment, SegmentStatus, SegmentSummary, TempoCurve, tempo_curve, track_beats,
};
pub use downbeats::{bar_phases, downbeat_phase};
pub use features::{KICK_HZ, features, features_of_stream, onset_envelope};
pub use segments::beat_grid;
pub use tempo::{TempoEstimate, estimate_tempo};

/// Settings of the rhythm analysis.
#[derive(Clone, Debug, PartialEq)]
pub struct RhythmOptions {
    /// Slowest tempo considered (bpm).
    pub bpm_min: f64,
    /// Fastest tempo considered (bpm).
    pub bpm_max: f64,
    /// Centre of the tempo prior (bpm): where dance music sits.
    pub prior_bpm: f64,
    /// Width of the prior in octaves (standard deviation of log2 tempo).
    pub prior_octaves: f64,
    /// Beats per bar.
    pub beats_per_bar: usize,
    /// Local-tempo drift (bpm, Legendre distance from constant) above which a track
    /// counts as drifting.
    pub drift_threshold: f64,
    /// Periodicity below which a track has no steady beat ([`TempoEstimate::periodicity`]).
    pub min_periodicity: f64,
}

impl Default for RhythmOptions {
    fn default() -> Self {
        RhythmOptions {
            bpm_min: 60.0,
            bpm_max: 200.0,
            prior_bpm: 125.0,
            prior_octaves: 0.8,
            beats_per_bar: 4,
            drift_threshold: 0.25,
            min_periodicity: 0.06,
        }
    }
}

/// Onset-strength features of a track.
#[derive(Clone, Debug)]
pub struct Features {
    /// Frames per second of `flux` and `low`.
    pub fps: f64,
    /// Broadband spectral flux per frame.
    pub flux: Vec<f32>,
    /// Spectral flux below 250 Hz per frame.
    pub low: Vec<f32>,
    /// Frames per second of `chroma`.
    pub chroma_fps: f64,
    /// 12-bin chroma per long frame (unit sum).
    pub chroma: Vec<[f32; 12]>,
    /// The beat-defining onset strength (see
    /// `beat_strength` in the features module), detrended; computed once here and
    /// shared by the tempo estimate, the tracker and the beat refinement.
    pub strength: Vec<f64>,
    /// Rise of power in the kick band ([`KICK_HZ`]) per frame of `flux`: where the
    /// loudest low-frequency events start.
    pub kick: Vec<f32>,
}

/// The analysis of one track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rhythm {
    /// Global tempo (bpm): 60 over the median beat period of the fitted grid.
    pub bpm: f64,
    /// The best tempo of another octave or ratio (bpm).
    pub runner_up_bpm: f64,
    /// Tempo confidence in [0, 1]: how much the winner beats the runner-up.
    pub confidence: f64,
    /// Beat times (seconds).
    pub beats: Vec<f64>,
    /// Index (into `beats`) of the first downbeat.
    pub first_downbeat: usize,
    /// Downbeat times (seconds).
    pub downbeats: Vec<f64>,
    /// Downbeat confidence in [0, 1], over all sections (weighted by their beats).
    pub downbeat_confidence: f64,
    /// Bar-phase confidence in [0, 1] of each section of the grid (see
    /// [`bar_phases`]); segments name their section.
    #[serde(default)]
    pub phase_confidence: Vec<f64>,
    /// Local tempo: (time in seconds, bpm) at each beat interval's midpoint.
    pub local_tempo: Vec<(f64, f64)>,
    /// Legendre distance (bpm) of the fitted local-tempo curve from constant.
    pub drift: f64,
    /// Whether `drift` exceeds the threshold.
    pub drifting: bool,
    /// Stretches of steady tempo, drift or no pulse, in time order (one for a steady
    /// track); their `beats` index `beats`.
    #[serde(default)]
    pub segments: Vec<GridSegment>,
}

/// Full analysis: tempo, beats, downbeats, local tempo and drift. `None` when the
/// signal has no rhythm to speak of (silence, too short).
pub fn analyse(signal: &Signal, opts: &RhythmOptions) -> Option<Rhythm> {
    let f = features(signal);
    analyse_features(&f, opts)
}

/// As [`analyse`], from precomputed features.
pub fn analyse_features(f: &Features, opts: &RhythmOptions) -> Option<Rhythm> {
    let tempo = estimate_tempo(f, opts).filter(|t| t.periodicity >= opts.min_periodicity)?;
    let grid = beat_grid(f, tempo.bpm, opts)?;
    let phases = bar_phases(f, &grid, opts.beats_per_bar);
    Some(Rhythm::assemble(tempo, grid, &phases, opts.beats_per_bar))
}

impl Rhythm {
    /// Put the three analyses together: `phases` holds each section's first downbeat
    /// (an index into `grid.beats`) and its confidence ([`bar_phases`]).
    pub fn assemble(
        tempo: TempoEstimate,
        grid: BeatGrid,
        phases: &[(usize, f64)],
        beats_per_bar: usize,
    ) -> Rhythm {
        let downbeats = downbeat_indices(&grid, phases, beats_per_bar)
            .map(|k| grid.beats[k])
            .collect();
        let (first_downbeat, downbeat_confidence) = overall_phase(&grid, phases);
        Rhythm {
            bpm: grid.bpm,
            runner_up_bpm: tempo.runner_up_bpm,
            confidence: tempo.confidence,
            beats: grid.beats,
            first_downbeat,
            downbeats,
            downbeat_confidence,
            phase_confidence: phases.iter().map(|p| p.1).collect(),
            local_tempo: grid.local_tempo,
            drift: grid.drift,
            drifting: grid.drifting,
            segments: grid.segments,
        }
    }
}

/// Indices (into `grid.beats`) of every downbeat, section by section.
pub fn downbeat_indices<'a>(
    grid: &'a BeatGrid,
    phases: &'a [(usize, f64)],
    beats_per_bar: usize,
) -> impl Iterator<Item = usize> + 'a {
    grid.sections
        .iter()
        .zip(phases)
        .flat_map(move |(s, &(first, _))| (first..s.end).step_by(beats_per_bar.max(1)))
}

/// The first downbeat of the track, and the downbeat confidence over all its sections
/// (each weighted by its beats).
pub fn overall_phase(grid: &BeatGrid, phases: &[(usize, f64)]) -> (usize, f64) {
    let first = phases.first().map_or(0, |p| p.0);
    let (mut sum, mut weight) = (0.0, 0.0);
    for (s, &(_, c)) in grid.sections.iter().zip(phases) {
        sum += c * s.len() as f64;
        weight += s.len() as f64;
    }
    (first, if weight > 0.0 { sum / weight } else { 0.0 })
}

/// Decode a file, resample it to `rate` and analyse it.
pub fn analyse_file(
    path: &std::path::Path,
    rate: u32,
    opts: &RhythmOptions,
) -> crate::error::Result<Option<Rhythm>> {
    let stream: Box<dyn super::SampleStream> = Box::new(super::DecodeStream::open(
        path,
        &super::DecodeOptions::default(),
        crate::error::Warnings::new(),
    )?);
    // Called on its own (not from a pool's worker, which has other tracks to keep the
    // cores busy), decoding runs on a thread of its own beside the resampler.
    let stream = if rayon::current_thread_index().is_none() {
        Box::new(super::prefetch::PrefetchStream::new(stream, path)?)
    } else {
        stream
    };
    let mut rs = super::ResampleStream::new(stream, rate)?;
    Ok(analyse_features(&features_of_stream(&mut rs)?, opts))
}
