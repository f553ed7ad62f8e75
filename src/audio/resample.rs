//! Anti-aliased sample-rate conversion of a stream.
//!
//! Isik decimated 44.1 kHz to 8,820 Hz by keeping every 5th sample, which folds
//! everything above 4.41 kHz back into the band; here a proper low-pass comes first.
//! Whole-number ratios (44.1 kHz or 88.2 kHz to 8,820 Hz) go through the engine's
//! [`crate::engine::decimate::Decimator`], an exact FIR decimator that does
//! about half the work of a general resampler; every other ratio goes through rubato's
//! synchronous FFT resampler.
//! The output has exactly `ceil(n_in * rate_out / rate_in)` samples and no start-up
//! delay, so durations and timings survive the conversion.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler, WindowFunction};

use super::signal::{SampleStream, Signal};
use crate::engine::decimate::{Decimator, DecimatorStream};
use crate::error::{Error, Result};

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// A [`SampleStream`] at a new rate. Equal rates pass through untouched.
pub struct ResampleStream {
    to: u32,
    conversion: Conversion,
}

/// How a [`ResampleStream`] converts, chosen from the two rates.
enum Conversion {
    /// Equal rates.
    Pass(Box<dyn SampleStream>),
    /// A whole-number ratio: the engine's exact FIR decimator.
    Decimate(Decimating),
    /// Any other ratio: rubato.
    Rubato(Box<RubatoStream>),
}

/// Resample an in-memory signal.
///
/// ```
/// use eigentechno::audio::{resample, Signal};
/// let tone: Vec<f32> = (0..44_100).map(|i| (i as f32 * 0.01).sin()).collect();
/// let out = resample(Signal::new(44_100, tone), 8_820).unwrap();
/// assert_eq!(out.rate, 8_820);
/// assert_eq!(out.samples.len(), 8_820);
/// ```
pub fn resample(signal: Signal, to: u32) -> Result<Signal> {
    let mut s = ResampleStream::new(Box::new(signal.into_stream()), to)?;
    Signal::from_stream(&mut s)
}

fn resample_error(from: u32, to: u32, reason: impl std::fmt::Display) -> Error {
    Error::Resample {
        from_rate: from,
        to_rate: to,
        reason: reason.to_string(),
    }
}

impl ResampleStream {
    /// Wrap `inner`, converting to `to` Hz.
    pub fn new(inner: Box<dyn SampleStream>, to: u32) -> Result<Self> {
        let from = inner.sample_rate();
        if to == 0 || from == 0 {
            return Err(Error::InvalidArgument {
                name: "sample rate",
                expected: "a positive rate".into(),
                actual: format!("{from} Hz -> {to} Hz"),
            });
        }
        let conversion = if from == to {
            Conversion::Pass(inner)
        } else if from.is_multiple_of(to) {
            Conversion::Decimate(Decimating::new(inner, (from / to) as usize))
        } else {
            Conversion::Rubato(Box::new(RubatoStream::new(inner, from, to)?))
        };
        Ok(ResampleStream { to, conversion })
    }
}

impl SampleStream for ResampleStream {
    fn sample_rate(&self) -> u32 {
        self.to
    }

    fn read_chunk(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        match &mut self.conversion {
            Conversion::Pass(inner) => inner.read_chunk(out),
            Conversion::Decimate(d) => d.read_chunk(out),
            Conversion::Rubato(r) => r.read_chunk(out),
        }
    }
}

/// A stream decimated by a whole number.
struct Decimating {
    inner: Box<dyn SampleStream>,
    stream: DecimatorStream,
    chunk: Vec<f32>,
    done: bool,
}

impl Decimating {
    fn new(inner: Box<dyn SampleStream>, factor: usize) -> Self {
        // Planning costs more than a short track: one plan per factor and thread.
        thread_local! {
            static PLANS: std::cell::RefCell<Vec<Decimator>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        let plan = PLANS.with(|p| {
            let mut plans = p.borrow_mut();
            if let Some(d) = plans.iter().find(|d| d.factor() == factor) {
                return d.clone();
            }
            let d = Decimator::new(factor);
            plans.push(d.clone());
            d
        });
        Decimating {
            inner,
            stream: DecimatorStream::new(plan),
            chunk: Vec::new(),
            done: false,
        }
    }

    fn read_chunk(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        out.clear();
        while out.is_empty() && !self.done {
            if self.inner.read_chunk(&mut self.chunk)? {
                self.stream.push(&self.chunk, out);
            } else {
                self.stream.finish(out);
                self.done = true;
            }
        }
        Ok(!out.is_empty())
    }
}

/// A stream through rubato's synchronous FFT resampler.
struct RubatoStream {
    inner: Box<dyn SampleStream>,
    from: u32,
    to: u32,
    engine: Fft<f32>,
    pending: Vec<f32>,
    pending_pos: usize,
    out_buf: Vec<f32>,
    delay_left: usize,
    consumed: u64,
    produced: u64,
    inner_done: bool,
    flushed: bool,
    scratch: Vec<f32>,
}

impl RubatoStream {
    fn new(inner: Box<dyn SampleStream>, from: u32, to: u32) -> Result<Self> {
        // FFT sizes are multiples of from/gcd and to/gcd; pick the multiple as a power
        // of two so the transforms avoid large prime factors.
        let g = gcd(from as usize, to as usize);
        let min_in = from as usize / g;
        let sub = (256 / min_in).max(1).next_power_of_two() * min_in;
        let engine = Fft::<f32>::new_custom(
            from as usize,
            to as usize,
            8 * sub,
            8,
            1,
            WindowFunction::BlackmanHarris2,
            FixedSync::Input,
        )
        .map_err(|e| resample_error(from, to, e))?;
        Ok(RubatoStream {
            inner,
            from,
            to,
            pending: Vec::new(),
            pending_pos: 0,
            out_buf: vec![0.0; engine.output_frames_max()],
            delay_left: engine.output_delay(),
            engine,
            consumed: 0,
            produced: 0,
            inner_done: false,
            flushed: false,
            scratch: Vec::new(),
        })
    }

