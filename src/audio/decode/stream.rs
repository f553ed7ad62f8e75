//! The streaming decoder: symphonia's probe, then packets through its codec, or the
//! direct PCM read.

use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::pcm::{PcmData, PcmEncoding};
use super::{DecodeOptions, MixDown, SourceInfo, problem, read_head};
use crate::audio::signal::SampleStream;
use crate::audio::sniff;
use crate::error::{DecodeProblem, Result, Warnings};

/// Damaged packets tolerated in a row before the file is declared corrupt.
const MAX_CONSECUTIVE_BAD_PACKETS: usize = 64;

/// Where the interleaved samples come from.
pub(super) enum Source {
    /// symphonia's format reader and codec, packet by packet.
    Packets {
        reader: Box<dyn FormatReader>,
        decoder: Box<dyn AudioDecoder>,
        track_id: u32,
    },
    /// The data chunk of a plain PCM WAV, read directly.
    Pcm(PcmData),
}

/// A streaming decoder: open it with [`DecodeStream::open`], read it as a [`SampleStream`].
pub struct DecodeStream {
    path: PathBuf,
    pub(super) source: Source,
    info: SourceInfo,
    mix: MixDown,
    frames_left: Option<u64>,
    frames_out: u64,
    bad_packets: usize,
    bad_in_a_row: usize,
    interleaved: Vec<f32>,
    warnings: Warnings,
    finished: bool,
    /// The file's size and time when opened: a file that changes under the decoder is
    /// reported, not read half old and half new.
    opened_as: (u64, Option<std::time::SystemTime>),
    /// Frames past which decoding stops with an error ([`MAX_DURATION_SECONDS`]).
    max_frames: u64,
    /// Samples that were NaN, infinite or past [`MAX_SAMPLE`] (set to 0 or clamped).
    wild_samples: u64,
}

/// Sample rates a file may declare (Hz): a header claiming more (a crafted file can say
/// 4,294,967,295 Hz) would make the resampler allocate without bound.
pub const MIN_RATE: u32 = 1_000;
/// See [`MIN_RATE`].
pub const MAX_RATE: u32 = 768_000;
/// Channels a file may declare.
pub const MAX_CHANNELS: usize = 64;
/// Bits per sample a file may declare.
pub const MAX_BITS: u32 = 64;
/// Longest audio decoded from one file (4 hours): what one track may cost in memory
/// downstream is proportional to it (about 0.5 GB per hour at the working rate), and a
/// small compressed file can claim, and decode to, days of silence.
pub const MAX_DURATION_SECONDS: f64 = 4.0 * 3600.0;

impl DecodeStream {
    /// Open and probe a file. Format-level problems (empty, not audio, unsupported codec)
    /// are reported here; damage inside the stream is reported while reading.
    pub fn open(path: &Path, options: &DecodeOptions, warnings: Warnings) -> Result<Self> {
        Self::open_with(path, options, warnings, true)
    }

