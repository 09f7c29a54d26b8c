//! The gateway's counters, rendered in the Prometheus text format on `/metrics`.
//!
//! Each gateway owns its own [`Metrics`] (no global registry), so several gateways in one
//! process (the test suite) never mix their figures.

use std::{collections::BTreeMap, fmt::Write as _, sync::Mutex, time::Duration};

/// One counter family: a name, its help text, and a value per label set.
#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    kind: &'static str,
    values: Mutex<BTreeMap<String, f64>>,
}

impl Family {
    const fn new(name: &'static str, kind: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            kind,
            values: Mutex::new(BTreeMap::new()),
        }
    }

    fn add(&self, labels: String, amount: f64) {
        let mut values = self
            .values
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        *values.entry(labels).or_default() += amount;
    }

    fn set(&self, labels: String, value: f64) {
        let mut values = self
            .values
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        values.insert(labels, value);
    }

    fn render(&self, out: &mut String) {
        let values = self
            .values
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (labels, value) in values.iter() {
            if labels.is_empty() {
                let _ = writeln!(out, "{} {value}", self.name);
            } else {
                let _ = writeln!(out, "{}{{{labels}}} {value}", self.name);
            }
        }
    }
}

/// Counters for requests, upstream calls, cache lookups, refusals and key/token refreshes.
#[derive(Debug)]
pub struct Metrics {
    graphql_requests: Family,
    upstream_requests: Family,
    upstream_seconds: Family,
    cache_lookups: Family,
    auth_refusals: Family,
    jwks_fetches: Family,
    jwks_keys: Family,
    jwks_refetches_suppressed: Family,
    token_requests: Family,
    upstream_retries: Family,
    circuit_state: Family,
    stale_served: Family,
    refreshes: Family,
    flight_joins: Family,
    refusals: Family,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            graphql_requests: Family::new(
                "gateway_graphql_requests_total",
                "counter",
                "GraphQL requests answered, by outcome.",
            ),
            upstream_requests: Family::new(
                "gateway_upstream_requests_total",
                "counter",
                "Requests sent to the upstream, by outcome (OK, NOT_FOUND or an UPSTREAM_* code).",
            ),
            upstream_seconds: Family::new(
                "gateway_upstream_request_seconds_total",
                "counter",
                "Time spent waiting for upstream answers, by outcome.",
            ),
            cache_lookups: Family::new(
                "gateway_cache_lookups_total",
                "counter",
                "Cache lookups, by cache and result (hit or miss).",
            ),
            auth_refusals: Family::new(
                "gateway_auth_refusals_total",
                "counter",
                "Caller requests refused by authentication, by reason.",
            ),
            jwks_fetches: Family::new(
                "gateway_jwks_fetches_total",
                "counter",
                "JWKS fetches, by trigger (start, periodic, unknown_kid) and outcome (ok, error).",
            ),
            jwks_keys: Family::new(
                "gateway_jwks_keys",
                "gauge",
                "Caller keys in use from the JWKS (the last good fetch's).",
            ),
            jwks_refetches_suppressed: Family::new(
                "gateway_jwks_refetches_suppressed_total",
                "counter",
                "Unknown-kid refetches skipped because the last one was too recent.",
            ),
            token_requests: Family::new(
                "gateway_upstream_token_requests_total",
                "counter",
                "App token requests to the identity service, by outcome (OK or an UPSTREAM_* code).",
            ),
            upstream_retries: Family::new(
                "gateway_upstream_retries_total",
                "counter",
                "Upstream requests tried again, by the failure that caused it.",
            ),
            circuit_state: Family::new(
                "gateway_upstream_circuit_state",
                "gauge",
                "The upstream circuit breaker: 0 closed, 1 open, 2 half-open.",
            ),
            stale_served: Family::new(
                "gateway_cache_stale_served_total",
                "counter",
                "Answers served past their TTL, by cache and reason (revalidating or upstream_error).",
            ),
            refreshes: Family::new(
                "gateway_cache_refreshes_total",
                "counter",
                "Background refreshes of stale entries, by cache and outcome (OK or an UPSTREAM_* code).",
            ),
            flight_joins: Family::new(
                "gateway_cache_singleflight_joins_total",
                "counter",
                "Cache misses that joined a fetch already in flight instead of starting one, by cache.",
            ),
            refusals: Family::new(
                "gateway_request_refusals_total",
                "counter",
                "Requests refused before execution, by the limit or check that refused them.",
            ),
        }
    }
}

