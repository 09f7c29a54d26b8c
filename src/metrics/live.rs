//! The series of live answers (subscriptions): streams open by transport, the events they
//! sent, and the evaluations and upstream requests subscriptions caused.

use prometheus::{IntCounter, IntCounterVec, IntGaugeVec, Registry};

use super::{Metrics, counter, counters, gauges};

/// What live answers did.
#[derive(Debug)]
pub(super) struct LiveSeries {
    open: IntGaugeVec,
    events: IntCounterVec,
    evaluations: IntCounterVec,
    upstream: IntCounter,
}

impl LiveSeries {
    /// The series, registered in `r`.
    pub(super) fn register(r: &Registry) -> Self {
        Self {
            open: gauges(
                r,
                "gateway_subscriptions_open",
                "Subscriptions open now, by transport (ws, sse).",
                &["transport"],
            ),
            events: counters(
                r,
                "gateway_subscription_events_total",
                "Answers sent to subscribers, by transport.",
                &["transport"],
            ),
            evaluations: counters(
                r,
                "gateway_subscription_evaluations_total",
                "Runs of a live answer (one serves every subscriber of the same operation, variables and scope), by outcome: sent (the answer changed), same, held (an upstream fault: nothing sent).",
                &["outcome"],
            ),
            upstream: counter(
                r,
                "gateway_subscription_upstream_requests_total",
                "Upstream requests made by live answers' runs (the refreshes subscriptions caused).",
            ),
        }
    }
}

impl Metrics {
    /// A subscription opened (`+1`) or closed (`-1`) on `transport`.
    pub(crate) fn subscription_open(&self, transport: &'static str, change: i64) {
        self.live.open.with_label_values(&[transport]).add(change);
    }

    /// An answer was sent to a subscriber over `transport`.
    pub(crate) fn subscription_event(&self, transport: &'static str) {
        self.live.events.with_label_values(&[transport]).inc();
    }

    /// A live answer ran, with `outcome`, making `upstream` requests.
    pub(crate) fn subscription_evaluation(&self, outcome: &'static str, upstream: u32) {
        self.live.evaluations.with_label_values(&[outcome]).inc();
        self.live.upstream.inc_by(u64::from(upstream));
    }
}
