//! Correlation and convolution, 1-D and 2-D, direct or by FFT, with scipy.signal's
//! semantics.
//!
//! Signal processing's convolution flips the kernel, `(x * w)[n] = sum_m x[m] w[n - m]`
//! (`numpy.convolve`, `scipy.signal.convolve`); cross-correlation does not,
//! `(x ⋆ w)[n] = sum_m x[n + m] w[m]` (`scipy.signal.correlate`, and every deep-learning
//! "Conv" layer). In 2-D, `correlate(x, w) == convolve(x, w flipped on both axes)`.
//!
//! Modes, exactly as scipy: `full` (every overlap, length `n + m - 1`), `same` (length
//! of the first input, centred on the full output: it starts at index `(m - 1) / 2`),
//! `valid` (only full overlaps: length `|n - m| + 1`; in 2-D one input must be at least
//! as large as the other on every axis).
//!
//! ```
//! use eigentechno::engine::conv::{correlate2d, convolve2d, Method, Mode};
//! use ndarray::{array, Array2};
//!
//! // A one-hot kernel off the centre: convolution and correlation shift the image
//! // opposite ways, which is the whole difference between them.
//! let mut image = Array2::<f64>::zeros((5, 5));
//! image[[2, 2]] = 1.0;
//! let kernel = array![[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]; // one step right
//! let conv = convolve2d(image.view(), kernel.view(), Mode::Same, Method::Auto).unwrap();
//! let corr = correlate2d(image.view(), kernel.view(), Mode::Same, Method::Auto).unwrap();
//! assert_eq!(conv[[2, 3]], 1.0); // moved right
//! assert_eq!(corr[[2, 1]], 1.0); // moved left
//! ```

mod cost;
mod direct;
mod fft;
mod layer;

use std::fmt;

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use rustfft::FftNum;
use rustfft::num_traits::Float;

pub use cost::{CostModel, choose_method};
pub use fft::{FftConvolver, next_fast_len};
pub use layer::Conv2dLayer;

/// Which part of the full result to return (scipy's `mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Every point of overlap: length `n + m - 1`.
    Full,
    /// The size of the first input, centred on the full result.
    Same,
    /// Only points where the inputs overlap completely: length `|n - m| + 1`.
    Valid,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Full => "full",
            Mode::Same => "same",
            Mode::Valid => "valid",
        })
    }
}

/// How to compute (scipy's `method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Pick by the cost model ([`choose_method`]).
    Auto,
    /// Sum of products.
    Direct,
    /// Through real FFTs (overlap-add for a long signal and a short kernel).
    Fft,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Auto => "auto",
            Method::Direct => "direct",
            Method::Fft => "fft",
        })
    }
}

/// Correlation or convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Cross-correlation: the kernel is not flipped.
    Correlate,
    /// Convolution: the kernel is flipped.
    Convolve,
}

/// Why a correlation or convolution was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvError {
    /// An input has no elements.
    #[error("{which} is empty")]
    Empty {
        /// `in1` (the signal) or `in2` (the kernel).
        which: &'static str,
    },
    /// An input holds NaN or infinity.
    #[error("{which} holds a non-finite value ({value}) at index {index:?}")]
    NonFinite {
        /// Which input.
        which: &'static str,
        /// Where (row-major multi-index).
        index: Vec<usize>,
        /// The value, as text.
        value: String,
    },
    /// `valid` in 2-D needs one input at least as large as the other on every axis.
    #[error(
        "mode 'valid' has no output for shapes {in1:?} and {in2:?}: one must be at least as large as the other on every axis"
    )]
    NoOutput {
        /// Shape of the first input.
        in1: Vec<usize>,
        /// Shape of the second.
        in2: Vec<usize>,
    },
    /// Inputs of different dimensionality, or a dimensionality not handled.
    #[error("dimension mismatch: expected {expected}, got {actual}")]
    Dimensions {
        /// What was expected.
        expected: String,
        /// What was given.
        actual: String,
    },
    /// A signal with no energy has no normalised autocorrelation.
    #[error("the signal is all zeros: its normalised autocorrelation is undefined")]
    ZeroEnergy,
    /// Layer geometry that cannot work (channels, stride, padding).
    #[error("layer shape: {0}")]
    Layer(String),
}

