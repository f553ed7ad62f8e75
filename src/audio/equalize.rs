//! Isik's equalisation for the "equalised" eigentechno: the average spectrum of techno
//! bars is dominated by the lows, so before PCA every bar's spectrum is divided by a
//! fixed amplitude curve (highs lifted by up to 26 dB), and every listening output is
//! multiplied back.

use std::sync::Arc;

use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::engine::pca::{PcaError, RowSource, Rows};

/// Isik's gain curve `g(f)`: 1 below 50 Hz; for 50 <= f < 2,205 Hz with
/// `x = log10(f / 50)`, `g = 1 - 0.454 x + 0.12 x (x - b)`, `b = log10(2205 / 50)`;
/// held at `g(b)` above.
pub fn gain_curve(f: f64) -> f64 {
    let b = (2205.0f64 / 50.0).log10();
    let x = if f < 50.0 {
        return 1.0;
    } else if f < 2205.0 {
        (f / 50.0).log10()
    } else {
        b
    };
    1.0 - 0.454 * x + 0.12 * x * (x - b)
}

/// The amplitude factor `10^(-35.3 (1 - g(f)) / 20)` the spectrum is divided by.
pub fn amplitude_factor(f: f64) -> f64 {
    10f64.powf(-35.3 * (1.0 - gain_curve(f)) / 20.0)
}

/// Equalises and de-equalises bars of a fixed length at a fixed rate.
///
/// ```
/// use eigentechno::audio::equalize::Equalizer;
/// let eq = Equalizer::new(1000, 8820);
/// let bar: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.3).sin()).collect();
/// let mut x = bar.clone();
/// eq.equalize(&mut x);
/// eq.deequalize(&mut x);
/// assert!(x.iter().zip(&bar).all(|(a, b)| (a - b).abs() < 1e-4));
/// ```
#[derive(Clone)]
pub struct Equalizer {
    len: usize,
    factors: Vec<f32>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
}

impl Equalizer {
    /// For bars of `len` samples at `rate` Hz.
    pub fn new(len: usize, rate: u32) -> Equalizer {
        let mut planner = RealFftPlanner::<f32>::new();
        let bins = len / 2 + 1;
        let factors = (0..bins)
            .map(|i| amplitude_factor(i as f64 * rate as f64 / len as f64) as f32)
            .collect();
        Equalizer {
            len,
            factors,
            forward: planner.plan_fft_forward(len),
            inverse: planner.plan_fft_inverse(len),
        }
    }

    fn apply(&self, x: &mut [f32], divide: bool) {
        assert_eq!(x.len(), self.len, "bar length");
        let mut spec = self.forward.make_output_vec();
        let mut input = x.to_vec();
        self.forward
            .process(&mut input, &mut spec)
            .expect("lengths from the plan");
        for (c, &f) in spec.iter_mut().zip(&self.factors) {
            *c = if divide { *c / f } else { *c * f };
        }
        // The inverse wants real DC and Nyquist bins; they are, up to rounding.
        spec[0].im = 0.0;
        if self.len.is_multiple_of(2) {
            let last = spec.len() - 1;
            spec[last].im = 0.0;
        }
        self.inverse
            .process(&mut spec, x)
            .expect("lengths from the plan");
        let scale = 1.0 / self.len as f32;
        x.iter_mut().for_each(|v| *v *= scale);
    }

    /// Divide the spectrum by the factor curve (before PCA).
    pub fn equalize(&self, x: &mut [f32]) {
        self.apply(x, true)
    }

    /// Multiply it back (for listening).
    pub fn deequalize(&self, x: &mut [f32]) {
        self.apply(x, false)
    }
}

/// A row source whose rows (bars) are equalised on the way out, or passed through
/// untouched when no equalisation is asked for.
pub struct EqualizedRows<'a> {
    inner: &'a dyn RowSource,
    eq: Option<Equalizer>,
}

impl<'a> EqualizedRows<'a> {
    /// Equalise the rows of `inner`, bars at `rate` Hz.
    pub fn new(inner: &'a dyn RowSource, rate: u32) -> Self {
        Self::optional(inner, Some(rate))
    }

    /// Equalise at `rate` Hz when it is given; otherwise the rows of `inner` as they are.
    pub fn optional(inner: &'a dyn RowSource, rate: Option<u32>) -> Self {
        EqualizedRows {
            eq: rate.map(|r| Equalizer::new(inner.ncols(), r)),
            inner,
        }
    }
}

impl RowSource for EqualizedRows<'_> {
    fn nrows(&self) -> usize {
        self.inner.nrows()
    }
    fn ncols(&self) -> usize {
        self.inner.ncols()
    }
    fn is_f64(&self) -> bool {
        self.eq.is_none() && self.inner.is_f64()
    }
    fn visit(
        &self,
        max_rows: usize,
        f: &mut dyn FnMut(usize, Rows<'_>) -> Result<(), PcaError>,
    ) -> Result<(), PcaError> {
        let Some(eq) = &self.eq else {
            return self.inner.visit(max_rows, f);
        };
        let d = self.ncols();
        let mut buf: Vec<f32> = Vec::new();
        self.inner.visit(max_rows, &mut |start, rows| {
            buf.clear();
            match rows {
                Rows::F32(v) => buf.extend_from_slice(v),
                Rows::F64(v) => buf.extend(v.iter().map(|&x| x as f32)),
            }
            buf.par_chunks_mut(d).for_each(|row| {
                // Rows holding NaN are left alone for PCA to report or drop.
                if row.iter().all(|v| v.is_finite()) {
                    eq.equalize(row);
                }
            });
            f(start, Rows::F32(&buf))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gain_curve_matches_isiks_formula_at_known_points() {
        assert_eq!(gain_curve(20.0), 1.0);
        assert!((gain_curve(50.0) - 1.0).abs() < 1e-12);
        let b = (2205.0f64 / 50.0).log10();
        let top = 1.0 - 0.454 * b;
        assert!((gain_curve(3000.0) - top).abs() < 1e-12);
        assert!(
            (gain_curve(2204.999) - top).abs() < 1e-5,
            "continuous at 2205 Hz"
        );
        // About -26 dB above 2,205 Hz.
        let db = 20.0 * amplitude_factor(4000.0).log10();
        assert!(
            (db + 35.3 * 0.454 * b).abs() < 1e-9 && (-27.0..-25.0).contains(&db),
            "{db}"
        );
    }

    #[test]
    fn equalising_lifts_highs_against_lows() {
        let (len, rate) = (8820, 8820);
        let eq = Equalizer::new(len, rate);
        let tone = |f: f32| -> Vec<f32> {
            (0..len)
                .map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / rate as f32).sin())
                .collect()
        };
        let rms = |x: &[f32]| (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
        let (mut lo, mut hi) = (tone(40.0), tone(3000.0));
        eq.equalize(&mut lo);
        eq.equalize(&mut hi);
        let gain_db = 20.0 * (rms(&hi) / rms(&lo)).log10();
        assert!((gain_db - 26.0).abs() < 0.5, "{gain_db} dB");
    }
}
