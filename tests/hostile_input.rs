//! Files nobody should have to trust: a battery of crafted and damaged files next to
//! good tracks, under a memory limit; non-regular files; a full and a read-only output
//! folder; a second run on a held folder; Ctrl-C during ingest.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{corpus, root, text};

/// The good tracks of every battery: one WAV, one FLAC, one Ogg Vorbis.
const GOOD: [&str; 3] = ["wav-0000.wav", "flac-0001.flac", "ogg-0000.ogg"];

fn le16(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}
fn le32(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

/// A RIFF/WAVE file: `fmt ` with the given fields (chunk size `fmt_size`), then a data
/// chunk declaring `data_size` bytes and holding `body`.
#[allow(clippy::too_many_arguments)]
fn wav(
    tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    align: u16,
    fmt_size: u32,
    data_size: u32,
    body: &[u8],
) -> Vec<u8> {
    let mut v = b"RIFF".to_vec();
    v.extend(le32(36 + body.len() as u32));
    v.extend(b"WAVEfmt ");
    v.extend(le32(fmt_size));
    v.extend(le16(tag));
    v.extend(le16(channels));
    v.extend(le32(rate));
    v.extend(le32(rate.wrapping_mul(align as u32)));
    v.extend(le16(align));
    v.extend(le16(bits));
    v.extend(b"data");
    v.extend(le32(data_size));
    v.extend(body);
    v
}

/// A plain 16-bit PCM WAV header with one field wrong.
fn pcm(channels: u16, rate: u32, bits: u16) -> Vec<u8> {
    let align = channels.wrapping_mul(bits / 8);
    wav(1, channels, rate, bits, align, 16, 4000, &noise(4000, 1))
}

/// Deterministic bytes (xorshift).
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A FLAC stream: `fLaC` and a STREAMINFO block with these fields, then `rest`.
fn flac(rate: u32, channels: u8, bits: u8, total: u64, rest: &[u8]) -> Vec<u8> {
    let mut v = b"fLaC".to_vec();
    v.push(0x80); // last metadata block, STREAMINFO
    v.extend(&[0, 0, 34]);
    v.extend(&4096u16.to_be_bytes());
    v.extend(&4096u16.to_be_bytes());
    v.extend(&[0, 0, 0, 0, 0, 0]);
    // 20 bits rate, 3 bits channels-1, 5 bits bits-1, 36 bits total samples.
    let packed: u64 = ((rate as u64 & 0xF_FFFF) << 44)
        | (((channels.max(1) - 1) as u64 & 7) << 41)
        | (((bits.max(1) - 1) as u64 & 31) << 36)
        | (total & 0xF_FFFF_FFFF);
    v.extend(&packed.to_be_bytes());
    v.extend(&[0u8; 16]);
    v.extend(rest);
    v
}

/// An Ogg page holding one packet.
fn ogg_page(packet: &[u8], header_type: u8) -> Vec<u8> {
    let mut v = b"OggS".to_vec();
    v.push(0);
    v.push(header_type);
    v.extend(&[0u8; 8]); // granule
    v.extend(&le32(0x1234)); // serial
    v.extend(&le32(0)); // page number
    v.extend(&le32(0)); // checksum (wrong: a damaged page)
    let segments = packet.len() / 255 + 1;
    v.push(segments as u8);
    for i in 0..segments {
        v.push(if i + 1 < segments {
            255
        } else {
            (packet.len() % 255) as u8
        });
    }
    v.extend(packet);
    v
}

/// A Vorbis identification header with these fields.
fn vorbis_ident(channels: u8, rate: u32) -> Vec<u8> {
    let mut v = vec![1];
    v.extend(b"vorbis");
    v.extend(&le32(0));
    v.push(channels);
    v.extend(&le32(rate));
    v.extend(&le32(0));
    v.extend(&le32(128_000));
    v.extend(&le32(0));
    v.push(0xB8);
    v.push(1);
    v
}

/// An AIFF file whose COMM chunk states these values (rate as an 80-bit float with
/// the given exponent).
fn aiff(channels: u16, exponent: u16, bits: u16) -> Vec<u8> {
    let mut comm: Vec<u8> = Vec::new();
    comm.extend(&channels.to_be_bytes());
    comm.extend(&1000u32.to_be_bytes());
    comm.extend(&bits.to_be_bytes());
    comm.extend(&exponent.to_be_bytes());
    comm.extend(&0x8000_0000_0000_0000u64.to_be_bytes());
    let mut v = b"FORM".to_vec();
    v.extend(&(4 + 8 + comm.len() as u32 + 8 + 8 + 2000).to_be_bytes());
    v.extend(b"AIFFCOMM");
    v.extend(&(comm.len() as u32).to_be_bytes());
    v.extend(comm);
    v.extend(b"SSND");
    v.extend(&0xFFFF_FFF0u32.to_be_bytes());
    v.extend(&[0u8; 8]);
    v.extend(noise(2000, 9));
    v
}

/// An ISO-BMFF atom.
fn atom(kind: &[u8; 4], size: u32, body: &[u8]) -> Vec<u8> {
    let mut v = size.to_be_bytes().to_vec();
    v.extend(kind);
    v.extend(body);
    v
}

/// The crafted files: (name, bytes). Every one is wrong in its own way.
fn crafted() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        // Lying WAV headers: rates, channels, bit depths, sizes, chunks.
        ("wav-rate-4294967295.wav", pcm(2, u32::MAX, 16)),
        ("wav-rate-0.wav", pcm(2, 0, 16)),
        ("wav-rate-10.wav", pcm(1, 10, 16)),
        ("wav-channels-0.wav", pcm(0, 44_100, 16)),
        ("wav-channels-65535.wav", pcm(u16::MAX, 44_100, 16)),
        ("wav-bits-0.wav", pcm(2, 44_100, 0)),
        (
            "wav-bits-255.wav",
            wav(1, 2, 44_100, 255, 64, 16, 4000, &noise(4000, 2)),
        ),
        (
            "wav-align-0.wav",
            wav(1, 2, 44_100, 16, 0, 16, 4000, &noise(4000, 3)),
        ),
        (
            "wav-data-4gb.wav",
            wav(1, 2, 44_100, 16, 4, 16, 0xFFFF_FFF0, &noise(1000, 4)),
        ),
        (
            "wav-fmt-4gb.wav",
            wav(1, 2, 44_100, 16, 4, 0xFFFF_FFF0, 4000, &noise(4000, 5)),
        ),
        (
            "wav-fmt-empty.wav",
            wav(1, 2, 44_100, 16, 4, 0, 4000, &noise(4000, 6)),
        ),
        (
            "wav-float-12bit.wav",
            wav(3, 1, 44_100, 12, 4, 16, 4000, &noise(4000, 7)),
        ),
        (
            "wav-extensible-garbage.wav",
            wav(0xFFFE, 2, 44_100, 16, 4, 40, 4000, &noise(4000, 8)),
        ),
        ("wav-header-only.wav", wav(1, 2, 44_100, 16, 4, 16, 0, &[])),
        ("wav-chunk-loop.wav", {
            // 100,000 zero-length chunks before the data.
            let mut v = wav(1, 2, 44_100, 16, 4, 16, 4000, &[]);
            v.truncate(v.len() - 8);
            for _ in 0..100_000 {
                v.extend(b"junk");
                v.extend(le32(0));
            }
            v.extend(b"data");
            v.extend(le32(4000));
            v.extend(noise(4000, 10));
            v
        }),
        // FLAC: absurd STREAMINFO, a huge block length, endless empty blocks.
        (
            "flac-rate-1048575.flac",
            flac(1_048_575, 2, 16, 44_100, &noise(3000, 11)),
        ),
        ("flac-rate-0.flac", flac(0, 2, 16, 44_100, &noise(3000, 12))),
        ("flac-samples-2e36.flac", flac(44_100, 8, 32, u64::MAX, &[])),
        ("flac-block-16mb.flac", {
            let mut v = b"fLaC".to_vec();
            v.extend(&[0x00, 0xFF, 0xFF, 0xFF]);
            v.extend(noise(100, 13));
            v
        }),
        ("flac-empty-blocks.flac", {
            let mut v = flac(44_100, 2, 16, 44_100, &[]);
            v[4] = 0x00; // STREAMINFO is not the last block
            for _ in 0..50_000 {
                v.extend(&[0x01, 0, 0, 0]); // empty PADDING, not last
            }
            v
        }),
        // Ogg Vorbis: an identification header from nowhere, pages of garbage.
        (
            "ogg-vorbis-rate-max.ogg",
            ogg_page(&vorbis_ident(255, u32::MAX), 2),
        ),
        (
            "ogg-vorbis-channels-0.ogg",
            ogg_page(&vorbis_ident(0, 44_100), 2),
        ),
        ("ogg-pages-garbage.ogg", {
            let mut v = Vec::new();
            for i in 0..200 {
                v.extend(ogg_page(&noise(1000, 20 + i), if i == 0 { 2 } else { 0 }));
            }
            v
        }),
        // MP3: an ID3 tag claiming 256 MB, frame headers with a bad bitrate.
        ("mp3-id3-256mb.mp3", {
            let mut v = b"ID3\x04\x00\x00\x7F\x7F\x7F\x7F".to_vec();
            v.extend(noise(500, 30));
            v
        }),
        ("mp3-bad-frames.mp3", {
            let mut v = Vec::new();
            for i in 0..2000 {
                v.extend(&[0xFF, 0xFB, 0xF0, 0x00]);
                v.extend(noise(100, 40 + i));
            }
            v
        }),
        // AIFF: 65,535 channels at 2^16383 Hz; zero channels.
        ("aiff-channels-65535.aiff", aiff(u16::MAX, 0x7FFE, 16)),
        ("aiff-channels-0.aiff", aiff(0, 16_398, 16)),
        // MP4/M4A: an atom claiming 4 GB; atoms of size 0 and 8 in a row.
        ("m4a-atom-4gb.m4a", {
            let mut v = atom(b"ftyp", 20, b"M4A \0\0\0\0M4A ");
            v.extend(atom(b"moov", 0xFFFF_FFFF, &noise(200, 50)));
            v
        }),
        ("m4a-atom-loop.m4a", {
            let mut v = atom(b"ftyp", 20, b"M4A \0\0\0\0M4A ");
            for _ in 0..20_000 {
                v.extend(atom(b"free", 8, &[]));
            }
            v.extend(atom(b"moov", 0, &[]));
            v
        }),
        // Matroska: an EBML element of unknown size holding garbage.
        ("mka-ebml-huge.mka", {
            let mut v = vec![
                0x1A, 0x45, 0xDF, 0xA3, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            ];
            v.extend(noise(3000, 60));
            v
        }),
        // CAF: a NaN rate and 4,294,967,295 channels, a data chunk of unknown size.
        ("caf-rate-nan.caf", {
            let mut v = b"caff\x00\x01\x00\x00desc".to_vec();
            v.extend(&32u64.to_be_bytes());
            v.extend(&f64::NAN.to_be_bytes());
            v.extend(b"lpcm");
            v.extend(&0u32.to_be_bytes());
            v.extend(&4u32.to_be_bytes());
            v.extend(&1u32.to_be_bytes());
            v.extend(&u32::MAX.to_be_bytes());
            v.extend(&16u32.to_be_bytes());
            v.extend(b"data");
            v.extend(&u64::MAX.to_be_bytes());
            v.extend(noise(3000, 80));
            v
        }),
        // ADTS AAC: frames with the reserved rate index 15, no channels, 8 kB lengths.
        ("adts-rate-reserved.aac", {
            let mut v = Vec::new();
            for i in 0..300 {
                v.extend(&[0xFF, 0xF1, 0x7C, 0x00, 0xFF, 0xFF, 0xFC]);
                v.extend(noise(50, 90 + i));
            }
            v
        }),
        // Not audio at all, and nothing at all.
        ("empty.wav", Vec::new()),
        ("text.mp3", b"this is not an mp3 file\n".repeat(100)),
    ];
    // Truncations of a real compressed track, and random bytes in the middle of others.
    let mp3 = std::fs::read(corpus().join("mp3-0000.mp3")).unwrap();
    for pct in [10, 30, 50, 70, 90] {
        let name: &'static str = Box::leak(format!("truncated-{pct}.mp3").into_boxed_str());
        files.push((name, mp3[..mp3.len() * pct / 100].to_vec()));
    }
    for (i, src) in ["flac-0000.flac", "mp3-0001.mp3", "ogg-0001.ogg"]
        .iter()
        .enumerate()
    {
        let mut bytes = std::fs::read(corpus().join(src)).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid..mid + 8192].copy_from_slice(&noise(8192, 70 + i as u64));
        let name: &'static str = Box::leak(format!("garbled-middle-{src}").into_boxed_str());
        files.push((name, bytes));
    }
    files.into_iter().map(|(n, b)| (n.to_string(), b)).collect()
}

