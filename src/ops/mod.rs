//! The operations layer: every operation a user can call, in one place.
//!
//! The CLI (`src/main.rs`), the pipeline stages ([`crate::pipeline`]), the explorer
//! page and the Python package are thin fronts over this module. Each operation takes
//! checked options (given as a `...Params` struct with public fields and defaults,
//! turned by `check()` into an options type that cannot hold a bad value, as linfa
//! does) and returns typed results. No operation prints.
//!
//! | what | operations |
//! | --- | --- |
//! | tracks | [`list_tracks`], [`tracks_of_files`] |
//! | decoding | [`load_audio`] |
//! | ingest | [`ingest_to_dir`], [`ingest_to_memory`] ([`IngestParams`]) |
//! | tempo, beats, downbeats | [`tempo_of_file`], [`tempo_of_samples`], [`tempo_of_files`], [`evaluate_folder`] ([`TempoParams`]) |
//! | PCA | [`fit_to_dir`] ([`PcaJobParams`]), [`load_model`], [`transform`], [`inverse_transform`] |
//! | PCA in memory (scikit-learn's meanings) | [`fit_memory`], [`transform_memory`], [`inverse_transform_memory`], [`score_memory`], [`sklearn_noise_variance`], [`save_memory_model`] |
//! | a shard's part of a distributed PCA | [`shard_column_stats`], [`shard_times`], [`shard_t_times`], [`shard_covariance_tile`] |
//! | listening and figures | [`listen_to_dir`] ([`ListenParams`]), [`audition`], [`audition_tour`] ([`TourOf`]), [`figures_to_dir`] ([`FigureParams`]) |
//! | probabilistic PCA | [`PpcaModel`], [`score_to_npy`], [`outliers_to_dir`], [`sample_bars`], [`samples_to_dir`], [`select_k_to_dir`] |
//! | correlation, convolution | [`correlate`], [`convolve`], [`apply_arrays`], [`apply_files`] |
//! | correlation matrices | [`corrmatrix_of_file`], [`corrmatrix_of_rows`], [`corrmatrix_to_file`], [`band_energies`], [`bar_features_to_dir`] ([`CorrParams`]) |
//! | polynomial curves | [`curves_of_path`], [`curves_to_dir`] ([`CurveParams`]), [`poly_distance`], [`poly_embedding`], [`poly_fit`] |
//! | CNN kernels | [`kernels_of_file`], [`kernels_to_dir`] ([`KernelParams`]) |
//! | explorer | [`explore`], [`open_in_browser`] |
//! | pipelines | [`load_pipeline`], [`run_pipeline`], [`run_file`] |
//! | de Bruijn sequences (the keypad riddle) | [`DeBruijnJob`] ([`DeBruijnJobParams`]): [`DeBruijnJob::text`], [`DeBruijnJob::indices`], [`DeBruijnJob::write_text`], [`DeBruijnJob::graph`] |
//! | synthetic corpus | [`synth_corpus`] ([`CorpusParams`]) |
//!
//! Below this layer, [`crate::engine`] (maths), [`crate::audio`], [`crate::image`],
//! [`crate::store`] (files) and [`crate::explore`] (the page) know nothing of
//! pipelines or the CLI. Every named choice (methods, modes, orders) parses with
//! [`FromStr`](std::str::FromStr) and is a clap `ValueEnum` ([`choice`]).

mod bar_features;
pub mod choice;
mod conv;
mod corrmatrix;
mod curves;
mod debruijn;
mod explore;
mod figures;
mod ingest;
mod kernels;
pub mod learn;
pub mod learn_ensemble;
mod listen;
mod load;
mod pca;
mod pca_memory;
mod ppca;
mod run;
pub mod stages;
mod synth;
mod tempo;
mod tracks;

use std::path::Path;

pub use bar_features::{BAR_METADATA, bar_features_to_dir};
pub use choice::{Choice, UnknownChoice, parse_choice};
pub use conv::{apply_arrays, apply_files, convolve, correlate};
pub use corrmatrix::{
    CorrOptions, CorrParams, CorrReport, CsvMatrix, NOISE_CORRELATION, band_energies,
    corrmatrix_of_file, corrmatrix_of_rows, corrmatrix_to_file, labels_beside, read_csv_matrix,
};
pub use curves::{
    CurveOptions, CurveParams, Curves, CurvesReport, MAX_CURVES, MAX_DRAWN, Nearest,
    curves_of_path, curves_to_dir, poly_distance, poly_embedding, poly_fit,
};
pub use debruijn::{
    CoverageReport, DeBruijnJob, DeBruijnJobParams, DeBruijnReport, MAX_GRAPH_EDGES, MAX_IN_MEMORY,
    Symbols, thousands,
};
pub use explore::{explore, explore_end_of_run, open_in_browser};
pub use figures::{FigureOptions, FigureParams, figures_to_dir};
pub use ingest::{
    IngestOptions, IngestParams, IngestedBars, TrackInput, ingest_to_dir, ingest_to_memory,
};
pub use kernels::{
    KernelOptions, KernelParams, KernelsReport, LayerReport, kernels_of_file, kernels_to_dir,
};
pub use listen::{
    Audition, ListenOptions, ListenParams, MAX_TOUR_BARS, Tour, TourOf, audition, audition_tour,
    listen_to_dir,
};
pub use load::load_audio;
pub use pca::{PcaJob, PcaJobParams, fit_to_dir, inverse_transform, load_model, transform};
pub use pca_memory::{
    fit_memory, inverse_transform_memory, meta_of_fit, save_memory_model, score_memory,
    shard_column_stats, shard_covariance_tile, shard_t_times, shard_times, sklearn_noise_variance,
    transform_memory,
};
pub use ppca::{
    OutlierOptions, OutlierParams, PpcaModel, SampleOptions, SampleParams, SelectK, SelectKOptions,
    SelectKParams, default_k, outliers_to_dir, sample_bars, samples_to_dir, score_to_npy,
    select_k_to_dir,
};
pub use run::{RunOutcome, RunSettings, load_pipeline, run_file, run_pipeline};
pub use synth::{Corpus, CorpusParams, synth_corpus};
pub use tempo::{
    TempoOptions, TempoParams, TempoReport, evaluate_folder, tempo_of_file, tempo_of_files,
    tempo_of_samples,
};
pub use tracks::{list_tracks, tracks_of_files};

use crate::engine::pca::PcaError;
use crate::error::{Error, Result};

/// An engine error about the data in `path`, naming the file.
pub(crate) fn in_file(path: &Path, e: PcaError) -> Error {
    if e == PcaError::Interrupted {
        return Error::Interrupted;
    }
    Error::InvalidData {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// `value` must lie in `lo..=hi` (and be a number).
pub(crate) fn check_range(name: &'static str, value: f64, lo: f64, hi: f64) -> Result<()> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            name,
            expected: format!("{lo} to {hi}"),
            actual: value.to_string(),
        })
    }
}

/// `Options` is `Params` once checked: it derefs to the values, and is made only by
/// `Params::check` (or `Default`, from checked defaults).
macro_rules! checked_options {
    ($(#[$m:meta])* $options:ident($params:ty)) => {
        $(#[$m])*
        #[derive(Clone, Debug)]
        pub struct $options($params);

        impl std::ops::Deref for $options {
            type Target = $params;
            fn deref(&self) -> &$params {
                &self.0
            }
        }

        impl $options {
            /// The values as given.
            pub fn params(&self) -> &$params {
                &self.0
            }
        }

        impl Default for $options {
            fn default() -> Self {
                <$params>::default().check().expect("the defaults are valid")
            }
        }
    };
}
pub(crate) use checked_options;
