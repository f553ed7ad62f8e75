//! `downbeats`: which beat of the bar is "1".

use crate::audio::rhythm::bar_phases;
use crate::error::Result;
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Item, Kind, Mode, Payload, PerTrackStage, Stage, StageContext, StageInfo,
    StageType,
};

/// The `downbeats` stage type.
pub struct DownbeatsType;

const PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "beats_per_bar",
    ty: ParamType::Int,
    default: Some("4"),
    help: "beats per bar",
}];

const INFO: StageInfo = StageInfo {
    name: "downbeats",
    about: "The bar phase: the beat position whose beats show the most harmonic change (chords and bass change at bar \
         starts) and low/broadband onset strength; with a confidence.",
    mode: Mode::PerTrack,
    consumes: &[Kind::Beats],
    produces: Kind::Downbeats,
    arity: None,
    params: PARAMS,
};

impl StageType for DownbeatsType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        params: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        Ok(Stage::PerTrack(Box::new(DownbeatsStage {
            beats_per_bar: params.int_in("beats_per_bar", 1, 32)? as usize,
        })))
    }
}

struct DownbeatsStage {
    beats_per_bar: usize,
}

impl PerTrackStage for DownbeatsStage {
    fn process(&self, item: Item, _ctx: &StageContext) -> Result<Payload> {
        let Payload::Rhythm(mut r) = item.payload else {
            unreachable!("checked by the graph")
        };
        r.options.beats_per_bar = self.beats_per_bar;
        let grid = r.grid.as_ref().expect("beats come before downbeats");
        r.downbeat = Some(bar_phases(&r.features, grid, self.beats_per_bar));
        Ok(Payload::Rhythm(r))
    }
}
