//! Replays every fuzzing finding on stable: each file in `fixtures/fuzz/<target>/` goes
//! through the same function the cargo-fuzz target runs (`tests/fuzz_cases/`, shared
//! with `fuzz/fuzz_targets/`). None may panic; each named finding must give the error
//! listed for it, and valid files from `fixtures/` must still read, so a fix that
//! refuses too much fails here too. See `fixtures/fuzz/README.md`.

use crate::fuzz_cases;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

/// What a saved input must give.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Read without error.
    Ok,
    /// An error whose message contains this.
    Err(&'static str),
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run `f`, turning a panic into a test failure that names the input.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(p) => {
            let m = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{what}: panicked: {m}")
        }
    }
}

fn check(what: &str, got: Result<(), String>, want: Expect) {
    match (want, got) {
        (Expect::Ok, Ok(())) => {}
        (Expect::Ok, Err(e)) => panic!("{what}: expected to read, got: {e}"),
        (Expect::Err(s), Err(e)) => assert!(e.contains(s), "{what}: expected '{s}' in: {e}"),
        (Expect::Err(s), Ok(())) => panic!("{what}: expected an error with '{s}', got Ok"),
    }
}

/// Every file in `fixtures/fuzz/<target>/` through `run`: none may panic, and every
/// file must be listed in `expect` (a new finding comes with what it must give).
fn replay(target: &str, run: fn(&[u8]) -> Result<(), String>, expect: &[(&str, Expect)]) {
    let dir = root().join("fixtures/fuzz").join(target);
    // A target without findings has no folder (git keeps no empty folders).
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let Some(&(_, want)) = expect.iter().find(|(n, _)| *n == name) else {
            panic!("{target}/{name}: not listed in this test: say what it must give");
        };
        let bytes = std::fs::read(file).unwrap();
        let what = format!("{target}/{name}");
        let got = no_panic(&what, || run(&bytes));
        check(&what, got, want);
    }
    for (name, _) in expect {
        assert!(
            dir.join(name).is_file(),
            "{target}/{name} is listed but missing"
        );
    }
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn audio_findings_and_valid_tracks() {
    replay("audio", fuzz_cases::audio::run, AUDIO);
    use eigentechno::audio::MixDown;
    for rel in [
        "fixtures/corpus/wav-0000.wav",
        "fixtures/corpus/flac-0000.flac",
        "fixtures/corpus/mp3-0000.mp3",
        "fixtures/corpus/ogg-0000.ogg",
    ] {
        let path = root().join(rel);
        let samples = no_panic(rel, || {
            fuzz_cases::audio::decode_resample_tempo(&path, MixDown::Mean)
        })
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(samples.len() > 8_820, "{rel}: {} samples", samples.len());
        check(rel, fuzz_cases::audio::run(&fixture(rel)), Expect::Ok);
    }
}

#[test]
fn wav_findings_and_valid_files() {
    replay("wav", fuzz_cases::wav::run, WAV);
    // Raw mode: the first byte 0, then a real file.
    for rel in [
        "fixtures/corpus/wav-0000.wav",
        "fixtures/corpus/wav-0001.wav",
    ] {
        let mut input = vec![0u8];
        input.extend(fixture(rel));
        check(rel, fuzz_cases::wav::run(&input), Expect::Ok);
    }
    // A header built from the usual choices (16-bit mono PCM at 44.1 kHz) over a body.
    let mut built = vec![1u8];
    built.extend([0u8; 16]);
    built.extend((0..4000u32).map(|i| (i * 37 % 251) as u8));
    let (bytes, _) = fuzz_cases::wav::build(&built);
    assert_eq!(&bytes[..4], b"RIFF");
    check("built 16-bit WAV", fuzz_cases::wav::run(&built), Expect::Ok);
}

#[test]
fn npy_findings_and_valid_files() {
    replay("npy", fuzz_cases::npy::run, NPY);
    for rel in [
        "fixtures/npy/m37x23_f32_c.npy",
        "fixtures/npy/m37x23_f64be_f.npy",
        "fixtures/corr/X.npy",
    ] {
        check(rel, fuzz_cases::npy::run(&fixture(rel)), Expect::Ok);
    }
}

#[test]
fn weights_findings_and_valid_files() {
    replay("weights", fuzz_cases::weights::run, WEIGHTS);
    for rel in [
        "fixtures/kernels/tiny_cnn.npz",
        "fixtures/kernels/tiny_cnn.safetensors",
        "fixtures/kernels/tiny_cnn.onnx",
        "fixtures/kernels/tiny_cnn_constants.onnx",
        "fixtures/kernels/conv1.npy",
    ] {
        let ext = rel.rsplit('.').next().unwrap();
        check(
            rel,
            fuzz_cases::weights::load(ext, &fixture(rel)),
            Expect::Ok,
        );
    }
}

