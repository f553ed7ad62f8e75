//! Mono signals, whole or streamed in chunks.

use crate::error::Result;

/// A mono signal held in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Signal {
    /// Samples per second.
    pub rate: u32,
    /// The samples, nominally in [-1, 1].
    pub samples: Vec<f32>,
}

impl Signal {
    /// A signal from its rate and samples.
    pub fn new(rate: u32, samples: Vec<f32>) -> Self {
        Signal { rate, samples }
    }

    /// Length in seconds.
    pub fn duration(&self) -> f64 {
        self.samples.len() as f64 / self.rate as f64
    }

    /// Read a whole stream into memory.
    pub fn from_stream(stream: &mut dyn SampleStream) -> Result<Self> {
        let rate = stream.sample_rate();
        let mut samples = Vec::new();
        let mut chunk = Vec::new();
        while stream.read_chunk(&mut chunk)? {
            samples.extend_from_slice(&chunk);
        }
        Ok(Signal { rate, samples })
    }

    /// A stream over this signal, for stages that consume streams.
    pub fn into_stream(self) -> SignalStream {
        SignalStream {
            signal: self,
            pos: 0,
        }
    }
}

/// A mono signal read chunk by chunk, so a long file never has to be held in memory
/// at its full rate. Implementations: the decoder, the resampler, [`SignalStream`].
pub trait SampleStream: Send {
    /// Samples per second of what `read_chunk` yields.
    fn sample_rate(&self) -> u32;

    /// Replace the contents of `out` with the next chunk of samples.
    /// Returns `Ok(false)` (and leaves `out` empty) once the stream is exhausted.
    fn read_chunk(&mut self, out: &mut Vec<f32>) -> Result<bool>;
}

/// Chunk size used when streaming an in-memory signal.
const SIGNAL_CHUNK: usize = 16_384;

/// A [`SampleStream`] over an in-memory [`Signal`].
pub struct SignalStream {
    signal: Signal,
    pos: usize,
}

impl SampleStream for SignalStream {
    fn sample_rate(&self) -> u32 {
        self.signal.rate
    }

    fn read_chunk(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        out.clear();
        let end = (self.pos + SIGNAL_CHUNK).min(self.signal.samples.len());
        out.extend_from_slice(&self.signal.samples[self.pos..end]);
        self.pos = end;
        Ok(!out.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_round_trip() {
        let samples: Vec<f32> = (0..40_000).map(|i| (i as f32 * 0.01).sin()).collect();
        let sig = Signal::new(8820, samples.clone());
        let mut stream = sig.into_stream();
        let back = Signal::from_stream(&mut stream).unwrap();
        assert_eq!(back.rate, 8820);
        assert_eq!(back.samples, samples);
    }
}
