//! Settings: a TOML file (`--config FILE`) with environment variables on top, validated once
//! before anything listens.
//!
//! Every setting has one environment name, `GATEWAY_<SECTION>_<KEY>`, and one file name, the
//! same words in lower case with the section as a TOML table: `GATEWAY_UPSTREAM_TIMEOUT_MS` is
//! `[upstream] timeout_ms`; `GATEWAY_LISTEN` is a top-level `listen`. [`VARIABLES`] is that
//! table, and it is the whole list: an unknown key in the file is an error. Errors name the
//! setting in both forms and never repeat a secret's value.
//!
//! Each section is one serde struct owned by the module that uses it (`[upstream]`:
//! `upstream::UpstreamSection`; `[cache]`, `[jwt]`, `[redis]`, `[persisted_documents]`;
//! `[limits]`, `[shutdown]` and `[metrics]` in `http::settings`; `[log]` and `[tracing]` in
//! `telemetry`), each value read with its default and range through the leaf `crate::de`.
//! This module only composes them: `sources` layers the file and the environment with
//! figment, `raw` reads the sections, and `rules` checks the combinations (credentials,
//! secure URLs, the two listeners, the burst) and builds [`Settings`]. Defaults live in the
//! sections' `Default`s and nowhere else.

mod raw;
mod rules;
mod sources;

use std::{fmt, net::SocketAddr, path::PathBuf};

pub(crate) use crate::{
    auth::JwtSettings,
    cache::CacheSettings,
    http::{Limits, MetricsSection, ShutdownSettings},
    persisted::settings::PersistedSettings,
    shared::settings::RedisSettings,
    telemetry::{LogSection, TelemetrySettings, TracingSection},
    upstream::{
        ClientAuthentication, DEFAULT_SCOPE, DEFAULT_UPSTREAM_URL, Resilience, UpstreamCredentials,
        UpstreamSection, UpstreamSettings,
    },
};

