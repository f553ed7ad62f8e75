//! A bad pipeline is rejected before any stage runs: exit code 2, the file, line and
//! key at fault in the message, and nothing written.

use crate::common;

use common::*;

/// Write `toml` to a fresh folder, run `run` and `check` on it, and assert exit code 2,
/// `FILE:LINE:` and `key 'KEY'` and `says` in the message, and no output folder.
fn assert_rejected(toml: &str, line: usize, key: &str, says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, toml).unwrap();
    let out = dir.path().join("out");
    for args in [
        vec![
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        vec!["check", file.to_str().unwrap()],
    ] {
        let o = eigentechno(&args);
        let (_stdout, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        let at = format!("{}:{line}:", file.display());
        assert!(stderr.contains(&at), "expected '{at}' in: {stderr}");
        assert!(
            stderr.contains(&format!("key '{key}'")),
            "expected key '{key}' in: {stderr}"
        );
        assert!(stderr.contains(says), "expected '{says}' in: {stderr}");
        assert!(!out.exists(), "the output folder was created");
    }
}

/// A valid source stage (lines 1-4).
fn head() -> String {
    format!(
        "[stages.tracks]\ntype = \"folder\"\npath = \"{}\"\n\n",
        corpus().display()
    )
}

#[test]
fn toml_syntax_error() {
    let t = format!(
        "{}[stages.audio]\ntype = \"decode\"\ninputs = [\"tracks\"\n",
        head()
    );
    assert_rejected(&t, 7, "inputs", "TOML syntax error");
}

#[test]
fn unknown_type() {
    let t = format!(
        "{}[stages.audio]\ntype = \"decoder\"\ninputs = [\"tracks\"]\n",
        head()
    );
    assert_rejected(
        &t,
        6,
        "type",
        "unknown stage type 'decoder' (did you mean 'decode'?)",
    );
}

#[test]
fn unknown_key() {
    let t = format!(
        "{}[stages.audio]\ntype = \"decode\"\ninputs = [\"tracks\"]\nmixx = \"mean\"\n",
        head()
    );
    assert_rejected(
        &t,
        8,
        "mixx",
        "unknown key for a 'decode' stage (did you mean 'mix'?)",
    );
}

#[test]
fn mistyped_key() {
    let t = format!(
        "{}[stages.audio]\ntype = \"decode\"\ninputs = [\"tracks\"]\n\n[stages.rs]\ntype = \"resample\"\ninputs = [\"audio\"]\nrate = \"fast\"\n",
        head()
    );
    assert_rejected(&t, 12, "rate", "expected integer, found a string");
}

#[test]
fn value_not_among_the_choices() {
    let t = format!(
        "{}[stages.audio]\ntype = \"decode\"\ninputs = [\"tracks\"]\nmix = \"both\"\n",
        head()
    );
    assert_rejected(&t, 8, "mix", "'both' is not one of mean, left, right");
}

#[test]
fn missing_input() {
    let t = format!("{}[stages.audio]\ntype = \"decode\"\n", head());
    assert_rejected(&t, 5, "inputs", "missing 'inputs'");
}

#[test]
fn unknown_input() {
    let t = format!(
        "{}[stages.audio]\ntype = \"decode\"\ninputs = [\"trakcs\"]\n",
        head()
    );
    assert_rejected(
        &t,
        7,
        "inputs",
        "no stage named 'trakcs' (did you mean 'tracks'?)",
    );
}

#[test]
fn cycle() {
    let t = format!(
        "{}[stages.a]\ntype = \"resample\"\ninputs = [\"b\"]\n\n[stages.b]\ntype = \"resample\"\ninputs = [\"a\"]\n",
        head()
    );
    assert_rejected(&t, 7, "inputs", "the inputs form a cycle: a -> b -> a");
}

#[test]
fn input_of_the_wrong_kind() {
    let t = format!(
        "{}[stages.wavs]\ntype = \"write-wav\"\ninputs = [\"tracks\"]\n",
        head()
    );
    assert_rejected(
        &t,
        7,
        "inputs",
        "input 'tracks' produces tracks but a 'write-wav' stage reads audio",
    );
}

#[test]
fn missing_required_key() {
    assert_rejected(
        "[stages.tracks]\ntype = \"folder\"\n",
        1,
        "path",
        "required key is missing",
    );
}

#[test]
fn source_folder_that_does_not_exist() {
    assert_rejected(
        "[stages.tracks]\ntype = \"folder\"\npath = \"/no/such/folder\"\n",
        3,
        "path",
        "does not exist",
    );
}

#[test]
fn bad_overrides_are_rejected_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = eigentechno(&[
        "run",
        "pipelines/to-wav.toml",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "working_rate.rat=11025",
    ]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--set working_rate.rat=11025"), "{stderr}");
    assert!(
        stderr.contains("key 'rat'") && stderr.contains("did you mean 'rate'"),
        "{stderr}"
    );
    let o = eigentechno(&[
        "run",
        "pipelines/to-wav.toml",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "nostage.rate=1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists());
}

#[test]
fn a_missing_pipeline_file_is_a_config_error() {
    let o = eigentechno(&["check", "pipelines/does-not-exist.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("cannot read the pipeline file"));
}

#[test]
fn shipped_pipelines_check_clean() {
    for entry in std::fs::read_dir(root().join("pipelines")).unwrap() {
        let p = entry.unwrap().path();
        let o = eigentechno(&["check", p.to_str().unwrap()]);
        assert!(o.status.success(), "{}: {:?}", p.display(), text(&o));
    }
}