impl Metrics {
    /// A GraphQL request finished; `outcome` is `ok` or `error`.
    pub fn graphql_request(&self, outcome: &'static str) {
        self.graphql_requests
            .add(format!("outcome=\"{outcome}\""), 1.0);
    }

    /// An upstream request finished with `outcome` after `elapsed`.
    pub fn upstream_request(&self, outcome: &'static str, elapsed: Duration) {
        let labels = format!("outcome=\"{outcome}\"");
        self.upstream_seconds
            .add(labels.clone(), elapsed.as_secs_f64());
        self.upstream_requests.add(labels, 1.0);
    }

    /// A cache lookup in `cache` was a hit or a miss.
    pub fn cache_lookup(&self, cache: &'static str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache_lookups
            .add(format!("cache=\"{cache}\",result=\"{result}\""), 1.0);
    }

    /// A caller was refused for `reason` (a stable, non-secret word).
    pub fn auth_refusal(&self, reason: &'static str) {
        self.auth_refusals.add(format!("reason=\"{reason}\""), 1.0);
    }

    /// A JWKS fetch finished; `keys` is how many keys are in use after it.
    pub fn jwks_fetch(&self, trigger: &'static str, outcome: &'static str, keys: usize) {
        self.jwks_fetches
            .add(format!("trigger=\"{trigger}\",outcome=\"{outcome}\""), 1.0);
        self.jwks_keys.set(String::new(), keys as f64);
    }

    /// An unknown `kid` did not cause a fetch, because one ran too recently.
    pub fn jwks_refetch_suppressed(&self) {
        self.jwks_refetches_suppressed.add(String::new(), 1.0);
    }

    /// An app token request to the identity service finished with `outcome`.
    pub fn token_request(&self, outcome: &'static str) {
        self.token_requests
            .add(format!("outcome=\"{outcome}\""), 1.0);
    }

    /// A failed upstream request with `code` is being tried again.
    pub fn upstream_retry(&self, code: &'static str) {
        self.upstream_retries.add(format!("code=\"{code}\""), 1.0);
    }

    /// The circuit breaker moved to `state`.
    pub fn circuit_state(&self, state: crate::upstream::CircuitState) {
        self.circuit_state.set(String::new(), state.gauge());
    }

    /// An answer from `cache` was served past its TTL, for `reason`.
    pub fn stale_served(&self, cache: &'static str, reason: &'static str) {
        self.stale_served
            .add(format!("cache=\"{cache}\",reason=\"{reason}\""), 1.0);
    }

    /// A background refresh of `cache` finished with `outcome`.
    pub fn refresh(&self, cache: &'static str, outcome: &'static str) {
        self.refreshes
            .add(format!("cache=\"{cache}\",outcome=\"{outcome}\""), 1.0);
    }

    /// A miss in `cache` joined a fetch already in flight.
    pub fn flight_join(&self, cache: &'static str) {
        self.flight_joins.add(format!("cache=\"{cache}\""), 1.0);
    }

    /// A request was refused before execution by `check` (a stable word, such as `depth`).
    pub fn refusal(&self, check: &'static str) {
        self.refusals.add(format!("check=\"{check}\""), 1.0);
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for family in [
            &self.graphql_requests,
            &self.upstream_requests,
            &self.upstream_seconds,
            &self.cache_lookups,
            &self.auth_refusals,
            &self.jwks_fetches,
            &self.jwks_keys,
            &self.jwks_refetches_suppressed,
            &self.token_requests,
            &self.upstream_retries,
            &self.circuit_state,
            &self.stale_served,
            &self.refreshes,
            &self.flight_joins,
            &self.refusals,
        ] {
            family.render(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_in_prometheus_text_format() {
        let metrics = Metrics::default();
        metrics.cache_lookup("snapshot", true);
        metrics.cache_lookup("snapshot", true);
        metrics.auth_refusal("expired");
        let text = metrics.render();
        assert!(text.contains("# TYPE gateway_cache_lookups_total counter"));
        assert!(text.contains("gateway_cache_lookups_total{cache=\"snapshot\",result=\"hit\"} 2"));
        assert!(text.contains("gateway_auth_refusals_total{reason=\"expired\"} 1"));
    }
}
