//! `correlate` and `convolve`: two arrays (1-D or 2-D) in, one `.npy` out. Parameters
//! here; the work in [`crate::ops`].

use std::sync::Arc;

use crate::engine::conv::{Method, Mode, Op};
use crate::error::Result;
use crate::ops::apply_arrays;
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Kind, Mode as StageMode, Payload, Stage, StageContext, StageInfo, StageType,
    WholeStage,
};
use crate::store::write_npy;

/// The `correlate` (`Op::Correlate`) and `convolve` (`Op::Convolve`) stage types.
pub struct ConvType(pub Op);

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "mode",
        ty: ParamType::Choice(&["full", "same", "valid"]),
        default: Some("\"full\""),
        help: "scipy's mode: full, same (size of the first input), valid",
    },
    ParamSpec {
        name: "method",
        ty: ParamType::Choice(&["auto", "direct", "fft"]),
        default: Some("\"auto\""),
        help: "direct sums, FFT, or chosen by a cost model",
    },
];

const CORRELATE: StageInfo = StageInfo {
    name: "correlate",
    about: "Cross-correlates its first input with its second (kernel not flipped, as scipy.signal.correlate \
            and deep-learning 'convolution'); 1-D or 2-D; writes OUT/<stage>/<stage>.npy.",
    mode: StageMode::Whole,
    consumes: &[Kind::Array],
    produces: Kind::Array,
    arity: Some((2, 2)),
    params: PARAMS,
};

const CONVOLVE: StageInfo = StageInfo {
    name: "convolve",
    about: "Convolves its first input with its second (kernel flipped, as scipy.signal.convolve); 1-D or 2-D; \
            writes OUT/<stage>/<stage>.npy.",
    ..CORRELATE
};

impl StageType for ConvType {
    fn info(&self) -> &'static StageInfo {
        match self.0 {
            Op::Correlate => &CORRELATE,
            Op::Convolve => &CONVOLVE,
        }
    }
    fn build(
        &self,
        params: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        Ok(Stage::Whole(Box::new(ConvStage {
            op: self.0,
            mode: params.choice("mode")?.parse().expect("choice validated"),
            method: params.choice("method")?.parse().expect("choice validated"),
        })))
    }
}

struct ConvStage {
    op: Op,
    mode: Mode,
    method: Method,
}

impl WholeStage for ConvStage {
    fn run(&self, inputs: Vec<Payload>, ctx: &StageContext) -> Result<Payload> {
        let [Payload::Array(a, _), Payload::Array(b, _)] = &inputs[..] else {
            unreachable!("the graph checker gives this stage two arrays")
        };
        let out = apply_arrays(a, b, self.op, self.mode, self.method)?;
        let path = ctx.stage_dir().join(format!("{}.npy", ctx.stage));
        write_npy(&path, &out)?;
        Ok(Payload::Array(Arc::new(out), Some(path)))
    }
}
