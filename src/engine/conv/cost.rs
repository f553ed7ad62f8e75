//! Choosing between direct and FFT evaluation by counting operations, as scipy's
//! `choose_conv_method` does, with constants measured for this engine on the
//! project's machine (2-vCPU AMD EPYC, AVX2; `eigentechno bench conv` re-measures).

use super::{Method, Mode, fft, output_window};

/// Seconds per unit of work for each method.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostModel {
    /// Per multiply-add of the 1-D direct method.
    pub direct_1d: f64,
    /// Per multiply-add of the 2-D direct method.
    pub direct_2d: f64,
    /// Per `p log2 p` unit of 1-D real-FFT work.
    pub fft_1d: f64,
    /// Per `p log2 p` unit of 2-D FFT work.
    pub fft_2d: f64,
    /// Fixed overhead of the FFT path (planning lookups, buffers), in seconds.
    pub fft_overhead: f64,
}

impl Default for CostModel {
    fn default() -> Self {
        MEASURED
    }
}

/// Measured with `eigentechno bench conv --calibrate` (see the README).
const MEASURED: CostModel = CostModel {
    direct_1d: 0.37e-9,
    direct_2d: 0.21e-9,
    fft_1d: 0.39e-9,
    fft_2d: 0.17e-9,
    fft_overhead: 10e-6,
};

impl CostModel {
    /// Estimated seconds for `(direct, fft)` on inputs of these shapes (1-D or 2-D).
    pub fn estimate(&self, s1: &[usize], s2: &[usize], mode: Mode) -> (f64, f64) {
        match (s1, s2) {
            ([n], [m]) => {
                let (start, len) = output_window(*n, *m, mode);
                let direct = (len * m) as f64 * self.direct_1d;
                let fft = fft::work_1d(*n, *m, start, len) * self.fft_1d + self.fft_overhead;
                (direct, fft)
            }
            ([h, w], [kh, kw]) => {
                let (r0, rl) = output_window(*h, *kh, mode);
                let (c0, cl) = output_window(*w, *kw, mode);
                let direct = (rl * cl * kh * kw) as f64 * self.direct_2d;
                let fft = fft::work_2d((*h, *w), (*kh, *kw), (r0, c0), (rl, cl)) * self.fft_2d
                    + self.fft_overhead;
                (direct, fft)
            }
            _ => (0.0, f64::INFINITY),
        }
    }

    /// The faster method by this model.
    pub fn choose(&self, s1: &[usize], s2: &[usize], mode: Mode) -> Method {
        let (direct, fft) = self.estimate(s1, s2, mode);
        if fft < direct {
            Method::Fft
        } else {
            Method::Direct
        }
    }
}

/// The faster method for these shapes, by the measured [`CostModel`].
///
/// ```
/// use eigentechno::engine::conv::{choose_method, Method, Mode};
/// assert_eq!(choose_method(&[1000], &[3], Mode::Full), Method::Direct);
/// assert_eq!(choose_method(&[1 << 20], &[1 << 20], Mode::Full), Method::Fft);
/// ```
pub fn choose_method(s1: &[usize], s2: &[usize], mode: Mode) -> Method {
    CostModel::default().choose(s1, s2, mode)
}
