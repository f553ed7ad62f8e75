//! What a newcomer meets in the first hour: exit codes that tell a script the truth,
//! errors on stderr, `~` and relative paths, an Opus file named as such, and an output
//! folder that holds the matrix once.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// Run the binary in `cwd` with `HOME` set to `home`.
fn run_in(cwd: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eigentechno"))
        .args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .output()
        .expect("the binary runs")
}

/// A folder holding one good fixture track (a WAV of the corpus).
fn one_track(dir: &Path) -> std::path::PathBuf {
    let music = dir.join("music");
    std::fs::create_dir_all(&music).unwrap();
    std::fs::copy(corpus().join("wav-0000.wav"), music.join("wav-0000.wav")).unwrap();
    music
}

fn to_wav(cwd: &Path, home: &Path, path: &str, out: &Path, extra: &[&str]) -> Output {
    let pipeline = root().join("pipelines/to-wav.toml");
    let set = format!("tracks.path={path}");
    let mut args = vec![
        "run",
        pipeline.to_str().unwrap(),
        "--set",
        &set,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    run_in(cwd, home, &args)
}

#[test]
fn exit_codes_tell_empty_all_bad_partly_bad_and_good_runs_apart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("empty")).unwrap();
    let bad = d.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("song.mp3"), "not audio, only text\n").unwrap();
    let mixed = one_track(d);
    std::fs::write(mixed.join("broken.mp3"), "not audio, only text\n").unwrap();
    let good = d.join("good");
    std::fs::create_dir_all(&good).unwrap();
    std::fs::copy(corpus().join("wav-0000.wav"), good.join("wav-0000.wav")).unwrap();

    // Empty: nothing to do is a failure, said once, on stderr.
    let o = to_wav(d, d, "empty", &d.join("o1"), &[]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("no audio files found in empty"), "{stderr}");
    assert!(
        !stdout.contains("no audio files"),
        "errors go to stderr: {stdout}"
    );

    // Every file bad: no track gave a result.
    let o = to_wav(d, d, "bad", &d.join("o2"), &[]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("song.mp3: not an audio file"), "{stderr}");

    // The same through `ingest`: no matrix, exit 1.
    let o = run_in(
        d,
        d,
        &["ingest", "bad", "--out", d.join("o3").to_str().unwrap()],
    );
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("no bars were taken"), "{stderr}");
    assert!(!d.join("o3/matrix/bars.npy").exists());

    // Some bad: the run finished without them (3); --strict makes it a failure (1).
    let o = to_wav(d, d, "music", &d.join("o4"), &[]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stderr.contains("broken.mp3"), "{stderr}");
    assert!(d.join("o4/wavs/wav-0000.wav").exists());
    let o = to_wav(d, d, "music", &d.join("o5"), &["--strict"]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));

    // All good: 0, and nothing on stderr.
    let o = to_wav(d, d, "good", &d.join("o6"), &[]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.is_empty(), "{stderr}");

    // Bad usage: 2, in the user's own words (no built-in pipeline, no --set).
    let o = run_in(d, d, &["ingest", "nope", "--out", "x"]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("'nope', which does not exist"), "{stderr}");
    assert!(
        !stderr.contains("ingest.toml") && !stderr.contains("--set"),
        "{stderr}"
    );
    let o = run_in(
        d,
        d,
        &[
            "check",
            root().join("pipelines/eigentechno.toml").to_str().unwrap(),
            "--set",
            "pca.k=-3",
        ],
    );
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("expected a whole number of at least 0, got -3"),
        "{stderr}"
    );
}

