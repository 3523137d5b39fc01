//! Reading the file and the environment into a [`Config`], reporting every problem.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::locate::line_of;
use super::schema::Config;

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File {
        path: PathBuf,
        line: Option<usize>,
    },
    Env {
        var: String,
    },
    /// A setting whose origin cannot be pinned down (a default, or a whole table).
    Config,
}

/// One problem found in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub source: Source,
    /// Dotted key path (`providers.openai.base_url`, `models[1].provider`).
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::File {
                path,
                line: Some(line),
            } => write!(f, "{}:{line}: ", path.display())?,
            Source::File { path, line: None } => write!(f, "{}: ", path.display())?,
            Source::Env { var } => write!(f, "environment variable {var}: ")?,
            Source::Config => f.write_str("config: ")?,
        }
        if self.key.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "`{}`: {}", self.key, self.message)
        }
    }
}

/// What loading produced: the config (when its shape was valid) and the problems.
pub struct Loaded {
    pub config: Option<Config>,
    pub problems: Vec<Problem>,
    /// Locates keys for later (semantic) problems.
    pub locator: Locator,
}

/// Finds where a key was set: an environment variable or a line of the file.
pub struct Locator {
    file: Option<(PathBuf, String)>,
    env_keys: HashMap<String, String>,
}

impl Locator {
    pub fn source_of(&self, key: &str) -> Source {
        if let Some(var) = self.env_keys.get(key) {
            return Source::Env { var: var.clone() };
        }
        match &self.file {
            Some((path, text)) => Source::File {
                path: path.clone(),
                line: line_of(text, key),
            },
            None => Source::Config,
        }
    }

    pub fn problem(&self, key: impl Into<String>, message: impl Into<String>) -> Problem {
        let key = key.into();
        Problem {
            source: self.source_of(&key),
            key,
            message: message.into(),
        }
    }
}

/// Loads `path` (when given) and applies `env` (the `MORN_*` variables, `__` nesting:
/// `MORN_SERVER__LISTEN` sets `server.listen`). Never stops at the first problem.
pub fn load(path: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Loaded {
    let mut problems = Vec::new();
    let mut text = String::new();
    let mut root = toml::Table::new();
    if let Some(path) = path {
        match std::fs::read_to_string(path) {
            Ok(t) => text = t,
            Err(e) => problems.push(Problem {
                source: Source::File {
                    path: path.to_owned(),
                    line: None,
                },
                key: String::new(),
                message: format!("cannot read the file: {e}"),
            }),
        }
        match text.parse::<toml::Table>() {
            Ok(table) => root = table,
            Err(e) => problems.push(Problem {
                source: Source::File {
                    path: path.to_owned(),
                    line: e.span().map(|s| line_number(&text, s.start)),
                },
                key: String::new(),
                message: format!("invalid TOML: {}", e.message()),
            }),
        }
    }
    let mut env_keys = HashMap::new();
    for (var, value) in env {
        let Some(rest) = var.strip_prefix("MORN_") else {
            continue;
        };
        let segments: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
        if segments.iter().any(String::is_empty) {
            problems.push(Problem {
                source: Source::Env { var },
                key: String::new(),
                message: "malformed variable name".into(),
            });
            continue;
        }
        env_keys.insert(segments.join("."), var.clone());
        if let Err(message) = set_path(&mut root, &segments, env_value(&value)) {
            problems.push(Problem {
                source: Source::Env { var },
                key: segments.join("."),
                message,
            });
        }
    }
    let locator = Locator {
        file: path.map(|p| (p.to_owned(), text)),
        env_keys,
    };
    if !problems.is_empty()
        && problems
            .iter()
            .any(|p| p.message.starts_with("invalid TOML") || p.message.starts_with("cannot read"))
    {
        return Loaded {
            config: None,
            problems,
            locator,
        };
    }
    let mut unknown = Vec::new();
    let deserializer = toml::Value::Table(root);
    let result: Result<Config, _> = serde_path_to_error::deserialize(
        serde_ignored::Deserializer::new(deserializer, &mut |path: serde_ignored::Path<'_>| {
            unknown.push(dotted(&path))
        }),
    );
    for key in unknown {
        problems.push(locator.problem(key, "unknown key"));
    }
    let config = match result {
        Ok(config) => Some(config),
        Err(err) => {
            let key = err.path().to_string().replace(".[", "[");
            let key = if key == "." { String::new() } else { key };
            problems.push(locator.problem(key, clean_serde_message(&err.inner().to_string())));
            None
        }
    };
    Loaded {
        config,
        problems,
        locator,
    }
}

/// Environment values are TOML scalars when they parse as one (`30`, `true`), else
/// plain strings (`127.0.0.1:8080`, `sk-...`).
fn env_value(raw: &str) -> toml::Value {
    match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => match t.remove("v") {
            Some(
                v @ (toml::Value::Integer(_) | toml::Value::Boolean(_) | toml::Value::Float(_)),
            ) => v,
            _ => toml::Value::String(raw.to_owned()),
        },
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

fn set_path(root: &mut toml::Table, segments: &[String], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = segments.split_last() else {
        return Ok(());
    };
    let mut table = root;
    for segment in parents {
        let entry = table
            .entry(segment.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{segment}` is not a table"))?;
    }
    table.insert(last.clone(), value);
    Ok(())
}

fn dotted(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", dotted(parent)),
        Path::Map { parent, key } => {
            let p = dotted(parent);
            if p.is_empty() {
                key.to_string()
            } else {
                format!("{p}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => dotted(parent),
    }
}

/// serde's untagged-enum message is unhelpful for secrets; say what is accepted.
fn clean_serde_message(message: &str) -> String {
    if message.contains("did not match any variant of untagged enum SecretRef") {
        "expected a string or `{ env = \"VARIABLE\" }`".into()
    } else {
        message.to_owned()
    }
}

fn line_number(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}
