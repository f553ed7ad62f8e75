//! Target `wav`: the direct PCM WAV read (`src/audio/decode/pcm.rs`), reached by a
//! RIFF/WAVE header built from fuzzed fields (format tag, channels, rate, bits, block
//! align, chunk sizes, extra chunks) over a fuzzed body, or raw bytes.

use eigentechno::Warnings;
use eigentechno::audio::decode::{DecodeOptions, DecodeStream, MixDown};
use eigentechno::audio::{ResampleStream, Signal};

use super::audio::{MAX_SECONDS, RATE};
use super::{Fields, msg, temp_file};

/// Build the file from the input (see [`build`]), decode it (at most
/// [`MAX_SECONDS`]) and resample it to [`RATE`].
pub fn run(data: &[u8]) -> Result<(), String> {
    let (bytes, mix) = build(data);
    let file = temp_file("wav", &bytes);
    let opts = DecodeOptions {
        mix,
        max_seconds: Some(MAX_SECONDS),
        ..Default::default()
    };
    let mut stream = DecodeStream::open(file.path(), &opts, Warnings::new()).map_err(msg)?;
    let rate = stream.info().rate;
    let signal = Signal::from_stream(&mut stream).map_err(msg)?;
    let max = (MAX_SECONDS * rate as f64).round() as usize;
    assert!(
        signal.samples.len() <= max,
        "{} samples at {rate} Hz: more than {MAX_SECONDS} s",
        signal.samples.len()
    );
    let mut resampled = ResampleStream::new(Box::new(signal.into_stream()), RATE).map_err(msg)?;
    Signal::from_stream(&mut resampled).map_err(msg)?;
    Ok(())
}

/// The WAV file and mix-down an input stands for. The first byte picks raw bytes
/// (`% 4 == 0`: the rest is the file) or a built header, and the mix-down.
pub fn build(data: &[u8]) -> (Vec<u8>, MixDown) {
    let mut f = Fields::new(data);
    let mode = f.u8();
    let mix = [MixDown::Mean, MixDown::Left, MixDown::Right][(mode / 4 % 3) as usize];
    if mode.is_multiple_of(4) {
        return (f.rest().to_vec(), mix);
    }
    let tag = f.pick(&[1u16, 3, 0xFFFE, 6, 7], |f| f.u16());
    let channels = f.pick(&[1u16, 2, 6], |f| f.u16());
    let rate = f.pick(&[44_100u32, 48_000, 22_050, 8_820, 8_000], |f| f.u32());
    let bits = f.pick(&[16u16, 24, 32, 8], |f| f.u16());
    let natural_align = channels.wrapping_mul(bits.div_ceil(8));
    let block_align = f.pick(&[natural_align], |f| f.u16());
    let byte_rate = f.pick(&[rate.wrapping_mul(block_align as u32)], |f| f.u32());
    // The fmt body: 16 bytes, then cbSize and the WAVE_FORMAT_EXTENSIBLE fields.
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&tag.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&byte_rate.to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    fmt.extend_from_slice(&22u16.to_le_bytes());
    let valid_bits = f.pick(&[bits], |f| f.u16());
    fmt.extend_from_slice(&valid_bits.to_le_bytes());
    let mask = f.pick(&[0u32, 3, 4], |f| f.u32());
    fmt.extend_from_slice(&mask.to_le_bytes());
    let sub = f.pick(&[1u16, 3], |f| f.u16());
    fmt.extend_from_slice(&sub.to_le_bytes());
    fmt.extend_from_slice(b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71");
    let fmt_len = f.pick(&[16usize, 18, 40], |f| f.u8() as usize);
    fmt.resize(fmt_len, 0);
    let fmt_size = f.pick(&[fmt_len as u32], |f| f.u32());
    let mut chunks = Vec::new();
    chunk(&mut chunks, b"fmt ", fmt_size, &fmt);
    for _ in 0..f.u8() % 4 {
        let id: [u8; 4] = match f.u8() % 6 {
            0 => *b"LIST",
            1 => *b"fact",
            2 => *b"junk",
            3 => *b"bext",
            4 => *b"cue ",
            _ => f.u32().to_le_bytes(),
        };
        let len = f.u8() as usize;
        let payload = f.bytes(len);
        let size = f.pick(&[payload.len() as u32], |f| f.u32());
        chunk(&mut chunks, &id, size, payload);
    }
    let declared_data = f.pick(&[u32::MAX, 0], |f| f.u32());
    let riff_free = f.u8() % 4 == 3;
    let riff_size = f.u32();
    let body = f.rest();
    // `u32::MAX` above stands for the true size (the first choice is the usual one).
    let data_size = if declared_data == u32::MAX {
        body.len() as u32
    } else {
        declared_data
    };
    chunk(&mut chunks, b"data", data_size, body);
    let mut out = b"RIFF".to_vec();
    let true_riff = (4 + chunks.len()) as u32;
    out.extend_from_slice(&(if riff_free { riff_size } else { true_riff }).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(&chunks);
    (out, mix)
}

fn chunk(out: &mut Vec<u8>, id: &[u8; 4], size: u32, payload: &[u8]) {
    out.extend_from_slice(id);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        out.push(0);
    }
}