    /// As [`DecodeStream::open`]; `direct_pcm` allows the direct read of plain PCM WAV
    /// (off only to check it against symphonia's own PCM decoder).
    pub(super) fn open_with(
        path: &Path,
        options: &DecodeOptions,
        warnings: Warnings,
        direct_pcm: bool,
    ) -> Result<Self> {
        let (file, meta) = crate::audio::open::open_regular(path)?;
        if meta.len() == 0 {
            return Err(problem(path, DecodeProblem::Empty));
        }
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let reader = match symphonia::default::get_probe().probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        ) {
            Ok(r) => r,
            Err(e) => {
                let head = read_head(path);
                // symphonia says "unsupported" both when no reader recognises the bytes
                // and when a reader recognises its container but not the encoding inside.
                let container_known = match &e {
                    SymError::Unsupported(msg) => !msg.contains("no suitable format reader"),
                    _ => false,
                };
                let p = match sniff::sniff_bytes(&head) {
                    Some(kind) if container_known => DecodeProblem::Unsupported(format!(
                        "a {kind} file whose encoding the decoder does not support ({e})"
                    )),
                    // It announces a container but no reader can follow it: damaged.
                    Some(kind) => DecodeProblem::Corrupt(format!(
                        "starts like a {kind} file but no readable {kind} stream was found ({e})"
                    )),
                    None => DecodeProblem::NotAudio(sniff::describe_content(&head)),
                };
                return Err(problem(path, p));
            }
        };
        let format = reader.format_info().short_name.to_string();
        let track = reader
            .default_track(TrackType::Audio)
            .ok_or_else(|| problem(path, DecodeProblem::NoAudioTrack))?;
        let track_id = track.id;
        let frames = track.num_frames;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| problem(path, DecodeProblem::NoAudioTrack))?
            .clone();
        let rate = params.sample_rate.ok_or_else(|| {
            problem(
                path,
                DecodeProblem::Unsupported("the sample rate is not stated".into()),
            )
        })?;
        if rate == 0 {
            return Err(problem(
                path,
                DecodeProblem::Corrupt("sample rate 0".into()),
            ));
        }
        if !(MIN_RATE..=MAX_RATE).contains(&rate) {
            return Err(problem(
                path,
                DecodeProblem::Unsupported(format!(
                    "sample rate {rate} Hz (rates from {MIN_RATE} Hz to {MAX_RATE} Hz are accepted)"
                )),
            ));
        }
        if let Some(bits) = params.bits_per_sample
            && !(1..=MAX_BITS).contains(&bits)
        {
            return Err(problem(
                path,
                DecodeProblem::Unsupported(format!(
                    "{bits} bits per sample (1 to {MAX_BITS} are accepted)"
                )),
            ));
        }
        let channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(0);
        if channels > MAX_CHANNELS {
            return Err(problem(
                path,
                DecodeProblem::Unsupported(format!(
                    "{channels} channels (at most {MAX_CHANNELS} are accepted)"
                )),
            ));
        }
        // Only after the header's numbers are known to be sane: a decoder sizes its
        // buffers from them.
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(
                &params,
                &AudioDecoderOptions::default().gapless(options.gapless),
            )
            .map_err(|e| problem(path, unsupported_codec(&params, &format, &e)))?;
        let frames_left = options
            .max_seconds
            .filter(|s| *s > 0.0)
            .map(|s| (s * rate as f64).round() as u64);
        let source = match PcmEncoding::of(&params) {
            Some(encoding) if direct_pcm && format == "wave" && channels > 0 => {
                // The probe leaves the stream at the first sample of the data chunk.
                Source::Pcm(PcmData {
                    stream: reader.into_inner(),
                    encoding,
                    channels,
                    frames_left: frames,
                    bytes: Vec::new(),
                })
            }
            _ => Source::Packets {
                reader,
                decoder,
                track_id,
            },
        };
        Ok(DecodeStream {
            path: path.to_path_buf(),
            source,
            info: SourceInfo {
                rate,
                channels,
                frames,
                format,
            },
            mix: options.mix,
            frames_left,
            frames_out: 0,
            bad_packets: 0,
            bad_in_a_row: 0,
            interleaved: Vec::new(),
            warnings,
            finished: false,
            opened_as: (meta.len(), meta.modified().ok()),
            wild_samples: 0,
            max_frames: (options
                .max_duration_seconds
                .clamp(0.0, MAX_DURATION_SECONDS)
                * rate as f64) as u64,
        })
    }

    /// What the container says about the audio.
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// Frames (per channel) delivered so far.
    pub fn frames_decoded(&self) -> u64 {
        self.frames_out
    }

    fn finish(&mut self) -> Result<()> {
        self.finished = true;
        self.check_unchanged()?;
        if self.frames_out == 0 {
            let p = if self.bad_packets > 0 {
                DecodeProblem::Corrupt(format!(
                    "no audio could be decoded ({} damaged packets)",
                    self.bad_packets
                ))
            } else {
                DecodeProblem::Corrupt("the audio track holds no samples".into())
            };
            return Err(problem(&self.path, p));
        }
        if self.bad_packets > 0 {
            self.warnings.push(format!(
                "{} damaged packets skipped while decoding",
                self.bad_packets
            ));
        }
        if self.wild_samples > 0 {
            self.warnings.push(format!(
                "{} samples were NaN, infinite or beyond +-{MAX_SAMPLE} (set to 0 or clamped)",
                self.wild_samples
            ));
        }
        if self.frames_left.is_none()
            && let Some(expected) = self.info.frames
            && self.frames_out + (self.info.rate as u64 / 10) < expected
        {
            self.warnings.push(format!(
                "truncated: decoded {:.2} s of the {:.2} s the header announces",
                self.frames_out as f64 / self.info.rate as f64,
                expected as f64 / self.info.rate as f64
            ));
        }
        Ok(())
    }
}

