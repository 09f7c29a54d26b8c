//! The series of the shared Redis: its calls, the fill lease, and the fallbacks to each
//! replica's own cache.

use std::time::Duration;

use prometheus::{HistogramVec, IntCounterVec, Registry};

use super::{Metrics, counters, histograms};

/// Call latency buckets, in seconds: a loopback call to a bulk read at its time limit.
const REDIS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
];

/// What the gateway asked of Redis.
#[derive(Debug)]
pub(super) struct RedisSeries {
    operations: IntCounterVec,
    seconds: HistogramVec,
    leases: IntCounterVec,
    lease_waits: IntCounterVec,
    fallbacks: IntCounterVec,
}

impl RedisSeries {
    /// The series, registered in `r`.
    pub(super) fn register(r: &Registry) -> Self {
        Self {
            operations: counters(
                r,
                "gateway_redis_operations_total",
                "Calls to the shared Redis, by operation and outcome (ok, error, timeout, skipped while it is down).",
                &["operation", "outcome"],
            ),
            seconds: histograms(
                r,
                "gateway_redis_operation_duration_seconds",
                "Time of each call to the shared Redis, by operation.",
                &["operation"],
                REDIS_BUCKETS,
            ),
            leases: counters(
                r,
                "gateway_redis_leases_total",
                "Fill leases asked for, by outcome (acquired, busy: another replica holds it, lost: it expired while held).",
                &["outcome"],
            ),
            lease_waits: counters(
                r,
                "gateway_redis_lease_waits_total",
                "Waits for another replica's fill, by outcome (filled, released: it ended without data, timeout).",
                &["outcome"],
            ),
            fallbacks: counters(
                r,
                "gateway_redis_fallbacks_total",
                "Reads or limits this replica did alone because Redis could not help, by reason.",
                &["reason"],
            ),
        }
    }
}

impl Metrics {
    /// A call to Redis (`operation`) ended with `outcome` after `elapsed`.
    pub(crate) fn redis_operation(&self, operation: &str, outcome: &str, elapsed: Duration) {
        self.redis
            .operations
            .with_label_values(&[operation, outcome])
            .inc();
        if outcome != "skipped" {
            self.redis
                .seconds
                .with_label_values(&[operation])
                .observe(elapsed.as_secs_f64());
        }
    }

    /// A fill lease was asked for, with `outcome`.
    pub(crate) fn redis_lease(&self, outcome: &str) {
        self.redis.leases.with_label_values(&[outcome]).inc();
    }

    /// A wait for another replica's fill ended with `outcome`.
    pub(crate) fn redis_lease_wait(&self, outcome: &str) {
        self.redis.lease_waits.with_label_values(&[outcome]).inc();
    }

    /// Redis is configured: the fallback series for `reasons` start at zero, so a rate of
    /// them (an alert's) exists before the first fallback.
    pub(crate) fn redis_in_use(&self, reasons: &[&str]) {
        for reason in reasons {
            self.redis.fallbacks.with_label_values(&[reason]);
        }
    }

    /// This replica did without Redis, for `reason`.
    pub(crate) fn redis_fallback(&self, reason: &str) {
        self.redis.fallbacks.with_label_values(&[reason]).inc();
    }
}
