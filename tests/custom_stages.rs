//! The library's extension point: user-defined stage types registered next to the
//! built-in ones, including the collecting and whole-run modes, and a fan-out where
//! one stage feeds two.

use crate::common;

use std::io::Write;

use common::*;
use eigentechno::pipeline::*;

/// Collects "name frames" lines in track order (failures as "name FAILED").
struct FramesType;
struct FramesStage {
    lines: Vec<String>,
}

const NO_PARAMS: &[ParamSpec] = &[];

const FRAMES: StageInfo = StageInfo {
    name: "frames",
    about: "test: frames per track",
    mode: Mode::Collect,
    consumes: &[Kind::Audio],
    produces: Kind::Files,
    arity: None,
    params: NO_PARAMS,
};

impl StageType for FramesType {
    fn info(&self) -> &'static StageInfo {
        &FRAMES
    }
    fn build(&self, _: &Params<'_>, _: &BuildContext<'_>) -> Result<Stage, ConfigError> {
        Ok(Stage::Collect(Box::new(FramesStage { lines: Vec::new() })))
    }
}

impl CollectStage for FramesStage {
    fn accept(
        &mut self,
        track: &Track,
        report: &eigentechno::pipeline::TrackReport,
        input: Option<Payload>,
        _: &StageContext,
    ) -> eigentechno::Result<()> {
        let line = match input {
            Some(Payload::Audio(a)) => format!("{} {}", track.name, a.into_signal()?.samples.len()),
            Some(_) => unreachable!(),
            None => format!("{} {}", track.name, report.status.as_str().to_uppercase()),
        };
        self.lines.push(line);
        Ok(())
    }
    fn finish(&mut self, ctx: &StageContext) -> eigentechno::Result<Payload> {
        let path = ctx.stage_dir().join("frames.txt");
        eigentechno::store::write_atomic(&path, self.lines.join("\n").as_bytes())?;
        Ok(Payload::Files(vec![path]))
    }
}

/// Counts the lines of its input files, once.
struct CountType;
struct CountStage;

const COUNT: StageInfo = StageInfo {
    name: "count-lines",
    about: "test: count lines",
    mode: Mode::Whole,
    consumes: &[Kind::Files],
    produces: Kind::Files,
    arity: None,
    params: NO_PARAMS,
};

impl StageType for CountType {
    fn info(&self) -> &'static StageInfo {
        &COUNT
    }
    fn build(&self, _: &Params<'_>, _: &BuildContext<'_>) -> Result<Stage, ConfigError> {
        Ok(Stage::Whole(Box::new(CountStage)))
    }
}

impl WholeStage for CountStage {
    fn run(&self, inputs: Vec<Payload>, ctx: &StageContext) -> eigentechno::Result<Payload> {
        let Payload::Files(files) = &inputs[0] else {
            unreachable!()
        };
        let n = std::fs::read_to_string(&files[0]).unwrap().lines().count();
        let path = ctx.stage_dir().join("count.txt");
        std::fs::create_dir_all(ctx.stage_dir()).unwrap();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(n.to_string().as_bytes())
            .unwrap();
        Ok(Payload::Files(vec![path]))
    }
}

fn registry() -> Registry {
    let mut r = Registry::builtin();
    r.register(Box::new(FramesType));
    r.register(Box::new(CountType));
    r
}

fn pipeline_text(folder: &std::path::Path) -> String {
    format!(
        r#"
[stages.tracks]
type = "folder"
path = "{}"

[stages.decoded]
type = "decode"
inputs = ["tracks"]

# decoded feeds two stages: the stream is shared.
[stages.native]
type = "write-wav"
inputs = ["decoded"]
format = "float32"

[stages.rs]
type = "resample"
inputs = ["decoded"]
rate = 8820

[stages.frames]
type = "frames"
inputs = ["rs"]

[stages.count]
type = "count-lines"
inputs = ["frames"]
"#,
        folder.display()
    )
}

fn run_it(folder: &std::path::Path, out: &std::path::Path, threads: usize) -> RunReport {
    let raw = RawPipeline::parse("custom.toml".as_ref(), &pipeline_text(folder)).unwrap();
    let mut p = Pipeline::build(raw, &registry()).unwrap();
    run(
        &mut p,
        &RunOptions {
            threads,
            ..RunOptions::new(out)
        },
    )
    .unwrap()
}

#[test]
fn collecting_and_whole_stages_see_every_track_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir(&music).unwrap();
    for t in corpus_tracks().iter().take(5) {
        std::fs::copy(t, music.join(t.file_name().unwrap())).unwrap();
    }
    std::fs::write(music.join("broken.flac"), b"fLaC but nothing else").unwrap();
    let out1 = dir.path().join("o1");
    let report = run_it(&music, &out1, 1);
    let frames = std::fs::read_to_string(out1.join("frames/frames.txt")).unwrap();
    let lines: Vec<&str> = frames.lines().collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0], "broken FAILED");
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "tracks arrive in path order");
    // Frame counts agree with the annotations (exact resampled length).
    for line in &lines[1..] {
        let (name, n) = line.split_once(' ').unwrap();
        let track = corpus_tracks()
            .into_iter()
            .find(|t| t.file_stem().unwrap() == name)
            .unwrap();
        let a = annotation(&track);
        let src = (a.duration * a.sample_rate as f64).round() as u64;
        assert_eq!(
            n.parse::<u64>().unwrap(),
            (src * 8_820).div_ceil(a.sample_rate as u64),
            "{name}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(out1.join("count/count.txt")).unwrap(),
        "6"
    );
    // The fan-out also wrote native-rate WAVs.
    assert_eq!(std::fs::read_dir(out1.join("native")).unwrap().count(), 5);
    assert_eq!(report.failures().count(), 1);
    assert_eq!(
        report
            .stages
            .iter()
            .find(|s| s.name == "count")
            .unwrap()
            .files,
        vec!["count/count.txt"]
    );

    // Same with two threads, byte for byte.
    let out2 = dir.path().join("o2");
    run_it(&music, &out2, 2);
    // summary.json too, but for the stages' wall times.
    let without_seconds = |(name, bytes): (String, Vec<u8>)| {
        if name != "summary.json" {
            return (name, bytes);
        }
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for st in v["stages"].as_array_mut().unwrap() {
            st.as_object_mut().unwrap().remove("seconds");
        }
        (name, serde_json::to_vec(&v).unwrap())
    };
    let (t1, t2) = (tree(&out1), tree(&out2));
    assert_eq!(
        t1.into_iter().map(without_seconds).collect::<Vec<_>>(),
        t2.into_iter().map(without_seconds).collect::<Vec<_>>()
    );
}

#[test]
fn a_whole_stage_cannot_read_per_track_items() {
    let text = format!(
        "[stages.tracks]\ntype = \"folder\"\npath = \"{}\"\n\n[stages.count]\ntype = \"count-lines\"\ninputs = [\"tracks\"]\n",
        corpus().display()
    );
    let raw = RawPipeline::parse("x.toml".as_ref(), &text).unwrap();
    let e = Pipeline::build(raw, &registry()).err().unwrap();
    assert_eq!(e.key.as_deref(), Some("inputs"));
    assert!(
        e.to_string()
            .contains("produces tracks but a 'count-lines' stage reads files"),
        "{e}"
    );
}