/// Largest sample magnitude passed on (60 dB over full scale). Float files may go a
/// little past 1.0; NaN, infinities and values near f32's range are damage, and would
/// overflow the resampler's FFT (rubato panics on them).
pub const MAX_SAMPLE: f32 = 1_000.0;

impl DecodeStream {
    /// Zero non-finite samples and clamp huge ones ([`MAX_SAMPLE`]), counting them
    /// for one warning at the end.
    fn tame(&mut self, out: &mut [f32]) {
        // |x| compared as integer bits, OR-ed without an early exit, so it vectorises
        // (SSE2's signed compare): NaN's bits lie above infinity's, above every
        // finite value's. The fix-up below is the rare path.
        let limit = MAX_SAMPLE.to_bits() as i32;
        let wild = out.iter().fold(0u32, |acc, x| {
            acc | (((x.to_bits() & 0x7FFF_FFFF) as i32 > limit) as u32)
        });
        if wild == 0 {
            return;
        }
        for x in out.iter_mut() {
            if x.is_nan() {
                *x = 0.0;
                self.wild_samples += 1;
            } else if x.abs() > MAX_SAMPLE {
                *x = x.clamp(-MAX_SAMPLE, MAX_SAMPLE);
                self.wild_samples += 1;
            }
        }
    }

    /// An error if the file's size or time differ from when it was opened.
    fn check_unchanged(&self) -> Result<()> {
        let meta =
            std::fs::metadata(&self.path).map_err(|e| problem(&self.path, DecodeProblem::Io(e)))?;
        let (size, modified) = self.opened_as;
        if meta.len() != size {
            return Err(problem(
                &self.path,
                DecodeProblem::Changed(format!(
                    "its size went from {size} to {} bytes",
                    meta.len()
                )),
            ));
        }
        if modified.is_some() && meta.modified().ok() != modified {
            return Err(problem(
                &self.path,
                DecodeProblem::Changed("it was modified while being decoded".into()),
            ));
        }
        Ok(())
    }

