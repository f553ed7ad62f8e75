//! Cutting a track into one-bar clips on its downbeat grid.

use serde::{Deserialize, Serialize};

use super::rhythm::{BeatGrid, SegmentStatus, SegmentSummary, TempoCurve};
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
    /// Confidence in the bar phase of the bar's section: that its first beat is "1".
    #[serde(default)]
    pub downbeat_confidence: f64,
    /// The track's segment the bar lies in (an index into its segments).
    #[serde(default)]
    pub segment: usize,
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
    /// The track's segments.
    #[serde(default)]
    pub segments: Vec<SegmentSummary>,
    /// The whole track's local tempo as a cubic (absent under 8 beat intervals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tempo_curve: Option<TempoCurve>,
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
    /// [`groove`] of the bars, once they have their final length (set by the stretch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groove: Option<f64>,
}

/// How well a track's bars keep the groove when played back to back: the median, over
/// pairs of consecutive bars (bar k and k + 1 of the track, equal length), of the
/// Pearson correlation at lag 0 of their onset envelopes
/// ([`onset_envelope`](super::rhythm::onset_envelope)). Near 1 when every bar's drums
/// fall at the same places; low when the grid or the stretch moves them, or when the
/// music itself changes from bar to bar. `None` without a consecutive pair.
///
/// ```
/// use eigentechno::audio::bars::{groove, Bar};
/// // The same click pattern in three consecutive bars: perfect groove.
/// let mut samples = vec![0.0f32; 8_820];
/// for k in 0..8 {
///     samples[k * 1_102] = 1.0;
/// }
/// let bar = |index| Bar { index, start: 0.0, samples: samples.clone(), stretch_ratio: 1.0, confidence: 1.0,
///     downbeat_confidence: 1.0, segment: 0 };
/// let g = groove(&[bar(0), bar(1), bar(2)], 8_820).unwrap();
/// assert!(g > 0.99);
/// ```
pub fn groove(bars: &[Bar], rate: u32) -> Option<f64> {
    let envelopes: Vec<Vec<f32>> = bars
        .iter()
        .map(|b| super::rhythm::onset_envelope(&b.samples, rate))
        .collect();
    let mut r: Vec<f64> = bars
        .windows(2)
        .zip(envelopes.windows(2))
        .filter(|(b, e)| b[1].index == b[0].index + 1 && e[0].len() == e[1].len())
        .map(|(_, e)| pearson(&e[0], &e[1]))
        .collect();
    if r.is_empty() {
        return None;
    }
    r.sort_by(f64::total_cmp);
    let m = r.len() / 2;
    Some(if r.len() % 2 == 1 {
        r[m]
    } else {
        0.5 * (r[m - 1] + r[m])
    })
}

/// Pearson correlation of two equal-length series (0 when either is constant).
fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len()).max(1) as f64;
    let ma = a.iter().map(|&v| v as f64).sum::<f64>() / n;
    let mb = b.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64 - ma, y as f64 - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    if saa <= 0.0 || sbb <= 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
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
    /// Drop bars whose beat support or bar-phase confidence (their section's) is
    /// below this.
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

/// Where the bars of a grid lie: (segment, first beat index, start, end) of each bar from
/// downbeat to downbeat, segment by segment, in time order. A bar never straddles a
/// segment boundary (the last bar of a segment may end on the segment's end, a period
/// after its last beat: a cut on a downbeat), and beatless segments give none.
pub fn bar_spans(
    grid: &BeatGrid,
    phases: &[(usize, f64)],
    beats_per_bar: usize,
) -> Vec<(usize, usize, f64, f64)> {
    let bpb = beats_per_bar.max(1);
    let beats = &grid.beats;
    let mut out = Vec::new();
    for (si, seg) in grid.segments.iter().enumerate() {
        if seg.status == SegmentStatus::Beatless || seg.beats.is_empty() {
            continue;
        }
        let Some(&(first, _)) = phases.get(seg.section) else {
            continue;
        };
        let start = seg.beats.start;
        let mut k = start + (first as i64 - start as i64).rem_euclid(bpb as i64) as usize;
        while k + bpb <= seg.beats.end {
            let end = k + bpb;
            let t1 = if end < seg.beats.end {
                beats[end]
            } else if end - 1 > k {
                // The bar closes on the segment's end: one period after its last beat.
                let p = beats[end - 1] - beats[end - 2];
                let t = beats[end - 1] + p;
                if t > seg.end + 0.1 * p {
                    break;
                }
                t
            } else {
                break;
            };
            out.push((si, k, beats[k], t1));
            k += bpb;
        }
    }
    out
}

