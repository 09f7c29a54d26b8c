//! The upstream's settings: `[upstream]` as written ([`UpstreamSection`]), and what the
//! configuration builds from it ([`UpstreamSettings`]).

use std::{path::PathBuf, time::Duration};

use reqwest::Url;
use serde::Deserialize;

use crate::{de, secret::Secret};

/// The default upstream base URL.
pub(crate) const DEFAULT_UPSTREAM_URL: &str = "https://graph.avepointonlineservices.com";

/// The default `GATEWAY_UPSTREAM_SCOPE`.
pub(crate) const DEFAULT_SCOPE: &str = "elements.license.read.all elements.customers.read.all elements.jobs.read.all elements.cbprotected.read.all";

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
const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Default `GATEWAY_UPSTREAM_MAX_PAGES`.
const DEFAULT_MAX_PAGES: u64 = 1000;

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

/// `[upstream]` as written, each value in its range; the configuration's rules build
/// [`UpstreamSettings`] (the credentials, the resilience) from it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct UpstreamSection {
    #[serde(deserialize_with = "de::url")]
    pub(crate) url: Option<Url>,
    #[serde(deserialize_with = "de::secret")]
    pub(crate) token: Option<Secret>,
    #[serde(deserialize_with = "de::url")]
    pub(crate) token_url: Option<Url>,
    #[serde(deserialize_with = "de::words")]
    pub(crate) client_id: Option<String>,
    #[serde(deserialize_with = "de::secret")]
    pub(crate) client_secret: Option<Secret>,
    #[serde(deserialize_with = "de::path")]
    pub(crate) client_assertion_key_file: Option<PathBuf>,
    #[serde(deserialize_with = "de::path")]
    pub(crate) client_cert_file: Option<PathBuf>,
    #[serde(deserialize_with = "de::words")]
    pub(crate) scope: Option<String>,
    #[serde(deserialize_with = "de::number::<_, u32, 1, 100>")]
    pub(crate) page_size: u32,
    #[serde(deserialize_with = "de::number::<_, usize, 1, 256>")]
    pub(crate) concurrency: usize,
    #[serde(deserialize_with = "de::number::<_, u32, 0, 255>")]
    pub(crate) pages_ahead: u32,
    #[serde(
        rename = "timeout_ms",
        deserialize_with = "de::millis::<_, 1, 600_000>"
    )]
    pub(crate) timeout: Duration,
    #[serde(deserialize_with = "de::number::<_, u32, 1, 10>")]
    pub(crate) max_attempts: u32,
    #[serde(rename = "backoff_ms", deserialize_with = "de::millis::<_, 1, 60_000>")]
    pub(crate) backoff: Duration,
    #[serde(
        rename = "retry_after_max_secs",
        deserialize_with = "de::seconds::<_, 0, 3_600>"
    )]
    pub(crate) retry_after_max: Duration,
    #[serde(deserialize_with = "de::number::<_, u32, 0, 1_000>")]
    pub(crate) breaker_failures: u32,
    #[serde(
        rename = "breaker_cooldown_ms",
        deserialize_with = "de::millis::<_, 1, 3_600_000>"
    )]
    pub(crate) breaker_cooldown: Duration,
    #[serde(deserialize_with = "de::number::<_, usize, 1024, { 1 << 32 }>")]
    pub(crate) max_body_bytes: usize,
    #[serde(deserialize_with = "de::number::<_, u64, 1, 1_000_000>")]
    pub(crate) max_pages: u64,
}

impl Default for UpstreamSection {
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
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_pages: DEFAULT_MAX_PAGES,
        }
    }
}
