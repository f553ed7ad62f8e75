//! Pipeline text as written: TOML parsed with positions, and `--set` overrides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::{ConfigError, Location, did_you_mean, type_word};

/// A parameter value as written, with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct RawValue {
    /// The TOML value.
    pub value: toml::Value,
    /// Where it was written.
    pub location: Location,
    /// Folder that relative paths in it are relative to.
    pub base_dir: PathBuf,
}

/// One `[stages.NAME]` table as written.
#[derive(Clone, Debug, PartialEq)]
pub struct RawStage {
    /// The stage's name.
    pub name: String,
    /// Position of its table header.
    pub location: Location,
    /// `type = ...`, if present.
    pub type_name: Option<(String, Location)>,
    /// `inputs = [...]`: names and where the list is.
    pub inputs: Vec<String>,
    /// Where `inputs` was written (or the header if absent).
    pub inputs_location: Location,
    /// Every other key.
    pub params: BTreeMap<String, RawValue>,
}

/// A pipeline file as written, before validation.
#[derive(Clone, Debug, PartialEq)]
pub struct RawPipeline {
    /// The file.
    pub file: PathBuf,
    /// Keys of the `[pipeline]` table.
    pub settings: BTreeMap<String, RawValue>,
    /// Position of the `[pipeline]` header, if present.
    pub settings_location: Location,
    /// Stages in file order.
    pub stages: Vec<RawStage>,
}

fn line_col(text: &str, offset: usize) -> Location {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map(|i| offset - i).unwrap_or(offset + 1);
    Location::Line { line, column }
}

fn de_get<'a, 'i>(
    table: &'a DeTable<'i>,
    key: &str,
) -> Option<(
    &'a toml::Spanned<std::borrow::Cow<'i, str>>,
    &'a toml::Spanned<DeValue<'i>>,
)> {
    table.iter().find(|(k, _)| k.get_ref().as_ref() == key)
}

