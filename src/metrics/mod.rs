//! The gateway's metrics, rendered in the Prometheus text format on `/metrics`.
//!
//! Built on the `prometheus` crate, with a registry per gateway (no global one), so several
//! gateways in one process (the test suite) never mix their figures. Call sites see only the
//! methods of `events.rs`, each named after the event it records; docs/operations.md lists every metric.
//!
//! Label values are fixed words or codes, never caller text, with one exception made safe:
//! the GraphQL operation name is kept only when it is a GraphQL name of at most 64 characters
//! and one of the first [`MAX_OPERATIONS`] seen; any other becomes `other`, so a caller cannot
//! grow the series without bound.

mod events;
mod live;
mod mcp;
mod operations;
mod persisted;
mod redis;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Most distinct operation names given their own series.
pub(crate) const MAX_OPERATIONS: usize = 200;

/// Longest operation name given its own series.
const MAX_OPERATION_NAME: usize = 64;

/// Latency buckets, in seconds: from a warm in-memory answer to a slow upstream.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// DataLoader batch size buckets, in customer ids.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

/// Every metric of one gateway.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    operations: operations::Operations,
    requests: RequestSeries,
    upstream: UpstreamSeries,
    cache: CacheSeries,
    keys: KeySeries,
    redis: redis::RedisSeries,
    live: live::LiveSeries,
    mcp: mcp::McpSeries,
    persisted: persisted::PersistedSeries,
}

/// Registers a metric; the names and labels here are constants, so a failure is a bug.
fn register<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: M) -> M {
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are valid and unique");
    metric
}

fn counters(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid counter");
    register(registry, metric)
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    register(
        registry,
        IntCounter::new(name, help).expect("a valid counter"),
    )
}

fn gauges(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let metric = IntGaugeVec::new(Opts::new(name, help), labels).expect("a valid gauge");
    register(registry, metric)
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    register(registry, IntGauge::new(name, help).expect("a valid gauge"))
}

fn histograms(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    register(
        registry,
        HistogramVec::new(opts, labels).expect("a valid histogram"),
    )
}

/// Requests the gateway answered or refused, and its client connections.
#[derive(Debug)]
struct RequestSeries {
    /// One counter per [`ANSWER_SOURCES`] entry, looked up once: every answer counts one.
    answers: [IntCounter; ANSWER_SOURCES.len()],
    executions: IntCounterVec,
    refusals: IntCounterVec,
    auth_refusals: IntCounterVec,
    connections_open: IntGauge,
    connection_waits: IntCounter,
}

impl RequestSeries {
    fn register(r: &Registry) -> Self {
        Self {
            answers: answers(r),
            executions: counters(
                r,
                "gateway_graphql_executions_total",
                "GraphQL executions, by the executor that wrote the answer: `fast` (the \
                 gateway's own) or `reference` (async-graphql's).",
                &["executor"],
            ),
            refusals: counters(
                r,
                "gateway_request_refusals_total",
                "Requests refused before execution, by the limit or check that refused them.",
                &["check"],
            ),
            auth_refusals: counters(
                r,
                "gateway_auth_refusals_total",
                "Caller requests refused by authentication, by reason.",
                &["reason"],
            ),
            connections_open: gauge(
                r,
                "gateway_http_connections_open",
                "Client connections open now.",
            ),
            connection_waits: counter(
                r,
                "gateway_http_connection_limit_reached_total",
                "Times a new connection waited because GATEWAY_LIMITS_CONNECTIONS were open.",
            ),
        }
    }
}

/// Where a GraphQL answer came from; the access log names the same sources.
pub(crate) const ANSWER_SOURCES: [&str; 6] = [
    "reused",
    "fresh",
    "stale",
    "not_modified",
    "timeout",
    "error",
];

/// The answers by source, every source's series at zero from the start.
fn answers(r: &Registry) -> [IntCounter; ANSWER_SOURCES.len()] {
    let answers = counters(
        r,
        "gateway_graphql_answers_total",
        "GraphQL answers, by source: reused (an identical request's answer), fresh or stale \
         (executed on fresh or stale data), not_modified (304), timeout, error.",
        &["source"],
    );
    ANSWER_SOURCES.map(|source| answers.with_label_values(&[source]))
}

/// Stale answers by cache and reason, every series at zero from the start, so an alert on
/// them sees a rate before the first.
fn stale_served(r: &Registry) -> IntCounterVec {
    let stale = counters(
        r,
        "gateway_cache_stale_served_total",
        "Answers served past their TTL, by cache and reason (revalidating or upstream_error).",
        &["cache", "reason"],
    );
    for cache in ["snapshot", "customer"] {
        for reason in ["revalidating", "upstream_error"] {
            stale.with_label_values(&[cache, reason]);
        }
    }
    stale
}

/// What the gateway asked of the upstream and its identity service.
#[derive(Debug)]
struct UpstreamSeries {
    upstream_requests: IntCounterVec,
    upstream_seconds: HistogramVec,
    upstream_retries: IntCounterVec,
    pages_ahead: IntCounterVec,
    circuit_state: IntGauge,
    circuit_rejections: IntCounter,
    token_requests: IntCounterVec,
    permissions: IntGaugeVec,
}

