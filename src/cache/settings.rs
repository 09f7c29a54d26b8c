//! The cache's settings (`[cache]`), read straight from the configuration.

use std::time::Duration;

use serde::Deserialize;

use crate::de;

/// Default total size of reusable answers: 32 MiB.
pub(crate) const DEFAULT_ANSWER_BYTES: u64 = 32 * 1024 * 1024;

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
    /// `GATEWAY_CACHE_JOBS_TTL_SECS`: how long a customer's backup jobs are fresh (default
    /// 30 s: jobs change while they run, a customer's details and seats seldom do).
    #[serde(
        rename = "jobs_ttl_secs",
        deserialize_with = "de::seconds::<_, 1, 86_400>"
    )]
    pub jobs_ttl: Duration,
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
            jobs_ttl: Duration::from_secs(30),
            answer_bytes: DEFAULT_ANSWER_BYTES,
        }
    }
}
