//! The upstream's settings, as the configuration builds them (`[upstream]`).

use std::{path::PathBuf, time::Duration};

use reqwest::Url;

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
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Default `GATEWAY_UPSTREAM_MAX_PAGES`.
pub(crate) const DEFAULT_MAX_PAGES: u64 = 1000;

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
