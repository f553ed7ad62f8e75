//! `bars`: one-bar clips cut from downbeat to downbeat.

use crate::audio::bars::{BarOptions, TrackBars, TrackRhythm, cut_bars};
use crate::audio::rhythm::{SegmentSummary, overall_phase, tempo_curve};
use crate::error::{Error, Result};
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Item, Kind, Mode, Payload, PerTrackStage, Stage, StageContext, StageInfo,
    StageType,
};

/// The `bars` stage type.
pub struct BarsType;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "skip_start",
        ty: ParamType::Float,
        default: Some("0"),
        help: "skip bars starting in the first N seconds",
    },
    ParamSpec {
        name: "skip_end",
        ty: ParamType::Float,
        default: Some("0"),
        help: "skip bars ending in the last N seconds",
    },
    ParamSpec {
        name: "max_bars",
        ty: ParamType::Int,
        default: Some("0"),
        help: "at most N bars per track (0: all)",
    },
    ParamSpec {
        name: "every",
        ty: ParamType::Int,
        default: Some("1"),
        help: "take every k-th bar",
    },
    ParamSpec {
        name: "min_confidence",
        ty: ParamType::Float,
        default: Some("0"),
        help: "drop bars whose beats are confirmed by onsets less than this share, or whose section's bar phase (which beat is 1) is less sure than this (0 to 1)",
    },
];

const INFO: StageInfo = StageInfo {
    name: "bars",
    about: "Cuts one-bar clips from each downbeat to the next within each segment (on the beat grid, so drifting tracks \
         are cut on their own beats; no bar straddles a segment boundary, none comes from a beatless stretch), \
         with options to skip the start/end, cap bars per track, take every k-th bar, drop weak bars.",
    mode: Mode::PerTrack,
    consumes: &[Kind::Downbeats],
    produces: Kind::Bars,
    arity: None,
    params: PARAMS,
};

impl StageType for BarsType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        params: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let max = params.int_in("max_bars", 0, i64::MAX)? as usize;
        Ok(Stage::PerTrack(Box::new(BarsStage {
            options: BarOptions {
                skip_start: params.float_in("skip_start", 0.0, 1e6)?,
                skip_end: params.float_in("skip_end", 0.0, 1e6)?,
                max_bars: if max == 0 { None } else { Some(max) },
                every: params.int_in("every", 1, 1_000_000)? as usize,
                min_confidence: params.float_in("min_confidence", 0.0, 1.0)?,
            },
        })))
    }
}

struct BarsStage {
    options: BarOptions,
}

impl PerTrackStage for BarsStage {
    fn process(&self, item: Item, _ctx: &StageContext) -> Result<Payload> {
        let Payload::Rhythm(r) = item.payload else {
            unreachable!("checked by the graph")
        };
        let grid = r.grid.as_ref().expect("beats come before bars");
        let phases = r.downbeat.as_ref().expect("downbeats come before bars");
        let (_, db_conf) = overall_phase(grid, phases);
        let phase_confidence: Vec<f64> = phases.iter().map(|p| p.1).collect();
        let bpb = r.options.beats_per_bar;
        let bars = cut_bars(&r.signal, grid, phases, bpb, &self.options);
        if bars.is_empty() {
            return Err(Error::NoRhythm(format!(
                "no complete bar to take ({:.1} s, {} beats found)",
                r.signal.duration(),
                grid.beats.len()
            )));
        }
        Ok(Payload::Bars(Box::new(TrackBars {
            rate: r.signal.rate,
            beats_per_bar: bpb,
            bars,
            rhythm: TrackRhythm {
                bpm: grid.bpm,
                runner_up_bpm: r.tempo.runner_up_bpm,
                confidence: r.tempo.confidence,
                downbeat_confidence: db_conf,
                drift: grid.drift,
                drifting: grid.drifting,
                segments: grid
                    .segments
                    .iter()
                    .map(|s| SegmentSummary::of(s, &phase_confidence))
                    .collect(),
                tempo_curve: tempo_curve(&grid.local_tempo),
            },
            groove: None,
        })))
    }
}