/// Every setting, by environment name; the file name is derived (see the module docs).
pub const VARIABLES: &[&str] = &[
    "GATEWAY_LISTEN",
    "GATEWAY_UPSTREAM_URL",
    "GATEWAY_UPSTREAM_TOKEN",
    "GATEWAY_UPSTREAM_TOKEN_URL",
    "GATEWAY_UPSTREAM_CLIENT_ID",
    "GATEWAY_UPSTREAM_CLIENT_SECRET",
    "GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE",
    "GATEWAY_UPSTREAM_CLIENT_CERT_FILE",
    "GATEWAY_UPSTREAM_SCOPE",
    "GATEWAY_UPSTREAM_PAGE_SIZE",
    "GATEWAY_UPSTREAM_CONCURRENCY",
    "GATEWAY_UPSTREAM_PAGES_AHEAD",
    "GATEWAY_UPSTREAM_TIMEOUT_MS",
    "GATEWAY_UPSTREAM_MAX_ATTEMPTS",
    "GATEWAY_UPSTREAM_BACKOFF_MS",
    "GATEWAY_UPSTREAM_RETRY_AFTER_MAX_SECS",
    "GATEWAY_UPSTREAM_BREAKER_FAILURES",
    "GATEWAY_UPSTREAM_BREAKER_COOLDOWN_MS",
    "GATEWAY_UPSTREAM_MAX_BODY_BYTES",
    "GATEWAY_UPSTREAM_MAX_PAGES",
    "GATEWAY_CACHE_TTL_SECS",
    "GATEWAY_CACHE_STALE_SECS",
    "GATEWAY_CACHE_ANSWER_BYTES",
    "GATEWAY_CACHE_JOBS_TTL_SECS",
    "GATEWAY_JWT_SECRET",
    "GATEWAY_JWT_PUBLIC_KEY_FILE",
    "GATEWAY_JWT_JWKS_URL",
    "GATEWAY_JWT_JWKS_REFRESH_SECS",
    "GATEWAY_JWT_JWKS_MIN_REFETCH_SECS",
    "GATEWAY_JWT_ISSUER",
    "GATEWAY_JWT_AUDIENCE",
    "GATEWAY_JWT_REQUIRED_SCOPE",
    "GATEWAY_JWT_LEEWAY_SECS",
    "GATEWAY_JWT_CUSTOMER_CLAIM",
    "GATEWAY_JWT_ALL_CUSTOMERS_SCOPE",
    "GATEWAY_LIMITS_DEPTH",
    "GATEWAY_LIMITS_COMPLEXITY",
    "GATEWAY_LIMITS_ROOT_FIELDS",
    "GATEWAY_LIMITS_ALIASES",
    "GATEWAY_LIMITS_BODY_BYTES",
    "GATEWAY_LIMITS_QUERY_BYTES",
    "GATEWAY_LIMITS_HEADER_BYTES",
    "GATEWAY_LIMITS_REQUEST_TIMEOUT_MS",
    "GATEWAY_LIMITS_RATE_PER_MINUTE",
    "GATEWAY_LIMITS_RATE_BURST",
    "GATEWAY_LIMITS_HEADER_TIMEOUT_MS",
    "GATEWAY_LIMITS_CONNECTIONS",
    "GATEWAY_LIMITS_UPSTREAM_REQUESTS",
    "GATEWAY_LIMITS_SUBSCRIPTIONS_PER_CALLER",
    "GATEWAY_LIMITS_BATCH",
    "GATEWAY_ALLOW_INSECURE_URLS",
    "GATEWAY_INTROSPECTION",
    "GATEWAY_MCP",
    "GATEWAY_METRICS_LISTEN",
    "GATEWAY_REDIS_URL",
    "GATEWAY_REDIS_PASSWORD",
    "GATEWAY_REDIS_PREFIX",
    "GATEWAY_PERSISTED_DOCUMENTS_FILE",
    "GATEWAY_PERSISTED_DOCUMENTS_ONLY",
    "GATEWAY_SHUTDOWN_DELAY_MS",
    "GATEWAY_SHUTDOWN_TIMEOUT_SECS",
    "GATEWAY_LOG_FORMAT",
    "GATEWAY_LOG_LEVEL",
    "GATEWAY_LOG_REQUESTS",
    "GATEWAY_TRACING_OTLP_ENDPOINT",
];

/// Settings whose values are never echoed in an error.
const SECRET_VARIABLES: &[&str] = &[
    "GATEWAY_UPSTREAM_TOKEN",
    "GATEWAY_UPSTREAM_CLIENT_SECRET",
    "GATEWAY_JWT_SECRET",
    "GATEWAY_REDIS_URL",
    "GATEWAY_REDIS_PASSWORD",
];

