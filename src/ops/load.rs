//! Decoding a file into memory: what `librosa.load` does, for the Python package and
//! anyone who wants the samples rather than the analysis.

use std::path::Path;

use crate::audio::{DecodeOptions, DecodeStream, MixDown, ResampleStream, Signal, SourceInfo};
use crate::error::{Result, Warnings};

/// Decode the audio file at `path` to one channel (`mix`: the mean of the channels, or
/// one of them), resampled to `rate` Hz (`None`: the file's own rate), with what the
/// container says about it. Resampling is the ingest's own (anti-aliased).
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// use eigentechno::audio::MixDown;
/// let (signal, info) = eigentechno::ops::load_audio(
///     "fixtures/corpus/wav-0000.wav".as_ref(), Some(8_820), MixDown::Mean)?;
/// assert_eq!(signal.rate, 8_820);
/// let seconds = info.frames.unwrap() as f64 / info.rate as f64;
/// assert!((signal.duration() - seconds).abs() < 1e-3);
/// # Ok(()) }
/// ```
pub fn load_audio(path: &Path, rate: Option<u32>, mix: MixDown) -> Result<(Signal, SourceInfo)> {
    let opts = DecodeOptions {
        mix,
        ..DecodeOptions::default()
    };
    let stream = DecodeStream::open(path, &opts, Warnings::new())?;
    let info = stream.info().clone();
    if let Some(rate) = rate {
        super::check_range("sr", rate as f64, 1_000.0, 768_000.0)?;
    }
    let signal = match rate {
        Some(rate) if rate != info.rate => {
            let mut s = ResampleStream::new(Box::new(stream), rate)?;
            Signal::from_stream(&mut s)?
        }
        _ => {
            let mut s = stream;
            Signal::from_stream(&mut s)?
        }
    };
    Ok((signal, info))
}
