//! The settings' sections as the rest of the gateway sees them, with their defaults.

use std::{path::PathBuf, time::Duration};

use reqwest::Url;

use serde::Deserialize;

use super::{
    ConfigError, de,
    raw::{RawLog, RawTelemetry, RawTracing},
    sources,
};
use crate::secret::Secret;

/// How the gateway gets its bearer token for the upstream.
#[derive(Debug, Clone)]
pub enum UpstreamCredentials {
    /// A fixed token (`GATEWAY_UPSTREAM_TOKEN`).
    Token(Secret),
    /// The OAuth 2.0 client-credentials grant.
    ClientCredentials {
        /// The identity service's token endpoint.
        token_url: Url,
        /// The app registration's id.
        client_id: String,
        /// How the app proves itself.
        authentication: ClientAuthentication,
    },
}

/// How the app authenticates to the identity service.
#[derive(Debug, Clone)]
pub enum ClientAuthentication {
    /// `client_secret`.
    Secret(Secret),
    /// A signed client assertion from this key and certificate.
    Assertion {
        /// PEM private key.
        key_file: PathBuf,
        /// PEM certificate of that key.
        cert_file: PathBuf,
    },
}

/// The upstream and how to reach it.
#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    /// `GATEWAY_UPSTREAM_URL`: base URL.
    pub url: Url,
    /// `GATEWAY_UPSTREAM_TOKEN` or the client-credentials settings.
    pub credentials: UpstreamCredentials,
    /// `GATEWAY_UPSTREAM_SCOPE`: scope asked for with client credentials.
    pub scope: String,
    /// `GATEWAY_UPSTREAM_PAGE_SIZE`: `pageSize` asked for, 1 to 100 (default 100).
    pub page_size: u32,
    /// `GATEWAY_UPSTREAM_CONCURRENCY`: most requests in flight (default 8).
    pub concurrency: usize,
    /// `GATEWAY_UPSTREAM_PAGES_AHEAD`: listing pages sent together with page 1 while the
    /// upstream is answering, at most `concurrency` − 1 of them (default 7; 0 turns it off).
    pub pages_ahead: u32,
    /// `GATEWAY_UPSTREAM_TIMEOUT_MS`: one request's time limit (default 10 s).
    pub timeout: Duration,
    /// Retries and the circuit breaker.
    pub resilience: Resilience,
    /// `GATEWAY_UPSTREAM_MAX_BODY_BYTES`: largest page body read (default 64 MiB).
    pub max_body_bytes: usize,
    /// `GATEWAY_UPSTREAM_MAX_PAGES`: most pages one listing read requests (default 1000).
    pub max_pages: u64,
}

/// Default `GATEWAY_UPSTREAM_MAX_BODY_BYTES`: 64 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Default `GATEWAY_UPSTREAM_MAX_PAGES`.
pub const DEFAULT_MAX_PAGES: u64 = 1000;

/// How the gateway treats a failing upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resilience {
    /// `GATEWAY_UPSTREAM_MAX_ATTEMPTS`: tries of one upstream request, the first included
    /// (default 3; 1 turns retries off).
    pub max_attempts: u32,
    /// `GATEWAY_UPSTREAM_BACKOFF_MS`: the first retry's delay before jitter; each further retry
    /// doubles it (default 100 ms).
    pub backoff: Duration,
    /// `GATEWAY_UPSTREAM_RETRY_AFTER_MAX_SECS`: the longest `Retry-After` waited for (default
    /// 10 s); a longer one is cut to this.
    pub retry_after_max: Duration,
    /// `GATEWAY_UPSTREAM_BREAKER_FAILURES`: consecutive failed requests that open the circuit
    /// (default 5; 0 turns the breaker off).
    pub breaker_failures: u32,
    /// `GATEWAY_UPSTREAM_BREAKER_COOLDOWN_MS`: how long an open circuit fails fast before one
    /// probe request may go through (default 10 s).
    pub breaker_cooldown: Duration,
}

impl Default for Resilience {
    /// The documented defaults.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            backoff: Duration::from_millis(100),
            retry_after_max: Duration::from_secs(10),
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(10),
        }
    }
}

