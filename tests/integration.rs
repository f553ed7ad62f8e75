//! Every integration test, as one test binary: one link of the library and its
//! dependencies instead of one per file, which saves minutes of linking and gigabytes of
//! disk in CI. Each module is a file beside this one; run one with
//! `cargo test --release --test integration <module>::`.

mod common;
mod fuzz_cases;

mod audition_tour;
mod bar_phase;
mod batch;
mod beat_phase;
mod conv_cli;
mod conv_props;
mod conv_scipy;
mod corrmatrix;
mod curves;
mod custom_stages;
mod debruijn_cli;
mod explorer;
mod first_hour;
mod fuzz_regressions;
mod hostile_input;
mod ingest;
mod interrupt;
mod kernels;
mod learn;
mod learn_conv;
mod learn_diffusion;
mod mix_segments;
mod npy_bounds;
mod npy_fortran;
mod ops_api;
mod pca_cli;
mod pca_f64;
mod pca_numpy;
mod pipeline_errors;
mod ppca_sklearn;
mod ppca_stages;
mod run_report;
mod skm_stage;
mod stage_specs;
mod supplied_results;
mod synth_roundtrip;
