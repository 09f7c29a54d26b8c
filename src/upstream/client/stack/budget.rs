//! The concurrency budget and the time limit of one attempt: at most `concurrency` upstream
//! requests in flight across the whole gateway (one semaphore), each given the upstream
//! timeout or what is left of the read's deadline, whichever is shorter.

use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::{Exchange, PageRequest, PageResult};
use crate::upstream::UpstreamError;

/// The budget around `inner`.
#[derive(Debug)]
pub(crate) struct Budget<S> {
    pub(crate) inner: S,
    permits: Semaphore,
    timeout: Duration,
}

impl<S> Budget<S> {
    /// `inner` with at most `concurrency` requests at once (at least one), each given `timeout`.
    pub(crate) fn new(inner: S, concurrency: usize, timeout: Duration) -> Self {
        Self {
            inner,
            permits: Semaphore::new(concurrency.max(1)),
            timeout,
        }
    }
}

impl<S: Exchange> Exchange for Budget<S> {
    async fn call(&self, mut request: PageRequest<'_>) -> PageResult {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| UpstreamError::Unavailable("the gateway is shutting down".into()))?;
        request.timeout = request
            .deadline
            .saturating_duration_since(Instant::now())
            .min(self.timeout);
        if request.timeout.is_zero() {
            return Err(UpstreamError::Timeout(self.timeout));
        }
        self.inner.call(request).await
    }
}