impl RawPipeline {
    /// Read and parse a pipeline file (syntax and layout only; see
    /// [`crate::pipeline::Pipeline::build`] for validation).
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
            file: file.to_path_buf(),
            location: Location::File,
            stage: None,
            key: None,
            message: format!("cannot read the pipeline file: {e}"),
        })?;
        Self::parse(file, &text)
    }

    /// Parse pipeline text; `file` names it in errors and anchors relative paths.
    pub fn parse(file: &Path, text: &str) -> Result<Self, ConfigError> {
        let err = |location: Location, stage: Option<&str>, key: Option<&str>, message: String| {
            ConfigError {
                file: file.to_path_buf(),
                location,
                stage: stage.map(str::to_string),
                key: key.map(str::to_string),
                message,
            }
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
        let spans = DeTable::parse(text).map_err(|e| syntax_error(file, text, &e))?;
        let spans = spans.get_ref();
        let base_dir = file
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let loc_of = |s: &toml::Spanned<std::borrow::Cow<'_, str>>| line_col(text, s.span().start);

        for key in table.keys() {
            if key != "pipeline" && key != "stages" {
                let (k, _) = de_get(spans, key).expect("same document");
                return Err(err(
                    loc_of(k),
                    None,
                    Some(key),
                    "unknown top-level table: a pipeline file has [pipeline] settings and [stages.NAME] tables".into(),
                ));
            }
        }

        let mut settings = BTreeMap::new();
        let mut settings_location = Location::File;
        if let Some(v) = table.get("pipeline") {
            let (k, dv) = de_get(spans, "pipeline").expect("same document");
            settings_location = loc_of(k);
            let (Some(t), DeValue::Table(dt)) = (v.as_table(), dv.get_ref()) else {
                return Err(err(
                    settings_location,
                    None,
                    Some("pipeline"),
                    "[pipeline] must be a table".into(),
                ));
            };
            for (key, value) in t {
                let (kspan, _) = de_get(dt, key).expect("same table");
                settings.insert(
                    key.clone(),
                    RawValue {
                        value: value.clone(),
                        location: loc_of(kspan),
                        base_dir: base_dir.clone(),
                    },
                );
            }
        }

        let mut stages = Vec::new();
        if let Some(v) = table.get("stages") {
            let (k, dv) = de_get(spans, "stages").expect("same document");
            let (Some(t), DeValue::Table(dt)) = (v.as_table(), dv.get_ref()) else {
                return Err(err(
                    loc_of(k),
                    None,
                    Some("stages"),
                    "stages must be tables: [stages.NAME]".into(),
                ));
            };
            // File order, so messages and listings follow what the user wrote.
            let mut entries: Vec<_> = t.iter().collect();
            entries.sort_by_key(|(name, _)| {
                de_get(dt, name).map(|(k, _)| k.span().start).unwrap_or(0)
            });
            for (name, value) in entries {
                let (kspan, dval) = de_get(dt, name).expect("same table");
                let location = loc_of(kspan);
                let (Some(st), DeValue::Table(sdt)) = (value.as_table(), dval.get_ref()) else {
                    return Err(err(
                        location,
                        Some(name),
                        None,
                        format!("[stages.{name}] must be a table"),
                    ));
                };
                check_name(name).map_err(|m| err(location.clone(), Some(name), None, m))?;
                let mut stage = RawStage {
                    name: name.clone(),
                    location: location.clone(),
                    type_name: None,
                    inputs: Vec::new(),
                    inputs_location: location.clone(),
                    params: BTreeMap::new(),
                };
                for (key, v) in st {
                    let (kspan, _) = de_get(sdt, key).expect("same table");
                    let kloc = loc_of(kspan);
                    match key.as_str() {
                        "type" => {
                            let Some(s) = v.as_str() else {
                                return Err(err(
                                    kloc,
                                    Some(name),
                                    Some("type"),
                                    format!("expected a string, found {}", type_word(v)),
                                ));
                            };
                            stage.type_name = Some((s.to_string(), kloc));
                        }
                        "inputs" => {
                            stage.inputs_location = kloc.clone();
                            stage.inputs = parse_inputs(v)
                                .map_err(|m| err(kloc, Some(name), Some("inputs"), m))?;
                        }
                        _ => {
                            stage.params.insert(
                                key.clone(),
                                RawValue {
                                    value: v.clone(),
                                    location: kloc,
                                    base_dir: base_dir.clone(),
                                },
                            );
                        }
                    }
                }
                stages.push(stage);
            }
        }
        Ok(RawPipeline {
            file: file.to_path_buf(),
            settings,
            settings_location,
            stages,
        })
    }

    /// Apply a `--set NAME.KEY=VALUE` override (`NAME` = `pipeline` for settings).
    /// VALUE is read as a TOML value, or as a plain string if it is not one.
    pub fn apply_override(&mut self, arg: &str) -> Result<(), ConfigError> {
        let err = |stage: Option<&str>, key: Option<&str>, message: String| ConfigError {
            file: self.file.clone(),
            location: Location::Override(arg.to_string()),
            stage: stage.map(str::to_string),
            key: key.map(str::to_string),
            message,
        };
        let Some((target, raw_value)) = arg.split_once('=') else {
            return Err(err(None, None, "expected NAME.KEY=VALUE".into()));
        };
        let Some((stage_name, key)) = target.trim().rsplit_once('.') else {
            return Err(err(None, None, "expected NAME.KEY=VALUE".into()));
        };
        let (stage_name, key) = (stage_name.trim(), key.trim());
        let value = parse_override_value(raw_value);
        let new = RawValue {
            value: value.clone(),
            location: Location::Override(arg.to_string()),
            base_dir: PathBuf::from("."),
        };
        if stage_name == "pipeline" {
            self.settings.insert(key.to_string(), new);
            return Ok(());
        }
        let names: Vec<String> = self.stages.iter().map(|s| s.name.clone()).collect();
        let Some(stage) = self.stages.iter_mut().find(|s| s.name == stage_name) else {
            return Err(err(
                Some(stage_name),
                Some(key),
                format!(
                    "no stage named '{stage_name}'{}",
                    did_you_mean(stage_name, names.iter().map(|s| s.as_str()))
                ),
            ));
        };
        match key {
            "type" => {
                let Some(s) = value.as_str() else {
                    return Err(err(Some(stage_name), Some(key), "expected a string".into()));
                };
                stage.type_name = Some((s.to_string(), Location::Override(arg.to_string())));
            }
            "inputs" => {
                stage.inputs =
                    parse_inputs(&value).map_err(|m| err(Some(stage_name), Some(key), m))?;
                stage.inputs_location = Location::Override(arg.to_string());
            }
            _ => {
                stage.params.insert(key.to_string(), new);
            }
        }
        Ok(())
    }
}

/// A TOML syntax error with its line, the key written on that line (if any), the
/// stage table it sits in, and the offending line itself.
fn syntax_error(file: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let offset = e.span().map(|s| s.start).unwrap_or(0);
    let location = e
        .span()
        .map(|s| line_col(text, s.start))
        .unwrap_or(Location::File);
    let line_no = match location {
        Location::Line { line, .. } => line,
        _ => 0,
    };
    let line_text = text
        .lines()
        .nth(line_no.saturating_sub(1))
        .unwrap_or("")
        .trim();
    let key = line_text
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    // The nearest [stages.NAME] header above the error.
    let stage = text[..offset.min(text.len())].lines().rev().find_map(|l| {
        l.trim()
            .strip_prefix("[stages.")
            .and_then(|r| r.strip_suffix(']'))
            .map(|n| n.trim().to_string())
    });
    ConfigError {
        file: file.to_path_buf(),
        location,
        stage,
        key,
        message: format!(
            "TOML syntax error: {} (in: {line_text})",
            e.message().trim()
        ),
    }
}

pub(super) fn parse_override_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    toml::from_str::<toml::Table>(&doc)
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

fn check_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(())
    } else {
        Err(
            "stage names may use letters, digits, '-' and '_' only (they name output folders)"
                .into(),
        )
    }
}

fn parse_inputs(v: &toml::Value) -> Result<Vec<String>, String> {
    match v {
        toml::Value::String(s) => Ok(vec![s.clone()]),
        toml::Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("expected stage names, found {}", type_word(x)))
            })
            .collect(),
        other => Err(format!(
            "expected a list of stage names, found {}",
            type_word(other)
        )),
    }
}