/// Paths that are not regular readable files: (name, what it is).
#[cfg(unix)]
fn make_non_regular(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::{PermissionsExt, symlink};
    std::fs::create_dir(dir.join("folder.wav")).unwrap();
    let fifo = dir.join("fifo.wav");
    let ok = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(ok.success(), "mkfifo");
    symlink(dir.join("loop-b.wav"), dir.join("loop-a.wav")).unwrap();
    symlink(dir.join("loop-a.wav"), dir.join("loop-b.wav")).unwrap();
    symlink(dir.join("nowhere.wav"), dir.join("dangling.wav")).unwrap();
    let unreadable = dir.join("unreadable.flac");
    std::fs::copy(corpus().join("flac-0002.flac"), &unreadable).unwrap();
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
    [
        "folder.wav",
        "fifo.wav",
        "loop-a.wav",
        "loop-b.wav",
        "dangling.wav",
        "unreadable.flac",
    ]
    .map(String::from)
    .to_vec()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The binary, copied where any user can run it (root ignores file permissions, so
/// the unreadable file is only unreadable to another user: the battery then runs as
/// `nobody`).
fn runnable_binary(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("eigentechno");
    std::fs::copy(env!("CARGO_BIN_EXE_eigentechno"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// `eigentechno ingest FOLDER --out OUT` under an address-space limit (as a container
/// or a batch job sets), as `nobody` when the tests run as root.
fn ingest_limited(bin: &Path, folder: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--as={}", 6_000_000_000u64));
    if is_root() {
        cmd.args([
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]);
    }
    cmd.arg(bin)
        .arg("ingest")
        .arg(folder)
        .arg("--out")
        .arg(out)
        .args(["--threads", "2"])
        .args(extra)
        .current_dir(root())
        .output()
        .expect("prlimit runs")
}

fn open_to_all(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
}

/// Rows of `bars.npy` (after its header), grouped by track from `bars.csv`.
fn rows_by_track(matrix: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let npy = std::fs::read(matrix.join("bars.npy")).unwrap();
    let header = u16::from_le_bytes([npy[8], npy[9]]) as usize + 10;
    let data = &npy[header..];
    let rows: Vec<eigentechno::store::BarRow> =
        eigentechno::store::read_table(&matrix.join("bars.csv")).unwrap();
    let width = data.len() / rows.len().max(1);
    let mut by = std::collections::BTreeMap::<String, Vec<u8>>::new();
    for r in &rows {
        let name = Path::new(&r.track)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        by.entry(name)
            .or_default()
            .extend(&data[r.row * width..(r.row + 1) * width]);
    }
    by
}

fn peak_mb(stdout: &str) -> Option<u64> {
    let at = stdout.find("peak memory ")? + "peak memory ".len();
    stdout[at..].split_whitespace().next()?.parse().ok()
}

#[cfg(unix)]
#[test]
fn a_battery_of_crafted_files_is_reported_and_leaves_the_good_tracks_bars_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    open_to_all(dir.path());
    let bin = runnable_binary(dir.path());
    let (good, mixed) = (dir.path().join("good"), dir.path().join("mixed"));
    std::fs::create_dir_all(&good).unwrap();
    std::fs::create_dir_all(&mixed).unwrap();
    for g in GOOD {
        std::fs::copy(corpus().join(g), good.join(g)).unwrap();
        std::fs::copy(corpus().join(g), mixed.join(g)).unwrap();
    }
    let crafted = crafted();
    for (name, bytes) in &crafted {
        std::fs::write(mixed.join(name), bytes).unwrap();
    }
    let mut bad: Vec<String> = crafted.iter().map(|(n, _)| n.clone()).collect();
    bad.extend(make_non_regular(&mixed));
    assert!(bad.len() >= 30, "{} crafted files", bad.len());

    let (out_good, out_mixed) = (dir.path().join("out-good"), dir.path().join("out-mixed"));
    let o = ingest_limited(&bin, &good, &out_good, &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    let started = Instant::now();
    let o = ingest_limited(&bin, &mixed, &out_mixed, &["--max-track-seconds", "60"]);
    let took = started.elapsed();
    let (stdout, stderr) = text(&o);
    // The bad files are left out: exit 3.
    assert_eq!(o.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Bounded time: the budget is 60 s a track, and no file comes near it.
    assert!(took < Duration::from_secs(300), "{took:?}");

    // Every bad file has an entry with a status, and a reason when it gave no bars.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_mixed.join("matrix/report.json")).unwrap())
            .unwrap();
    let tracks = report["tracks"].as_array().unwrap();
    let entry = |name: &str| {
        tracks
            .iter()
            .find(|t| Path::new(t["path"].as_str().unwrap()).file_name().unwrap() == name)
            .unwrap_or_else(|| panic!("{name} is not in report.json"))
    };
    let mut failed = 0;
    for name in &bad {
        let e = entry(name);
        let status = e["status"].as_str().unwrap();
        // Truncated and garbled real tracks may still give bars; then they are ok,
        // and say what was wrong where the format lets the decoder see it.
        let partial = name.starts_with("truncated-") || name.starts_with("garbled-");
        if status == "ok" {
            assert!(partial, "{name} was taken as a good track: {e}");
        } else {
            assert!(matches!(status, "failed" | "timed out"), "{name}: {e}");
            let why = e["error"].as_str().unwrap_or("");
            assert!(!why.is_empty(), "{name} failed without a reason: {e}");
            failed += 1;
        }
    }
    assert!(
        failed >= 30,
        "only {failed} of {} bad files failed",
        bad.len()
    );
    for (name, why) in [
        ("wav-rate-4294967295.wav", "4294967295 Hz"),
        ("wav-channels-65535.wav", "channel"),
        ("folder.wav", "not a regular file: a folder"),
        ("fifo.wav", "not a regular file: a FIFO"),
        ("loop-a.wav", "symbolic link loop"),
        ("dangling.wav", "dangling"),
        ("unreadable.flac", "ermission denied"),
        ("empty.wav", "empty"),
    ] {
        let e = entry(name);
        assert!(
            e["error"].as_str().unwrap_or("").contains(why),
            "{name}: expected '{why}' in {e}"
        );
    }
    for g in GOOD {
        assert_eq!(entry(g)["status"], "ok", "{g}");
    }

    // The good tracks' bars are exactly what a run without the bad files gives.
    let (a, b) = (
        rows_by_track(&out_good.join("matrix")),
        rows_by_track(&out_mixed.join("matrix")),
    );
    for g in GOOD {
        assert!(!a[g].is_empty(), "{g} gave no bars");
        assert!(a[g] == b[g], "{g}: bars differ next to the bad files");
    }

    // Peak memory stays within README's bound: 0.2 GB + threads x 0.5 GB per hour of
    // the longest track (here 2 threads, tracks under a minute).
    let peak = peak_mb(&stdout).expect("the summary gives the peak memory");
    let bound = 200.0 + 2.0 * 500.0 / 60.0;
    assert!(
        (peak as f64) < bound,
        "peak memory {peak} MB, bound {bound:.0} MB"
    );
}

#[test]
fn a_track_past_its_time_budget_is_reported_as_timed_out_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = common::eigentechno(&[
        "ingest",
        corpus().join("wav-0001.wav").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--max-track-seconds",
        "0.000001",
        "--quiet",
    ]);
    // Not strict: the run goes on and reports the track; its only track gave no bars,
    // so no matrix (exit 1).
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let t = &summary["tracks"][0];
    assert_eq!(t["status"], "timed out", "{t}");
    assert!(
        t["error"].as_str().unwrap().contains("max_track_seconds"),
        "{t}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("matrix/report.json")).unwrap()).unwrap();
    assert_eq!(report["tracks"][0]["status"], "timed out");
}

#[test]
fn a_file_that_changes_size_while_it_is_read_is_reported() {
    use eigentechno::audio::SampleStream;
    use eigentechno::audio::decode::{DecodeOptions, DecodeStream};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("growing.wav");
    std::fs::copy(corpus().join("wav-0000.wav"), &path).unwrap();
    let mut stream = DecodeStream::open(
        &path,
        &DecodeOptions::default(),
        eigentechno::Warnings::new(),
    )
    .unwrap();
    let mut chunk = Vec::new();
    assert!(stream.read_chunk(&mut chunk).unwrap());
    // Another program appends to it.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut f, &[0u8; 4096]).unwrap();
    drop(f);
    let err = loop {
        match stream.read_chunk(&mut chunk) {
            Ok(true) => continue,
            Ok(false) => panic!("a changed file read to its end without an error"),
            Err(e) => break e.to_string(),
        }
    };
    assert!(err.contains("growing.wav"), "{err}");
    assert!(err.contains("changed while it was read"), "{err}");
}

/// Run `script` with `sh` in a private mount namespace (a user namespace mapping us to
/// root), where it can mount small filesystems; `None` where that is not allowed.
fn in_mount_namespace(script: &str) -> Option<Output> {
    let probe = Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt 2>/dev/null || mount -t tmpfs -o size=1m tmpfs \"$TMPDIR\""])
        .env("TMPDIR", std::env::temp_dir())
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    Command::new("unshare")
        .args(["-rm", "sh", "-c", script])
        .current_dir(root())
        .output()
        .ok()
}

#[cfg(unix)]
#[test]
fn a_full_or_read_only_output_folder_fails_clearly_and_a_later_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tracks = d.join("tracks");
    std::fs::create_dir_all(&tracks).unwrap();
    for f in [
        "wav-0000.wav",
        "wav-0001.wav",
        "flac-0000.flac",
        "flac-0001.flac",
        "ogg-0000.ogg",
    ] {
        std::fs::copy(corpus().join(f), tracks.join(f)).unwrap();
    }
    let bin = env!("CARGO_BIN_EXE_eigentechno");
    let (full, ro, kept, roomy) = (
        d.join("full"),
        d.join("ro"),
        d.join("kept"),
        d.join("roomy"),
    );
    for p in [&full, &ro] {
        std::fs::create_dir_all(p).unwrap();
    }
    // The same tracks into a folder with room, for the expected bars.
    let o = Command::new(bin)
        .args([
            "ingest",
            tracks.to_str().unwrap(),
            "--out",
            roomy.to_str().unwrap(),
            "--quiet",
            "--threads",
            "1",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    // A 3 MB filesystem holds the resume caches of a few tracks, not the matrix.
    let script = format!(
        "set -u
         mount -t tmpfs -o size=3m tmpfs {full} || exit 90
         mount -t tmpfs -o size=1m,ro tmpfs {ro} || exit 90
         {bin} ingest {tracks} --out {full}/out --quiet --threads 1 2>{d}/full.err; echo $? > {d}/full.code
         {bin} ingest {tracks} --out {ro}/out --quiet --threads 1 2>{d}/ro.err; echo $? > {d}/ro.code
         cp -a {full}/out {kept}",
        full = full.display(),
        ro = ro.display(),
        bin = bin,
        tracks = tracks.display(),
        d = d.display(),
        kept = kept.display(),
    );
    let Some(o) = in_mount_namespace(&script) else {
        eprintln!(
            "SKIPPED: this machine does not let the test mount a small filesystem (unshare -rm)"
        );
        return;
    };
    assert!(o.status.success(), "{:?}", text(&o));
    let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    // Full: a failure naming the output path and the cause, and no partial file.
    assert_ne!(read("full.code").trim(), "0");
    let err = read("full.err");
    assert!(err.contains(&full.display().to_string()), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    // Read-only: a failure naming the folder.
    assert_ne!(read("ro.code").trim(), "0");
    let err = read("ro.err");
    assert!(
        err.contains(&ro.display().to_string()) && err.contains("Read-only"),
        "{err}"
    );
    // What the full run left: no temporary files, no matrix, no summary; every cache
    // that is there is complete.
    for e in walkdir::WalkDir::new(&kept) {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy();
        assert!(
            !name.ends_with(".tmp"),
            "{} left behind",
            e.path().display()
        );
    }
    assert!(!kept.join("summary.json").exists());
    assert!(!kept.join("matrix/bars.npy").exists());
    // With room, the run resumes: the tracks finished before the disk filled are not
    // redone, and the matrix is the roomy run's.
    let o = Command::new(bin)
        .args([
            "ingest",
            tracks.to_str().unwrap(),
            "--out",
            kept.to_str().unwrap(),
            "--threads",
            "1",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("already done (skipped)"), "{stdout}");
    assert_eq!(
        std::fs::read(kept.join("matrix/bars.npy")).unwrap(),
        std::fs::read(roomy.join("matrix/bars.npy")).unwrap()
    );
}

#[test]
fn a_second_run_on_a_held_output_folder_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let held = eigentechno::store::OutputLock::acquire(&out).unwrap();
    let o = common::eigentechno(&[
        "ingest",
        corpus().join("wav-0001.wav").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(stderr.contains("in use by another run"), "{stderr}");
    assert!(stderr.contains(&out.display().to_string()), "{stderr}");
    // Nothing was written beside the lock.
    let written: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(written, vec![std::ffi::OsString::from(".eigentechno.lock")]);
    drop(held);
    let o = common::eigentechno(&[
        "ingest",
        corpus().join("wav-0001.wav").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_ingest_exits_within_2_s_consistent_and_the_rerun_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Enough tracks that one thread is still busy when the signal comes.
    let tracks = d.join("tracks");
    std::fs::create_dir_all(&tracks).unwrap();
    for round in 0..4 {
        for t in common::corpus_tracks() {
            let name = format!("{round}-{}", t.file_name().unwrap().to_string_lossy());
            std::fs::copy(&t, tracks.join(name)).unwrap();
        }
    }
    let bin = env!("CARGO_BIN_EXE_eigentechno");
    let (out, whole) = (d.join("out"), d.join("whole"));
    let args = |o: &Path| {
        vec![
            "ingest".to_string(),
            tracks.display().to_string(),
            "--out".into(),
            o.display().to_string(),
            "--threads".into(),
            "1".into(),
            "--quiet".into(),
        ]
    };
    let mut child = Command::new(bin)
        .args(args(&out))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first finished track's resume cache.
    let cache = out.join(".eigentechno/cache");
    let started = Instant::now();
    while std::fs::read_dir(&cache).map_or(true, |mut r| r.next().is_none()) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no track finished"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill with a valid pid and signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let signalled = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "still running after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let exited = signalled.elapsed();
    assert!(
        exited < Duration::from_secs(2),
        "exited {exited:?} after Ctrl-C"
    );
    assert_eq!(status.code(), Some(130));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("interrupted"), "{stderr}");
    // Consistent: no summary, no matrix, no temporary file.
    assert!(!out.join("summary.json").exists());
    assert!(!out.join("matrix/bars.npy").exists());
    for e in walkdir::WalkDir::new(&out) {
        let e = e.unwrap();
        assert!(
            !e.file_name().to_string_lossy().ends_with(".tmp"),
            "{}",
            e.path().display()
        );
    }
    // The re-run resumes, and gives what an uninterrupted run gives.
    let o = Command::new(bin).args(args(&out)).output().unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let before = summary["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "done-before")
        .count();
    assert!(before >= 1, "{summary}");
    let o = Command::new(bin).args(args(&whole)).output().unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(
        std::fs::read(out.join("matrix/bars.npy")).unwrap(),
        std::fs::read(whole.join("matrix/bars.npy")).unwrap()
    );
}
