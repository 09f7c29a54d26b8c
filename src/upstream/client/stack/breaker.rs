//! The circuit breaker around each attempt: refused at once while the circuit is open, the
//! outcome recorded after. A page sent ahead of page 1 that fails is not counted: it is read
//! again the usual way, and counted then, so the breaker sees what it would have seen without
//! pages ahead.

use std::sync::Arc;

use super::{Exchange, Health, PageRequest, PageResult};
use crate::{
    metrics::Metrics,
    upstream::{Breaker, Outcome},
};

/// The breaker around `inner`.
#[derive(Debug)]
pub(crate) struct Guarded<S> {
    pub(crate) inner: S,
    pub(crate) breaker: Breaker,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
}

impl<S> Guarded<S> {
    /// `inner` behind `breaker`: each outcome sets `health`, and `metrics` count refusals and
    /// changes of the circuit's state.
    pub(crate) fn new(
        inner: S,
        breaker: Breaker,
        health: Arc<Health>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            inner,
            breaker,
            health,
            metrics,
        }
    }
}

impl<S: Exchange> Exchange for Guarded<S> {
    async fn call(&self, request: PageRequest<'_>) -> PageResult {
        let admission = self
            .breaker
            .admit()
            .inspect_err(|_| self.metrics.circuit_rejection())?;
        let ahead = request.ahead;
        let result = self.inner.call(request).await;
        let seen = Outcome::of(&result);
        match seen {
            Outcome::Healthy => self.health.set_failing(false),
            Outcome::Failed => self.health.set_failing(true),
            Outcome::Neutral => {}
        }
        let counted = match seen {
            Outcome::Failed if ahead => Outcome::Neutral,
            outcome => outcome,
        };
        if let Some(state) = admission.finish(counted) {
            self.metrics.circuit_state(state.gauge());
            tracing::warn!(state = ?state, "upstream circuit breaker changed state");
        }
        result
    }
}
