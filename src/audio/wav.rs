//! WAV output (hound), written atomically.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::signal::SampleStream;
use crate::error::{Error, Result};
use crate::store::AtomicFile;

/// Sample encoding of a written WAV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WavFormat {
    /// 16-bit integer PCM; values outside [-1, 1] are clipped (and counted).
    Pcm16,
    /// 32-bit IEEE float, lossless for the pipeline's f32 samples.
    Float32,
}

/// What was written.
#[derive(Clone, Debug, PartialEq)]
pub struct WavWritten {
    /// The file.
    pub path: PathBuf,
    /// Frames written.
    pub frames: u64,
    /// Samples clipped to [-1, 1] (PCM only).
    pub clipped: u64,
}

/// Scale for f32 -> i16: 32767 keeps +1.0 representable and the mapping symmetric.
const I16_SCALE: f32 = 32_767.0;

fn wav_err(path: &Path, e: hound::Error) -> Error {
    Error::Encode {
        path: path.to_path_buf(),
        reason: format!("writing WAV: {e}"),
    }
}

/// Write interleaved samples with `channels` channels at `rate` Hz.
pub fn write_wav_interleaved(
    path: &Path,
    rate: u32,
    channels: u16,
    samples: &[f32],
    format: WavFormat,
) -> Result<WavWritten> {
    let mut writer = WavSink::create(path, rate, channels, format)?;
    writer.write(samples)?;
    writer.finish()
}

/// Write a mono stream to `path`, chunk by chunk.
pub fn write_wav_stream(
    path: &Path,
    stream: &mut dyn SampleStream,
    format: WavFormat,
) -> Result<WavWritten> {
    let mut writer = WavSink::create(path, stream.sample_rate(), 1, format)?;
    let mut chunk = Vec::new();
    while stream.read_chunk(&mut chunk)? {
        writer.write(&chunk)?;
    }
    writer.finish()
}

/// An open WAV being written; it appears under its name on [`WavSink::finish`].
pub struct WavSink {
    writer: hound::WavWriter<BufWriter<std::fs::File>>,
    file: AtomicFile,
    format: WavFormat,
    channels: u16,
    samples: u64,
    clipped: u64,
}

impl WavSink {
    /// Start a WAV file.
    pub fn create(path: &Path, rate: u32, channels: u16, format: WavFormat) -> Result<Self> {
        let mut file = AtomicFile::create(path)?;
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: match format {
                WavFormat::Pcm16 => 16,
                WavFormat::Float32 => 32,
            },
            sample_format: match format {
                WavFormat::Pcm16 => hound::SampleFormat::Int,
                WavFormat::Float32 => hound::SampleFormat::Float,
            },
        };
        let handle = file.file().try_clone().map_err(|e| Error::io(path, e))?;
        let writer =
            hound::WavWriter::new(BufWriter::new(handle), spec).map_err(|e| wav_err(path, e))?;
        Ok(WavSink {
            writer,
            file,
            format,
            channels,
            samples: 0,
            clipped: 0,
        })
    }

    /// Append interleaved samples.
    pub fn write(&mut self, samples: &[f32]) -> Result<()> {
        let path = self.file.dest().to_path_buf();
        match self.format {
            WavFormat::Float32 => {
                for &s in samples {
                    self.writer.write_sample(s).map_err(|e| wav_err(&path, e))?;
                }
            }
            WavFormat::Pcm16 => {
                let mut w = self.writer.get_i16_writer(samples.len() as u32);
                for &s in samples {
                    if !(-1.0..=1.0).contains(&s) {
                        self.clipped += 1;
                    }
                    let v = (s.clamp(-1.0, 1.0) * I16_SCALE).round() as i16;
                    w.write_sample(v);
                }
                w.flush().map_err(|e| wav_err(&path, e))?;
            }
        }
        self.samples += samples.len() as u64;
        Ok(())
    }

    /// Finish the header and move the file into place.
    pub fn finish(self) -> Result<WavWritten> {
        let path = self.file.dest().to_path_buf();
        self.writer.finalize().map_err(|e| wav_err(&path, e))?;
        let path = self.file.commit()?;
        Ok(WavWritten {
            path,
            frames: self.samples / self.channels.max(1) as u64,
            clipped: self.clipped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Signal;

    #[test]
    fn pcm16_round_trip_and_clipping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let samples = vec![0.0f32, 0.5, -0.5, 1.5, -2.0, 1.0];
        let mut stream = Signal::new(8_820, samples).into_stream();
        let w = write_wav_stream(&path, &mut stream, WavFormat::Pcm16).unwrap();
        assert_eq!(w.frames, 6);
        assert_eq!(w.clipped, 2);
        let mut r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.spec().sample_rate, 8_820);
        let back: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
        assert_eq!(back, vec![0, 16_384, -16_384, 32_767, -32_767, 32_767]);
    }

    #[test]
    fn float32_is_lossless() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.wav");
        let samples = vec![0.123_456_79f32, -0.75, 1.25];
        write_wav_interleaved(&path, 44_100, 1, &samples, WavFormat::Float32).unwrap();
        let mut r = hound::WavReader::open(&path).unwrap();
        let back: Vec<f32> = r.samples::<f32>().map(|s| s.unwrap()).collect();
        assert_eq!(back, samples);
    }
}