/// What one caller's request may cost.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// `GATEWAY_LIMITS_DEPTH`: deepest field nesting (default 15).
    #[serde(deserialize_with = "de::number::<_, usize, 1, 1_000>")]
    pub depth: usize,
    /// `GATEWAY_LIMITS_COMPLEXITY`: most fields a query may resolve, counting each field under
    /// `customers(first: n)` n times (default 50 000).
    #[serde(deserialize_with = "de::number::<_, usize, 1, 100_000_000>")]
    pub complexity: usize,
    /// `GATEWAY_LIMITS_ROOT_FIELDS`: most root fields in one operation (default 20).
    #[serde(deserialize_with = "de::number::<_, usize, 1, 10_000>")]
    pub root_fields: usize,
    /// `GATEWAY_LIMITS_ALIASES`: most aliased fields in one operation (default 30).
    #[serde(deserialize_with = "de::number::<_, usize, 0, 10_000>")]
    pub aliases: usize,
    /// `GATEWAY_LIMITS_BODY_BYTES`: largest POST body (default 1 MiB).
    #[serde(deserialize_with = "de::number::<_, usize, 1, { 1 << 30 }>")]
    pub body_bytes: usize,
    /// `GATEWAY_LIMITS_QUERY_BYTES`: longest query text (default 64 KiB).
    #[serde(deserialize_with = "de::number::<_, usize, 1, { 1 << 30 }>")]
    pub query_bytes: usize,
    /// `GATEWAY_LIMITS_HEADER_BYTES`: largest total of request header names and values
    /// (default 32 KiB).
    #[serde(deserialize_with = "de::number::<_, usize, 1, { 256 * 1024 }>")]
    pub header_bytes: usize,
    /// `GATEWAY_LIMITS_REQUEST_TIMEOUT_MS`: one GraphQL request's deadline, retries included
    /// (default 30 s).
    #[serde(
        rename = "request_timeout_ms",
        deserialize_with = "de::millis::<_, 1, 3_600_000>"
    )]
    pub request_timeout: Duration,
    /// `GATEWAY_LIMITS_RATE_PER_MINUTE`: requests one caller (`sub`) may make a minute
    /// (default 0: no limit).
    #[serde(deserialize_with = "de::number::<_, u32, 0, 1_000_000>")]
    pub rate_per_minute: u32,
    /// `GATEWAY_LIMITS_RATE_BURST`: requests one caller may make at once (default: the rate
    /// per minute).
    #[serde(skip)]
    pub rate_burst: u32,
    /// `GATEWAY_LIMITS_RATE_BURST` as written, which sets [`Limits::rate_burst`].
    #[serde(
        rename = "rate_burst",
        deserialize_with = "de::some_number::<_, u32, 0, 1_000_000>"
    )]
    pub(super) burst_given: Option<u32>,
    /// `GATEWAY_LIMITS_HEADER_TIMEOUT_MS`: time a client has to send its request head
    /// (default 10 s).
    #[serde(
        rename = "header_timeout_ms",
        deserialize_with = "de::millis::<_, 1, 600_000>"
    )]
    pub header_timeout: Duration,
    /// `GATEWAY_LIMITS_CONNECTIONS`: most open client connections (default 4096); more wait
    /// in the listen queue until one closes.
    #[serde(deserialize_with = "de::number::<_, usize, 1, 1_000_000>")]
    pub connections: usize,
}

impl Default for Limits {
    /// The documented defaults.
    fn default() -> Self {
        Self {
            depth: 15,
            complexity: 50_000,
            root_fields: 20,
            aliases: 30,
            body_bytes: 1024 * 1024,
            query_bytes: 64 * 1024,
            header_bytes: 32 * 1024,
            request_timeout: Duration::from_secs(30),
            rate_per_minute: 0,
            rate_burst: 0,
            burst_given: None,
            header_timeout: Duration::from_secs(10),
            connections: 4096,
        }
    }
}

/// How the gateway stops on SIGTERM or ctrl-c.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownSettings {
    /// `GATEWAY_SHUTDOWN_DELAY_MS`: how long the gateway goes on accepting requests after the
    /// signal while `/readyz` answers 503, so a load balancer stops sending it traffic first
    /// (default 0).
    #[serde(rename = "delay_ms", deserialize_with = "de::millis::<_, 0, 600_000>")]
    pub delay: Duration,
    /// `GATEWAY_SHUTDOWN_TIMEOUT_SECS`: how long in-flight requests may take to finish once
    /// the gateway stops accepting; requests still running then are cut off (default 25 s).
    #[serde(
        rename = "timeout_secs",
        deserialize_with = "de::seconds::<_, 0, 3_600>"
    )]
    pub timeout: Duration,
}

impl Default for ShutdownSettings {
    /// The documented defaults.
    fn default() -> Self {
        Self {
            delay: Duration::ZERO,
            timeout: Duration::from_secs(25),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = &'static str;

    fn from_str(given: &str) -> Result<Self, Self::Err> {
        match given {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("`text` or `json`"),
        }
    }
}

/// Logs and trace export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetrySettings {
    /// `GATEWAY_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `GATEWAY_LOG_LEVEL`: a `tracing` filter such as `info` or `warn,elements_gateway=debug`
    /// (default `info`).
    pub log_level: String,
    /// `GATEWAY_TRACING_OTLP_ENDPOINT`: an OTLP/HTTP collector to export spans to (off by
    /// default; needs a build with the `otlp` feature).
    pub otlp_endpoint: Option<Url>,
}

impl Default for TelemetrySettings {
    /// Text logs at `info`, no export.
    fn default() -> Self {
        Self {
            log_format: LogFormat::Text,
            log_level: "info".into(),
            otlp_endpoint: None,
        }
    }
}

impl TelemetrySettings {
    /// The logging settings from the environment alone, for the commands that take no
    /// configuration file (`serve --demo`, `mock-upstream`).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let figment = sources::layered(None, env)?;
        let raw: RawTelemetry = figment
            .extract()
            .map_err(|error| sources::from_figment(error, None))?;
        Ok(Self::from_raw(raw.log, raw.tracing))
    }

