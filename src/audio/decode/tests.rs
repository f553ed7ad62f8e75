use super::stream::Source;
use super::*;
use crate::audio::wav::{WavFormat, write_wav_interleaved};

fn problem_of(bytes: &[u8], name: &str) -> DecodeProblem {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    problem_of_path(&p)
}

fn problem_of_path(p: &std::path::Path) -> DecodeProblem {
    match decode_file(p, &DecodeOptions::default()) {
        Err(Error::Decode { problem, path }) => {
            assert_eq!(path, p);
            problem
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn classifies_bad_files() {
    assert!(matches!(problem_of(b"", "a.flac"), DecodeProblem::Empty));
    assert!(
        matches!(problem_of(b"just text\n", "a.ogg"), DecodeProblem::NotAudio(m) if m.contains("text"))
    );
    let mut id3 = b"ID3\x04\0\0\0\0\0\0".to_vec();
    id3.extend(std::iter::repeat_n(0x41u8, 5000));
    assert!(matches!(
        problem_of(&id3, "a.mp3"),
        DecodeProblem::Corrupt(_)
    ));
    // A RIFF/WAVE file with an unknown format tag: recognised container, unsupported codec.
    let mut wav = Vec::new();
    wav.extend(b"RIFF");
    wav.extend(&(36u32 + 8).to_le_bytes());
    wav.extend(b"WAVEfmt ");
    wav.extend(&16u32.to_le_bytes());
    wav.extend(&0x7777u16.to_le_bytes()); // format tag
    wav.extend(&1u16.to_le_bytes()); // channels
    wav.extend(&44_100u32.to_le_bytes());
    wav.extend(&88_200u32.to_le_bytes());
    wav.extend(&2u16.to_le_bytes());
    wav.extend(&16u16.to_le_bytes());
    wav.extend(b"data");
    wav.extend(&8u32.to_le_bytes());
    wav.extend(&[0u8; 8]);
    assert!(matches!(
        problem_of(&wav, "a.wav"),
        DecodeProblem::Unsupported(_)
    ));
}

#[test]
fn mixes_channels_and_limits_length() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("st.wav");
    // Left = 0.5, right = -0.25 throughout.
    let frames = 1_000;
    let samples: Vec<f32> = (0..frames).flat_map(|_| [0.5f32, -0.25]).collect();
    write_wav_interleaved(&p, 8_000, 2, &samples, WavFormat::Float32).unwrap();
    let mean = decode_file(&p, &DecodeOptions::default()).unwrap();
    assert_eq!(mean.samples.len(), frames);
    assert!(mean.samples.iter().all(|&x| (x - 0.125).abs() < 1e-6));
    let right = decode_file(
        &p,
        &DecodeOptions {
            mix: MixDown::Right,
            max_seconds: Some(0.1),
            gapless: true,
            ..DecodeOptions::default()
        },
    )
    .unwrap();
    assert_eq!(right.samples.len(), 800);
    assert!(right.samples.iter().all(|&x| (x + 0.25).abs() < 1e-6));
}

/// The direct PCM read gives symphonia's own samples, bit for bit, for every encoding
/// it takes, any channel count, a length that is no multiple of its block, and a
/// file cut mid-frame.
#[test]
fn direct_pcm_matches_symphonias_pcm_decoder() {
    let dir = tempfile::tempdir().unwrap();
    let frames = 40_000usize; // 2.4 blocks
    for (bits, float) in [(16u16, false), (24, false), (32, true), (8, false)] {
        for channels in [1u16, 2, 6] {
            let p = dir.path().join(format!("x{bits}{float}{channels}.wav"));
            let spec = hound::WavSpec {
                channels,
                sample_rate: 22_050,
                bits_per_sample: bits,
                sample_format: if float {
                    hound::SampleFormat::Float
                } else {
                    hound::SampleFormat::Int
                },
            };
            let mut w = hound::WavWriter::create(&p, spec).unwrap();
            let full = ((1i64 << (bits - 1)) - 1) as f64;
            for i in 0..frames * channels as usize {
                // Full-scale extremes and everything between.
                let x = ((i as f64 * 0.0137).sin() * 1.02).clamp(-1.0, 1.0);
                if float {
                    w.write_sample(x as f32).unwrap();
                } else if bits == 8 {
                    w.write_sample((x * full).round() as i8).unwrap();
                } else {
                    w.write_sample((x * full).round() as i32).unwrap();
                }
            }
            w.finalize().unwrap();
            let bytes = std::fs::read(&p).unwrap();
            let cut = dir.path().join(format!("cut{bits}{float}{channels}.wav"));
            std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3 + 1]).unwrap();
            for file in [&p, &cut] {
                let read = |direct| {
                    let w = Warnings::new();
                    let mut s =
                        DecodeStream::open_with(file, &DecodeOptions::default(), w.clone(), direct)
                            .unwrap();
                    let direct_used = matches!(s.source, Source::Pcm(_));
                    let sig = crate::audio::Signal::from_stream(&mut s).unwrap();
                    (sig.samples, s.info().clone(), direct_used, w.snapshot())
                };
                let (fast, fast_info, used, fast_warn) = read(true);
                let (slow, slow_info, _, slow_warn) = read(false);
                assert_eq!(used, bits != 8, "direct read for {bits}-bit");
                assert_eq!(fast_info, slow_info);
                assert_eq!(fast.len(), slow.len(), "{}", file.display());
                assert!(
                    fast.iter()
                        .zip(&slow)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{}: samples differ",
                    file.display()
                );
                let truncated = |w: &[String]| w.iter().any(|w| w.contains("truncated"));
                assert_eq!(truncated(&fast_warn), truncated(&slow_warn));
                assert_eq!(truncated(&fast_warn), file == &cut);
            }
        }
    }
}

