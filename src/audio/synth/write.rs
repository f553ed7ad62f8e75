//! Writing a synthetic track: its audio (WAV or FLAC) and its annotation.

use std::path::{Path, PathBuf};

use super::track::SynthTrack;
use crate::audio::wav::{WavFormat, write_wav_interleaved};
use crate::error::{Error, Result};
use crate::store::write_atomic;

/// Audio container for a synthetic track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthFormat {
    /// 16-bit PCM WAV.
    Wav,
    /// 16-bit FLAC.
    Flac,
}

impl SynthFormat {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            SynthFormat::Wav => "wav",
            SynthFormat::Flac => "flac",
        }
    }
}

/// Write a track (audio + `.json` annotation) as `dir/name.ext`; returns the audio path.
pub fn write_synth_track(
    dir: &Path,
    name: &str,
    format: SynthFormat,
    track: &SynthTrack,
) -> Result<PathBuf> {
    let a = &track.annotation;
    let audio_path = dir.join(format!("{name}.{}", format.extension()));
    match format {
        SynthFormat::Wav => {
            write_wav_interleaved(
                &audio_path,
                a.sample_rate,
                a.channels,
                &track.samples,
                WavFormat::Pcm16,
            )?;
        }
        SynthFormat::Flac => {
            let bytes =
                encode_flac16(&track.samples, a.channels, a.sample_rate).map_err(|reason| {
                    Error::Encode {
                        path: audio_path.clone(),
                        reason,
                    }
                })?;
            write_atomic(&audio_path, &bytes)?;
        }
    }
    let json_path = dir.join(format!("{name}.json"));
    let json = serde_json::to_vec_pretty(a).map_err(|e| Error::Encode {
        path: json_path.clone(),
        reason: e.to_string(),
    })?;
    write_atomic(&json_path, &json)?;
    Ok(audio_path)
}

/// Encode interleaved samples as 16-bit FLAC (pure Rust, flacenc).
pub fn encode_flac16(
    samples: &[f32],
    channels: u16,
    rate: u32,
) -> std::result::Result<Vec<u8>, String> {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;
    let ints: Vec<i32> = samples
        .iter()
        .map(|&s| (s.clamp(-1.0, 1.0) * 32_767.0).round() as i32)
        .collect();
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|e| format!("FLAC encoder configuration: {e:?}"))?;
    let source =
        flacenc::source::MemSource::from_samples(&ints, channels as usize, 16, rate as usize);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size)
        .map_err(|e| format!("FLAC encoding: {e}"))?;
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream
        .write(&mut sink)
        .map_err(|e| format!("FLAC encoding: {e:?}"))?;
    let mut bytes = sink.as_slice().to_vec();
    // flacenc 0.5 records the short final block as the stream's minimum block size.
    // The FLAC format excludes the last block from that field, and strict readers
    // (symphonia) reject the file; every other block has the fixed size, so set
    // min = max in STREAMINFO (bytes 8-9 min, 10-11 max, after "fLaC" and the
    // 4-byte block header).
    if bytes.len() > 12 && &bytes[..4] == b"fLaC" && bytes[4] & 0x7f == 0 {
        let (max_hi, max_lo) = (bytes[10], bytes[11]);
        bytes[8] = max_hi;
        bytes[9] = max_lo;
    }
    Ok(bytes)
}