    /// Exact number of output samples for `n` input samples.
    fn expected_len(&self, n: u64) -> u64 {
        (n * self.to as u64).div_ceil(self.from as u64)
    }

    /// Run one resampler call on `partial` valid frames (`None`: a full chunk), append
    /// the output (minus any remaining start-up delay) to `out`.
    fn run_chunk(&mut self, partial: Option<usize>, out: &mut Vec<f32>) -> Result<()> {
        let (from, to) = (self.from, self.to);
        let need = self.engine.input_frames_next();
        let avail = self.pending.len() - self.pending_pos;
        let take = partial.unwrap_or(need).min(avail);
        // rubato reads `need` frames; pad a short final chunk with zeros.
        self.scratch.clear();
        self.scratch
            .extend_from_slice(&self.pending[self.pending_pos..self.pending_pos + take]);
        self.scratch.resize(need, 0.0);
        let input = InterleavedSlice::new(&self.scratch, 1, need)
            .map_err(|e| resample_error(from, to, e))?;
        let out_cap = self.out_buf.len();
        let mut output = InterleavedSlice::new_mut(&mut self.out_buf, 1, out_cap)
            .map_err(|e| resample_error(from, to, e))?;
        let indexing = partial.map(|p| Indexing::new().partial_len(p));
        let (_, n_out) = self
            .engine
            .process_into_buffer(&input, &mut output, indexing.as_ref())
            .map_err(|e| resample_error(from, to, e))?;
        self.pending_pos += take;
        let skip = self.delay_left.min(n_out);
        self.delay_left -= skip;
        out.extend_from_slice(&self.out_buf[skip..n_out]);
        self.produced += (n_out - skip) as u64;
        Ok(())
    }

    fn read_chunk(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        out.clear();
        let mut chunk = Vec::new();
        while out.is_empty() {
            if self.flushed {
                return Ok(false);
            }
            let need = self.engine.input_frames_next();
            while !self.inner_done && self.pending.len() - self.pending_pos < need {
                if self.pending_pos > 0 {
                    self.pending.drain(..self.pending_pos);
                    self.pending_pos = 0;
                }
                if self.inner.read_chunk(&mut chunk)? {
                    self.consumed += chunk.len() as u64;
                    self.pending.extend_from_slice(&chunk);
                } else {
                    self.inner_done = true;
                }
            }
            if self.pending.len() - self.pending_pos >= need {
                self.run_chunk(None, out)?;
                continue;
            }
            // End of input: the last partial chunk, then zeros until the tail is out.
            let expected = self.expected_len(self.consumed);
            let left = self.pending.len() - self.pending_pos;
            if left > 0 {
                self.run_chunk(Some(left), out)?;
            }
            let mut guard = 0;
            while self.produced < expected {
                self.run_chunk(Some(0), out)?;
                guard += 1;
                if guard > 64 {
                    return Err(resample_error(
                        self.from,
                        self.to,
                        "the resampler stopped producing output",
                    ));
                }
            }
            let excess = (self.produced - expected) as usize;
            out.truncate(out.len() - excess.min(out.len()));
            self.produced = expected;
            self.flushed = true;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, freq: f64, n: usize) -> Signal {
        Signal::new(
            rate,
            (0..n)
                .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / rate as f64).sin() as f32)
                .collect(),
        )
    }

    #[test]
    fn exact_lengths_for_common_rates() {
        for (from, n) in [
            (44_100u32, 100_003usize),
            (48_000, 7),
            (22_050, 50_000),
            (96_000, 96_001),
            (8_000, 12_345),
        ] {
            let out = resample(tone(from, 440.0, n), 8_820).unwrap();
            let expected = (n as u64 * 8_820).div_ceil(from as u64) as usize;
            assert_eq!(out.samples.len(), expected, "from {from} Hz, {n} samples");
        }
    }

    #[test]
    fn keeps_timing_and_amplitude_of_a_passband_tone() {
        // A 440 Hz tone stays a 440 Hz tone, in phase, at the same amplitude.
        let from = tone(44_100, 440.0, 44_100);
        let out = resample(from, 8_820).unwrap();
        let reference = tone(8_820, 440.0, 8_820);
        // Skip the edges, where the filter sees the zero padding.
        let err = out.samples[500..8_300]
            .iter()
            .zip(&reference.samples[500..8_300])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 2e-3, "max deviation {err}");
    }

    #[test]
    fn removes_content_above_the_new_nyquist() {
        // 6 kHz is above 4.41 kHz: decimating by 5 without a filter would alias it to 2.82 kHz.
        let out = resample(tone(44_100, 6_000.0, 44_100), 8_820).unwrap();
        let rms = (out.samples[500..8_300].iter().map(|x| x * x).sum::<f32>() / 7_800.0).sqrt();
        assert!(rms < 1e-3, "alias rms {rms}");
    }

    #[test]
    fn equal_rates_pass_through() {
        let s = tone(8_820, 100.0, 1_000);
        assert_eq!(resample(s.clone(), 8_820).unwrap(), s);
    }
}