    /// Decode the next block of interleaved samples into `self.interleaved`: returns
    /// `(frames, channels)`, or `None` at the end of the stream.
    fn next_block(&mut self) -> Result<Option<(usize, usize)>> {
        let (reader, decoder, track_id) = match &mut self.source {
            Source::Pcm(pcm) => {
                let frames = pcm
                    .read(&mut self.interleaved)
                    .map_err(|e| problem(&self.path, DecodeProblem::Io(e)))?;
                return Ok((frames > 0).then_some((frames, pcm.channels)));
            }
            Source::Packets {
                reader,
                decoder,
                track_id,
            } => (reader, decoder, *track_id),
        };
        loop {
            // Packets that give no audio (other tracks, damage) still cost time.
            crate::interrupt::check_time()?;
            let packet = match reader.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(None),
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    // A file cut short: keep what was decoded, say so.
                    if self.frames_out > 0 {
                        self.warnings.push("the file ends abruptly (truncated)");
                    }
                    return Ok(None);
                }
                Err(SymError::ResetRequired) => {
                    return Err(problem(
                        &self.path,
                        DecodeProblem::Unsupported(
                            "chained streams with a change of format".into(),
                        ),
                    ));
                }
                Err(SymError::IoError(e)) => return Err(problem(&self.path, DecodeProblem::Io(e))),
                Err(e) => {
                    // Container damage: same handling as a damaged packet.
                    self.bad_packets += 1;
                    self.bad_in_a_row += 1;
                    if self.bad_in_a_row > MAX_CONSECUTIVE_BAD_PACKETS {
                        return Err(problem(&self.path, DecodeProblem::Corrupt(e.to_string())));
                    }
                    continue;
                }
            };
            if packet.track_id != track_id {
                continue;
            }
            let buf = match decoder.decode(&packet) {
                Ok(buf) => buf,
                Err(SymError::DecodeError(msg)) => {
                    self.bad_packets += 1;
                    self.bad_in_a_row += 1;
                    if self.bad_in_a_row > MAX_CONSECUTIVE_BAD_PACKETS {
                        return Err(problem(
                            &self.path,
                            DecodeProblem::Corrupt(format!(
                                "{} damaged packets in a row ({msg})",
                                self.bad_in_a_row
                            )),
                        ));
                    }
                    continue;
                }
                Err(SymError::IoError(e)) => return Err(problem(&self.path, DecodeProblem::Io(e))),
                Err(e) => {
                    return Err(problem(
                        &self.path,
                        DecodeProblem::Unsupported(e.to_string()),
                    ));
                }
            };
            self.bad_in_a_row = 0;
            let channels = buf.spec().channels().count().max(1);
            if buf.spec().rate() != self.info.rate {
                return Err(problem(
                    &self.path,
                    DecodeProblem::Unsupported(format!(
                        "the sample rate changes mid-stream ({} Hz to {} Hz)",
                        self.info.rate,
                        buf.spec().rate()
                    )),
                ));
            }
            let frames = buf.frames();
            if frames == 0 {
                continue;
            }
            buf.copy_to_vec_interleaved(&mut self.interleaved);
            return Ok(Some((frames, channels)));
        }
    }

    /// Append the first `take` frames of the interleaved block to `out`, mixed down.
    fn mix_down(&self, take: usize, channels: usize, out: &mut Vec<f32>) {
        out.reserve(take);
        match self.mix {
            // Mono and stereo (nearly every file) get loops the compiler vectorises.
            MixDown::Mean if channels == 1 => {
                out.extend_from_slice(&self.interleaved[..take]);
            }
            MixDown::Mean if channels == 2 => {
                let frames = &self.interleaved[..2 * take];
                let start = out.len();
                out.resize(start + take, 0.0);
                for (o, f) in out[start..].iter_mut().zip(frames.chunks_exact(2)) {
                    *o = 0.5 * (f[0] + f[1]);
                }
            }
            MixDown::Mean => {
                let scale = 1.0 / channels as f32;
                out.extend(
                    self.interleaved
                        .chunks_exact(channels)
                        .take(take)
                        .map(|f| f.iter().sum::<f32>() * scale),
                );
            }
            MixDown::Left | MixDown::Right => {
                let ch = if self.mix == MixDown::Right && channels > 1 {
                    1
                } else {
                    0
                };
                out.extend(
                    self.interleaved
                        .chunks_exact(channels)
                        .take(take)
                        .map(|f| f[ch]),
                );
            }
        }
    }
}

impl SampleStream for DecodeStream {
    fn sample_rate(&self) -> u32 {
        self.info.rate
    }

