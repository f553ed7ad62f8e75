//! Every stage type's declaration against the code that reads it and the README.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use eigentechno::pipeline::{Location, PIPELINE_PARAMS, ParamSpec, ParamType, Params, Registry};

/// Read every defaulted parameter through the getter of its declared type.
fn check_defaults(owner: &str, specs: &'static [ParamSpec]) -> Vec<String> {
    let mut problems = Vec::new();
    // Params::new wants required keys given: check the defaulted ones on their own.
    let defaulted: &'static [ParamSpec] = Box::leak(
        specs
            .iter()
            .filter(|s| s.default.is_some())
            .copied()
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let values = BTreeMap::new();
    let params = Params::new(
        Path::new("defaults.toml"),
        owner,
        Location::File,
        defaulted,
        &values,
        owner,
    )
    .unwrap_or_else(|e| panic!("{owner}: {e}"));
    for spec in defaulted {
        let literal = spec.default.unwrap();
        let parsed = match spec.ty {
            ParamType::Int => params.int(spec.name).map(drop),
            ParamType::Float => params.float(spec.name).map(drop),
            ParamType::Bool => params.bool(spec.name).map(drop),
            ParamType::Str => params.string(spec.name).map(drop),
            ParamType::Path => params.optional_path(spec.name).map(drop),
            ParamType::Choice(_) => params.choice(spec.name).map(drop),
            ParamType::StrList => params.string_list(spec.name).map(drop),
            ParamType::IntList => params.int_list(spec.name, i64::MIN, i64::MAX).map(drop),
        };
        // The literal must be TOML of that type, not a string that merely looks right.
        let toml_ok = toml::from_str::<toml::Table>(&format!("v = {literal}")).is_ok();
        match parsed {
            Ok(()) if toml_ok => {}
            Ok(()) => problems.push(format!(
                "{owner}.{}: default {literal} is not a TOML value",
                spec.name
            )),
            Err(e) => problems.push(format!(
                "{owner}.{}: default {literal} is not a {}: {e}",
                spec.name, spec.ty
            )),
        }
    }
    problems
}

#[test]
fn every_default_parses_as_its_declared_type() {
    let registry = Registry::builtin();
    let mut problems = check_defaults("[pipeline]", PIPELINE_PARAMS);
    let mut checked = PIPELINE_PARAMS.len();
    for t in registry.iter() {
        problems.extend(check_defaults(t.name(), t.params()));
        checked += t.params().len();
    }
    assert!(checked > 60, "only {checked} parameters");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The stage types in README.md's table (the rows under its `| type | runs |` header).
fn readme_stage_types() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let mut lines = readme
        .lines()
        .skip_while(|l| !l.starts_with("| type | runs |"));
    assert!(lines.next().is_some(), "README.md has no stage table");
    lines
        .skip(1) // the | --- | row
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let cell = l.trim_start_matches('|').split('|').next()?.trim();
            Some(cell.trim_matches('`').to_string())
        })
        .collect()
}

#[test]
fn the_readme_stage_table_lists_every_registered_type() {
    let listed = readme_stage_types();
    let registered: BTreeSet<String> = Registry::builtin()
        .names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let missing: Vec<&String> = registered.difference(&listed).collect();
    let unknown: Vec<&String> = listed.difference(&registered).collect();
    assert!(
        missing.is_empty(),
        "stage types missing from README.md's table: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "README.md's table lists types that are not registered: {unknown:?}"
    );
}