/// Why the settings cannot be used; the message is one line naming the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `--config` file cannot be read.
    #[error("cannot read config file {path}: {reason}")]
    Unreadable {
        /// The file given.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// The file is not TOML.
    #[error("config file {path} is not valid TOML: {reason}")]
    NotToml {
        /// The file given.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The file has a key that names no setting.
    #[error("config file {path}: unknown setting `{key}`")]
    UnknownKey {
        /// The file given.
        path: PathBuf,
        /// The key, with its section.
        key: String,
    },
    /// A key of the file holds something other than a setting's value (a section written as
    /// a value, say).
    #[error("config file {path}: `{key}` {problem}")]
    NotASetting {
        /// The file given.
        path: PathBuf,
        /// The key.
        key: String,
        /// What it should be.
        problem: String,
    },
    /// A setting's value is unusable.
    #[error("{setting}: {problem}")]
    Invalid {
        /// The setting, in both its forms.
        setting: Setting,
        /// What is wrong, without the value when the value is secret.
        problem: String,
    },
}

/// One setting, named the way the operator may have written it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting(&'static str);

impl Setting {
    /// The setting with this environment name.
    ///
    /// # Panics
    /// When `name` is not in [`VARIABLES`]: that is a bug in the caller, not bad input.
    pub fn named(name: &'static str) -> Self {
        assert!(VARIABLES.contains(&name), "{name} is not a setting");
        Self(name)
    }

    /// The setting's key in the file: its section (if any) and name, lower-case.
    fn file_key(self) -> (Option<String>, String) {
        let (section, key) = self.section_and_key();
        (section.map(str::to_lowercase), key.to_lowercase())
    }

    fn section_and_key(self) -> (Option<&'static str>, &'static str) {
        let name = self.0.strip_prefix("GATEWAY_").unwrap_or(self.0);
        for section in [
            "UPSTREAM_",
            "CACHE_",
            "JWT_",
            "LIMITS_",
            "METRICS_",
            "SHUTDOWN_",
            "LOG_",
            "TRACING_",
            "REDIS_",
            "PERSISTED_DOCUMENTS_",
        ] {
            if let Some(key) = name.strip_prefix(section) {
                return (Some(&section[..section.len() - 1]), key);
            }
        }
        (None, name)
    }

    fn is_secret(self) -> bool {
        SECRET_VARIABLES.contains(&self.0)
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.section_and_key() {
            (Some(section), key) => write!(
                f,
                "{} ([{}] {})",
                self.0,
                section.to_lowercase(),
                key.to_lowercase()
            ),
            (None, key) => write!(f, "{} ({})", self.0, key.to_lowercase()),
        }
    }
}

/// A setting the file or the environment sets, for `config check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The setting, in both its forms.
    pub setting: Setting,
    /// Its value as written; `<set>` for a secret.
    pub value: String,
    /// `set in the environment` or `set in FILE`.
    pub source: String,
}

/// Everything the gateway needs to start, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `GATEWAY_LISTEN`: address to serve on (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// The upstream.
    pub upstream: UpstreamSettings,
    /// The cache.
    pub cache: CacheSettings,
    /// Caller tokens.
    pub jwt: JwtSettings,
    /// What one request may cost.
    pub limits: Limits,
    /// Draining on shutdown.
    pub shutdown: ShutdownSettings,
    /// Logs and trace export.
    pub telemetry: TelemetrySettings,
    /// `GATEWAY_INTROSPECTION`: `false` refuses `__schema`/`__type` and drops "Did you mean"
    /// suggestions from errors (default `true`).
    pub introspection: bool,
    /// `GATEWAY_MCP`: serve the Model Context Protocol at `/mcp` (default `true`).
    pub mcp: bool,
    /// `GATEWAY_METRICS_LISTEN`: a separate address for `/metrics`, which is then not served
    /// on the GraphQL port (default: none, `/metrics` on the GraphQL port).
    pub metrics_listen: Option<SocketAddr>,
    /// The Redis replicas share, if any.
    pub redis: RedisSettings,
    /// Persisted documents.
    pub persisted: PersistedSettings,
}

impl Settings {
    /// Loads the file (if any), applies the environment (`env` looks a variable up), and
    /// validates the result.
    pub fn load(
        file: Option<&std::path::Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let figment = sources::layered(file, env)?;
        let raw = figment
            .extract()
            .map_err(|error| sources::from_figment(error, file))?;
        rules::validate(raw).map_err(|error| match error {
            ConfigError::Invalid { setting, problem } => ConfigError::Invalid {
                problem: format!("{problem}{}", sources::set_in(&figment, setting, file)),
                setting,
            },
            other => other,
        })
    }

    /// What the file (if any) and the environment set, setting by setting, each with where
    /// it was set; the rest keep their defaults.
    pub fn written(
        file: Option<&std::path::Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<Written>, ConfigError> {
        Ok(sources::written(&sources::layered(file, env)?, file))
    }
}

#[cfg(test)]
mod tests;
