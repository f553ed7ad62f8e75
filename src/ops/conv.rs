//! Correlation and convolution of two arrays (1-D or 2-D) with scipy.signal's
//! semantics: modes `full`, `same`, `valid`; direct sums or FFT, chosen by cost.

use std::path::Path;

use ndarray::{Ix1, Ix2};

use crate::engine::conv::{ConvError, Method, Mode, Op, apply, apply2d};
use crate::error::Result;
use crate::store::{NdArray, read_npy, write_npy};

/// Correlate or convolve two arrays of the same dimensionality (1-D or 2-D). The result
/// is float32 when both inputs are, float64 otherwise (numpy's promotion).
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// use eigentechno::engine::conv::{Method, Mode, Op};
/// let image = eigentechno::store::read_npy("fixtures/arrays/image.npy".as_ref())?;
/// let kernel = eigentechno::store::read_npy("fixtures/arrays/kernel.npy".as_ref())?;
/// let out = eigentechno::ops::apply_arrays(&image, &kernel, Op::Correlate, Mode::Valid, Method::Auto)?;
/// assert_eq!(out.shape(), &[14, 14]);
/// # Ok(()) }
/// ```
pub fn apply_arrays(
    a: &NdArray,
    b: &NdArray,
    op: Op,
    mode: Mode,
    method: Method,
) -> Result<NdArray> {
    let (da, db) = (a.shape().len(), b.shape().len());
    if da != db || !(1..=2).contains(&da) {
        return Err(ConvError::Dimensions {
            expected: "two 1-D or two 2-D arrays".into(),
            actual: format!("shapes {:?} and {:?}", a.shape(), b.shape()),
        }
        .into());
    }
    fn run<T: crate::engine::conv::Real>(
        a: &ndarray::ArrayD<T>,
        b: &ndarray::ArrayD<T>,
        op: Op,
        mode: Mode,
        method: Method,
    ) -> std::result::Result<ndarray::ArrayD<T>, ConvError> {
        if a.ndim() == 1 {
            let a = a.view().into_dimensionality::<Ix1>().expect("1-D");
            let b = b.view().into_dimensionality::<Ix1>().expect("1-D");
            let out = apply(&a.to_vec(), &b.to_vec(), op, mode, method)?;
            Ok(ndarray::Array1::from(out).into_dyn())
        } else {
            let a = a.view().into_dimensionality::<Ix2>().expect("2-D");
            let b = b.view().into_dimensionality::<Ix2>().expect("2-D");
            Ok(apply2d(a, b, op, mode, method)?.into_dyn())
        }
    }
    Ok(match (a, b) {
        (NdArray::F32(a), NdArray::F32(b)) => NdArray::F32(run(a, b, op, mode, method)?),
        _ => NdArray::F64(run(&a.to_f64(), &b.to_f64(), op, mode, method)?),
    })
}

/// `a` correlated with `b` ([`apply_arrays`] with [`Op::Correlate`]), as
/// `scipy.signal.correlate(a, b, mode, method)`.
///
/// ```
/// use eigentechno::engine::conv::{Method, Mode};
/// use eigentechno::store::NdArray;
/// let a = NdArray::F64(ndarray::arr1(&[1.0, 2.0, 3.0]).into_dyn());
/// let b = NdArray::F64(ndarray::arr1(&[0.0, 1.0, 0.5]).into_dyn());
/// let c = eigentechno::ops::correlate(&a, &b, Mode::Full, Method::Auto).unwrap();
/// let NdArray::F64(c) = c else { unreachable!() };
/// assert_eq!(c.as_slice().unwrap(), &[0.5, 2.0, 3.5, 3.0, 0.0]);
/// ```
pub fn correlate(a: &NdArray, b: &NdArray, mode: Mode, method: Method) -> Result<NdArray> {
    apply_arrays(a, b, Op::Correlate, mode, method)
}

/// `a` convolved with `b`, as `scipy.signal.convolve(a, b, mode, method)`.
///
/// ```
/// use eigentechno::engine::conv::{Method, Mode};
/// use eigentechno::store::NdArray;
/// let a = NdArray::F32(ndarray::arr1(&[1.0f32, 2.0, 3.0]).into_dyn());
/// let b = NdArray::F32(ndarray::arr1(&[0.0f32, 1.0, 0.5]).into_dyn());
/// let c = eigentechno::ops::convolve(&a, &b, Mode::Same, Method::Direct).unwrap();
/// assert_eq!(c.dtype(), "float32");
/// assert_eq!(c.shape(), &[3]);
/// ```
pub fn convolve(a: &NdArray, b: &NdArray, mode: Mode, method: Method) -> Result<NdArray> {
    apply_arrays(a, b, Op::Convolve, mode, method)
}

/// Read `a` and `b` (`.npy`), apply `op`, and write the result to `out` (`.npy`).
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// use eigentechno::engine::conv::{Method, Mode, Op};
/// let dir = tempfile::tempdir().unwrap();
/// let out = dir.path().join("c.npy");
/// let c = eigentechno::ops::apply_files("fixtures/arrays/image.npy".as_ref(),
///     "fixtures/arrays/kernel.npy".as_ref(), &out, Op::Convolve, Mode::Same, Method::Fft)?;
/// assert_eq!(c.shape(), &[16, 16]);
/// assert!(out.exists());
/// # Ok(()) }
/// ```
pub fn apply_files(
    a: &Path,
    b: &Path,
    out: &Path,
    op: Op,
    mode: Mode,
    method: Method,
) -> Result<NdArray> {
    let result = apply_arrays(&read_npy(a)?, &read_npy(b)?, op, mode, method)?;
    write_npy(out, &result)?;
    Ok(result)
}
