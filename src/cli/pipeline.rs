//! `run`, `ingest`, `check` and `stages`.

use std::path::Path;

use super::{Failure, Outcome, usage};
use eigentechno::ops::{self, IngestParams, RunOutcome, RunSettings, TrackInput};
use eigentechno::pipeline::{PIPELINE_PARAMS, Registry};

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

/// Print the run's summary (only its failures under `--quiet`).
fn summarise(done: &RunOutcome, quiet: bool) -> Outcome {
    let text = done.report.summary_text(&done.out_dir);
    if !quiet {
        print!("{text}");
    } else if done.report.has_failures() {
        eprint!("{text}");
    }
    if done.failed() {
        Err(Failure::Reported)
    } else {
        Ok(())
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
            let default = p
                .default
                .map(|d| format!("default {d}"))
                .unwrap_or_else(|| "required".into());
            let _ = writeln!(
                s,
                "    {:<12} {:<24} {:<18} {}",
                p.name,
                p.ty.to_string(),
                default,
                p.help
            );
        }
        s.push('\n');
    }
    let _ = writeln!(s, "[pipeline] settings:");
    for p in PIPELINE_PARAMS {
        let _ = writeln!(
            s,
            "    {:<12} {:<24} default {:<10} {}",
            p.name,
            p.ty.to_string(),
            p.default.unwrap_or(""),
            p.help
        );
    }
    s
}
