//! Target `audio`: arbitrary bytes as an audio file, through the whole audio path:
//! sniffing, decoding (symphonia, or the direct PCM WAV read), resampling to 8,820 Hz
//! and tempo analysis of whatever decodes.

use eigentechno::Warnings;
use eigentechno::audio::decode::{DecodeOptions, DecodeStream, MixDown};
use eigentechno::audio::{ResampleStream, Signal, sniff};
use eigentechno::ops::{TempoOptions, tempo_of_samples};

use super::{msg, temp_file};

/// The analysis rate of the pipeline.
pub const RATE: u32 = 8_820;
/// Decoded length is capped so one input stays fast.
pub const MAX_SECONDS: f64 = 30.0;

/// The bytes as a file named after what they sniff as (the extension is only the
/// decoder's hint), decoded with a mix-down chosen from the length.
pub fn run(data: &[u8]) -> Result<(), String> {
    let kind = sniff::sniff_bytes(data).unwrap_or("bin");
    let file = temp_file(kind, data);
    let mix = [MixDown::Mean, MixDown::Left, MixDown::Right][data.len() % 3];
    decode_resample_tempo(file.path(), mix).map(|_| ())
}

/// Decode `path` (at most [`MAX_SECONDS`]), resample to [`RATE`] and find its tempo;
/// returns the samples at [`RATE`].
pub fn decode_resample_tempo(path: &std::path::Path, mix: MixDown) -> Result<Vec<f32>, String> {
    let _ = sniff::sniff_file(path);
    let opts = DecodeOptions {
        mix,
        max_seconds: Some(MAX_SECONDS),
        ..Default::default()
    };
    let stream = DecodeStream::open(path, &opts, Warnings::new()).map_err(msg)?;
    let rate = stream.info().rate;
    let mut resampled = ResampleStream::new(Box::new(stream), RATE).map_err(msg)?;
    let signal = Signal::from_stream(&mut resampled).map_err(msg)?;
    let max = (MAX_SECONDS * RATE as f64).ceil() as usize + 1;
    assert!(
        signal.samples.len() <= max,
        "{} samples at {RATE} Hz from a file at {rate} Hz, more than {MAX_SECONDS} s",
        signal.samples.len()
    );
    match tempo_of_samples(signal.samples.clone(), RATE, &TempoOptions::default()) {
        Ok(_) | Err(eigentechno::Error::NoRhythm(_)) => Ok(signal.samples),
        Err(e) => Err(msg(e)),
    }
}
