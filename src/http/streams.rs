//! What every stream transport does around one subscription: counts it among the open ones,
//! counts the answers it sends, and writes its access-log lines when it starts and ends (inside
//! the span of the request that opened it, so the lines carry that request's id; when the level
//! leaves the span out, the lines carry the id as a field).

use std::{sync::Arc, time::Instant};

use super::{access::TARGET, request_id::RequestId};
use crate::metrics::Metrics;

/// One subscription's stream, from its start to its end (when this is dropped).
#[derive(Debug)]
pub(super) struct StreamLog {
    transport: &'static str,
    operation: Option<String>,
    started: Instant,
    events: u64,
    metrics: Arc<Metrics>,
    span: tracing::Span,
    /// The request's id, for the lines to carry themselves when the level leaves the span out.
    id: Option<RequestId>,
    log: bool,
}

impl StreamLog {
    /// A stream of `operation` opened now over `transport` by the request `request`; `log`: the
    /// access log is on.
    pub(super) fn open(
        transport: &'static str,
        operation: Option<&str>,
        request: &RequestId,
        metrics: &Arc<Metrics>,
        log: bool,
    ) -> Self {
        metrics.subscription_open(transport, 1);
        let operation = operation.map(|name| metrics.operation_label(Some(name)).to_owned());
        let span = tracing::Span::current();
        let id = span.is_disabled().then(|| request.clone());
        if log {
            tracing::info!(
                target: TARGET,
                id = id.as_ref().map(RequestId::as_str),
                transport,
                operation = operation.as_deref(),
                "stream started"
            );
        }
        Self {
            transport,
            operation,
            started: Instant::now(),
            events: 0,
            metrics: Arc::clone(metrics),
            span,
            id,
            log,
        }
    }

    /// An answer was sent.
    pub(super) fn sent(&mut self) {
        self.events += 1;
        self.metrics.subscription_event(self.transport);
    }
}

impl Drop for StreamLog {
    fn drop(&mut self) {
        self.metrics.subscription_open(self.transport, -1);
        if !self.log {
            return;
        }
        self.span.in_scope(|| {
            tracing::info!(
                target: TARGET,
                id = self.id.as_ref().map(RequestId::as_str),
                transport = self.transport,
                operation = self.operation.as_deref(),
                duration_ms = self.started.elapsed().as_micros() as f64 / 1000.0,
                events = self.events,
                "stream ended"
            );
        });
    }
}
