//! `beats`: beat times on a fitted grid, the local tempo curve and the drift check.

use crate::audio::rhythm::beat_grid;
use crate::error::{Error, Result};
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Item, Kind, Mode, Payload, PerTrackStage, Stage, StageContext, StageInfo,
    StageType,
};

/// The `beats` stage type.
pub struct BeatsType;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "drift_threshold",
        ty: ParamType::Float,
        default: Some("0.25"),
        help: "local-tempo drift (bpm, Legendre distance from constant) above which a track counts as drifting",
    },
    ParamSpec {
        name: "min_beat_support",
        ty: ParamType::Float,
        default: Some("0.5"),
        help: "fail a track when fewer of its grid beats than this share are confirmed by onsets (no steady beat)",
    },
];

const INFO: StageInfo = StageInfo {
    name: "beats",
    about: "Beat times: a dynamic-programming tracker (Ellis 2007) at the track's tempo, then a fitted grid (a line for \
         steady tracks, a cubic for drifting ones); a track one grid does not explain (a DJ mix, a tempo change) is cut \
         into segments of one local tempo, each with its own grid, and beatless stretches are marked; also the \
         local-tempo curve and its Legendre drift.",
    mode: Mode::PerTrack,
    consumes: &[Kind::Tempo],
    produces: Kind::Beats,
    arity: None,
    params: PARAMS,
};

impl StageType for BeatsType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        params: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        Ok(Stage::PerTrack(Box::new(BeatsStage {
            drift_threshold: params.float_in("drift_threshold", 0.0, 1000.0)?,
            min_support: params.float_in("min_beat_support", 0.0, 1.0)?,
        })))
    }
}

struct BeatsStage {
    drift_threshold: f64,
    min_support: f64,
}

impl PerTrackStage for BeatsStage {
    fn process(&self, item: Item, _ctx: &StageContext) -> Result<Payload> {
        let Payload::Rhythm(mut r) = item.payload else {
            unreachable!("checked by the graph")
        };
        r.options.drift_threshold = self.drift_threshold;
        let grid = beat_grid(&r.features, r.tempo.bpm, &r.options)
            .ok_or_else(|| Error::NoRhythm("no steady beat found".into()))?;
        let support = grid.support(0, grid.beats.len());
        if support < self.min_support {
            return Err(Error::NoRhythm(format!(
                "no steady beat: only {:.0} % of the beat grid is confirmed by onsets (min_beat_support = {})",
                support * 100.0,
                self.min_support
            )));
        }
        r.grid = Some(grid);
        Ok(Payload::Rhythm(r))
    }
}
