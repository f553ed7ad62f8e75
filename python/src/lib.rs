//! `eigentechno._eigentechno`: the Python package's native module, a thin front over
//! `eigentechno::ops`. The package's Python files (`python/eigentechno/`) turn
//! arguments into contiguous float32/float64 arrays, give the docstrings and the
//! scikit-learn estimator; everything that computes is here, and runs with the GIL
//! released on a worker thread so that Ctrl-C interrupts it
//! (`calls::blocking`).

mod arrays;
mod audio;
mod calls;
mod conv;
mod corr;
mod curves;
mod debruijn;
mod diffusion;
mod figures;
mod ingest;
mod learn;
mod pca;
mod products;
mod run;
mod tempo;

use pyo3::prelude::*;

#[pymodule]
fn _eigentechno(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "__source_hash__",
        eigentechno::store::fingerprint::SOURCE_HASH,
    )?;
    m.add_function(wrap_pyfunction!(audio::load, m)?)?;
    m.add_function(wrap_pyfunction!(tempo::beat_track_file, m)?)?;
    m.add_function(wrap_pyfunction!(tempo::beat_track_samples, m)?)?;
    m.add_function(wrap_pyfunction!(ingest::ingest, m)?)?;
    m.add_function(wrap_pyfunction!(conv::apply, m)?)?;
    m.add_function(wrap_pyfunction!(corr::corrmatrix, m)?)?;
    m.add_function(wrap_pyfunction!(curves::poly_distance, m)?)?;
    m.add_function(wrap_pyfunction!(curves::poly_embedding, m)?)?;
    m.add_function(wrap_pyfunction!(curves::poly_fit, m)?)?;
    m.add_function(wrap_pyfunction!(debruijn::de_bruijn, m)?)?;
    m.add_function(wrap_pyfunction!(figures::kernels, m)?)?;
    m.add_function(wrap_pyfunction!(figures::listen, m)?)?;
    m.add_function(wrap_pyfunction!(figures::explore, m)?)?;
    m.add_function(wrap_pyfunction!(figures::figures, m)?)?;
    m.add_function(wrap_pyfunction!(figures::outliers, m)?)?;
    m.add_function(wrap_pyfunction!(run::run, m)?)?;
    m.add_function(wrap_pyfunction!(calls::_concurrency_peak, m)?)?;
    m.add_function(wrap_pyfunction!(ingest::list_tracks, m)?)?;
    m.add_function(wrap_pyfunction!(ingest::ingest_to_dir, m)?)?;
    m.add_function(wrap_pyfunction!(learn::learn_fit, m)?)?;
    m.add_function(wrap_pyfunction!(learn::learn_cv, m)?)?;
    m.add_function(wrap_pyfunction!(products::shard_column_stats, m)?)?;
    m.add_function(wrap_pyfunction!(products::shard_times, m)?)?;
    m.add_function(wrap_pyfunction!(products::shard_t_times, m)?)?;
    m.add_function(wrap_pyfunction!(products::shard_covariance_tile, m)?)?;
    m.add_class::<pca::PcaModel>()?;
    m.add_class::<learn::PyLearnedModel>()?;
    m.add_class::<diffusion::PyDiffusionJob>()?;
    Ok(())
}