/// Cut bars from downbeat to downbeat ([`bar_spans`]). Each bar spans `beats_per_bar`
/// grid beats, so a drifting track is cut on its own grid, not on a fixed period.
/// `phases` holds each section's first downbeat ([`bar_phases`](super::rhythm::bar_phases)).
pub fn cut_bars(
    signal: &Signal,
    grid: &BeatGrid,
    phases: &[(usize, f64)],
    beats_per_bar: usize,
    opts: &BarOptions,
) -> Vec<Bar> {
    let rate = signal.rate as f64;
    let duration = signal.duration();
    let mut bars = Vec::new();
    for (index, (segment, k_here, t0, t1)) in bar_spans(grid, phases, beats_per_bar)
        .into_iter()
        .enumerate()
    {
        if t0 < opts.skip_start || t1 > duration - opts.skip_end {
            continue;
        }
        if index % opts.every.max(1) != 0 {
            continue;
        }
        let confidence = grid.support(k_here, beats_per_bar);
        let downbeat_confidence = phases
            .get(grid.segments[segment].section)
            .map_or(0.0, |p| p.1);
        if confidence < opts.min_confidence || downbeat_confidence < opts.min_confidence {
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
            index,
            start: t0,
            samples: signal.samples[a..b].to_vec(),
            stretch_ratio: 1.0,
            confidence,
            downbeat_confidence,
            segment,
        });
        if opts.max_bars.is_some_and(|m| bars.len() >= m) {
            break;
        }
    }
    bars
}

impl TrackBars {
    /// A compact binary form (JSON header line, then the samples as little-endian f32),
    /// used to cache a track's bars so an interrupted ingest resumes without redoing it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut meta = self.clone();
        let mut samples: Vec<u8> =
            Vec::with_capacity(self.bars.iter().map(|b| b.samples.len() * 4).sum());
        let mut lengths = Vec::with_capacity(self.bars.len());
        for b in &mut meta.bars {
            lengths.push(b.samples.len());
            crate::store::npy::extend_f32_le(&mut samples, &b.samples);
            b.samples = Vec::new();
        }
        let header = serde_json::json!({ "meta": meta, "lengths": lengths });
        let mut out = serde_json::to_vec(&header).expect("serialises");
        out.push(b'\n');
        out.extend_from_slice(&samples);
        out
    }

    /// Read the form written by [`TrackBars::to_bytes`]; `None` if it is damaged.
    pub fn from_bytes(bytes: &[u8]) -> Option<TrackBars> {
        let nl = bytes.iter().position(|&b| b == b'\n')?;
        let header: serde_json::Value = serde_json::from_slice(&bytes[..nl]).ok()?;
        let mut meta: TrackBars = serde_json::from_value(header.get("meta")?.clone()).ok()?;
        let lengths: Vec<usize> = serde_json::from_value(header.get("lengths")?.clone()).ok()?;
        let mut data = &bytes[nl + 1..];
        if lengths.len() != meta.bars.len() || data.len() != lengths.iter().sum::<usize>() * 4 {
            return None;
        }
        for (b, len) in meta.bars.iter_mut().zip(lengths) {
            b.samples = data[..len * 4]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            data = &data[len * 4..];
        }
        Some(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_form_round_trips() {
        let tb = TrackBars {
            rate: 8_820,
            beats_per_bar: 4,
            bars: vec![
                Bar {
                    index: 0,
                    start: 0.5,
                    samples: vec![0.25, -1.5, 3.0],
                    stretch_ratio: 1.01,
                    confidence: 1.0,
                    downbeat_confidence: 0.5,
                    segment: 0,
                },
                Bar {
                    index: 2,
                    start: 4.25,
                    samples: vec![7.0; 5],
                    stretch_ratio: 0.99,
                    confidence: 0.75,
                    downbeat_confidence: 0.25,
                    segment: 1,
                },
            ],
            rhythm: TrackRhythm {
                bpm: 128.5,
                runner_up_bpm: 85.0,
                confidence: 0.4,
                downbeat_confidence: 0.9,
                drift: 0.01,
                drifting: false,
                segments: Vec::new(),
                tempo_curve: Some(TempoCurve {
                    domain: [0.25, 180.5],
                    coefficients: vec![128.0, 0.5, -0.25, 0.125],
                }),
            },
            groove: Some(0.75),
        };
        let bytes = tb.to_bytes();
        assert_eq!(TrackBars::from_bytes(&bytes), Some(tb));
        assert_eq!(TrackBars::from_bytes(&bytes[..bytes.len() - 1]), None);
    }
}
