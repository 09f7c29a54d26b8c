//! Where values come from, layered by figment: the TOML file, then the `GATEWAY_*`
//! environment on top; and figment's errors turned into the one-line [`ConfigError`]s that
//! name the setting and where its value was set.

use std::path::{Path, PathBuf};

use figment::{
    Figment, Metadata, Profile, Provider,
    providers::{Format, Toml},
    value::{Dict, Map, Value},
};

use super::{ConfigError, Setting, VARIABLES, Written};

/// What figment calls the environment, in its metadata and our errors.
const ENVIRONMENT: &str = "the environment";

/// The environment's `GATEWAY_*` settings, each as text (a value is never reinterpreted: a
/// secret of digits stays the same digits), under its file key (`upstream.timeout_ms`).
struct Environment {
    values: Vec<(Setting, String)>,
}

impl Provider for Environment {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENVIRONMENT)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut root = Dict::new();
        for (setting, value) in &self.values {
            let value = Value::from(value.clone());
            match setting.file_key() {
                (Some(section), key) => {
                    let table = root
                        .entry(section)
                        .or_insert_with(|| Value::from(Dict::new()));
                    if let Value::Dict(_, table) = table {
                        table.insert(key, value);
                    }
                }
                (None, key) => {
                    root.insert(key, value);
                }
            }
        }
        Ok(Profile::Default.collect(root))
    }
}

/// The file (when given) with the environment on top; `env` looks a variable up.
pub(super) fn layered(
    file: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Figment, ConfigError> {
    let mut figment = Figment::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Unreadable {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
        text.parse::<toml::Table>()
            .map_err(|error| ConfigError::NotToml {
                path: path.to_owned(),
                reason: error.message().to_owned(),
            })?;
        figment = figment.merge(Toml::string(&text));
    }
    let values = VARIABLES
        .iter()
        .filter_map(|name| env(name).map(|value| (Setting(name), value)))
        .collect();
    Ok(figment.merge(Environment { values }))
}

/// Every setting the file or the environment sets, as written (a secret as `<set>`), with
/// where it was set.
pub(super) fn written(figment: &Figment, file: Option<&Path>) -> Vec<Written> {
    VARIABLES
        .iter()
        .map(|name| Setting(name))
        .filter_map(|setting| {
            let key = dotted(setting);
            let value = figment.find_value(&key).ok()?;
            let value = if setting.is_secret() {
                "<set>".to_owned()
            } else {
                match value {
                    Value::String(_, text) => text,
                    other => serde_json::to_string(&other).unwrap_or_default(),
                }
            };
            let source = figment
                .find_metadata(&key)
                .map(|metadata| describe(metadata, file))
                .unwrap_or_default();
            let source = source.trim().trim_start_matches('(').trim_end_matches(')');
            Some(Written {
                setting,
                value,
                source: source.to_owned(),
            })
        })
        .collect()
}

/// `setting`'s key as figment finds it: `upstream.timeout_ms`, or `listen`.
fn dotted(setting: Setting) -> String {
    match setting.file_key() {
        (Some(section), key) => format!("{section}.{key}"),
        (None, key) => key,
    }
}

/// Where `setting`'s value was set, for an error: ` (set in …)`, or nothing when it was not
/// set at all; `file` is the `--config` file.
pub(super) fn set_in(figment: &Figment, setting: Setting, file: Option<&Path>) -> String {
    figment
        .find_metadata(&dotted(setting))
        .map(|metadata| describe(metadata, file))
        .unwrap_or_default()
}

/// ` (set in …)` for a value from the source `metadata` names: the environment, or else the
/// file (the only other source).
fn describe(metadata: &Metadata, file: Option<&Path>) -> String {
    match file {
        _ if metadata.name == ENVIRONMENT => format!(" (set in {ENVIRONMENT})"),
        Some(path) => format!(" (set in {})", path.display()),
        None => String::new(),
    }
}

/// figment's error as ours: the setting its path names, what was wrong, and where the value
/// was set; an unknown key names the file's key.
pub(super) fn from_figment(error: figment::Error, file: Option<&Path>) -> ConfigError {
    let path = error.path.clone();
    let file_path = || file.map_or_else(PathBuf::new, Path::to_owned);
    if let figment::error::Kind::UnknownField(field, _) = &error.kind {
        let key = match path.first() {
            Some(section) => format!("[{section}] {field}"),
            None => field.clone(),
        };
        return ConfigError::UnknownKey {
            path: file_path(),
            key,
        };
    }
    let named = match path.as_slice() {
        [section, key] => lookup(Some(section), key),
        [key] => lookup(None, key),
        _ => None,
    };
    let source = error
        .metadata
        .as_ref()
        .map(|metadata| describe(metadata, file))
        .unwrap_or_default();
    let problem = match &error.kind {
        figment::error::Kind::Message(message) => message.clone(),
        _ if named.is_some_and(Setting::is_secret) => {
            "expected text (the value is not shown)".into()
        }
        kind => kind.to_string(),
    };
    match named {
        Some(setting) => ConfigError::Invalid {
            setting,
            problem: format!("{problem}{source}"),
        },
        None => ConfigError::NotASetting {
            path: file_path(),
            key: path.join("."),
            problem: "must be a table of settings, such as `[upstream]`".into(),
        },
    }
}

/// The setting with this file key.
fn lookup(section: Option<&str>, key: &str) -> Option<Setting> {
    VARIABLES
        .iter()
        .map(|name| Setting(name))
        .find(|setting| match setting.file_key() {
            (Some(theirs), their_key) => {
                section.is_some_and(|ours| ours.eq_ignore_ascii_case(&theirs))
                    && their_key.eq_ignore_ascii_case(key)
            }
            (None, their_key) => section.is_none() && their_key.eq_ignore_ascii_case(key),
        })
}

/// A rule's refusal of the setting named `name`.
pub(super) fn problem(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: Setting(name),
        problem: problem.into(),
    }
}
