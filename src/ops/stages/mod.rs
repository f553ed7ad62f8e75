//! The built-in stage types, one file each: parameters checked into options, then one
//! call into the operations of [`crate::ops`]. They live here, beside the operations,
//! so that the runner ([`crate::pipeline`]) takes a plan that ops builds and never
//! imports ops.

mod bars;
mod beats;
mod correlate;
mod corrmatrix;
mod decode;
mod downbeats;
mod explore;
mod folder;
mod kernels;
mod matrix;
mod npy;
mod pca;
mod ppca;
mod resample;
mod skm;
mod stretch;
mod tempo;
mod write_wav;

pub use bars::BarsType;
pub use beats::BeatsType;
pub use correlate::ConvType;
pub use corrmatrix::{BandEnergiesType, BarFeaturesType, CorrMatrixType};
pub use decode::DecodeType;
pub use downbeats::DownbeatsType;
pub use explore::ExploreType;
pub use folder::{FolderSource, FolderType};
pub use kernels::KernelsType;
pub use matrix::MatrixType;
pub use npy::NpyType;
pub use pca::{FiguresType, ListenType, PcaType};
pub use ppca::{OutliersType, SampleType, SelectKType};
pub use resample::ResampleType;
pub use skm::SkmType;
pub use stretch::{StretchType, bar_length};
pub use tempo::TempoType;
pub use write_wav::WriteWavType;

use std::path::PathBuf;

use crate::pipeline::Registry;
use crate::pipeline::stage::{Payload, StageType};

/// The model folder a model-consuming stage was given.
pub(crate) fn model_dir(inputs: Vec<Payload>) -> PathBuf {
    match inputs.into_iter().next() {
        Some(Payload::Model(dir)) => dir,
        _ => unreachable!("the graph checker gives this stage one model"),
    }
}
use crate::engine::conv::Op;

// The registry's constructor lives with the types it lists: the runner (crate::pipeline)
// stays ignorant of every stage type, so it never calls back into ops.
impl Registry {
    /// Every built-in stage type ([`builtin`]).
    pub fn builtin() -> Self {
        let mut r = Registry::empty();
        for t in builtin() {
            r.register(t);
        }
        r
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

/// Every built-in stage type, in the order `eigentechno stages` lists them.
pub fn builtin() -> Vec<Box<dyn StageType>> {
    vec![
        Box::new(FolderType),
        Box::new(DecodeType),
        Box::new(ResampleType),
        Box::new(WriteWavType),
        Box::new(TempoType),
        Box::new(BeatsType),
        Box::new(DownbeatsType),
        Box::new(BarsType),
        Box::new(StretchType),
        Box::new(MatrixType),
        Box::new(PcaType),
        Box::new(ListenType),
        Box::new(FiguresType),
        Box::new(OutliersType),
        Box::new(SkmType),
        Box::new(SampleType),
        Box::new(SelectKType),
        Box::new(BandEnergiesType),
        Box::new(BarFeaturesType),
        Box::new(CorrMatrixType),
        Box::new(KernelsType),
        Box::new(ExploreType),
        Box::new(NpyType),
        Box::new(ConvType(Op::Correlate)),
        Box::new(ConvType(Op::Convolve)),
    ]
}
