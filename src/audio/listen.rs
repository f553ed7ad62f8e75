//! Isik's listening outputs from a fitted PCA of bars: the mean loop, the components
//! ("eigen-loops"), reconstructions of chosen bars with k components, and the morph from
//! the mean loop to the bar. Undoes the equalisation when the model was fitted on
//! equalised bars.

use std::path::{Path, PathBuf};

use crate::audio::equalize::Equalizer;
use crate::audio::wav::{WavFormat, write_wav_interleaved};
use crate::engine::pca::{PcaModel, RowSource};
use crate::error::{Error, Result};
use crate::store::pca_model::PcaMeta;
use crate::store::{NpyMatrix, StoredRows};

/// Isik's reconstruction ladder (of 16,538 components: 1, 1/500, 1/200, 1/50, 1/20,
/// 1/5, 1/2), plus every component.
pub const ISIK_KS: &[usize] = &[1, 33, 82, 330, 826, 3307, 8269];

/// What to write.
#[derive(Clone, Debug, PartialEq)]
pub struct ListenOptions {
    /// Components written as loops (the first N, or all if fewer).
    pub components: usize,
    /// Repetitions of each loop in a file.
    pub loops: usize,
    /// Rows (of the matrix) to reconstruct; `None`: four spread over the matrix.
    pub rows: Option<Vec<usize>>,
    /// Component counts for the reconstructions (those the model has), then "all".
    pub ks: Vec<usize>,
    /// Row of the morph; `None`: the first reconstructed row.
    pub morph_row: Option<usize>,
    /// Repetitions of the bar in the morph (four quarter-bar segments each).
    pub morph_repeats: usize,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            components: 400,
            loops: 4,
            rows: None,
            ks: ISIK_KS.to_vec(),
            morph_row: None,
            morph_repeats: 32,
        }
    }
}

/// A fitted model with what is needed to listen to it.
pub struct Listener<'a> {
    /// The model.
    pub model: &'a PcaModel,
    /// Sample rate of the bars.
    pub rate: u32,
    eq: Option<Equalizer>,
    matrix: Option<StoredRows>,
    scores: Option<NpyMatrix>,
    dropped: Vec<usize>,
}

/// Repeat a bar `loops` times.
pub fn looped(x: &[f32], loops: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len() * loops);
    for _ in 0..loops.max(1) {
        out.extend_from_slice(x);
    }
    out
}

/// Scale so the largest magnitude is `peak` (silence stays silent).
pub fn peak_normalized(mut x: Vec<f32>, peak: f32) -> Vec<f32> {
    let m = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    if m > 0.0 {
        x.iter_mut().for_each(|v| *v *= peak / m);
    }
    x
}