#[test]
fn a_truncated_file_decodes_what_is_there_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.wav");
    let samples: Vec<f32> = (0..20_000)
        .map(|i| ((i as f32) * 0.05).sin() * 0.5)
        .collect();
    write_wav_interleaved(&p, 8_000, 1, &samples, WavFormat::Pcm16).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let warnings = Warnings::new();
    let mut s = DecodeStream::open(&p, &DecodeOptions::default(), warnings.clone()).unwrap();
    let sig = crate::audio::Signal::from_stream(&mut s).unwrap();
    assert!(
        sig.samples.len() > 9_000 && sig.samples.len() < 10_100,
        "{}",
        sig.samples.len()
    );
    assert!(
        warnings.snapshot().iter().any(|w| w.contains("truncated")),
        "{:?}",
        warnings.snapshot()
    );
}

/// A PCM WAV header declaring `rate` and `channels`, with a little 16-bit data.
fn wav_claiming(rate: u32, channels: u16) -> Vec<u8> {
    let data = 156u32;
    let block = channels as u32 * 2;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&rate.wrapping_mul(block).to_le_bytes());
    b.extend_from_slice(&(block as u16).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    b.extend(std::iter::repeat_n(0u8, data as usize));
    b
}

#[test]
fn absurd_rates_and_channel_counts_are_refused_with_the_bound() {
    // A 200-byte file claiming 4,294,967,295 Hz once made the resampler allocate 9 GB.
    for (rate, bound) in [(u32::MAX, "768000 Hz"), (100, "1000 Hz")] {
        match problem_of(&wav_claiming(rate, 1), "x.wav") {
            DecodeProblem::Unsupported(why) => assert!(why.contains(bound), "{why}"),
            other => panic!("{rate} Hz: {other:?}"),
        }
    }
    // WAV's reader refuses absurd channel counts itself; other containers meet the
    // bound of 64.
    let why = problem_of(&wav_claiming(44_100, 200), "x.wav").to_string();
    assert!(why.contains("channel"), "{why}");
    // A sane header still decodes.
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.wav");
    std::fs::write(&ok, wav_claiming(8_000, 2)).unwrap();
    assert!(decode_file(&ok, &DecodeOptions::default()).is_ok());
}

#[test]
fn a_file_longer_than_the_duration_limit_is_refused_with_the_limit() {
    // The limit is 4 hours; a small one shows the check without decoding 4 hours.
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus/flac-0000.flac");
    let opts = DecodeOptions {
        max_duration_seconds: 3.6,
        ..DecodeOptions::default()
    };
    let err = decode_file(&path, &opts).unwrap_err().to_string();
    assert!(err.contains("flac-0000.flac"), "{err}");
    assert!(
        err.contains("more than 4 s of audio") && err.contains("limit"),
        "{err}"
    );
    // Within the limit, the same file decodes.
    assert!(decode_file(&path, &DecodeOptions::default()).is_ok());
    // A limit above the cap is the cap.
    let opts = DecodeOptions {
        max_duration_seconds: 1e12,
        ..DecodeOptions::default()
    };
    assert!(decode_file(&path, &opts).is_ok());
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.wav");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Opening a FIFO for reading would wait for a writer forever.
    match problem_of_path(&fifo) {
        DecodeProblem::NotRegular(why) => assert!(why.contains("FIFO"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(crate::audio::sniff::sniff_file(&fifo).is_none());
}

#[test]
fn nan_infinite_and_huge_float_samples_are_tamed_with_a_warning() {
    // Found by fuzzing: such samples made rubato's FFT panic in the resampler.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("wild.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&p, spec).unwrap();
    let wild = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        3e38,
        -2e5,
        0.5,
        2.0,
    ];
    for i in 0..8_000 {
        w.write_sample(wild[i % wild.len()]).unwrap();
    }
    w.finalize().unwrap();
    let warnings = Warnings::new();
    let mut stream = DecodeStream::open(&p, &DecodeOptions::default(), warnings.clone()).unwrap();
    let signal = crate::audio::Signal::from_stream(&mut stream).unwrap();
    let expect = [
        0.0,
        MAX_SAMPLE,
        -MAX_SAMPLE,
        MAX_SAMPLE,
        -MAX_SAMPLE,
        0.5,
        2.0,
    ];
    for (i, &x) in signal.samples.iter().enumerate() {
        assert_eq!(x, expect[i % expect.len()], "sample {i}");
    }
    let w = warnings.snapshot();
    assert!(
        w.iter().any(|w| w.starts_with("5715 samples were NaN")),
        "{w:?}"
    );
    // And the resampler takes them.
    let stream = DecodeStream::open(&p, &DecodeOptions::default(), Warnings::new()).unwrap();
    let mut resampled = crate::audio::ResampleStream::new(Box::new(stream), 8_820).unwrap();
    let out = crate::audio::Signal::from_stream(&mut resampled).unwrap();
    assert!(out.samples.iter().all(|x| x.is_finite()));
}
