//! `decode`: each track to a mono stream at its own rate (symphonia).

use crate::audio::{DecodeOptions, DecodeStream};
use crate::error::Result;
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    Audio, BuildContext, Item, Kind, Mode, Payload, PerTrackStage, Stage, StageContext, StageInfo,
    StageType,
};

/// The `decode` stage type.
pub struct DecodeType;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "mix",
        ty: ParamType::Choice(&["mean", "left", "right"]),
        default: Some("\"mean\""),
        help: "how channels become mono",
    },
    ParamSpec {
        name: "max_seconds",
        ty: ParamType::Float,
        default: Some("0"),
        help: "decode at most this many seconds of each track (0: all)",
    },
    ParamSpec {
        name: "gapless",
        ty: ParamType::Bool,
        default: Some("true"),
        help: "trim encoder delay and padding (MP3, AAC) so lengths match the source",
    },
];

const INFO: StageInfo = StageInfo {
    name: "decode",
    about: "Decodes each track (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A, AIFF, ...) to mono, streamed packet by \
         packet. Files that cannot be decoded are reported with the reason and skipped.",
    mode: Mode::PerTrack,
    consumes: &[Kind::Tracks],
    produces: Kind::Audio,
    arity: None,
    params: PARAMS,
};

impl StageType for DecodeType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        params: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let mix = params.choice("mix")?.parse().expect("choice validated");
        let max = params.float_in("max_seconds", 0.0, 1e7)?;
        Ok(Stage::PerTrack(Box::new(DecodeStage {
            options: DecodeOptions {
                mix,
                max_seconds: if max > 0.0 { Some(max) } else { None },
                gapless: params.bool("gapless")?,
                ..DecodeOptions::default()
            },
        })))
    }
}

struct DecodeStage {
    options: DecodeOptions,
}

impl PerTrackStage for DecodeStage {
    fn process(&self, item: Item, ctx: &StageContext) -> Result<Payload> {
        let stream = DecodeStream::open(&item.track.path, &self.options, ctx.warnings.clone())?;
        Ok(Payload::Audio(Audio::Stream(Box::new(stream))))
    }
}
