//! The HTTP side's settings: what one request may cost (`[limits]`, read by the listener,
//! the extractors, the rate limit and, through [`Limits::query`], the answer stage), how the
//! gateway stops (`[shutdown]`), and where `/metrics` is served (`[metrics]`).

use std::{net::SocketAddr, time::Duration};

use serde::Deserialize;

use crate::{de, graphql::QueryLimits};

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
    pub(crate) burst_given: Option<u32>,
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
    /// `GATEWAY_LIMITS_UPSTREAM_REQUESTS`: most upstream requests one operation may be
    /// estimated to make (default 200; 0 allows only answers the cache holds).
    #[serde(deserialize_with = "de::number::<_, usize, 0, 1_000_000>")]
    pub upstream_requests: usize,
    /// `GATEWAY_LIMITS_SUBSCRIPTIONS_PER_CALLER`: most subscriptions one caller (token `sub`)
    /// may hold open at once, over every transport (default 20; 0 refuses every one).
    #[serde(deserialize_with = "de::number::<_, usize, 0, 100_000>")]
    pub subscriptions_per_caller: usize,
    /// `GATEWAY_LIMITS_BATCH`: most operations in one batched POST (default 10).
    #[serde(deserialize_with = "de::number::<_, usize, 1, 1_000>")]
    pub batch: usize,
}

impl Limits {
    /// The limits a GraphQL document is held to, with introspection allowed or not.
    pub fn query(&self, introspection: bool) -> QueryLimits {
        QueryLimits {
            depth: self.depth,
            complexity: self.complexity,
            root_fields: self.root_fields,
            aliases: self.aliases,
            upstream_requests: self.upstream_requests,
            introspection,
        }
    }
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
            upstream_requests: 200,
            subscriptions_per_caller: 20,
            batch: 10,
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

/// `[metrics]` as written: `/metrics` on a listener of its own, when set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct MetricsSection {
    #[serde(deserialize_with = "de::some_address")]
    pub(crate) listen: Option<SocketAddr>,
}
