//! Listening to a fitted PCA: Isik's outputs (mean loop, eigen-loops, reconstructions,
//! morph) written as WAV, and one thing at a time ([`audition`]).

use std::path::{Path, PathBuf};

use crate::audio::listen::{Listener, looped};
use crate::error::{Error, Result};
use crate::store::pca_model::load_model;

/// What to write, as given; [`ListenParams::check`] makes it [`ListenOptions`].
pub use crate::audio::listen::ListenOptions as ListenParams;

super::checked_options!(
    /// Checked listening settings: 1 to 1,000 loops and morph repeats, component
    /// counts of at least 1.
    ListenOptions(ListenParams)
);

impl ListenParams {
    /// Check the settings.
    pub fn check(self) -> Result<ListenOptions> {
        super::check_range("loops", self.loops as f64, 1.0, 1000.0)?;
        super::check_range("morph_repeats", self.morph_repeats as f64, 1.0, 1000.0)?;
        if self.ks.contains(&0) {
            return Err(Error::InvalidArgument {
                name: "ks",
                expected: "component counts of at least 1".into(),
                actual: format!("{:?}", self.ks),
            });
        }
        Ok(ListenOptions(self))
    }
}

/// Write the listening outputs of the model in `model_dir` into `out`.
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
/// use eigentechno::ops::ListenParams;
/// let opts = ListenParams { components: 2, ..Default::default() }.check()?;
/// let files = eigentechno::ops::listen_to_dir(&model, &dir.path().join("listen"), &opts)?;
/// assert!(files.iter().any(|f| f.ends_with("mean.wav")));
/// # Ok(()) }
/// ```
pub fn listen_to_dir(model_dir: &Path, out: &Path, opts: &ListenOptions) -> Result<Vec<PathBuf>> {
    let (model, meta) = load_model(model_dir)?;
    Listener::new(&model, &meta, model_dir)?.write_all(out, opts)
}

/// One thing to hear from a fitted model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audition {
    /// Component `n`, numbered from 1 as everywhere a person reads them (the first is
    /// 1; 0 is an error), peak-normalised.
    Component(usize),
    /// Row `row` of the matrix rebuilt from its first `k` components (`k` above the
    /// model's: all of them).
    Reconstruct {
        /// The row.
        row: usize,
        /// Components used.
        k: usize,
    },
    /// Isik's morph from the mean loop to row `row`.
    Morph(usize),
    /// The mean loop.
    Mean,
    /// Bar `n` drawn from the model read as a Gaussian (probabilistic PCA, seed 0, the
    /// model's default k).
    Sample(usize),
}

/// Write what `what` names, repeated `loops` times (the morph has its own length), to
/// `model_dir/audition/...` and return its path.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// use eigentechno::ops::{self, Audition, PcaJob};
/// let dir = tempfile::tempdir().unwrap();
/// let x: Vec<f32> = (0..40 * 64).map(|i| ((i * 37 % 101) as f32 / 101.0) - 0.5).collect();
/// let matrix = dir.path().join("bars.npy");
/// eigentechno::store::write_npy(&matrix, &eigentechno::store::NdArray::F32(
///     ndarray::Array2::from_shape_vec((40, 64), x).unwrap().into_dyn()))?;
/// let model = dir.path().join("pca");
/// ops::fit_to_dir(&matrix, None, &model, &PcaJob::default())?;
/// let wav = ops::audition(&model, Audition::Component(1), 2)?;
/// assert!(wav.ends_with("audition/component_001.wav"), "the first component");
/// assert!(ops::audition(&model, Audition::Component(0), 2).is_err(), "numbered from 1");
/// # Ok(()) }
/// ```
pub fn audition(model_dir: &Path, what: Audition, loops: usize) -> Result<PathBuf> {
    let (model, meta) = load_model(model_dir)?;
    let l = Listener::new(&model, &meta, model_dir)?;
    let (name, samples) = match what {
        Audition::Component(n) => {
            if n == 0 {
                return Err(Error::InvalidArgument {
                    name: "component",
                    expected: format!(
                        "a component number from 1 to {} (components are numbered from 1)",
                        model.k()
                    ),
                    actual: "0".into(),
                });
            }
            (
                format!("component_{n:03}.wav"),
                looped(&l.component(n - 1)?, loops),
            )
        }
        Audition::Reconstruct { row, k } => {
            let k = k.min(model.k());
            (
                format!("row_{row:06}_k_{k:05}.wav"),
                looped(&l.reconstruction(row, k)?, loops),
            )
        }
        Audition::Morph(row) => (format!("morph_{row:06}.wav"), l.morph(row, 32)?),
        Audition::Mean => ("mean.wav".to_string(), looped(&l.mean(), loops)),
        Audition::Sample(n) => {
            let m = super::PpcaModel::open(model_dir, 0)?;
            let bars = super::sample_bars(&m, n + 1, false, 0);
            (format!("sample_{n:03}.wav"), looped(&bars[n], loops))
        }
    };
    l.write(&model_dir.join("audition").join(name), &samples)
}