    pub(super) fn from_raw(log: RawLog, tracing: RawTracing) -> Self {
        Self {
            log_format: log.format,
            log_level: log.level,
            otlp_endpoint: tracing.otlp_endpoint,
        }
    }
}

/// Cache freshness.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// `GATEWAY_CACHE_TTL_SECS`: how long an answer is fresh (default 60 s).
    #[serde(rename = "ttl_secs", deserialize_with = "de::seconds::<_, 1, 86_400>")]
    pub ttl: Duration,
    /// `GATEWAY_CACHE_STALE_SECS`: how long past its TTL an answer may serve while the
    /// upstream fails (default 600 s).
    #[serde(
        rename = "stale_secs",
        deserialize_with = "de::seconds::<_, 0, 604_800>"
    )]
    pub stale: Duration,
    /// `GATEWAY_CACHE_ANSWER_BYTES`: total size of whole GraphQL answers kept for reuse while
    /// their snapshot is current (default 32 MiB; 0 turns reuse off).
    #[serde(deserialize_with = "de::number::<_, u64, 0, { 1 << 34 }>")]
    pub answer_bytes: u64,
}

impl Default for CacheSettings {
    /// The documented defaults.
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            stale: Duration::from_secs(600),
            answer_bytes: super::DEFAULT_ANSWER_BYTES,
        }
    }
}

/// Caller-token requirements.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtSettings {
    /// `GATEWAY_JWT_SECRET`: HS256 shared secret, at least 32 bytes.
    #[serde(deserialize_with = "de::secret")]
    pub secret: Option<Secret>,
    /// `GATEWAY_JWT_PUBLIC_KEY_FILE`: PEM public key.
    #[serde(deserialize_with = "de::path")]
    pub public_key_file: Option<PathBuf>,
    /// `GATEWAY_JWT_JWKS_URL`: JWKS endpoint.
    #[serde(deserialize_with = "de::url")]
    pub jwks_url: Option<Url>,
    /// `GATEWAY_JWT_JWKS_REFRESH_SECS`: period of the background JWKS refresh (default 300 s).
    #[serde(
        rename = "jwks_refresh_secs",
        deserialize_with = "de::seconds::<_, 1, 86_400>"
    )]
    pub jwks_refresh: Duration,
    /// `GATEWAY_JWT_JWKS_MIN_REFETCH_SECS`: shortest time between two refetches caused by an
    /// unknown `kid` (default 30 s).
    #[serde(
        rename = "jwks_min_refetch_secs",
        deserialize_with = "de::seconds::<_, 0, 3_600>"
    )]
    pub jwks_min_refetch: Duration,
    /// `GATEWAY_JWT_ISSUER`: required `iss`.
    #[serde(deserialize_with = "de::words")]
    pub issuer: Option<String>,
    /// `GATEWAY_JWT_AUDIENCE`: required `aud`.
    #[serde(deserialize_with = "de::words")]
    pub audience: Option<String>,
    /// `GATEWAY_JWT_REQUIRED_SCOPE`: a scope the caller must hold.
    #[serde(deserialize_with = "de::words")]
    pub required_scope: Option<String>,
    /// `GATEWAY_JWT_LEEWAY_SECS`: clock skew allowed on `exp`/`nbf` (default 30 s).
    #[serde(deserialize_with = "de::number::<_, u64, 0, 3_600>")]
    pub leeway_secs: u64,
    /// `GATEWAY_JWT_CUSTOMER_CLAIM`: claim listing the customers a caller may see; a token
    /// without it is refused unless it holds `all_customers_scope`.
    #[serde(deserialize_with = "de::words")]
    pub customer_claim: Option<String>,
    /// `GATEWAY_JWT_ALL_CUSTOMERS_SCOPE`: a scope that lets a token without the customer
    /// claim see every customer.
    #[serde(deserialize_with = "de::words")]
    pub all_customers_scope: Option<String>,
}

impl Default for JwtSettings {
    /// No key, and the documented defaults for the rest.
    fn default() -> Self {
        Self {
            secret: None,
            public_key_file: None,
            jwks_url: None,
            jwks_refresh: Duration::from_secs(300),
            jwks_min_refetch: Duration::from_secs(30),
            issuer: None,
            audience: None,
            required_scope: None,
            leeway_secs: 30,
            customer_claim: None,
            all_customers_scope: None,
        }
    }
}
