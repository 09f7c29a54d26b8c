//! What the rest of the gateway records: one method per event, each named after it.

use std::time::Duration;

use prometheus::TextEncoder;

use super::Metrics;

impl Metrics {
    /// A GraphQL request was answered: its operation name (`None`: anonymous), whether it
    /// failed (outcome `error`, else `ok`) and its duration.
    pub(crate) fn graphql_request(&self, operation: Option<&str>, failed: bool, elapsed: Duration) {
        self.operations
            .count(operation, failed, elapsed.as_secs_f64());
    }

    /// An answer came from `source` (one of [`ANSWER_SOURCES`](super::ANSWER_SOURCES)).
    pub(crate) fn answer(&self, source: &str) {
        match super::ANSWER_SOURCES
            .iter()
            .position(|known| *known == source)
        {
            Some(index) => self.requests.answers[index].inc(),
            None => debug_assert!(false, "unknown answer source {source}"),
        }
    }

    /// An execution ran, in the executor named (`fast` or `reference`).
    pub(crate) fn execution(&self, executor: &'static str) {
        self.requests
            .executions
            .with_label_values(&[executor])
            .inc();
    }

    /// The label for an operation name: the name itself when it is safe to keep.
    pub(crate) fn operation_label<'a>(&self, operation: Option<&'a str>) -> &'a str {
        self.operations.label(operation)
    }

    /// A request was refused before execution by `check` (a stable word or code).
    pub(crate) fn refusal(&self, check: &str) {
        self.requests.refusals.with_label_values(&[check]).inc();
    }

    /// An upstream request finished with `outcome` after `elapsed`.
    pub(crate) fn upstream_request(&self, endpoint: &str, outcome: &str, elapsed: Duration) {
        self.upstream
            .upstream_requests
            .with_label_values(&[endpoint, outcome])
            .inc();
        self.upstream
            .upstream_seconds
            .with_label_values(&[endpoint, outcome])
            .observe(elapsed.as_secs_f64());
    }

    /// The series of every upstream `outcome` of every endpoint start at zero, so a rate of
    /// one (an alert's) exists before its first request.
    pub(crate) fn upstream_outcomes<'a>(
        &self,
        endpoints: &[&str],
        outcomes: impl IntoIterator<Item = &'a str>,
    ) {
        for outcome in outcomes {
            for endpoint in endpoints {
                self.upstream
                    .upstream_requests
                    .with_label_values(&[endpoint, outcome]);
            }
        }
    }

    /// A failed upstream request with `code` is being tried again.
    pub(crate) fn upstream_retry(&self, code: &str) {
        self.upstream
            .upstream_retries
            .with_label_values(&[code])
            .inc();
    }

    /// `count` pages sent ahead of page 1 were `outcome` (`used`, `unused` or `failed`).
    pub(crate) fn pages_ahead(&self, outcome: &str, count: usize) {
        if count > 0 {
            self.upstream
                .pages_ahead
                .with_label_values(&[outcome])
                .inc_by(count as u64);
        }
    }

    /// Whether the app token holds `permission` (the identity service granted it).
    pub(crate) fn permission(&self, permission: &str, held: bool) {
        self.upstream
            .permissions
            .with_label_values(&[permission])
            .set(i64::from(held));
    }

    /// The circuit breaker moved to the state `gauge` stands for (0 closed, 1 open, 2
    /// half-open).
    pub(crate) fn circuit_state(&self, gauge: i64) {
        self.upstream.circuit_state.set(gauge);
    }

    /// An upstream request was not sent: the circuit was open.
    pub(crate) fn circuit_rejection(&self) {
        self.upstream.circuit_rejections.inc();
    }

    /// An app token request to the identity service finished with `outcome`.
    pub(crate) fn token_request(&self, outcome: &str) {
        self.upstream
            .token_requests
            .with_label_values(&[outcome])
            .inc();
    }

    /// A cache lookup in `cache` was a hit or a miss.
    pub(crate) fn cache_lookup(&self, cache: &str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache
            .cache_lookups
            .with_label_values(&[cache, result])
            .inc();
    }

    /// `cache` holds `entries` entries now.
    pub(crate) fn cache_entries(&self, cache: &str, entries: u64) {
        self.cache
            .cache_entries
            .with_label_values(&[cache])
            .set(i64::try_from(entries).unwrap_or(i64::MAX));
    }

    /// `cache` dropped an entry, for `cause` (`expired` or `size`).
    pub(crate) fn cache_eviction(&self, cache: &str, cause: &str) {
        self.cache
            .cache_evictions
            .with_label_values(&[cache, cause])
            .inc();
    }

    /// An answer from `cache` was served past its TTL, for `reason`.
    pub(crate) fn stale_served(&self, cache: &str, reason: &str) {
        self.cache
            .stale_served
            .with_label_values(&[cache, reason])
            .inc();
    }

    /// A background refresh of `cache` finished with `outcome`.
    pub(crate) fn refresh(&self, cache: &str, outcome: &str) {
        self.cache
            .refreshes
            .with_label_values(&[cache, outcome])
            .inc();
    }

    /// A miss in `cache` joined a fetch already in flight.
    pub(crate) fn flight_join(&self, cache: &str) {
        self.cache.flight_joins.with_label_values(&[cache]).inc();
    }

    /// The DataLoader handed over a batch of `ids` customer ids.
    pub(crate) fn loader_batch(&self, ids: usize) {
        self.cache.loader_batch.observe(ids as f64);
    }

    /// A caller was refused for `reason` (a stable, non-secret word).
    pub(crate) fn auth_refusal(&self, reason: &str) {
        self.requests
            .auth_refusals
            .with_label_values(&[reason])
            .inc();
    }

    /// Caller keys come from a JWKS: the fetch series start at zero, so an alert on failed
    /// fetches sees them before the first failure.
    pub(crate) fn jwks_in_use(&self) {
        for trigger in ["start", "periodic", "unknown_kid"] {
            for outcome in ["ok", "error"] {
                self.keys
                    .jwks_fetches
                    .with_label_values(&[trigger, outcome]);
            }
        }
    }

    /// A JWKS fetch finished; `keys` is how many keys are in use after it.
    pub(crate) fn jwks_fetch(&self, trigger: &str, outcome: &str, keys: usize) {
        self.keys
            .jwks_fetches
            .with_label_values(&[trigger, outcome])
            .inc();
        self.keys
            .jwks_keys
            .set(i64::try_from(keys).unwrap_or(i64::MAX));
    }

    /// An unknown `kid` did not cause a fetch, because one ran too recently.
    pub(crate) fn jwks_refetch_suppressed(&self) {
        self.keys.jwks_refetches_suppressed.inc();
    }

    /// A client connection was accepted.
    pub(crate) fn connection_opened(&self) {
        self.requests.connections_open.inc();
    }

    /// A client connection closed.
    pub(crate) fn connection_closed(&self) {
        self.requests.connections_open.dec();
    }

    /// A new connection had to wait: the connection limit was reached.
    pub(crate) fn connection_limit_reached(&self) {
        self.requests.connection_waits.inc();
    }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    pub(crate) fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|error| {
                tracing::error!(%error, "the metrics could not be rendered");
                String::new()
            })
    }
}
