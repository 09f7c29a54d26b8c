//! The gateway's metrics, rendered in the Prometheus text format on `/metrics`.
//!
//! Built on the `prometheus` crate, with a registry per gateway (no global one), so several
//! gateways in one process (the test suite) never mix their figures. Call sites see only the
//! methods below, each named after the event it records; the README lists every metric.
//!
//! Label values are fixed words or codes, never caller text, with one exception made safe:
//! the GraphQL operation name is kept only when it is a GraphQL name of at most 64 characters
//! and one of the first [`MAX_OPERATIONS`] seen; any other becomes `other`, so a caller cannot
//! grow the series without bound.

use std::{collections::HashSet, sync::Mutex, time::Duration};

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
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
pub struct Metrics {
    registry: Registry,
    operations: Mutex<HashSet<String>>,
    graphql_requests: IntCounterVec,
    graphql_seconds: HistogramVec,
    refusals: IntCounterVec,
    upstream_requests: IntCounterVec,
    upstream_seconds: HistogramVec,
    upstream_retries: IntCounterVec,
    pages_ahead: IntCounterVec,
    circuit_state: IntGauge,
    circuit_rejections: IntCounter,
    token_requests: IntCounterVec,
    cache_lookups: IntCounterVec,
    cache_entries: IntGaugeVec,
    cache_evictions: IntCounterVec,
    stale_served: IntCounterVec,
    refreshes: IntCounterVec,
    flight_joins: IntCounterVec,
    loader_batch: Histogram,
    auth_refusals: IntCounterVec,
    jwks_fetches: IntCounterVec,
    jwks_keys: IntGauge,
    jwks_refetches_suppressed: IntCounter,
    connections_open: IntGauge,
    connection_waits: IntCounter,
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

impl Default for Metrics {
    fn default() -> Self {
        let r = Registry::new();
        Self {
            operations: Mutex::default(),
            graphql_requests: counters(
                &r,
                "gateway_graphql_requests_total",
                "GraphQL requests executed, by operation name and outcome (ok or error).",
                &["operation", "outcome"],
            ),
            graphql_seconds: histograms(
                &r,
                "gateway_graphql_request_duration_seconds",
                "Time to execute a GraphQL request, by operation name and outcome.",
                &["operation", "outcome"],
                LATENCY_BUCKETS,
            ),
            refusals: counters(
                &r,
                "gateway_request_refusals_total",
                "Requests refused before execution, by the limit or check that refused them.",
                &["check"],
            ),
            upstream_requests: counters(
                &r,
                "gateway_upstream_requests_total",
                "Requests sent to the upstream, by outcome (OK, NOT_FOUND or an UPSTREAM_* code).",
                &["outcome"],
            ),
            upstream_seconds: histograms(
                &r,
                "gateway_upstream_request_duration_seconds",
                "Time from sending an upstream request to its last body byte, by outcome.",
                &["outcome"],
                LATENCY_BUCKETS,
            ),
            upstream_retries: counters(
                &r,
                "gateway_upstream_retries_total",
                "Upstream requests tried again, by the failure that caused it.",
                &["code"],
            ),
            pages_ahead: counters(
                &r,
                "gateway_upstream_pages_ahead_total",
                "Listing pages sent together with page 1, by what became of them (used, unused, failed).",
                &["outcome"],
            ),
            circuit_state: gauge(
                &r,
                "gateway_upstream_circuit_state",
                "The upstream circuit breaker: 0 closed, 1 open, 2 half-open.",
            ),
            circuit_rejections: counter(
                &r,
                "gateway_upstream_circuit_rejections_total",
                "Upstream requests not sent because the circuit breaker was open.",
            ),
            token_requests: counters(
                &r,
                "gateway_upstream_token_requests_total",
                "App token requests to the identity service, by outcome (OK or an UPSTREAM_* code).",
                &["outcome"],
            ),
            cache_lookups: counters(
                &r,
                "gateway_cache_lookups_total",
                "Cache lookups, by cache (snapshot or customer) and result (hit or miss).",
                &["cache", "result"],
            ),
            cache_entries: gauges(
                &r,
                "gateway_cache_entries",
                "Entries held, by cache (approximate: moka counts lazily).",
                &["cache"],
            ),
            cache_evictions: counters(
                &r,
                "gateway_cache_evictions_total",
                "Entries dropped by the cache, by cache and cause (expired or size).",
                &["cache", "cause"],
            ),
            stale_served: counters(
                &r,
                "gateway_cache_stale_served_total",
                "Answers served past their TTL, by cache and reason (revalidating or upstream_error).",
                &["cache", "reason"],
            ),
            refreshes: counters(
                &r,
                "gateway_cache_refreshes_total",
                "Background refreshes of stale entries, by cache and outcome (OK or an UPSTREAM_* code).",
                &["cache", "outcome"],
            ),
            flight_joins: counters(
                &r,
                "gateway_cache_singleflight_joins_total",
                "Cache misses that joined a fetch already in flight instead of starting one, by cache.",
                &["cache"],
            ),
            loader_batch: register(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "gateway_loader_batch_size",
                        "Customer ids per DataLoader batch (one batch per execution tick).",
                    )
                    .buckets(BATCH_BUCKETS.to_vec()),
                )
                .expect("a valid histogram"),
            ),
            auth_refusals: counters(
                &r,
                "gateway_auth_refusals_total",
                "Caller requests refused by authentication, by reason.",
                &["reason"],
            ),
            jwks_fetches: counters(
                &r,
                "gateway_jwks_fetches_total",
                "JWKS fetches, by trigger (start, periodic, unknown_kid) and outcome (ok, error).",
                &["trigger", "outcome"],
            ),
            jwks_keys: gauge(
                &r,
                "gateway_jwks_keys",
                "Caller keys in use from the JWKS (the last good fetch's).",
            ),
            jwks_refetches_suppressed: counter(
                &r,
                "gateway_jwks_refetches_suppressed_total",
                "Unknown-kid refetches skipped because the last one was too recent.",
            ),
            connections_open: gauge(
                &r,
                "gateway_http_connections_open",
                "Client connections open now.",
            ),
            connection_waits: counter(
                &r,
                "gateway_http_connection_limit_reached_total",
                "Times a new connection waited because GATEWAY_LIMITS_CONNECTIONS were open.",
            ),
            registry: r,
        }
    }
}