impl UpstreamSeries {
    fn register(r: &Registry) -> Self {
        Self {
            upstream_requests: counters(
                r,
                "gateway_upstream_requests_total",
                "Requests sent to the upstream, by endpoint (services, customers, jobs, seats, coverage) and outcome (OK, NOT_FOUND or an UPSTREAM_* code).",
                &["endpoint", "outcome"],
            ),
            upstream_seconds: histograms(
                r,
                "gateway_upstream_request_duration_seconds",
                "Time from sending an upstream request to its last body byte, by endpoint and outcome.",
                &["endpoint", "outcome"],
                LATENCY_BUCKETS,
            ),
            upstream_retries: counters(
                r,
                "gateway_upstream_retries_total",
                "Upstream requests tried again, by the failure that caused it.",
                &["code"],
            ),
            pages_ahead: counters(
                r,
                "gateway_upstream_pages_ahead_total",
                "Listing pages sent together with page 1, by what became of them (used, unused, failed).",
                &["outcome"],
            ),
            circuit_state: gauge(
                r,
                "gateway_upstream_circuit_state",
                "The upstream circuit breaker: 0 closed, 1 open, 2 half-open.",
            ),
            circuit_rejections: counter(
                r,
                "gateway_upstream_circuit_rejections_total",
                "Upstream requests not sent because the circuit breaker was open.",
            ),
            token_requests: counters(
                r,
                "gateway_upstream_token_requests_total",
                "App token requests to the identity service, by outcome (OK or an UPSTREAM_* code).",
                &["outcome"],
            ),
            permissions: gauges(
                r,
                "gateway_upstream_permissions",
                "The permissions asked for with client credentials: 1 held, 0 refused by the identity service.",
                &["permission"],
            ),
        }
    }
}

/// The caches in front of the upstream, and the DataLoader batches that read them.
#[derive(Debug)]
struct CacheSeries {
    cache_lookups: IntCounterVec,
    cache_entries: IntGaugeVec,
    cache_evictions: IntCounterVec,
    stale_served: IntCounterVec,
    refreshes: IntCounterVec,
    flight_joins: IntCounterVec,
    loader_batch: Histogram,
}

impl CacheSeries {
    fn register(r: &Registry) -> Self {
        Self {
            cache_lookups: counters(
                r,
                "gateway_cache_lookups_total",
                "Cache lookups, by cache (snapshot or customer) and result (hit or miss).",
                &["cache", "result"],
            ),
            cache_entries: gauges(
                r,
                "gateway_cache_entries",
                "Entries held, by cache (approximate: moka counts lazily).",
                &["cache"],
            ),
            cache_evictions: counters(
                r,
                "gateway_cache_evictions_total",
                "Entries dropped by the cache, by cache and cause (expired or size).",
                &["cache", "cause"],
            ),
            stale_served: stale_served(r),
            refreshes: counters(
                r,
                "gateway_cache_refreshes_total",
                "Background refreshes of stale entries, by cache and outcome (OK or an UPSTREAM_* code).",
                &["cache", "outcome"],
            ),
            flight_joins: counters(
                r,
                "gateway_cache_singleflight_joins_total",
                "Cache misses that joined a fetch already in flight instead of starting one, by cache.",
                &["cache"],
            ),
            loader_batch: register(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "gateway_loader_batch_size",
                        "Customer ids per DataLoader batch (one batch per execution tick).",
                    )
                    .buckets(BATCH_BUCKETS.to_vec()),
                )
                .expect("a valid histogram"),
            ),
        }
    }
}

/// Caller keys from a JWKS.
#[derive(Debug)]
struct KeySeries {
    jwks_fetches: IntCounterVec,
    jwks_keys: IntGauge,
    jwks_refetches_suppressed: IntCounter,
}

impl KeySeries {
    fn register(r: &Registry) -> Self {
        Self {
            jwks_fetches: counters(
                r,
                "gateway_jwks_fetches_total",
                "JWKS fetches, by trigger (start, periodic, unknown_kid) and outcome (ok, error).",
                &["trigger", "outcome"],
            ),
            jwks_keys: gauge(
                r,
                "gateway_jwks_keys",
                "Caller keys in use from the JWKS (the last good fetch's).",
            ),
            jwks_refetches_suppressed: counter(
                r,
                "gateway_jwks_refetches_suppressed_total",
                "Unknown-kid refetches skipped because the last one was too recent.",
            ),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let registry = Registry::new();
        Self {
            operations: operations::Operations::register(&registry),
            requests: RequestSeries::register(&registry),
            upstream: UpstreamSeries::register(&registry),
            cache: CacheSeries::register(&registry),
            keys: KeySeries::register(&registry),
            redis: redis::RedisSeries::register(&registry),
            live: live::LiveSeries::register(&registry),
            mcp: mcp::McpSeries::register(&registry),
            persisted: persisted::PersistedSeries::register(&registry),
            registry,
        }
    }
}

#[cfg(test)]
mod tests;
