//! `correlate` and `convolve`: the engine on two arrays (1-D or 2-D), written as `.npy`.

use std::sync::Arc;

use ndarray::{Ix1, Ix2};

use crate::engine::conv::{ConvError, Method, Mode, Op, apply, apply2d};
use crate::error::Result;
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Kind, Mode as StageMode, Payload, Stage, StageContext, StageInfo, StageType,
    WholeStage,
};
use crate::store::{NdArray, write_npy};

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
            mode: Mode::parse(&params.choice("mode")?).expect("choice validated"),
            method: Method::parse(&params.choice("method")?).expect("choice validated"),
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

/// Correlate or convolve two arrays of the same dimensionality (1-D or 2-D). The result
/// is float32 when both inputs are, float64 otherwise (numpy's promotion).
pub fn apply_arrays(
    a: &NdArray,
    b: &NdArray,
    op: Op,
    mode: Mode,
    method: Method,
) -> Result<NdArray> {
    let (da, db) = (a.shape().len(), b.shape().len());
    if da != db || !(1..=2).contains(&da) {
        return Err(ConvError::Dimensions {
            expected: "two 1-D or two 2-D arrays".into(),
            actual: format!("shapes {:?} and {:?}", a.shape(), b.shape()),
        }
        .into());
    }
    fn run<T: crate::engine::conv::Real>(
        a: &ndarray::ArrayD<T>,
        b: &ndarray::ArrayD<T>,
        op: Op,
        mode: Mode,
        method: Method,
    ) -> std::result::Result<ndarray::ArrayD<T>, ConvError> {
        if a.ndim() == 1 {
            let a = a.view().into_dimensionality::<Ix1>().expect("1-D");
            let b = b.view().into_dimensionality::<Ix1>().expect("1-D");
            let out = apply(&a.to_vec(), &b.to_vec(), op, mode, method)?;
            Ok(ndarray::Array1::from(out).into_dyn())
        } else {
            let a = a.view().into_dimensionality::<Ix2>().expect("2-D");
            let b = b.view().into_dimensionality::<Ix2>().expect("2-D");
            Ok(apply2d(a, b, op, mode, method)?.into_dyn())
        }
    }
    Ok(match (a, b) {
        (NdArray::F32(a), NdArray::F32(b)) => NdArray::F32(run(a, b, op, mode, method)?),
        _ => NdArray::F64(run(&a.to_f64(), &b.to_f64(), op, mode, method)?),
    })
}