impl<'a> Listener<'a> {
    /// `dir` is the model's folder (for `scores.npy`); the bars come from the matrix
    /// named in `meta`, when it still exists.
    pub fn new(model: &'a PcaModel, meta: &PcaMeta, dir: &Path) -> Result<Listener<'a>> {
        let rate = meta.rate.unwrap_or(8_820);
        let eq = meta
            .equalize
            .then(|| Equalizer::new(model.n_features, rate));
        let matrix = StoredRows::open(Path::new(&meta.source)).ok();
        let scores = NpyMatrix::open(&dir.join("scores.npy")).ok();
        Ok(Listener {
            model,
            rate,
            eq,
            matrix,
            scores,
            dropped: meta.dropped_rows.clone(),
        })
    }

    fn listenable(&self, mut x: Vec<f32>) -> Vec<f32> {
        if let Some(eq) = &self.eq {
            eq.deequalize(&mut x);
        }
        x
    }

    /// The mean loop (one bar).
    pub fn mean(&self) -> Vec<f32> {
        self.listenable(self.model.mean.clone())
    }

    /// Component `i` as sound (one bar, peak-normalised to 0.9).
    pub fn component(&self, i: usize) -> Result<Vec<f32>> {
        if i >= self.model.k() {
            return Err(Error::InvalidArgument {
                name: "component",
                expected: format!("0..{}", self.model.k()),
                actual: i.to_string(),
            });
        }
        Ok(peak_normalized(
            self.listenable(self.model.component(i).to_vec()),
            0.9,
        ))
    }

    /// Rows of the matrix the model was fitted on.
    pub fn rows(&self) -> usize {
        self.model.n_samples + self.dropped.len()
    }

    fn kept_index(&self, row: usize) -> Result<usize> {
        if row >= self.rows() {
            return Err(Error::InvalidArgument {
                name: "row",
                expected: format!("0..{}", self.rows()),
                actual: row.to_string(),
            });
        }
        if self.dropped.contains(&row) {
            return Err(Error::InvalidArgument {
                name: "row",
                expected: "a row the model was fitted on".into(),
                actual: format!("{row}, dropped as non-finite"),
            });
        }
        Ok(row - self.dropped.iter().filter(|&&r| r < row).count())
    }

    /// The original bar at `row`, as stored in the matrix.
    pub fn original(&self, row: usize) -> Result<Vec<f32>> {
        self.kept_index(row)?;
        let m = self.matrix.as_ref().ok_or_else(|| Error::InvalidArgument {
            name: "matrix",
            expected: "the matrix the model was fitted on (named in pca.json)".into(),
            actual: "missing or unreadable".into(),
        })?;
        m.read_rows(row, 1)
    }

    /// Scores of `row` on every component (from `scores.npy`, else projected).
    pub fn scores(&self, row: usize) -> Result<Vec<f64>> {
        let kept = self.kept_index(row)?;
        if let Some(s) = &self.scores
            && s.ncols() >= self.model.k()
        {
            return Ok(s
                .read_rows(kept, 1)?
                .into_iter()
                .map(|v| v as f64)
                .collect());
        }
        let mut x = self.original(row)?;
        if let Some(eq) = &self.eq {
            eq.equalize(&mut x);
        }
        Ok(self.model.project(&x, self.model.k()))
    }

    /// The bar at `row` rebuilt from its first `k` components, mean added back.
    pub fn reconstruction(&self, row: usize, k: usize) -> Result<Vec<f32>> {
        Ok(self.rebuilt(&self.scores(row)?, k))
    }

    /// A bar rebuilt from its scores with the first `k` components, as sound.
    fn rebuilt(&self, scores: &[f64], k: usize) -> Vec<f32> {
        self.listenable(self.model.reconstruct(scores, k))
    }

    /// Isik's morph: `repeats` repetitions of the bar, each in four quarter-bar
    /// segments; segment `c` is rebuilt with `round(1.1333 c^2)` components, and is the
    /// original bar once that reaches every component the model has.
    pub fn morph(&self, row: usize, repeats: usize) -> Result<Vec<f32>> {
        let d = self.model.n_features;
        let s = self.scores(row)?;
        let original = self.original(row).ok();
        let kmax = self.model.k();
        // Running reconstruction, grown component by component as c increases.
        let mut running: Vec<f64> = self.model.mean.iter().map(|&v| v as f64).collect();
        let mut have = 0usize;
        let mut out = Vec::with_capacity(repeats * d);
        let bounds: Vec<usize> = (0..=4).map(|q| (q * d + 2) / 4).collect();
        for c in 0..repeats * 4 {
            let k = (1.1333 * (c * c) as f64).round() as usize;
            let (a, b) = (bounds[c % 4], bounds[c % 4 + 1]);
            if k >= kmax
                && let Some(orig) = &original
            {
                out.extend_from_slice(&orig[a..b]);
                continue;
            }
            while have < k.min(kmax) {
                let comp = self.model.component(have);
                for (r, &v) in running.iter_mut().zip(comp) {
                    *r += s[have] * v as f64;
                }
                have += 1;
            }
            let bar = self.listenable(running.iter().map(|&v| v as f32).collect());
            out.extend_from_slice(&bar[a..b]);
        }
        Ok(out)
    }

    /// Write a mono 16-bit WAV at the bars' rate.
    pub fn write(&self, path: &Path, samples: &[f32]) -> Result<PathBuf> {
        Ok(write_wav_interleaved(path, self.rate, 1, samples, WavFormat::Pcm16)?.path)
    }

    /// The rows reconstructed by default: four spread over the matrix.
    pub fn default_rows(&self) -> Vec<usize> {
        let n = self.rows();
        let mut rows: Vec<usize> = [1usize, 3, 5, 7].iter().map(|q| q * n / 8).collect();
        rows.dedup();
        rows.retain(|r| !self.dropped.contains(r));
        rows
    }

    /// Write every listening output under `dir`: `mean.wav`, `components/`,
    /// `reconstructions/`, `morph.wav`.
    pub fn write_all(&self, dir: &Path, opts: &ListenOptions) -> Result<Vec<PathBuf>> {
        use rayon::prelude::*;
        let mut out = vec![self.write(&dir.join("mean.wav"), &looped(&self.mean(), opts.loops))?];
        let n = opts.components.min(self.model.k());
        let comps: Vec<PathBuf> = (0..n)
            .into_par_iter()
            .map(|i| {
                let c = self.component(i)?;
                self.write(
                    // Numbered from 1, as a person counts them (component_001.wav is
                    // the first).
                    &dir.join(format!("components/component_{:03}.wav", i + 1)),
                    &looped(&c, opts.loops),
                )
            })
            .collect::<Result<_>>()?;
        out.extend(comps);
        let rows = opts.rows.clone().unwrap_or_else(|| self.default_rows());
        let kmax = self.model.k();
        let mut ks: Vec<usize> = opts
            .ks
            .iter()
            .copied()
            .filter(|&k| k > 0 && k < kmax)
            .collect();
        ks.push(kmax);
        for &row in &rows {
            let scores = self.scores(row)?;
            if let Ok(orig) = self.original(row) {
                out.push(self.write(
                    &dir.join(format!("reconstructions/row_{row:06}_original.wav")),
                    &looped(&orig, opts.loops),
                )?);
            }
            for &k in &ks {
                let name = if k == kmax {
                    format!("reconstructions/row_{row:06}_k_all.wav")
                } else {
                    format!("reconstructions/row_{row:06}_k_{k:05}.wav")
                };
                let bar = self.rebuilt(&scores, k);
                out.push(self.write(&dir.join(name), &looped(&bar, opts.loops))?);
            }
        }
        if let Some(row) = opts.morph_row.or(rows.first().copied()) {
            out.push(self.write(
                &dir.join("morph.wav"),
                &self.morph(row, opts.morph_repeats)?,
            )?);
        }
        Ok(out)
    }
}