/// The float types the engine works in (f32, f64).
pub trait Real:
    FftNum + Float + Default + std::iter::Sum + std::ops::AddAssign + Send + Sync + 'static
{
    /// Run `f` with this thread's [`FftConvolver`] for this type (cached plans and buffers).
    fn with_fft<R>(f: impl FnOnce(&mut FftConvolver<Self>) -> R) -> R;
}

thread_local! {
    static FFT_F32: std::cell::RefCell<FftConvolver<f32>> = std::cell::RefCell::new(FftConvolver::new());
    static FFT_F64: std::cell::RefCell<FftConvolver<f64>> = std::cell::RefCell::new(FftConvolver::new());
}

impl Real for f32 {
    fn with_fft<R>(f: impl FnOnce(&mut FftConvolver<Self>) -> R) -> R {
        FFT_F32.with(|p| f(&mut p.borrow_mut()))
    }
}

impl Real for f64 {
    fn with_fft<R>(f: impl FnOnce(&mut FftConvolver<Self>) -> R) -> R {
        FFT_F64.with(|p| f(&mut p.borrow_mut()))
    }
}

/// The window `[start, start + len)` of the full result that `mode` keeps, on one axis
/// with input lengths `n` (first) and `m` (second).
pub fn output_window(n: usize, m: usize, mode: Mode) -> (usize, usize) {
    match mode {
        Mode::Full => (0, n + m - 1),
        Mode::Same => ((m - 1) / 2, n),
        Mode::Valid => (n.min(m) - 1, n.abs_diff(m) + 1),
    }
}

fn check_finite<T: Real>(
    which: &'static str,
    data: &[T],
    shape: &[usize],
) -> Result<(), ConvError> {
    if data.is_empty() {
        return Err(ConvError::Empty { which });
    }
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        let mut index = vec![0; shape.len()];
        let mut rest = i;
        for (d, &len) in shape.iter().enumerate().rev() {
            index[d] = rest % len;
            rest /= len;
        }
        return Err(ConvError::NonFinite {
            which,
            index,
            value: format!("{:?}", data[i]),
        });
    }
    Ok(())
}

fn check_valid_2d(s1: (usize, usize), s2: (usize, usize), mode: Mode) -> Result<(), ConvError> {
    if mode == Mode::Valid {
        let ge = s1.0 >= s2.0 && s1.1 >= s2.1;
        let le = s1.0 <= s2.0 && s1.1 <= s2.1;
        if !ge && !le {
            return Err(ConvError::NoOutput {
                in1: vec![s1.0, s1.1],
                in2: vec![s2.0, s2.1],
            });
        }
    }
    Ok(())
}

/// The kernel as convolution wants it: reversed for correlation.
fn as_convolution_kernel<T: Real>(w: &[T], op: Op) -> Vec<T> {
    match op {
        Op::Convolve => w.to_vec(),
        Op::Correlate => w.iter().rev().copied().collect(),
    }
}

/// 1-D correlation or convolution into a new vector.
pub fn apply<T: Real>(
    x: &[T],
    w: &[T],
    op: Op,
    mode: Mode,
    method: Method,
) -> Result<Vec<T>, ConvError> {
    check_finite("in1", x, &[x.len()])?;
    check_finite("in2", w, &[w.len()])?;
    let (n, m) = (x.len(), w.len());
    let method = match method {
        Method::Auto => choose_method(&[n], &[m], mode),
        other => other,
    };
    let k = as_convolution_kernel(w, op);
    let (start, len) = output_window(n, m, mode);
    let mut out = vec![T::zero(); len];
    match method {
        Method::Direct => direct::convolve_1d(x, &k, start, &mut out),
        _ => T::with_fft(|f| f.convolve_window(x, &k, start, &mut out)),
    }
    Ok(out)
}

