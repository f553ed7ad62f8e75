//! `tempo`: a track's global tempo, with the runner-up and a confidence.

use std::sync::Arc;

use crate::audio::rhythm::{RhythmOptions, estimate_tempo, features};
use crate::error::{Error, Result};
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Item, Kind, Mode, Payload, PerTrackStage, RhythmItem, Stage, StageContext,
    StageInfo, StageType,
};

/// The `tempo` stage type.
pub struct TempoType;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "bpm_min",
        ty: ParamType::Float,
        default: Some("60"),
        help: "slowest tempo considered",
    },
    ParamSpec {
        name: "bpm_max",
        ty: ParamType::Float,
        default: Some("200"),
        help: "fastest tempo considered",
    },
    ParamSpec {
        name: "prior_bpm",
        ty: ParamType::Float,
        default: Some("125"),
        help: "centre of the tempo prior (dance music)",
    },
    ParamSpec {
        name: "min_periodicity",
        ty: ParamType::Float,
        default: Some("0.06"),
        help: "fail tracks whose onsets repeat less than this at the beat period (noise: ~0.03, music: 0.1 and up)",
    },
    ParamSpec {
        name: "prior_octaves",
        ty: ParamType::Float,
        default: Some("0.8"),
        help: "width of the prior in octaves; larger trusts the audio more against half/double tempo",
    },
];

const INFO: StageInfo = StageInfo {
    name: "tempo",
    about: "Global tempo from the autocorrelation of a spectral-flux onset envelope, scored with the beat's \
         multiples and a dance-music prior against half/double-tempo errors; reports the runner-up and a confidence.",
    mode: Mode::PerTrack,
    consumes: &[Kind::Audio],
    produces: Kind::Tempo,
    arity: None,
    params: PARAMS,
};

impl StageType for TempoType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        params: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let bpm_min = params.float_in("bpm_min", 20.0, 400.0)?;
        let bpm_max = params.float_in("bpm_max", 20.0, 400.0)?;
        if bpm_max <= bpm_min {
            return Err(params.error("bpm_max", format!("must exceed bpm_min ({bpm_min})")));
        }
        let options = RhythmOptions {
            bpm_min,
            bpm_max,
            prior_bpm: params.float_in("prior_bpm", 20.0, 400.0)?,
            prior_octaves: params.float_in("prior_octaves", 0.05, 10.0)?,
            ..Default::default()
        };
        let min_periodicity = params.float_in("min_periodicity", -1.0, 1.0)?;
        Ok(Stage::PerTrack(Box::new(TempoStage {
            options: RhythmOptions {
                min_periodicity,
                ..options
            },
            min_periodicity,
        })))
    }
}

struct TempoStage {
    options: RhythmOptions,
    min_periodicity: f64,
}

/// Shortest track worth analysing: two bars at the slowest tempo would be more, but a
/// few seconds already give a tempo.
const MIN_SECONDS: f64 = 3.0;

impl PerTrackStage for TempoStage {
    fn process(&self, item: Item, _ctx: &StageContext) -> Result<Payload> {
        let Payload::Audio(audio) = item.payload else {
            unreachable!("checked by the graph")
        };
        let signal = audio.into_signal()?;
        if signal.duration() < MIN_SECONDS {
            return Err(Error::NoRhythm(format!(
                "too short for a tempo: {:.2} s (need {MIN_SECONDS} s)",
                signal.duration()
            )));
        }
        let peak = signal.samples.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        if peak < 1e-4 {
            return Err(Error::NoRhythm("silent (peak below -80 dBFS)".into()));
        }
        let features = Arc::new(features(&signal));
        let tempo = estimate_tempo(&features, &self.options)
            .ok_or_else(|| Error::NoRhythm("no periodic onsets found".into()))?;
        if tempo.periodicity < self.min_periodicity {
            return Err(Error::NoRhythm(format!(
                "no steady beat: onsets repeat at the best period ({:.1} bpm) with periodicity {:.3} < min_periodicity {} \
                 (noise or beatless audio)",
                tempo.bpm, tempo.periodicity, self.min_periodicity
            )));
        }
        Ok(Payload::Rhythm(Box::new(RhythmItem {
            signal,
            features,
            options: self.options.clone(),
            tempo,
            grid: None,
            downbeat: None,
        })))
    }
}