    fn read_chunk(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        out.clear();
        crate::interrupt::check_time()?;
        if self.finished {
            return Ok(false);
        }
        loop {
            if self.frames_left == Some(0) {
                self.finish()?;
                return Ok(false);
            }
            // 16-bit mono and stereo WAV is mixed straight from its bytes; everything else
            // comes as interleaved blocks, mixed below.
            let mixed_on_read = matches!(&self.source,
                Source::Pcm(pcm) if self.mix == MixDown::Mean && pcm.has_mean_path());
            let block = match &mut self.source {
                Source::Pcm(pcm) if mixed_on_read => {
                    let frames = pcm
                        .read_mean(out, self.frames_left)
                        .map_err(|e| problem(&self.path, DecodeProblem::Io(e)))?;
                    (frames > 0).then_some((frames, pcm.channels))
                }
                _ => self.next_block()?,
            };
            let Some((frames, channels)) = block else {
                self.finish()?;
                return Ok(false);
            };
            if self.info.channels == 0 {
                self.info.channels = channels;
            }
            let mut take = frames;
            if let Some(left) = self.frames_left.as_mut() {
                take = take.min(*left as usize);
                *left -= take as u64;
            }
            if !mixed_on_read {
                self.mix_down(take, channels, out);
            }
            self.frames_out += take as u64;
            if self.frames_out > self.max_frames {
                return Err(problem(
                    &self.path,
                    DecodeProblem::Limit({
                        let seconds = self.max_frames as f64 / self.info.rate as f64;
                        let limit = if seconds >= 3600.0 {
                            format!("{:.1} hours", seconds / 3600.0)
                        } else {
                            format!("{seconds:.0} s")
                        };
                        format!(
                            "it decodes to more than {limit} of audio (the limit on one track: split the file)"
                        )
                    }),
                ));
            }
            // A file that shrinks or grows as it is read: checked every so often, and
            // at the end.
            if self.frames_out / (1 << 22) != (self.frames_out - take as u64) / (1 << 22) {
                self.check_unchanged()?;
            }
            if !out.is_empty() {
                self.tame(out);
                return Ok(true);
            }
        }
    }
}

/// The problem for a codec no decoder here reads: named, with how to convert the file.
/// A bare "unsupported audio codec" leaves a user guessing whether the file is broken.
fn unsupported_codec(
    params: &symphonia::core::codecs::audio::AudioCodecParameters,
    container: &str,
    e: &SymError,
) -> DecodeProblem {
    use symphonia::core::codecs::audio::well_known::*;
    let name = match params.codec {
        CODEC_ID_OPUS => "Opus",
        CODEC_ID_SPEEX => "Speex",
        CODEC_ID_MUSEPACK => "Musepack",
        CODEC_ID_AC3 => "AC-3 (Dolby Digital)",
        CODEC_ID_EAC3 => "E-AC-3 (Dolby Digital Plus)",
        CODEC_ID_AC4 => "AC-4",
        CODEC_ID_DCA => "DTS",
        CODEC_ID_WMA => "Windows Media Audio",
        CODEC_ID_WAVPACK => "WavPack",
        CODEC_ID_MONKEYS_AUDIO => "Monkey's Audio",
        CODEC_ID_TTA => "True Audio (TTA)",
        CODEC_ID_ATRAC1 | CODEC_ID_ATRAC3 | CODEC_ID_ATRAC3PLUS | CODEC_ID_ATRAC9 => "ATRAC",
        _ => {
            return DecodeProblem::Unsupported(format!(
                "audio codec {} (container: {container}) is not decoded here ({e}); supported: {SUPPORTED_CODECS}",
                params.codec
            ));
        }
    };
    DecodeProblem::Unsupported(format!(
        "{name} audio (container: {container}) is not decoded here; supported: {SUPPORTED_CODECS}. \
         Convert it first, for example: ffmpeg -i IN -c:a flac OUT.flac"
    ))
}

/// What the decoder reads, for messages (README lists the same).
pub const SUPPORTED_CODECS: &str =
    "PCM (WAV, AIFF, CAF), FLAC, MP1, MP2, MP3, Vorbis, AAC-LC, ALAC, ADPCM";
