//! Pipeline files: TOML parsed with positions, so every error names its line and key,
//! and stage parameters validated into typed values before anything runs.
//!
//! ```toml
//! [pipeline]
//! out = "out/example"        # optional; --out overrides
//!
//! [stages.tracks]
//! type = "folder"
//! path = "../fixtures/corpus"  # relative to this file
//!
//! [stages.decoded]
//! type = "decode"
//! inputs = ["tracks"]
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

/// A rejected pipeline: where, and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    /// The pipeline file.
    pub file: PathBuf,
    /// Where the fault is (1-based line and column), or the `--set` argument at fault.
    pub location: Location,
    /// The stage at fault, if any.
    pub stage: Option<String>,
    /// The key at fault, if any.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Location {
    /// Line and column in the pipeline file (1-based).
    Line {
        /// Line number.
        line: usize,
        /// Column number.
        column: usize,
    },
    /// A `--set NAME.KEY=VALUE` argument.
    Override(String),
    /// The file as a whole (it could not be read, or the fault has no position).
    File,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        match &self.location {
            Location::Line { line, column } => write!(f, ":{line}:{column}")?,
            Location::Override(arg) => write!(f, " (--set {arg})")?,
            Location::File => {}
        }
        write!(f, ": ")?;
        match (&self.stage, &self.key) {
            (Some(s), Some(k)) => write!(f, "stage '{s}', key '{k}': ")?,
            (Some(s), None) => write!(f, "stage '{s}': ")?,
            (None, Some(k)) => write!(f, "key '{k}': ")?,
            (None, None) => {}
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A parameter's type, as stated in a stage's [`ParamSpec`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamType {
    /// A whole number.
    Int,
    /// A number (integers accepted).
    Float,
    /// `true` or `false`.
    Bool,
    /// Any string.
    Str,
    /// A file or folder; relative paths are taken from the pipeline file's folder
    /// (or, for `--set`, from the current folder).
    Path,
    /// One of a fixed set of strings.
    Choice(&'static [&'static str]),
    /// A list of strings.
    StrList,
    /// A list of whole numbers.
    IntList,
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamType::Int => write!(f, "integer"),
            ParamType::Float => write!(f, "number"),
            ParamType::Bool => write!(f, "boolean"),
            ParamType::Str => write!(f, "string"),
            ParamType::Path => write!(f, "path"),
            ParamType::Choice(c) => write!(f, "one of {}", c.join("|")),
            ParamType::StrList => write!(f, "list of strings"),
            ParamType::IntList => write!(f, "list of integers"),
        }
    }
}

/// One parameter of a stage type: the single source of truth for its name, type,
/// default and help, used both to validate pipelines and to list stages.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    /// Key in the stage's table.
    pub name: &'static str,
    /// Its type.
    pub ty: ParamType,
    /// Default as a TOML literal (`None`: required).
    pub default: Option<&'static str>,
    /// One line of help.
    pub help: &'static str,
}

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

