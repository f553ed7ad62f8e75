//! `resample`: each track's audio to the working rate, anti-aliased (rubato).

use crate::audio::ResampleStream;
use crate::error::Result;
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    Audio, BuildContext, Item, Kind, Mode, Payload, PerTrackStage, Stage, StageContext, StageInfo,
    StageType,
};

/// The `resample` stage type.
pub struct ResampleType;

const PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "rate",
    ty: ParamType::Int,
    default: Some("8820"),
    help: "working sample rate in Hz (Isik's Eigentechno: 8820)",
}];

const INFO: StageInfo = StageInfo {
    name: "resample",
    about: "Converts each track to the working sample rate with an anti-aliasing FFT resampler, \
         keeping the exact duration (ceil(n * rate_out / rate_in) samples) and timing.",
    mode: Mode::PerTrack,
    consumes: &[Kind::Audio],
    produces: Kind::Audio,
    arity: None,
    params: PARAMS,
};

impl StageType for ResampleType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        params: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let rate = params.int_in("rate", 1_000, 768_000)? as u32;
        Ok(Stage::PerTrack(Box::new(ResampleStage { rate })))
    }
}

struct ResampleStage {
    rate: u32,
}

impl PerTrackStage for ResampleStage {
    fn process(&self, item: Item, _ctx: &StageContext) -> Result<Payload> {
        let Payload::Audio(audio) = item.payload else {
            unreachable!("the graph checker only connects audio to resample")
        };
        let stream = ResampleStream::new(audio.into_stream(), self.rate)?;
        Ok(Payload::Audio(Audio::Stream(Box::new(stream))))
    }
}
