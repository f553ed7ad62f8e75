//! `stretch`: every bar to exactly `round(beats_per_bar * 60 / target_bpm * rate)` samples.

use crate::audio::bars::groove;
use crate::audio::stretch::{StretchMethod, stretch};
use crate::error::Result;
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Item, Kind, Mode, Payload, PerTrackStage, Stage, StageContext, StageInfo,
    StageType,
};

/// The `stretch` stage type.
pub struct StretchType;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "target_bpm",
        ty: ParamType::Float,
        default: Some("128"),
        help: "common tempo of all bars (Isik: 128)",
    },
    ParamSpec {
        name: "method",
        ty: ParamType::Choice(&["pitch", "varispeed"]),
        default: Some("\"pitch\""),
        help: "pitch: WSOLA time-stretch keeping pitch (as soundstretch); varispeed: resample, pitch follows tempo",
    },
];

const INFO: StageInfo = StageInfo {
    name: "stretch",
    about: "Brings every bar to the same length, d = round(beats_per_bar * 60 / target_bpm * rate) samples \
         (16,538 at 128 bpm and 8,820 Hz), keeping pitch (WSOLA) or not (band-limited varispeed).",
    mode: Mode::PerTrack,
    consumes: &[Kind::Bars],
    produces: Kind::Bars,
    arity: None,
    params: PARAMS,
};

impl StageType for StretchType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        params: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        Ok(Stage::PerTrack(Box::new(StretchStage {
            target_bpm: params.float_in("target_bpm", 20.0, 400.0)?,
            method: params.choice("method")?.parse().expect("choice validated"),
        })))
    }
}

struct StretchStage {
    target_bpm: f64,
    method: StretchMethod,
}

/// Bar length in samples at a tempo and rate.
pub fn bar_length(beats_per_bar: usize, target_bpm: f64, rate: u32) -> usize {
    (beats_per_bar as f64 * 60.0 / target_bpm * rate as f64).round() as usize
}

impl PerTrackStage for StretchStage {
    fn process(&self, item: Item, _ctx: &StageContext) -> Result<Payload> {
        let Payload::Bars(mut b) = item.payload else {
            unreachable!("checked by the graph")
        };
        let d = bar_length(b.beats_per_bar, self.target_bpm, b.rate);
        for bar in &mut b.bars {
            let len = bar.samples.len();
            bar.samples = stretch(&bar.samples, d, self.method, b.rate);
            bar.stretch_ratio = d as f64 / len as f64;
        }
        // Here, per track and in parallel, rather than in the matrix's single collector.
        b.groove = groove(&b.bars, b.rate);
        Ok(Payload::Bars(b))
    }
}
