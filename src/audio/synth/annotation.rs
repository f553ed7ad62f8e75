//! The ground truth written beside each synthetic track.

use serde::{Deserialize, Serialize};

/// Ground truth of one synthetic track, written as JSON beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Always "eigentechno synth".
    pub generator: String,
    /// Corpus seed.
    pub seed: u64,
    /// Track number within the corpus.
    pub index: u64,
    /// Sample rate of the audio as generated.
    pub sample_rate: u32,
    /// Channels as generated.
    pub channels: u16,
    /// Length in seconds.
    pub duration: f64,
    /// Nominal tempo: the tempo at the middle of the track (bpm).
    pub bpm: f64,
    /// Tempo at the start (bpm); differs from `bpm_end` when the tempo drifts.
    pub bpm_start: f64,
    /// Tempo at the end (bpm).
    pub bpm_end: f64,
    /// Swing: delay of the off 16th notes, as a fraction of a 16th note (0 = straight).
    pub swing: f64,
    /// Beats per bar (4).
    pub beats_per_bar: u32,
    /// Beat times in seconds.
    pub beats: Vec<f64>,
    /// Position of each beat in its bar, 1 = downbeat.
    pub beat_positions: Vec<u32>,
    /// Downbeat (bar start) times in seconds.
    pub downbeats: Vec<f64>,
    /// The off-beat voice made louder than the kick, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loud_offbeat: Option<LoudOffbeat>,
    /// A mix's stretches (see [`mix::synth_mix`](super::mix::synth_mix)), in time order;
    /// empty for one track.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<TruthSegment>,
}

/// What a stretch of a mix is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TruthStatus {
    /// Steady tempo.
    Steady,
    /// A DJ's tempo ramp (linear in time).
    Ramp,
    /// A breakdown: no drums, the bar grid runs on.
    Beatless,
}

impl TruthStatus {
    /// Its name in the annotations: `steady`, `ramp` or `beatless`.
    pub fn as_str(self) -> &'static str {
        match self {
            TruthStatus::Steady => "steady",
            TruthStatus::Ramp => "ramp",
            TruthStatus::Beatless => "beatless",
        }
    }
}

/// One stretch of a mix's ground truth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthSegment {
    /// Start (seconds).
    pub start: f64,
    /// End (seconds).
    pub end: f64,
    /// Tempo at the start (bpm).
    pub bpm: f64,
    /// Tempo at the end (bpm).
    pub bpm_end: f64,
    /// What the stretch is.
    pub status: TruthStatus,
    /// Which track of the mix plays (0-based).
    pub track: usize,
    /// How this stretch's track came in: "start", "cut" or "crossfade"; "" within a track.
    pub join: String,
}

/// An off-beat voice made louder than the kick (see
/// [`SynthParams::loud_offbeat_share`](super::SynthParams::loud_offbeat_share)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoudOffbeat {
    /// The open hat on every "and".
    Hats,
    /// The bass on the off-beat 8ths.
    Bass,
    /// A clap on every "and".
    Claps,
}
