//! `run`, `ingest`, `check` and `stages`.

use std::path::Path;

use super::{Failure, Outcome, usage};
use eigentechno::ops::{self, IngestParams, RunOutcome, RunSettings, TrackInput};
use eigentechno::pipeline::{PIPELINE_PARAMS, Registry, RunStatus};

pub fn run(file: &Path, overrides: &[String], settings: RunSettings) -> Outcome {
    let pipeline = ops::load_pipeline(file, overrides).map_err(usage)?;
    let quiet = settings.quiet;
    summarise(&ops::run_pipeline(pipeline, file, &settings)?, quiet)
}

pub fn ingest(dir: &Path, out: &Path, params: &IngestParams, quiet: bool) -> Outcome {
    let opts = params.check().map_err(usage)?;
    let report = ops::ingest_to_dir(&TrackInput::path(dir), out, &opts)?;
    let outcome = RunOutcome {
        report,
        out_dir: out.to_path_buf(),
        strict: params.strict,
    };
    summarise(&outcome, quiet)
}

/// Print the run's summary on stdout (nothing under `--quiet`) and what went wrong on
/// stderr; the exit code follows [`eigentechno::pipeline::RunReport::status`]: 1 when a
/// stage failed or no track gave a result (or a track failed under `--strict`), 3 when
/// the run finished without some tracks.
fn summarise(done: &RunOutcome, quiet: bool) -> Outcome {
    if !quiet {
        print!("{}", done.report.summary_text(&done.out_dir));
    }
    eprint!("{}", done.report.problems_text());
    match done.report.status() {
        RunStatus::Failed => Err(Failure::Reported),
        _ if done.failed() => Err(Failure::Reported),
        RunStatus::PartlyFailed => Err(Failure::PartlyFailed),
        RunStatus::Complete => Ok(()),
    }
}

pub fn check(file: &Path, overrides: &[String]) -> Outcome {
    let p = ops::load_pipeline(file, overrides).map_err(usage)?;
    println!("{}: ok, {} stages", file.display(), p.nodes.len());
    for n in &p.nodes {
        let inputs: Vec<&str> = n.inputs.iter().map(|&i| p.nodes[i].name.as_str()).collect();
        let from = if inputs.is_empty() {
            String::new()
        } else {
            format!(" <- {}", inputs.join(", "))
        };
        println!("  {} ({}, {}){from}", n.name, n.type_name, n.produces);
    }
    Ok(())
}

pub fn stage_types(json: bool) -> Outcome {
    print!("{}", stages_text(&Registry::builtin(), json));
    Ok(())
}

fn stages_text(registry: &Registry, json: bool) -> String {
    use std::fmt::Write;
    if json {
        let list: Vec<serde_json::Value> = registry
            .iter()
            .map(|t| {
                serde_json::json!({
                    "type": t.name(),
                    "about": t.about(),
                    "mode": t.mode().to_string(),
                    "consumes": t.consumes().iter().map(|k| k.to_string()).collect::<Vec<_>>(),
                    "produces": t.produces().to_string(),
                    "params": t.params().iter().map(|p| serde_json::json!({
                        "name": p.name, "type": p.ty.to_string(), "default": p.default, "help": p.help,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        return serde_json::to_string_pretty(&list).expect("json") + "\n";
    }
    // One column width for every table, from the longest entry, so long names align.
    let all_params = registry
        .iter()
        .flat_map(|t| t.params().iter())
        .chain(PIPELINE_PARAMS.iter());
    let (mut wn, mut wt, mut wd) = (0, 0, 0);
    for p in all_params {
        wn = wn.max(p.name.len());
        wt = wt.max(p.ty.to_string().len());
        wd = wd.max(default_word(p.default).len());
    }
    let mut s = String::new();
    for t in registry.iter() {
        let consumes = if t.consumes().is_empty() {
            "nothing".to_string()
        } else {
            t.consumes()
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        };
        let _ = writeln!(
            s,
            "{}  ({}; consumes {consumes}; produces {})",
            t.name(),
            t.mode(),
            t.produces()
        );
        let _ = writeln!(s, "    {}", t.about());
        for p in t.params() {
            let _ = writeln!(
                s,
                "    {:<wn$}  {:<wt$}  {:<wd$}  {}",
                p.name,
                p.ty.to_string(),
                default_word(p.default),
                p.help
            );
        }
        s.push('\n');
    }
    let _ = writeln!(s, "[pipeline] settings:");
    for p in PIPELINE_PARAMS {
        let _ = writeln!(
            s,
            "    {:<wn$}  {:<wt$}  {:<wd$}  {}",
            p.name,
            p.ty.to_string(),
            default_word(p.default),
            p.help
        );
    }
    s
}

fn default_word(default: Option<&str>) -> String {
    default
        .map(|d| format!("default {d}"))
        .unwrap_or_else(|| "required".into())
}