#[test]
fn paths_expand_home_and_follow_one_rule() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    one_track(&home);

    // `~` after `=` is not expanded by the shell: eigentechno does it.
    let o = to_wav(&elsewhere, &home, "~/music", &dir.path().join("o1"), &[]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(dir.path().join("o1/wavs/wav-0000.wav").exists());

    // A relative --set path is taken from the current folder, not the pipeline's.
    let o = to_wav(&home, &elsewhere, "music", &dir.path().join("o2"), &[]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let o = to_wav(&elsewhere, &elsewhere, "music", &dir.path().join("o3"), &[]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("'music' does not exist"), "{stderr}");

    // A relative path written in a pipeline file is taken from that file's folder,
    // wherever the command runs.
    let pipelines = home.join("pipelines");
    std::fs::create_dir_all(&pipelines).unwrap();
    let file = pipelines.join("mine.toml");
    std::fs::write(
        &file,
        "[stages.tracks]\ntype = \"folder\"\npath = \"../music\"\n\n\
         [stages.audio]\ntype = \"decode\"\ninputs = [\"tracks\"]\n\n\
         [stages.wavs]\ntype = \"write-wav\"\ninputs = [\"audio\"]\n",
    )
    .unwrap();
    let out = dir.path().join("o4");
    let o = run_in(
        &elsewhere,
        &elsewhere,
        &[
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(out.join("wavs/wav-0000.wav").exists());
    // ... and `~` works there too, and for --out.
    std::fs::write(
        &file,
        "[pipeline]\nout = \"~/out-from-toml\"\n\n[stages.tracks]\ntype = \"folder\"\npath = \"~/music\"\n\n\
         [stages.audio]\ntype = \"decode\"\ninputs = [\"tracks\"]\n\n\
         [stages.wavs]\ntype = \"write-wav\"\ninputs = [\"audio\"]\n",
    )
    .unwrap();
    let o = run_in(
        &elsewhere,
        &home,
        &["run", file.to_str().unwrap(), "--quiet"],
    );
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(home.join("out-from-toml/wavs/wav-0000.wav").exists());
    let o = run_in(
        &elsewhere,
        &home,
        &["run", file.to_str().unwrap(), "--out=~/out-flag", "--quiet"],
    );
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(home.join("out-flag/wavs/wav-0000.wav").exists());
}

#[test]
fn an_opus_file_is_named_with_how_to_convert_it() {
    let opus = root().join("fixtures/opus/tone.opus");
    let err = eigentechno::audio::decode_file(&opus, &Default::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("Opus audio"), "{msg}");
    assert!(msg.contains("ffmpeg -i"), "{msg}");
    assert!(msg.contains("supported: "), "{msg}");
    // A folder holding it reports it as a failed track, by name, and goes on.
    let dir = tempfile::tempdir().unwrap();
    let music = one_track(dir.path());
    std::fs::copy(&opus, music.join("tone.opus")).unwrap();
    let o = to_wav(dir.path(), dir.path(), "music", &dir.path().join("o"), &[]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("tone.opus: unsupported: Opus audio"),
        "{stderr}"
    );
}

#[test]
fn the_output_folder_holds_the_matrix_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = eigentechno(&[
        "ingest",
        corpus().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--max-bars-per-track",
        "4",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let matrix = std::fs::metadata(out.join("matrix/bars.npy"))
        .unwrap()
        .len();
    let hidden: u64 = walkdir::WalkDir::new(out.join(".eigentechno"))
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(
        hidden * 20 < matrix,
        "the resume state ({hidden} bytes) must not copy the matrix ({matrix} bytes)"
    );
    // The finished run still resumes whole: nothing is redone.
    let o = eigentechno(&[
        "ingest",
        corpus().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--max-bars-per-track",
        "4",
    ]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("10 already done"), "{stdout}");
    assert!(stdout.contains("matrix (matrix): already done"), "{stdout}");
}

#[test]
fn a_heatmap_of_uncorrelated_columns_says_it_has_nothing_to_show() {
    use eigentechno::engine::pca::MemoryRows;
    use eigentechno::ops::{CorrParams, corrmatrix_to_file};
    // Columns of a 4 x 4 Hadamard matrix, repeated: exactly uncorrelated (centred,
    // orthogonal). Then the same with one column a noisy copy of another.
    let h = [
        [1.0, 1.0, 1.0, 1.0],
        [1.0, -1.0, 1.0, -1.0],
        [1.0, 1.0, -1.0, -1.0],
        [1.0, -1.0, -1.0, 1.0],
    ];
    let mut x = Vec::new();
    for _ in 0..8 {
        for row in &h {
            x.extend_from_slice(&row[1..]);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let opts = CorrParams::default().check().unwrap();
    let png = dir.path().join("none.png");
    let rows = MemoryRows::f64(&x, 32, 3).unwrap();
    let (report, _) = corrmatrix_to_file(&rows, Path::new("x"), None, &png, &opts).unwrap();
    assert!(report.nothing_to_show);
    assert!(report.largest_off_diagonal < 1e-12);
    assert_eq!(
        report.limits,
        [-1.0, 1.0],
        "noise is not stretched over the colours"
    );
    assert_eq!(report.order, [0, 1, 2], "noise is not clustered");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(png.with_extension("json")).unwrap()).unwrap();
    assert_eq!(json["nothing_to_show"], true);

    for (i, v) in x.iter_mut().enumerate() {
        if i % 3 == 2 {
            *v = 0.0;
        }
    }
    for r in 0..32 {
        x[r * 3 + 2] = x[r * 3] + if r % 3 == 0 { 0.5 } else { -0.25 };
    }
    let rows = MemoryRows::f64(&x, 32, 3).unwrap();
    let png = dir.path().join("some.png");
    let (report, _) = corrmatrix_to_file(&rows, Path::new("x"), None, &png, &opts).unwrap();
    assert!(!report.nothing_to_show);
    assert!(report.largest_off_diagonal > 0.5);
}
