//! Typed, checked access to one stage's parameters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::raw::{RawValue, parse_override_value};
use super::{ConfigError, Location, ParamSpec, ParamType, did_you_mean, type_word};

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
            return Err(self.error(key, format!("expected {}, got {v}", int_range(lo, hi))));
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
                let p = expand_home(Path::new(&s));
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
                    Some(i) => Err(self.error(
                        key,
                        format!("expected values {}, got {i}", int_range(lo, hi)),
                    )),
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

/// `lo..=hi` in words; an open end (the type's limit) is not spelled out.
pub(crate) fn int_range(lo: i64, hi: i64) -> String {
    match (lo == i64::MIN, hi == i64::MAX) {
        (true, true) => "a whole number".into(),
        (false, true) => format!("a whole number of at least {lo}"),
        (true, false) => format!("a whole number of at most {hi}"),
        (false, false) => format!("{lo} to {hi}"),
    }
}

/// `~` or `~/...` at the start of a path, as a shell would expand it (from `HOME`): a
/// shell leaves `--set tracks.path=~/Music` alone, since the `~` follows an `=`. Other
/// paths, and `~user` forms, are returned as they are.
pub fn expand_home(path: &Path) -> PathBuf {
    let mut parts = path.components();
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty());
    match (parts.next(), home) {
        (Some(std::path::Component::Normal(first)), Some(home)) if first == "~" => {
            let rest = parts.as_path();
            if rest.as_os_str().is_empty() {
                PathBuf::from(home)
            } else {
                PathBuf::from(home).join(rest)
            }
        }
        _ => path.to_path_buf(),
    }
}
