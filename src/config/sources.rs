//! Where values come from: the TOML file's keys and the environment's variables, one list of
//! (setting, text) pairs read by name, with the typed readers every rule uses.

use std::{str::FromStr, time::Duration};

use reqwest::Url;

use super::{ConfigError, Setting, VARIABLES};

/// Raw values by setting, file first, then environment on top.
pub(super) struct Sources {
    pub(super) values: Vec<(Setting, String)>,
}

impl Sources {
    pub(super) fn get(&self, name: &'static str) -> Option<(Setting, &str)> {
        self.values
            .iter()
            .rev()
            .find(|(setting, _)| setting.0 == name)
            .map(|(setting, value)| (*setting, value.as_str()))
    }

    pub(super) fn text(&self, name: &'static str) -> Option<String> {
        self.get(name)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    pub(super) fn parsed<T: FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some((setting, value)) => value
                .trim()
                .parse()
                .map_err(|_| invalid(setting, value, expected)),
        }
    }

    pub(super) fn number(
        &self,
        name: &'static str,
        default: u64,
        range: (u64, u64),
    ) -> Result<u64, ConfigError> {
        let Some((setting, raw)) = self.get(name) else {
            return Ok(default);
        };
        match raw.trim().parse::<u64>() {
            Ok(value) if (range.0..=range.1).contains(&value) => Ok(value),
            _ => Err(invalid(
                setting,
                raw,
                &format!("a whole number from {} to {}", range.0, range.1),
            )),
        }
    }

    /// A whole number of milliseconds within `range`.
    pub(super) fn millis(
        &self,
        name: &'static str,
        default: Duration,
        range: (u64, u64),
    ) -> Result<Duration, ConfigError> {
        self.number(name, default.as_millis() as u64, range)
            .map(Duration::from_millis)
    }

    /// A whole number of seconds within `range`.
    pub(super) fn seconds(
        &self,
        name: &'static str,
        default: Duration,
        range: (u64, u64),
    ) -> Result<Duration, ConfigError> {
        self.number(name, default.as_secs(), range)
            .map(Duration::from_secs)
    }

    pub(super) fn url(&self, name: &'static str) -> Result<Option<Url>, ConfigError> {
        let Some((setting, value)) = self.get(name) else {
            return Ok(None);
        };
        match Url::parse(value.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(Some(url)),
            _ => Err(invalid(setting, value, "an http:// or https:// URL")),
        }
    }
}

pub(super) fn invalid(setting: Setting, value: &str, expected: &str) -> ConfigError {
    let problem = if setting.is_secret() {
        format!("expected {expected}")
    } else {
        format!("expected {expected}, got {value:?}")
    };
    ConfigError::Invalid { setting, problem }
}

pub(super) fn problem(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: Setting(name),
        problem: problem.into(),
    }
}

/// Reads the TOML file into (setting, value) pairs, refusing keys that name no setting.
pub(super) fn read_file(path: &std::path::Path) -> Result<Vec<(Setting, String)>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Unreadable {
        path: path.to_owned(),
        reason: error.to_string(),
    })?;
    let table: toml::Table =
        text.parse()
            .map_err(|error: toml::de::Error| ConfigError::NotToml {
                path: path.to_owned(),
                reason: error.message().to_owned(),
            })?;
    let unknown = |key: String| ConfigError::UnknownKey {
        path: path.to_owned(),
        key,
    };
    let mut values = Vec::new();
    for (name, value) in &table {
        match value {
            toml::Value::Table(section) => {
                for (key, value) in section {
                    let setting = lookup(Some(name), key)
                        .ok_or_else(|| unknown(format!("[{name}] {key}")))?;
                    values.push((setting, scalar_text(setting, value)?));
                }
            }
            value => {
                let setting = lookup(None, name).ok_or_else(|| unknown(name.clone()))?;
                values.push((setting, scalar_text(setting, value)?));
            }
        }
    }
    Ok(values)
}

pub(super) fn lookup(section: Option<&str>, key: &str) -> Option<Setting> {
    VARIABLES.iter().map(|name| Setting(name)).find(|setting| {
        let (their_section, their_key) = setting.section_and_key();
        their_key.eq_ignore_ascii_case(key)
            && match (section, their_section) {
                (None, None) => true,
                (Some(ours), Some(theirs)) => ours.eq_ignore_ascii_case(theirs),
                _ => false,
            }
    })
}

pub(super) fn scalar_text(setting: Setting, value: &toml::Value) -> Result<String, ConfigError> {
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        toml::Value::Boolean(flag) => Ok(flag.to_string()),
        _ => Err(ConfigError::Invalid {
            setting,
            problem: "expected a string or a number".into(),
        }),
    }
}
