//! `explore`: the HTML explorer page (`OUT/index.html`) over everything the run wrote.

use crate::error::Result;
use crate::ops::explore_end_of_run;
use crate::pipeline::config::{ConfigError, Params};
use crate::pipeline::stage::{
    BuildContext, Kind, Mode, Payload, Stage, StageContext, StageInfo, StageType, WholeStage,
};

/// The `explore` stage type.
pub struct ExploreType;

const INFO: StageInfo = StageInfo {
    name: "explore",
    about: "Writes OUT/index.html: one self-contained page to audition the components, reconstructions, \
            outliers and samples and to browse the figures (opens from disk; nothing fetched). List as \
            inputs the stages whose outputs it shows, so it runs after them.",
    mode: Mode::Whole,
    consumes: &[Kind::Files, Kind::Model, Kind::Matrix],
    produces: Kind::Files,
    arity: Some((1, 64)),
    params: &[],
};

impl StageType for ExploreType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        _p: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        Ok(Stage::Whole(Box::new(ExploreStage)))
    }
}

struct ExploreStage;

impl WholeStage for ExploreStage {
    fn run(&self, _inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload> {
        let seconds = ctx
            .run_started
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        let page = explore_end_of_run(&ctx.out_dir, seconds)?;
        let dir = ctx.out_dir.join("explore");
        let mut files = vec![page, dir.join("page.json")];
        if dir.join("waves.png").is_file() {
            files.push(dir.join("waves.png"));
        }
        let mut bars: Vec<_> = std::fs::read_dir(dir.join("bars"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        bars.sort();
        files.extend(bars);
        Ok(Payload::Files(files))
    }
}
