//! `write-wav`: each track's audio as a WAV file under `OUT/<stage name>/`.

use std::path::PathBuf;

use crate::audio::{WavFormat, write_wav_stream};
use crate::error::Result;
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Item, Kind, Mode, Payload, PerTrackStage, Stage, StageContext, StageInfo,
    StageType,
};

/// The `write-wav` stage type.
pub struct WriteWavType;

const PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "format",
    ty: ParamType::Choice(&["pcm16", "float32"]),
    default: Some("\"pcm16\""),
    help: "sample format: 16-bit PCM (clips outside [-1, 1]) or 32-bit float (lossless)",
}];

const INFO: StageInfo = StageInfo {
    name: "write-wav",
    about: "Writes each track's audio as OUT/<stage name>/<track path>.wav, atomically (temp file + rename).",
    mode: Mode::PerTrack,
    consumes: &[Kind::Audio],
    produces: Kind::Files,
    arity: None,
    params: PARAMS,
};

impl StageType for WriteWavType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        params: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let format = params.choice("format")?.parse().expect("choice validated");
        Ok(Stage::PerTrack(Box::new(WriteWavStage { format })))
    }
}

struct WriteWavStage {
    format: WavFormat,
}

impl PerTrackStage for WriteWavStage {
    fn process(&self, item: Item, ctx: &StageContext) -> Result<Payload> {
        let Payload::Audio(audio) = item.payload else {
            unreachable!("the graph checker only connects audio to write-wav")
        };
        let path: PathBuf = ctx.stage_dir().join(format!("{}.wav", item.track.name));
        let mut stream = audio.into_stream();
        let written = write_wav_stream(&path, stream.as_mut(), self.format)?;
        if written.clipped > 0 {
            ctx.warnings.push(format!(
                "{} samples clipped to [-1, 1] in {} (use format = \"float32\" to keep them)",
                written.clipped,
                path.display()
            ));
        }
        Ok(Payload::Files(vec![written.path]))
    }
}
