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

/// The loops a tour plays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TourOf {
    /// The first N components, numbered from 1 as everywhere a person reads them.
    Components(usize),
    /// These rows of the matrix, the bars as stored, in the order given.
    Rows(Vec<usize>),
}

/// A written loop tour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tour {
    /// The WAV.
    pub wav: PathBuf,
    /// `tour.json` beside it.
    pub json: PathBuf,
    /// What each bar plays: a component (from 1) or a row, one per bar.
    pub order: Vec<usize>,
}

/// Most bars in a tour (about an hour at 128 bpm, bars of 1.875 s).
pub const MAX_TOUR_BARS: u64 = 2000;

/// A loop tour: the N loops of `of` in de Bruijn order, so that every ordered pair of
/// loops (each loop followed by itself too) is heard exactly once as a transition.
/// The cyclic sequence of order `order` over N symbols (N^order bars, the
/// lexicographically least, by FKM), made linear by repeating its first `order - 1`
/// bars: N^2 + 1 bars for order 2. Writes `model_dir/audition/tour.wav` and
/// `tour.json` beside it (key `order`: the component or row per bar; `what`, `n`,
/// `de_bruijn_order`, `bars`, `bar_samples`, `rate`), both atomically.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// use eigentechno::ops::{self, PcaJob, TourOf};
/// let dir = tempfile::tempdir().unwrap();
/// let x: Vec<f32> = (0..40 * 64).map(|i| ((i * 37 % 101) as f32 / 101.0) - 0.5).collect();
/// let matrix = dir.path().join("bars.npy");
/// eigentechno::store::write_npy(&matrix, &eigentechno::store::NdArray::F32(
///     ndarray::Array2::from_shape_vec((40, 64), x).unwrap().into_dyn()))?;
/// let model = dir.path().join("pca");
/// ops::fit_to_dir(&matrix, None, &model, &PcaJob::default())?;
/// let tour = ops::audition_tour(&model, &TourOf::Components(3), 2)?;
/// assert_eq!(tour.order, [1, 1, 2, 1, 3, 2, 2, 3, 3, 1]);
/// # Ok(()) }
/// ```
pub fn audition_tour(model_dir: &Path, of: &TourOf, order: usize) -> Result<Tour> {
    use crate::engine::debruijn::{Algorithm, DeBruijnParams};
    let (model, meta) = load_model(model_dir)?;
    let l = Listener::new(&model, &meta, model_dir)?;
    let (what, n) = match of {
        TourOf::Components(n) => ("components", *n),
        TourOf::Rows(rows) => ("rows", rows.len()),
    };
    if n < 2 {
        return Err(Error::InvalidArgument {
            name: "tour",
            expected: "at least 2 loops (a tour is the transitions between them)".into(),
            actual: n.to_string(),
        });
    }
    if let TourOf::Components(n) = of
        && *n > model.k()
    {
        return Err(Error::InvalidArgument {
            name: "tour",
            expected: format!("at most the model's {} components", model.k()),
            actual: n.to_string(),
        });
    }
    if order == 0 {
        return Err(Error::InvalidArgument {
            name: "order",
            expected: "a de Bruijn order of at least 1 (2: every pair of loops)".into(),
            actual: "0".into(),
        });
    }
    let too_many = || Error::InvalidArgument {
        name: "tour",
        expected: format!("at most {MAX_TOUR_BARS} bars (N^order + order - 1)"),
        actual: format!("{n}^{order} + {} bars", order - 1),
    };
    let size = DeBruijnParams { k: n, n: order }
        .check()
        .map_err(|_| too_many())?;
    if size.linear_len() > MAX_TOUR_BARS {
        return Err(too_many());
    }
    // Each loop's sound once; the tour repeats them.
    let loops: Vec<Vec<f32>> = match of {
        TourOf::Components(n) => (0..*n).map(|i| l.component(i)).collect::<Result<_>>()?,
        TourOf::Rows(rows) => rows.iter().map(|&r| l.original(r)).collect::<Result<_>>()?,
    };
    let label = |i: u8| match of {
        TourOf::Components(_) => i as usize + 1,
        TourOf::Rows(rows) => rows[i as usize],
    };
    let mut symbols = Vec::with_capacity(size.linear_len() as usize);
    size.linear(Algorithm::Lyndon, &mut |c| symbols.push(c));
    let dir = model_dir.join("audition");
    let wav = dir.join("tour.wav");
    let mut sink =
        crate::audio::wav::WavSink::create(&wav, l.rate, 1, crate::audio::wav::WavFormat::Pcm16)?;
    for &c in &symbols {
        sink.write(&loops[c as usize])?;
    }
    sink.finish()?;
    let order_labels: Vec<usize> = symbols.iter().map(|&c| label(c)).collect();
    let report = serde_json::json!({
        "what": what,
        "n": n,
        "de_bruijn_order": order,
        "bars": order_labels.len(),
        "bar_samples": model.n_features,
        "rate": l.rate,
        "wav": "tour.wav",
        "note": "every ordered pair of loops is heard once as a transition (for de_bruijn_order 2); components are numbered from 1",
        "order": order_labels,
    });
    let json = crate::store::write_atomic(
        &dir.join("tour.json"),
        &serde_json::to_vec_pretty(&report).expect("serialises"),
    )?;
    Ok(Tour {
        wav,
        json,
        order: order_labels,
    })
}
