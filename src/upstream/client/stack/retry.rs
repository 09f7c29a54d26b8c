//! Retries with jittered backoff ([`RetryPolicy`]): a failure that may pass is tried again,
//! up to the attempt limit, as long as the wait ends before the request's deadline; otherwise
//! the last failure is the answer.

use std::{sync::Arc, time::Instant};

use super::{Exchange, PageRequest, PageResult};
use crate::{metrics::Metrics, upstream::RetryPolicy};

/// Retries around `inner`.
#[derive(Debug)]
pub(crate) struct Retry<S> {
    pub(crate) inner: S,
    policy: RetryPolicy,
    metrics: Arc<Metrics>,
}

impl<S> Retry<S> {
    /// `inner` retried under `policy`, each retry counted in `metrics`.
    pub(crate) fn new(inner: S, policy: RetryPolicy, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            policy,
            metrics,
        }
    }
}

impl<S: Exchange> Exchange for Retry<S> {
    async fn call(&self, request: PageRequest<'_>) -> PageResult {
        let mut attempt = 1;
        loop {
            let result = self.inner.call(request.clone()).await;
            let Err(error) = &result else {
                return result;
            };
            if request.once {
                return result;
            }
            let Some(wait) = self.policy.delay(attempt, error) else {
                return result;
            };
            if Instant::now() + wait >= request.deadline {
                return result;
            }
            self.metrics.upstream_retry(error.code());
            tracing::debug!(%error, attempt, wait_ms = wait.as_millis() as u64, "retrying an upstream request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}