impl Metrics {
    /// A GraphQL request was executed: its operation name (`None`: anonymous), outcome (`ok`
    /// or `error`) and duration.
    pub fn graphql_request(&self, operation: Option<&str>, outcome: &str, elapsed: Duration) {
        let labels = [self.operation_label(operation), outcome];
        self.graphql_requests.with_label_values(&labels).inc();
        self.graphql_seconds
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The label for an operation name: the name itself when it is safe to keep.
    fn operation_label<'a>(&self, operation: Option<&'a str>) -> &'a str {
        let Some(name) = operation else {
            return "anonymous";
        };
        let is_name = !name.is_empty()
            && name.len() <= MAX_OPERATION_NAME
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !is_name {
            return "other";
        }
        let mut known = self
            .operations
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if known.contains(name) || known.len() < MAX_OPERATIONS && known.insert(name.to_owned()) {
            name
        } else {
            "other"
        }
    }

    /// A request was refused before execution by `check` (a stable word or code).
    pub fn refusal(&self, check: &str) {
        self.refusals.with_label_values(&[check]).inc();
    }

    /// An upstream request finished with `outcome` after `elapsed`.
    pub fn upstream_request(&self, outcome: &str, elapsed: Duration) {
        self.upstream_requests.with_label_values(&[outcome]).inc();
        self.upstream_seconds
            .with_label_values(&[outcome])
            .observe(elapsed.as_secs_f64());
    }

    /// A failed upstream request with `code` is being tried again.
    pub fn upstream_retry(&self, code: &str) {
        self.upstream_retries.with_label_values(&[code]).inc();
    }

    /// `count` pages sent ahead of page 1 were `outcome` (`used`, `unused` or `failed`).
    pub fn pages_ahead(&self, outcome: &str, count: usize) {
        if count > 0 {
            self.pages_ahead
                .with_label_values(&[outcome])
                .inc_by(count as u64);
        }
    }

    /// The circuit breaker moved to the state `gauge` stands for (0 closed, 1 open, 2
    /// half-open).
    pub fn circuit_state(&self, gauge: i64) {
        self.circuit_state.set(gauge);
    }

    /// An upstream request was not sent: the circuit was open.
    pub fn circuit_rejection(&self) {
        self.circuit_rejections.inc();
    }

    /// An app token request to the identity service finished with `outcome`.
    pub fn token_request(&self, outcome: &str) {
        self.token_requests.with_label_values(&[outcome]).inc();
    }

    /// A cache lookup in `cache` was a hit or a miss.
    pub fn cache_lookup(&self, cache: &str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache_lookups.with_label_values(&[cache, result]).inc();
    }

    /// `cache` holds `entries` entries now.
    pub fn cache_entries(&self, cache: &str, entries: u64) {
        self.cache_entries
            .with_label_values(&[cache])
            .set(i64::try_from(entries).unwrap_or(i64::MAX));
    }

    /// `cache` dropped an entry, for `cause` (`expired` or `size`).
    pub fn cache_eviction(&self, cache: &str, cause: &str) {
        self.cache_evictions
            .with_label_values(&[cache, cause])
            .inc();
    }

    /// An answer from `cache` was served past its TTL, for `reason`.
    pub fn stale_served(&self, cache: &str, reason: &str) {
        self.stale_served.with_label_values(&[cache, reason]).inc();
    }

    /// A background refresh of `cache` finished with `outcome`.
    pub fn refresh(&self, cache: &str, outcome: &str) {
        self.refreshes.with_label_values(&[cache, outcome]).inc();
    }

    /// A miss in `cache` joined a fetch already in flight.
    pub fn flight_join(&self, cache: &str) {
        self.flight_joins.with_label_values(&[cache]).inc();
    }

    /// The DataLoader handed over a batch of `ids` customer ids.
    pub fn loader_batch(&self, ids: usize) {
        self.loader_batch.observe(ids as f64);
    }

    /// A caller was refused for `reason` (a stable, non-secret word).
    pub fn auth_refusal(&self, reason: &str) {
        self.auth_refusals.with_label_values(&[reason]).inc();
    }

    /// A JWKS fetch finished; `keys` is how many keys are in use after it.
    pub fn jwks_fetch(&self, trigger: &str, outcome: &str, keys: usize) {
        self.jwks_fetches
            .with_label_values(&[trigger, outcome])
            .inc();
        self.jwks_keys.set(i64::try_from(keys).unwrap_or(i64::MAX));
    }

    /// An unknown `kid` did not cause a fetch, because one ran too recently.
    pub fn jwks_refetch_suppressed(&self) {
        self.jwks_refetches_suppressed.inc();
    }

    /// A client connection was accepted.
    pub fn connection_opened(&self) {
        self.connections_open.inc();
    }

    /// A client connection closed.
    pub fn connection_closed(&self) {
        self.connections_open.dec();
    }

    /// A new connection had to wait: the connection limit was reached.
    pub fn connection_limit_reached(&self) {
        self.connection_waits.inc();
    }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|error| {
                tracing::error!(%error, "the metrics could not be rendered");
                String::new()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_in_prometheus_text_format() {
        let metrics = Metrics::default();
        metrics.cache_lookup("snapshot", true);
        metrics.cache_lookup("snapshot", true);
        metrics.auth_refusal("expired");
        metrics.graphql_request(Some("Listing"), "ok", Duration::from_millis(3));
        let text = metrics.render();
        assert!(text.contains("# TYPE gateway_cache_lookups_total counter"));
        assert!(text.contains("gateway_cache_lookups_total{cache=\"snapshot\",result=\"hit\"} 2"));
        assert!(text.contains("gateway_auth_refusals_total{reason=\"expired\"} 1"));
        assert!(text.contains(
            "gateway_graphql_request_duration_seconds_bucket{operation=\"Listing\",outcome=\"ok\",le=\"0.005\"} 1"
        ));
    }

    #[test]
    fn operation_names_are_bounded_and_checked() {
        let metrics = Metrics::default();
        assert_eq!(metrics.operation_label(None), "anonymous");
        assert_eq!(metrics.operation_label(Some("Products_2")), "Products_2");
        for odd in ["", "9lives", "with space", "a\"quote", &"x".repeat(65)] {
            assert_eq!(metrics.operation_label(Some(odd)), "other", "{odd:?}");
        }
        for n in 0..MAX_OPERATIONS * 2 {
            metrics.operation_label(Some(&format!("Op{n}")));
        }
        assert_eq!(metrics.operation_label(Some("Products_2")), "Products_2");
        assert_eq!(metrics.operation_label(Some("Brand_new")), "other");
        assert_eq!(
            metrics.operations.lock().unwrap().len(),
            MAX_OPERATIONS,
            "the known names stop growing at the cap"
        );
    }
}
