//! The settings as written, by section: serde structs with the defaults and each value's
//! range, so an unknown key or a bad value is refused as it is read. The sections that need
//! no combining (cache, limits, shutdown, the JWT keys) are read straight into the types the
//! gateway uses; `rules` builds the rest from these.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use reqwest::Url;
use serde::Deserialize;

use super::{CacheSettings, JwtSettings, Limits, LogFormat, Resilience, ShutdownSettings};
use crate::{
    de, persisted::settings::PersistedSettings, secret::Secret, shared::settings::RedisSettings,
};

/// The default `GATEWAY_LISTEN`.
pub(crate) const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

/// The default `GATEWAY_UPSTREAM_SCOPE`.
pub(crate) const DEFAULT_SCOPE: &str = "elements.license.read.all";

/// The whole file (or environment), by section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSettings {
    #[serde(deserialize_with = "de::address")]
    pub(super) listen: SocketAddr,
    pub(super) upstream: RawUpstream,
    pub(super) cache: CacheSettings,
    pub(super) jwt: JwtSettings,
    pub(super) limits: Limits,
    pub(super) metrics: RawMetrics,
    pub(super) shutdown: ShutdownSettings,
    pub(super) log: RawLog,
    pub(super) tracing: RawTracing,
    pub(super) redis: RedisSettings,
    pub(super) persisted_documents: PersistedSettings,
    #[serde(deserialize_with = "de::flag")]
    pub(super) allow_insecure_urls: bool,
    #[serde(deserialize_with = "de::flag")]
    pub(super) introspection: bool,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            upstream: RawUpstream::default(),
            cache: CacheSettings::default(),
            jwt: JwtSettings::default(),
            limits: Limits::default(),
            metrics: RawMetrics::default(),
            shutdown: ShutdownSettings::default(),
            log: RawLog::default(),
            tracing: RawTracing::default(),
            redis: RedisSettings::default(),
            persisted_documents: PersistedSettings::default(),
            allow_insecure_urls: false,
            introspection: true,
        }
    }
}

/// `[upstream]`, flat as written; the credentials and the resilience are built from it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawUpstream {
    #[serde(deserialize_with = "de::url")]
    pub(super) url: Option<Url>,
    #[serde(deserialize_with = "de::secret")]
    pub(super) token: Option<Secret>,
    #[serde(deserialize_with = "de::url")]
    pub(super) token_url: Option<Url>,
    #[serde(deserialize_with = "de::words")]
    pub(super) client_id: Option<String>,
    #[serde(deserialize_with = "de::secret")]
    pub(super) client_secret: Option<Secret>,
    #[serde(deserialize_with = "de::path")]
    pub(super) client_assertion_key_file: Option<PathBuf>,
    #[serde(deserialize_with = "de::path")]
    pub(super) client_cert_file: Option<PathBuf>,
    #[serde(deserialize_with = "de::words")]
    pub(super) scope: Option<String>,
    #[serde(deserialize_with = "de::number::<_, u32, 1, 100>")]
    pub(super) page_size: u32,
    #[serde(deserialize_with = "de::number::<_, usize, 1, 256>")]
    pub(super) concurrency: usize,
    #[serde(deserialize_with = "de::number::<_, u32, 0, 255>")]
    pub(super) pages_ahead: u32,
    #[serde(
        rename = "timeout_ms",
        deserialize_with = "de::millis::<_, 1, 600_000>"
    )]
    pub(super) timeout: Duration,
    #[serde(deserialize_with = "de::number::<_, u32, 1, 10>")]
    pub(super) max_attempts: u32,
    #[serde(rename = "backoff_ms", deserialize_with = "de::millis::<_, 1, 60_000>")]
    pub(super) backoff: Duration,
    #[serde(
        rename = "retry_after_max_secs",
        deserialize_with = "de::seconds::<_, 0, 3_600>"
    )]
    pub(super) retry_after_max: Duration,
    #[serde(deserialize_with = "de::number::<_, u32, 0, 1_000>")]
    pub(super) breaker_failures: u32,
    #[serde(
        rename = "breaker_cooldown_ms",
        deserialize_with = "de::millis::<_, 1, 3_600_000>"
    )]
    pub(super) breaker_cooldown: Duration,
    #[serde(deserialize_with = "de::number::<_, usize, 1024, { 1 << 32 }>")]
    pub(super) max_body_bytes: usize,
    #[serde(deserialize_with = "de::number::<_, u64, 1, 1_000_000>")]
    pub(super) max_pages: u64,
}

impl Default for RawUpstream {
    /// The documented defaults.
    fn default() -> Self {
        let resilience = Resilience::default();
        Self {
            url: None,
            token: None,
            token_url: None,
            client_id: None,
            client_secret: None,
            client_assertion_key_file: None,
            client_cert_file: None,
            scope: None,
            page_size: 100,
            concurrency: 8,
            pages_ahead: 7,
            timeout: Duration::from_millis(10_000),
            max_attempts: resilience.max_attempts,
            backoff: resilience.backoff,
            retry_after_max: resilience.retry_after_max,
            breaker_failures: resilience.breaker_failures,
            breaker_cooldown: resilience.breaker_cooldown,
            max_body_bytes: super::DEFAULT_MAX_BODY_BYTES,
            max_pages: super::DEFAULT_MAX_PAGES,
        }
    }
}

/// `[metrics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawMetrics {
    #[serde(deserialize_with = "de::some_address")]
    pub(super) listen: Option<SocketAddr>,
}

/// `[log]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawLog {
    #[serde(deserialize_with = "de::choice")]
    pub(super) format: LogFormat,
    #[serde(deserialize_with = "de::log_filter")]
    pub(super) level: String,
    #[serde(deserialize_with = "de::flag")]
    pub(super) requests: bool,
}

impl Default for RawLog {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
            requests: true,
        }
    }
}

/// `[tracing]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawTracing {
    #[serde(deserialize_with = "de::url")]
    pub(super) otlp_endpoint: Option<Url>,
}

/// Only the logging sections, for logs set up before the rest is read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawTelemetry {
    pub(super) log: RawLog,
    pub(super) tracing: RawTracing,
}
