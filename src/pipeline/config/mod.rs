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

mod params;
mod raw;

pub use crate::error::{ConfigError, Location};
pub use params::{Params, expand_home};
pub use raw::{RawPipeline, RawStage, RawValue};

use std::fmt;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

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
