//! A bad pipeline is rejected before any stage runs: exit code 2, the file, line and
//! key at fault in the message, and nothing written.

mod common;

use common::*;

struct Case {
    name: &'static str,
    toml: String,
    line: usize,
    key: &'static str,
    says: &'static str,
}

fn good_head() -> String {
    format!(
        "[stages.tracks]\ntype = \"folder\"\npath = \"{}\"\n\n",
        corpus().display()
    )
}

fn cases() -> Vec<Case> {
    let head = good_head(); // lines 1-4
    vec![
        Case {
            name: "toml syntax error",
            toml: format!("{head}[stages.audio]\ntype = \"decode\"\ninputs = [\"tracks\"\n"),
            line: 7,
            key: "inputs",
            says: "TOML syntax error",
        },
        Case {
            name: "unknown type",
            toml: format!("{head}[stages.audio]\ntype = \"decoder\"\ninputs = [\"tracks\"]\n"),
            line: 6,
            key: "type",
            says: "unknown stage type 'decoder' (did you mean 'decode'?)",
        },
        Case {
            name: "unknown key",
            toml: format!(
                "{head}[stages.audio]\ntype = \"decode\"\ninputs = [\"tracks\"]\nmixx = \"mean\"\n"
            ),
            line: 8,
            key: "mixx",
            says: "unknown key for a 'decode' stage (did you mean 'mix'?)",
        },
        Case {
            name: "mistyped key",
            toml: format!(
                "{head}[stages.audio]\ntype = \"decode\"\ninputs = [\"tracks\"]\n\n[stages.rs]\ntype = \"resample\"\ninputs = [\"audio\"]\nrate = \"fast\"\n"
            ),
            line: 12,
            key: "rate",
            says: "expected integer, found a string",
        },
        Case {
            name: "value out of range",
            toml: format!(
                "{head}[stages.audio]\ntype = \"decode\"\ninputs = [\"tracks\"]\nmix = \"both\"\n"
            ),
            line: 8,
            key: "mix",
            says: "'both' is not one of mean, left, right",
        },
        Case {
            name: "missing input",
            toml: format!("{head}[stages.audio]\ntype = \"decode\"\n"),
            line: 5,
            key: "inputs",
            says: "missing 'inputs'",
        },
        Case {
            name: "unknown input",
            toml: format!("{head}[stages.audio]\ntype = \"decode\"\ninputs = [\"trakcs\"]\n"),
            line: 7,
            key: "inputs",
            says: "no stage named 'trakcs' (did you mean 'tracks'?)",
        },
        Case {
            name: "cycle",
            toml: format!(
                "{head}[stages.a]\ntype = \"resample\"\ninputs = [\"b\"]\n\n[stages.b]\ntype = \"resample\"\ninputs = [\"a\"]\n"
            ),
            line: 7,
            key: "inputs",
            says: "the inputs form a cycle: a -> b -> a",
        },
        Case {
            name: "kind mismatch",
            toml: format!("{head}[stages.wavs]\ntype = \"write-wav\"\ninputs = [\"tracks\"]\n"),
            line: 7,
            key: "inputs",
            says: "input 'tracks' produces tracks but a 'write-wav' stage reads audio",
        },
        Case {
            name: "missing required key",
            toml: "[stages.tracks]\ntype = \"folder\"\n".to_string(),
            line: 1,
            key: "path",
            says: "required key is missing",
        },
        Case {
            name: "source folder does not exist",
            toml: "[stages.tracks]\ntype = \"folder\"\npath = \"/no/such/folder\"\n".to_string(),
            line: 3,
            key: "path",
            says: "does not exist",
        },
    ]
}

#[test]
fn every_bad_pipeline_is_rejected_with_line_and_key_and_writes_nothing() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, &case.toml).unwrap();
        let out = dir.path().join("out");
        for cmd in ["run", "check"] {
            let o = eigentechno(
                &[cmd, file.to_str().unwrap(), "--out", out.to_str().unwrap()].as_slice()
                    [..if cmd == "run" { 4 } else { 2 }],
            );
            let (_stdout, stderr) = text(&o);
            assert_eq!(o.status.code(), Some(2), "{}: {cmd}: {stderr}", case.name);
            let at = format!("{}:{}:", file.display(), case.line);
            assert!(
                stderr.contains(&at),
                "{}: expected '{at}' in: {stderr}",
                case.name
            );
            assert!(
                stderr.contains(&format!("key '{}'", case.key)),
                "{}: expected key '{}' in: {stderr}",
                case.name,
                case.key
            );
            assert!(
                stderr.contains(case.says),
                "{}: expected '{}' in: {stderr}",
                case.name,
                case.says
            );
            assert!(!out.exists(), "{}: output folder was created", case.name);
        }
    }
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