/// 1-D cross-correlation, as `scipy.signal.correlate(x, w, mode, method)`.
///
/// ```
/// use eigentechno::engine::conv::{correlate, Method, Mode};
/// let x = [1.0, 2.0, 3.0];
/// let w = [0.0, 1.0, 0.5];
/// assert_eq!(correlate(&x, &w, Mode::Full, Method::Direct).unwrap(), vec![0.5, 2.0, 3.5, 3.0, 0.0]);
/// assert_eq!(correlate(&x, &w, Mode::Same, Method::Fft).unwrap().len(), 3);
/// ```
pub fn correlate<T: Real>(
    x: &[T],
    w: &[T],
    mode: Mode,
    method: Method,
) -> Result<Vec<T>, ConvError> {
    apply(x, w, Op::Correlate, mode, method)
}

/// The `valid` cross-correlation of `x` (the longer) with `w`, written into `out`:
/// `out[k] = sum_j x[k + j] w[j]` for the `x.len() - w.len() + 1` full overlaps, direct
/// and allocation-free, for hot loops on short signals (WSOLA's frame search). Unlike
/// [`correlate`] it does not check for non-finite values; the other checks stay.
///
/// ```
/// use eigentechno::engine::conv::{correlate, correlate_valid_into, Method, Mode};
/// let (x, w) = ([1.0f32, 2.0, 3.0, 4.0], [0.5f32, 1.0]);
/// let mut out = [0.0f32; 3];
/// correlate_valid_into(&x, &w, &mut out).unwrap();
/// assert_eq!(out, [2.5, 4.0, 5.5]);
/// assert_eq!(out.to_vec(), correlate(&x, &w, Mode::Valid, Method::Direct).unwrap());
/// ```
pub fn correlate_valid_into<T: Real>(x: &[T], w: &[T], out: &mut [T]) -> Result<(), ConvError> {
    if x.is_empty() {
        return Err(ConvError::Empty { which: "in1" });
    }
    if w.is_empty() {
        return Err(ConvError::Empty { which: "in2" });
    }
    if w.len() > x.len() {
        return Err(ConvError::NoOutput {
            in1: vec![x.len()],
            in2: vec![w.len()],
        });
    }
    let len = x.len() - w.len() + 1;
    if out.len() != len {
        return Err(ConvError::Dimensions {
            expected: format!("an output of {len} values"),
            actual: format!("{} values", out.len()),
        });
    }
    direct::correlate_valid(x, w, out);
    Ok(())
}

/// 1-D convolution, as `scipy.signal.convolve(x, w, mode, method)`.
///
/// ```
/// use eigentechno::engine::conv::{convolve, Method, Mode};
/// assert_eq!(convolve(&[1.0, 2.0, 3.0], &[0.0, 1.0, 0.5], Mode::Full, Method::Direct).unwrap(),
///            vec![0.0, 1.0, 2.5, 4.0, 1.5]);
/// ```
pub fn convolve<T: Real>(
    x: &[T],
    w: &[T],
    mode: Mode,
    method: Method,
) -> Result<Vec<T>, ConvError> {
    apply(x, w, Op::Convolve, mode, method)
}

/// 2-D correlation or convolution.
pub fn apply2d<T: Real>(
    x: ArrayView2<T>,
    w: ArrayView2<T>,
    op: Op,
    mode: Mode,
    method: Method,
) -> Result<Array2<T>, ConvError> {
    let x = x.as_standard_layout();
    let w = w.as_standard_layout();
    let (s1, s2) = (x.dim(), w.dim());
    check_finite("in1", x.as_slice().expect("standard layout"), &[s1.0, s1.1])?;
    check_finite("in2", w.as_slice().expect("standard layout"), &[s2.0, s2.1])?;
    check_valid_2d(s1, s2, mode)?;
    let k: Array2<T> = match op {
        Op::Convolve => w.to_owned(),
        Op::Correlate => w.slice(ndarray::s![..;-1, ..;-1]).to_owned(),
    };
    let method = match method {
        Method::Auto => choose_method(&[s1.0, s1.1], &[s2.0, s2.1], mode),
        other => other,
    };
    let (r0, rl) = output_window(s1.0, s2.0, mode);
    let (c0, cl) = output_window(s1.1, s2.1, mode);
    let mut out = Array2::<T>::zeros((rl, cl));
    match method {
        Method::Direct => direct::convolve_2d(x.view(), k.view(), (r0, c0), out.view_mut()),
        _ => fft::convolve_2d(x.view(), k.view(), (r0, c0), out.view_mut()),
    }
    Ok(out)
}