/// `np.savez_compressed` writes deflated members: they read as the stored ones do,
/// and arrays of other dtypes are passed over, not errors.
#[test]
fn deflated_npz_reads_like_stored() {
    use eigentechno::store::weights::{Layout, load_weights};
    use ndarray::{ArrayD, IxDyn};
    let dir = tempfile::tempdir().unwrap();
    let stored = root().join("fixtures/kernels/tiny_cnn.npz");
    let want = load_weights(&stored, Layout::Auto).unwrap();
    let path = dir.path().join("c.npz");
    let mut npz = ndarray_npy::NpzWriter::new_compressed(std::fs::File::create(&path).unwrap());
    for l in &want.layers {
        let a = ArrayD::from_shape_vec(IxDyn(&l.stored_shape), l.weights.clone()).unwrap();
        npz.add_array(l.name.as_str(), &a).unwrap();
    }
    npz.add_array("steps", &ndarray::arr1(&[1i64, 2])).unwrap();
    npz.add_array("zeros", &ArrayD::<f64>::zeros(IxDyn(&[64, 32, 3, 3])))
        .unwrap();
    npz.finish().unwrap();
    let got = load_weights(&path, Layout::Auto).unwrap();
    assert_eq!(got.layers.len(), want.layers.len() + 1);
    for (g, w) in got.layers.iter().zip(&want.layers) {
        assert_eq!((&g.name, &g.weights), (&w.name, &w.weights));
    }
    assert!(
        got.skipped
            .iter()
            .any(|s| s.contains("steps") && s.contains("<i8")),
        "{:?}",
        got.skipped
    );
}

#[test]
fn config_findings_and_shipped_pipelines() {
    replay("config", fuzz_cases::config::run, CONFIG);
    let mut n = 0;
    for e in std::fs::read_dir(root().join("pipelines")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let what = path.display().to_string();
            check(&what, fuzz_cases::config::check(&path, &text), Expect::Ok);
            // The same text in the fuzz target's scratch tree builds too.
            check(&what, fuzz_cases::config::run(text.as_bytes()), Expect::Ok);
            n += 1;
        }
    }
    assert!(n >= 5, "{n} pipelines");
}

#[test]
fn csv_findings_and_valid_tables() {
    replay("csv", fuzz_cases::csv::run, CSV);
    for text in ["1,2,3\n4,5,6\n", "a,b\n1,nan\n2,\n", "x\n1\n\n2\n"] {
        check(text, fuzz_cases::csv::run(text.as_bytes()), Expect::Ok);
    }
    check(
        "ragged",
        fuzz_cases::csv::run(b"1,2\n3\n"),
        Expect::Err("1 fields, expected 2"),
    );
}

#[test]
fn idx_findings_and_valid_files() {
    replay("idx", fuzz_cases::idx::run, IDX);
    // Images and labels as the MNIST files hold them.
    let mut images = vec![0u8, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3];
    images.extend(0..18u8);
    check("2 images of 3x3", fuzz_cases::idx::run(&images), Expect::Ok);
    let labels = [0u8, 0, 8, 1, 0, 0, 0, 2, 7, 1];
    check("2 labels", fuzz_cases::idx::run(&labels), Expect::Ok);
    check(
        "truncated",
        fuzz_cases::idx::run(&images[..20]),
        Expect::Err("but the file holds only 4 of that"),
    );
}

/// The saved findings, by target: file name and what it must give.
const AUDIO: &[(&str, Expect)] = &[
    // NaN and -2.5e38 in a 48 kHz float WAV made rubato's FFT panic in the resampler
    // (fixed in src/audio/decode: such samples become 0 or are clamped).
    ("f32-wav-nan-panics-rubato.wav", Expect::Ok),
];

const WAV: &[(&str, Expect)] = &[];

const NPY: &[(&str, Expect)] = &[
    // Known before fuzzing: numpy refuses this shape.
    (
        "shape-double-comma.npy",
        Expect::Err("malformed .npy header: expected a value"),
    ),
];

const WEIGHTS: &[(&str, Expect)] = &[
    // Known before fuzzing: ndarray-npy read .npz members trusting their headers.
    (
        "npz-double-comma",
        Expect::Err("array 'w': malformed .npy header: expected a value"),
    ),
    (
        "npz-npy-header-len-4g",
        Expect::Err("header says it is 4294967280 bytes long but the file has"),
    ),
    (
        "npz-shape-4tb",
        Expect::Err("array 'w': the file is shorter than its header says"),
    ),
    (
        "npz-declares-4gb-inflated",
        Expect::Err("declares 4294967294 bytes once inflated, more than the"),
    ),
];

const CONFIG: &[(&str, Expect)] = &[];

const IDX: &[(&str, Expect)] = &[
    // The target's own check was wrong: a gzipped file is inflated by the file reader
    // and not by the stream reader (found by the first run; the readers were right).
    (
        "gzipped-labels.gz",
        Expect::Err("not an IDX file: it starts with bytes 1f 8b"),
    ),
];

const CSV: &[(&str, Expect)] = &[];

/// Diffusion replica states and checkpoints: saved findings, valid states that restore
/// and step, and the damage a network or a disk can do (cut short, a byte flipped in
/// the optimizer's record, another model's state) refused without a panic.
#[test]
fn training_state_findings_and_valid_states() {
    replay("training_state", fuzz_cases::training_state::run, &[]);
    for steps in [0, 1, 5] {
        let good = fuzz_cases::training_state::valid_replica(steps);
        check(
            &format!("a replica after {steps} steps"),
            no_panic("valid", || fuzz_cases::training_state::run(&good)),
            Expect::Ok,
        );
        for cut in [0, 8, good.len() / 3, good.len() - 1] {
            let got = no_panic("cut", || fuzz_cases::training_state::run(&good[..cut]));
            assert!(got.is_err(), "cut at {cut} of {}", good.len());
        }
        // Flip bytes through the body (parameters, order, optimizer record): each is
        // either still a state (a changed value) or refused, never a panic.
        for at in (8..good.len()).step_by(good.len() / 97 + 1) {
            let mut bad = good.clone();
            bad[at] ^= 0x5a;
            let _ = no_panic(&format!("flip at {at}"), || {
                fuzz_cases::training_state::run(&bad)
            });
        }
    }
}
