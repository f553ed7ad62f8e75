//! Audio: decoding, resampling, WAV output and the synthetic corpus.
//! (Tempo, beats, bars and stretching join this module with the ingest stages.)

pub mod bars;
pub mod decode;
pub mod equalize;
pub mod evaluate;
pub mod listen;
pub mod open;
pub mod prefetch;
pub mod resample;
pub mod rhythm;
pub mod signal;
pub mod sniff;
pub mod stretch;
pub mod synth;
pub mod wav;

pub use decode::{DecodeOptions, DecodeStream, MixDown, SourceInfo, decode_file};
pub use resample::{ResampleStream, resample};
pub use signal::{SampleStream, Signal, SignalStream};
pub use wav::{WavFormat, WavWritten, write_wav_interleaved, write_wav_stream};

/// Six decimals (microseconds, micro-bpm): the precision of annotations and reports.
pub(crate) fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
