//! The whole file (or environment) as written: every section's struct, owned by the module
//! that uses it, so an unknown key or a bad value is refused as it is read; `rules` combines
//! them.

use std::net::SocketAddr;

use serde::Deserialize;

use super::{
    CacheSettings, ConfigError, JwtSettings, Limits, LogSection, MetricsSection, PersistedSettings,
    RedisSettings, ShutdownSettings, TelemetrySettings, TracingSection, UpstreamSection, sources,
};
use crate::de;

/// The default `GATEWAY_LISTEN`.
pub(crate) const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

/// The whole file (or environment), by section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSettings {
    #[serde(deserialize_with = "de::address")]
    pub(super) listen: SocketAddr,
    pub(super) upstream: UpstreamSection,
    pub(super) cache: CacheSettings,
    pub(super) jwt: JwtSettings,
    pub(super) limits: Limits,
    pub(super) metrics: MetricsSection,
    pub(super) shutdown: ShutdownSettings,
    pub(super) log: LogSection,
    pub(super) tracing: TracingSection,
    pub(super) redis: RedisSettings,
    pub(super) persisted_documents: PersistedSettings,
    #[serde(deserialize_with = "de::flag")]
    pub(super) allow_insecure_urls: bool,
    #[serde(deserialize_with = "de::flag")]
    pub(super) introspection: bool,
    #[serde(deserialize_with = "de::flag")]
    pub(super) mcp: bool,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            upstream: UpstreamSection::default(),
            cache: CacheSettings::default(),
            jwt: JwtSettings::default(),
            limits: Limits::default(),
            metrics: MetricsSection::default(),
            shutdown: ShutdownSettings::default(),
            log: LogSection::default(),
            tracing: TracingSection::default(),
            redis: RedisSettings::default(),
            persisted_documents: PersistedSettings::default(),
            allow_insecure_urls: false,
            introspection: true,
            mcp: true,
        }
    }
}

/// Only the logging sections, for logs set up before the rest is read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawTelemetry {
    pub(super) log: LogSection,
    pub(super) tracing: TracingSection,
}

impl TelemetrySettings {
    /// The logging settings from the environment alone, for the commands that take no
    /// configuration file (`serve --demo`, `mock-upstream`).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let figment = sources::layered(None, env)?;
        let raw: RawTelemetry = figment
            .extract()
            .map_err(|error| sources::from_figment(error, None))?;
        Ok(Self::from_sections(raw.log, raw.tracing))
    }
}
