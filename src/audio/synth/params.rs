//! The settings of a synthetic corpus.

use crate::error::{Error, Result};

/// Settings of a synthetic corpus.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthParams {
    /// Lowest tempo drawn (bpm).
    pub bpm_min: f64,
    /// Highest tempo drawn (bpm).
    pub bpm_max: f64,
    /// Track length in seconds.
    pub seconds: f64,
    /// Sample rate of the written files.
    pub rate: u32,
    /// 1 (mono) or 2 (stereo).
    pub channels: u16,
    /// Share of tracks with 16th-note swing (0..=1).
    pub swing_share: f64,
    /// Share of tracks whose tempo drifts (0..=1).
    pub drift_share: f64,
    /// Share of tracks whose off-beat hats, bass or claps (one of them, drawn) are louder
    /// than the kick (0..=1): the case that pulls beat trackers onto the "and".
    pub loud_offbeat_share: f64,
}

impl Default for SynthParams {
    fn default() -> Self {
        SynthParams {
            bpm_min: 120.0,
            bpm_max: 140.0,
            seconds: 30.0,
            rate: 44_100,
            channels: 2,
            swing_share: 0.0,
            drift_share: 0.0,
            loud_offbeat_share: 0.0,
        }
    }
}

impl SynthParams {
    /// Check the settings, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, expected: &str, actual: String| {
            Err(Error::InvalidArgument {
                name,
                expected: expected.into(),
                actual,
            })
        };
        if !(self.bpm_min >= 30.0 && self.bpm_max <= 400.0 && self.bpm_min <= self.bpm_max) {
            return bad(
                "bpm range",
                "30 <= MIN <= MAX <= 400",
                format!("{}..{}", self.bpm_min, self.bpm_max),
            );
        }
        if !(self.seconds >= 1.0 && self.seconds <= 3600.0) {
            return bad("seconds", "1 to 3600", self.seconds.to_string());
        }
        if !(8_000..=192_000).contains(&self.rate) {
            return bad("rate", "8000 to 192000 Hz", self.rate.to_string());
        }
        if !(1..=2).contains(&self.channels) {
            return bad("channels", "1 or 2", self.channels.to_string());
        }
        for (name, v) in [
            ("swing share", self.swing_share),
            ("drift share", self.drift_share),
            ("loud off-beat share", self.loud_offbeat_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(name, "a fraction from 0 to 1", v.to_string());
            }
        }
        Ok(())
    }
}
