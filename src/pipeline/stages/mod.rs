//! The built-in stage types, one file each.

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
mod stretch;
mod tempo;
mod write_wav;

pub use bars::BarsType;
pub use beats::BeatsType;
pub use downbeats::DownbeatsType;
pub use explore::ExploreType;
pub use matrix::MatrixType;
pub use stretch::{StretchType, bar_length};
pub use tempo::TempoType;

pub use correlate::{ConvType, apply_arrays};
pub use corrmatrix::{
    BandEnergiesType, CorrMatrixType, CorrOptions, CorrReport, band_energies, corrmatrix_of_file,
    corrmatrix_to_file, labels_beside, read_csv_matrix,
};
pub use decode::DecodeType;
pub use folder::{FolderSource, FolderType, list_tracks};
pub use kernels::{
    KernelOptions, KernelsReport, KernelsType, LayerReport, kernels_of_file, kernels_to_dir,
};
pub use npy::NpyType;
pub use pca::{
    FigureOptions, FiguresType, ListenType, PcaJob, PcaType, figures_to_dir, fit_to_dir,
    listen_to_dir,
};
pub use ppca::{
    OutlierOptions, OutliersType, PpcaModel, SampleOptions, SampleType, SelectK, SelectKOptions,
    SelectKType, default_k, outliers_to_dir, sample_bars, samples_to_dir, score_to_npy,
    select_k_to_dir,
};
pub use resample::ResampleType;
pub use write_wav::WriteWavType;

use std::path::{Path, PathBuf};

use super::stage::{Payload, StageType};
use crate::engine::pca::PcaError;
use crate::error::Error;

/// A CSV field, quoted when it holds a separator, quote or line break (RFC 4180).
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Split one CSV line (RFC 4180 quoting).
pub(crate) fn csv_fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// An engine error about the data in `path`, naming the file.
pub(crate) fn in_file(path: &Path, e: PcaError) -> Error {
    Error::InvalidData {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The model folder a model-consuming stage was given.
pub(crate) fn model_dir(inputs: Vec<Payload>) -> PathBuf {
    match inputs.into_iter().next() {
        Some(Payload::Model(dir)) => dir,
        _ => unreachable!("the graph checker gives this stage one model"),
    }
}
use crate::engine::conv::Op;

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
        Box::new(SampleType),
        Box::new(SelectKType),
        Box::new(BandEnergiesType),
        Box::new(CorrMatrixType),
        Box::new(KernelsType),
        Box::new(ExploreType),
        Box::new(NpyType),
        Box::new(ConvType(Op::Correlate)),
        Box::new(ConvType(Op::Convolve)),
    ]
}