fn parse_override_value(raw: &str) -> toml::Value {
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

/// Remove `.` and `name/..` pairs without touching the file system, so
/// `pipelines/../fixtures` reads as `fixtures` in messages and summaries.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

/// A word for a TOML value's type, for messages.
pub fn type_word(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// ", did you mean 'x'?" when a known word is close to `word`.
pub fn did_you_mean<'a>(word: &str, known: impl Iterator<Item = &'a str>) -> String {
    known
        .map(|k| (edit_distance(word, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| format!(" (did you mean '{k}'?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A stage's parameters checked against its [`ParamSpec`]s, read with typed getters.
/// Unknown keys are rejected when this is made; each getter checks the type and
/// falls back to the spec's default.
pub struct Params<'a> {
    file: &'a Path,
    stage: &'a str,
    stage_location: Location,
    specs: &'static [ParamSpec],
    values: &'a BTreeMap<String, RawValue>,
}

impl<'a> Params<'a> {
    /// Check that every key is known; `kind` names the table in messages.
    pub fn new(
        file: &'a Path,
        stage: &'a str,
        stage_location: Location,
        specs: &'static [ParamSpec],
        values: &'a BTreeMap<String, RawValue>,
        kind: &str,
    ) -> Result<Self, ConfigError> {
        let p = Params {
            file,
            stage,
            stage_location,
            specs,
            values,
        };
        for (key, v) in values {
            if !specs.iter().any(|s| s.name == key) {
                let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
                let list = if names.is_empty() {
                    "it takes no parameters".to_string()
                } else {
                    format!("known keys: {}", names.join(", "))
                };
                return Err(p.error_at(
                    v.location.clone(),
                    key,
                    format!(
                        "unknown key for {kind}{}; {list}",
                        did_you_mean(key, names.iter().copied())
                    ),
                ));
            }
        }
        // Required keys.
        for spec in specs {
            if spec.default.is_none() && !values.contains_key(spec.name) {
                return Err(p.error_at(
                    p.stage_location.clone(),
                    spec.name,
                    format!("required key is missing ({}: {})", spec.ty, spec.help),
                ));
            }
        }
        Ok(p)
    }

    fn error_at(&self, location: Location, key: &str, message: String) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            location,
            stage: if self.stage.is_empty() {
                None
            } else {
                Some(self.stage.to_string())
            },
            key: Some(key.to_string()),
            message,
        }
    }

    /// An error about `key`, placed at its value (or at the stage header if defaulted).
    pub fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let loc = self
            .values
            .get(key)
            .map(|v| v.location.clone())
            .unwrap_or_else(|| self.stage_location.clone());
        self.error_at(loc, key, message.into())
    }

    fn spec(&self, key: &str) -> &ParamSpec {
        self.specs
            .iter()
            .find(|s| s.name == key)
            .unwrap_or_else(|| {
                panic!(
                    "stage '{}' reads key '{key}' that its ParamSpec list lacks",
                    self.stage
                )
            })
    }

    fn raw(&self, key: &str) -> (toml::Value, PathBuf) {
        if let Some(v) = self.values.get(key) {
            return (v.value.clone(), v.base_dir.clone());
        }
        let lit = self
            .spec(key)
            .default
            .expect("required keys were checked in Params::new");
        (parse_override_value(lit), PathBuf::from("."))
    }

    fn mistyped(&self, key: &str, v: &toml::Value) -> ConfigError {
        self.error(
            key,
            format!("expected {}, found {}", self.spec(key).ty, type_word(v)),
        )
    }

    /// Whether the key was given (rather than defaulted).
    pub fn is_set(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// An integer.
    pub fn int(&self, key: &str) -> Result<i64, ConfigError> {
        match self.raw(key).0 {
            toml::Value::Integer(i) => Ok(i),
            v => Err(self.mistyped(key, &v)),
        }
    }

    /// An integer within `lo..=hi`.
    pub fn int_in(&self, key: &str, lo: i64, hi: i64) -> Result<i64, ConfigError> {
        let v = self.int(key)?;
        if v < lo || v > hi {
            return Err(self.error(key, format!("expected {lo} to {hi}, got {v}")));
        }
        Ok(v)
    }

    /// A number (an integer is accepted).
    pub fn float(&self, key: &str) -> Result<f64, ConfigError> {
        match self.raw(key).0 {
            toml::Value::Float(f) if f.is_finite() => Ok(f),
            toml::Value::Integer(i) => Ok(i as f64),
            v => Err(self.mistyped(key, &v)),
        }
    }

    /// A number within `lo..=hi`.
    pub fn float_in(&self, key: &str, lo: f64, hi: f64) -> Result<f64, ConfigError> {
        let v = self.float(key)?;
        if !(lo..=hi).contains(&v) {
            return Err(self.error(key, format!("expected {lo} to {hi}, got {v}")));
        }
        Ok(v)
    }

    /// A boolean.
    pub fn bool(&self, key: &str) -> Result<bool, ConfigError> {
        match self.raw(key).0 {
            toml::Value::Boolean(b) => Ok(b),
            v => Err(self.mistyped(key, &v)),
        }
    }

    /// A string.
    pub fn string(&self, key: &str) -> Result<String, ConfigError> {
        match self.raw(key).0 {
            toml::Value::String(s) => Ok(s),
            v => Err(self.mistyped(key, &v)),
        }
    }

    /// One of the spec's choices.
    pub fn choice(&self, key: &str) -> Result<String, ConfigError> {
        let s = self.string(key)?;
        if let ParamType::Choice(options) = self.spec(key).ty
            && !options.contains(&s.as_str())
        {
            return Err(self.error(
                key,
                format!(
                    "'{s}' is not one of {}{}",
                    options.join(", "),
                    did_you_mean(&s, options.iter().copied())
                ),
            ));
        }
        Ok(s)
    }

    /// A path, resolved against the folder it is relative to.
    pub fn path(&self, key: &str) -> Result<PathBuf, ConfigError> {
        let (v, base) = self.raw(key);
        match v {
            toml::Value::String(s) if !s.is_empty() => {
                let p = PathBuf::from(&s);
                Ok(if p.is_absolute() {
                    p
                } else {
                    normalize(&base.join(p))
                })
            }
            v => Err(self.mistyped(key, &v)),
        }
    }

    /// A path, or `None` when the value is the empty string.
    pub fn optional_path(&self, key: &str) -> Result<Option<PathBuf>, ConfigError> {
        match self.raw(key).0 {
            toml::Value::String(s) if s.is_empty() => Ok(None),
            _ => self.path(key).map(Some),
        }
    }

    /// A list of strings.
    pub fn string_list(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        match self.raw(key).0 {
            toml::Value::Array(a) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.mistyped(key, x))
                })
                .collect(),
            v => Err(self.mistyped(key, &v)),
        }
    }

    /// A list of whole numbers, each within `lo..=hi`.
    pub fn int_list(&self, key: &str, lo: i64, hi: i64) -> Result<Vec<i64>, ConfigError> {
        match self.raw(key).0 {
            toml::Value::Array(a) => a
                .iter()
                .map(|x| match x.as_integer() {
                    Some(i) if (lo..=hi).contains(&i) => Ok(i),
                    Some(i) => {
                        Err(self.error(key, format!("expected values {lo} to {hi}, got {i}")))
                    }
                    None => Err(self.mistyped(key, x)),
                })
                .collect(),
            v => Err(self.mistyped(key, &v)),
        }
    }

    /// A canonical text of every parameter value (defaults included), for fingerprints.
    pub fn canonical(&self) -> String {
        self.specs
            .iter()
            .map(|s| format!("{}={}", s.name, self.raw(s.name).0))
            .collect::<Vec<_>>()
            .join(";")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_stages_and_keys() {
        let text = "[pipeline]\nthreads = 2\n\n[stages.a]\ntype = \"folder\"\npath = \"x\"\n\n[stages.b]\ntype = \"decode\"\ninputs = [\"a\"]\n";
        let p = RawPipeline::parse(Path::new("dir/p.toml"), text).unwrap();
        assert_eq!(p.stages.len(), 2);
        assert_eq!(p.stages[0].name, "a");
        assert_eq!(p.stages[0].location, Location::Line { line: 4, column: 9 });
        assert_eq!(p.stages[1].inputs, vec!["a"]);
        assert_eq!(
            p.stages[1].inputs_location,
            Location::Line {
                line: 10,
                column: 1
            }
        );
        assert_eq!(
            p.stages[0].params["path"].location,
            Location::Line { line: 6, column: 1 }
        );
        assert_eq!(p.stages[0].params["path"].base_dir, PathBuf::from("dir"));
        assert_eq!(p.settings["threads"].value, toml::Value::Integer(2));
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = RawPipeline::parse(Path::new("p.toml"), "[stages.a]\ntype = \"x\"\npath = \n")
            .unwrap_err();
        assert!(matches!(e.location, Location::Line { line: 3, .. }), "{e}");
        assert!(e.to_string().starts_with("p.toml:3:"), "{e}");
    }

    #[test]
    fn overrides_parse_values() {
        let mut p =
            RawPipeline::parse(Path::new("p.toml"), "[stages.a]\ntype = \"folder\"\n").unwrap();
        p.apply_override("a.path=/music").unwrap();
        p.apply_override("a.max_tracks=3").unwrap();
        assert_eq!(
            p.stages[0].params["path"].value,
            toml::Value::String("/music".into())
        );
        assert_eq!(
            p.stages[0].params["max_tracks"].value,
            toml::Value::Integer(3)
        );
        let e = p.apply_override("nope.path=1").unwrap_err();
        assert!(e.to_string().contains("no stage named 'nope'"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("rat", ["rate", "format"].into_iter()),
            " (did you mean 'rate'?)"
        );
        assert_eq!(did_you_mean("zzzzzz", ["rate"].into_iter()), "");
    }
}
