//! Plain PCM WAV read straight from its data chunk, in large blocks.

use std::io::Read;

use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::{
    CODEC_ID_PCM_F32LE, CODEC_ID_PCM_S16LE, CODEC_ID_PCM_S24LE,
};
use symphonia::core::io::MediaSourceStream;

/// Sample encodings read directly (all little-endian, full-width containers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PcmEncoding {
    S16,
    S24,
    F32,
}

impl PcmEncoding {
    /// The encodings symphonia reads without a shift: container width = valid bits.
    pub(super) fn of(params: &AudioCodecParameters) -> Option<Self> {
        let bits = params.bits_per_sample;
        match params.codec {
            CODEC_ID_PCM_S16LE if bits == Some(16) => Some(PcmEncoding::S16),
            CODEC_ID_PCM_S24LE if bits == Some(24) => Some(PcmEncoding::S24),
            CODEC_ID_PCM_F32LE if bits.is_none_or(|b| b == 32) => Some(PcmEncoding::F32),
            _ => None,
        }
    }

    fn bytes(self) -> usize {
        match self {
            PcmEncoding::S16 => 2,
            PcmEncoding::S24 => 3,
            PcmEncoding::F32 => 4,
        }
    }

    /// Convert whole samples to f32 exactly as symphonia does (x / 2^(bits-1)).
    fn convert(self, bytes: &[u8], out: &mut Vec<f32>) {
        out.clear();
        match self {
            PcmEncoding::S16 => out.extend(
                bytes
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32_768.0),
            ),
            PcmEncoding::S24 => out.extend(
                bytes
                    .chunks_exact(3)
                    .map(|b| (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0),
            ),
            PcmEncoding::F32 => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            ),
        }
    }
}

/// Frames read per block from a PCM data chunk.
const PCM_BLOCK_FRAMES: usize = 16_384;

/// A WAV data chunk being read.
pub(super) struct PcmData {
    pub(super) stream: MediaSourceStream<'static>,
    pub(super) encoding: PcmEncoding,
    pub(super) channels: usize,
    /// Frames the data chunk holds and that are still to read (`None`: to the end).
    pub(super) frames_left: Option<u64>,
    pub(super) bytes: Vec<u8>,
}

impl PcmData {
    /// Read the next block's bytes (at most `limit` frames); returns the frames read
    /// (0 at the end), whose bytes are `self.bytes[..frames * frame_bytes]`.
    fn fill(&mut self, limit: Option<u64>) -> std::io::Result<usize> {
        let frame_bytes = self.encoding.bytes() * self.channels;
        let mut frames = PCM_BLOCK_FRAMES;
        for l in [self.frames_left, limit].into_iter().flatten() {
            frames = frames.min(l as usize);
        }
        self.bytes.resize(frames * frame_bytes, 0);
        let mut filled = 0;
        while filled < self.bytes.len() {
            match self.stream.read(&mut self.bytes[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // A file cut short ends on a whole frame.
        let frames = filled / frame_bytes;
        if let Some(left) = self.frames_left.as_mut() {
            *left -= frames as u64;
        }
        Ok(frames)
    }

    /// Read the next block into `interleaved`; returns the frames read (0 at the end).
    pub(super) fn read(&mut self, interleaved: &mut Vec<f32>) -> std::io::Result<usize> {
        let frames = self.fill(None)?;
        let frame_bytes = self.encoding.bytes() * self.channels;
        self.encoding
            .convert(&self.bytes[..frames * frame_bytes], interleaved);
        Ok(frames)
    }

    /// Whether [`PcmData::read_mean`] applies: 16-bit mono or stereo, nearly every WAV.
    pub(super) fn has_mean_path(&self) -> bool {
        self.encoding == PcmEncoding::S16 && (1..=2).contains(&self.channels)
    }

    /// Append the next block (at most `limit` frames) to `out` as the mean of the
    /// channels, in one pass from the bytes. Bit-identical to converting each channel
    /// and averaging: `l / 32768` and `(l' + r') / 2` are exact in f32, so is
    /// `(l + r) / 65536`.
    pub(super) fn read_mean(
        &mut self,
        out: &mut Vec<f32>,
        limit: Option<u64>,
    ) -> std::io::Result<usize> {
        let frames = self.fill(limit)?;
        let start = out.len();
        out.resize(start + frames, 0.0);
        let dst = &mut out[start..];
        if self.channels == 1 {
            for (o, b) in dst.iter_mut().zip(self.bytes.chunks_exact(2)) {
                *o = i16::from_le_bytes([b[0], b[1]]) as f32 * (1.0 / 32_768.0);
            }
        } else {
            for (o, b) in dst.iter_mut().zip(self.bytes.chunks_exact(4)) {
                let l = i16::from_le_bytes([b[0], b[1]]) as f32;
                let r = i16::from_le_bytes([b[2], b[3]]) as f32;
                *o = (l + r) * (1.0 / 65_536.0);
            }
        }
        Ok(frames)
    }
}
