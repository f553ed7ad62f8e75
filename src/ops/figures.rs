//! Isik's four figures of a fitted PCA (PNG).

use std::path::{Path, PathBuf};

use crate::audio::listen::Listener;
use crate::engine::pca::RowSource;
use crate::error::Result;
use crate::image::plots;
use crate::store::StoredRows;
use crate::store::pca_model::load_model;

/// Figure settings as given; [`FigureParams::check`] makes them [`FigureOptions`].
#[derive(Clone, Debug)]
pub struct FigureParams {
    /// Singular values shown.
    pub singular_values: usize,
    /// Components whose spectra are drawn (over component 0).
    pub spectra_components: usize,
    /// FFT window of the spectra.
    pub window: usize,
    /// Hop between windows.
    pub hop: usize,
    /// Most bars averaged for the data's spectrum (evenly spaced).
    pub spectrum_rows: usize,
}

impl Default for FigureParams {
    fn default() -> Self {
        FigureParams {
            singular_values: 1000,
            spectra_components: 20,
            window: 2048,
            hop: 512,
            spectrum_rows: 2000,
        }
    }
}

super::checked_options!(
    /// Checked figure settings: a window of 16 or more samples, a hop from 1 to the
    /// window, at least one singular value and one spectrum.
    FigureOptions(FigureParams)
);

impl FigureParams {
    /// Check the settings.
    pub fn check(self) -> Result<FigureOptions> {
        super::check_range(
            "singular_values",
            self.singular_values as f64,
            1.0,
            (1u64 << 30) as f64,
        )?;
        super::check_range(
            "spectra_components",
            self.spectra_components as f64,
            1.0,
            1000.0,
        )?;
        super::check_range("window", self.window as f64, 16.0, (1u64 << 20) as f64)?;
        super::check_range("hop", self.hop as f64, 1.0, self.window as f64)?;
        super::check_range(
            "spectrum_rows",
            self.spectrum_rows as f64,
            1.0,
            (1u64 << 40) as f64,
        )?;
        Ok(FigureOptions(self))
    }
}

/// Draw the four figures of the model in `model_dir` into `out`:
/// `singular_values.png`, `cumulative_variance.png`, `component_spectra.png`,
/// `average_spectrum.png`.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let model = dir.path().join("pca");
/// let job = eigentechno::ops::PcaJobParams {
///     params: eigentechno::engine::pca::PcaParams { k: Some(8), ..Default::default() },
///     ..Default::default()
/// }.check()?;
/// eigentechno::ops::fit_to_dir("fixtures/pca/X.npy".as_ref(), None, &model, &job)?;
/// let files = eigentechno::ops::figures_to_dir(&model, &dir.path().join("figures"), &Default::default())?;
/// assert!(files.iter().any(|f| f.ends_with("singular_values.png")));
/// # Ok(()) }
/// ```
pub fn figures_to_dir(model_dir: &Path, out: &Path, opts: &FigureOptions) -> Result<Vec<PathBuf>> {
    use rayon::prelude::*;
    let (model, meta) = load_model(model_dir)?;
    let listener = Listener::new(&model, &meta, model_dir)?;
    let rate = listener.rate;
    let mut files = vec![
        plots::singular_values(
            &out.join("singular_values.png"),
            &model.singular_values,
            opts.singular_values,
        )?,
        plots::cumulative_variance(
            &out.join("cumulative_variance.png"),
            &model.cumulative_ratio(),
        )?,
    ];
    // Spectra of what one hears: components de-equalised when the fit was equalised.
    let n = (opts.spectra_components + 1).min(model.k());
    let spectra: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|i| {
            listener
                .component(i)
                .map(|c| plots::mean_spectrum(&c, opts.window, opts.hop))
        })
        .collect::<Result<_>>()?;
    if spectra.len() >= 2 {
        files.push(plots::component_spectra(
            &out.join("component_spectra.png"),
            &spectra,
            rate,
            opts.window,
        )?);
    }
    let matrix = StoredRows::open(Path::new(&meta.source))?;
    let rows = matrix.nrows();
    let step = rows.div_ceil(opts.spectrum_rows.max(1)).max(1);
    let picked: Vec<usize> = (0..rows).step_by(step).collect();
    let sums: Vec<Vec<f64>> = picked
        .par_iter()
        .map(|&r| {
            matrix
                .read_rows(r, 1)
                .map(|x| plots::mean_spectrum(&x, opts.window, opts.hop))
        })
        .collect::<Result<_>>()?;
    let mut avg = vec![0f64; opts.window / 2 + 1];
    for s in &sums {
        for (a, v) in avg.iter_mut().zip(s) {
            *a += v / sums.len() as f64;
        }
    }
    files.push(plots::average_spectrum(
        &out.join("average_spectrum.png"),
        &avg,
        rate,
        opts.window,
    )?);
    Ok(files)
}
