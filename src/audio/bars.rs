//! Cutting a track into one-bar clips on its downbeat grid.

use serde::{Deserialize, Serialize};

use super::rhythm::BeatGrid;
use super::signal::Signal;

/// One bar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// Position of the bar in the track (0 = first bar taken, counting skipped ones).
    pub index: usize,
    /// Start time in the track (seconds): the downbeat.
    pub start: f64,
    /// The samples.
    pub samples: Vec<f32>,
    /// Output length over input length (1 until stretched).
    pub stretch_ratio: f64,
    /// Share of the bar's beats confirmed by tracked onsets.
    pub confidence: f64,
}

/// What is known of the track the bars come from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackRhythm {
    /// Tempo (bpm).
    pub bpm: f64,
    /// Runner-up tempo (bpm).
    pub runner_up_bpm: f64,
    /// Tempo confidence.
    pub confidence: f64,
    /// Downbeat confidence.
    pub downbeat_confidence: f64,
    /// Local-tempo drift (bpm).
    pub drift: f64,
    /// Whether it drifts.
    pub drifting: bool,
}

/// The bars of one track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackBars {
    /// Sample rate of the bars.
    pub rate: u32,
    /// Beats per bar.
    pub beats_per_bar: usize,
    /// The bars, in time order.
    pub bars: Vec<Bar>,
    /// The track's rhythm.
    pub rhythm: TrackRhythm,
}

/// Which bars to take.
#[derive(Clone, Debug, PartialEq)]
pub struct BarOptions {
    /// Skip bars starting in the first this many seconds.
    pub skip_start: f64,
    /// Skip bars ending in the last this many seconds.
    pub skip_end: f64,
    /// Take at most this many bars (after `every`).
    pub max_bars: Option<usize>,
    /// Take every k-th bar.
    pub every: usize,
    /// Drop bars whose beat support is below this.
    pub min_confidence: f64,
}

impl Default for BarOptions {
    fn default() -> Self {
        BarOptions {
            skip_start: 0.0,
            skip_end: 0.0,
            max_bars: None,
            every: 1,
            min_confidence: 0.0,
        }
    }
}

/// Cut bars from downbeat to downbeat. Each bar spans `beats_per_bar` grid beats, so a
/// drifting track is cut on its own grid, not on a fixed period.
pub fn cut_bars(
    signal: &Signal,
    grid: &BeatGrid,
    first_downbeat: usize,
    beats_per_bar: usize,
    opts: &BarOptions,
) -> Vec<Bar> {
    let rate = signal.rate as f64;
    let duration = signal.duration();
    let mut bars = Vec::new();
    let mut k = first_downbeat;
    let mut index = 0;
    while k + beats_per_bar < grid.beats.len() {
        let (t0, t1) = (grid.beats[k], grid.beats[k + beats_per_bar]);
        let this = index;
        index += 1;
        let k_here = k;
        k += beats_per_bar;
        if t0 < opts.skip_start || t1 > duration - opts.skip_end {
            continue;
        }
        if this % opts.every.max(1) != 0 {
            continue;
        }
        let confidence = grid.support(k_here, beats_per_bar);
        if confidence < opts.min_confidence {
            continue;
        }
        let (a, b) = (
            (t0 * rate).round() as usize,
            ((t1 * rate).round() as usize).min(signal.samples.len()),
        );
        if b <= a {
            continue;
        }
        bars.push(Bar {
            index: this,
            start: t0,
            samples: signal.samples[a..b].to_vec(),
            stretch_ratio: 1.0,
            confidence,
        });
        if opts.max_bars.is_some_and(|m| bars.len() >= m) {
            break;
        }
    }
    bars
}