/// 2-D cross-correlation, as `scipy.signal.correlate` on 2-D arrays.
pub fn correlate2d<T: Real>(
    x: ArrayView2<T>,
    w: ArrayView2<T>,
    mode: Mode,
    method: Method,
) -> Result<Array2<T>, ConvError> {
    apply2d(x, w, Op::Correlate, mode, method)
}

/// 2-D convolution, as `scipy.signal.convolve` on 2-D arrays.
pub fn convolve2d<T: Real>(
    x: ArrayView2<T>,
    w: ArrayView2<T>,
    mode: Mode,
    method: Method,
) -> Result<Array2<T>, ConvError> {
    apply2d(x, w, Op::Convolve, mode, method)
}

/// Normalised autocorrelation `r[k] / r[0]` for lags `0..=max_lag` (biased estimate:
/// no division by `n - k`), by FFT. Used to find periodicities (tempo).
///
/// ```
/// use eigentechno::engine::conv::autocorrelate;
/// // A pulse every 4 samples correlates with itself at lag 4.
/// let x: Vec<f64> = (0..64).map(|i| if i % 4 == 0 { 1.0 } else { 0.0 }).collect();
/// let r = autocorrelate(&x, 8).unwrap();
/// assert_eq!(r[0], 1.0);
/// assert!(r[4] > 0.9 && r[2].abs() < 1e-12);
/// ```
pub fn autocorrelate<T: Real>(x: &[T], max_lag: usize) -> Result<Vec<T>, ConvError> {
    check_finite("in1", x, &[x.len()])?;
    let n = x.len();
    let lags = max_lag.min(n - 1) + 1;
    // Full correlation of x with itself; lag k sits at index n - 1 + k.
    let mut out = vec![T::zero(); lags];
    let rev: Vec<T> = x.iter().rev().copied().collect();
    // Direct costs n * lags, FFT about n log2 n with a small constant: measured on one
    // core, FFT was already ahead from 32 lags (n = 2,000 to 40,000) and 10x ahead at 555.
    if (n as f64) * (lags as f64) < 2.0 * (n as f64) * (n as f64).log2().max(1.0) {
        direct::convolve_1d(x, &rev, n - 1, &mut out);
    } else {
        T::with_fft(|f| f.convolve_window(x, &rev, n - 1, &mut out));
    }
    let r0 = out[0];
    if r0 <= T::zero() {
        return Err(ConvError::ZeroEnergy);
    }
    for v in &mut out {
        *v = *v / r0;
    }
    out[0] = T::one();
    Ok(out)
}

/// Correlate or convolve many signals (the rows of `x`) with one kernel, in parallel.
pub fn apply_rows<T: Real>(
    x: ArrayView2<T>,
    w: &[T],
    op: Op,
    mode: Mode,
    method: Method,
) -> Result<Array2<T>, ConvError> {
    let (rows, n) = x.dim();
    if rows == 0 || n == 0 {
        return Err(ConvError::Empty { which: "in1" });
    }
    check_finite("in2", w, &[w.len()])?;
    let (_, len) = output_window(n, w.len(), mode);
    let method = match method {
        Method::Auto => choose_method(&[n], &[w.len()], mode),
        other => other,
    };
    let results: Result<Vec<Vec<T>>, ConvError> = x
        .outer_iter()
        .into_par_iter()
        .map(|row| {
            let row = row.to_vec();
            apply(&row, w, op, mode, method)
        })
        .collect();
    let flat: Vec<T> = results?.into_iter().flatten().collect();
    Ok(Array2::from_shape_vec((rows, len), flat).expect("rows of equal length"))
}

/// Correlate every row of `x` with `w` in parallel (batch form of [`correlate`]).
pub fn correlate_rows<T: Real>(
    x: ArrayView2<T>,
    w: &[T],
    mode: Mode,
    method: Method,
) -> Result<Array2<T>, ConvError> {
    apply_rows(x, w, Op::Correlate, mode, method)
}

#[cfg(test)]
mod tests;
