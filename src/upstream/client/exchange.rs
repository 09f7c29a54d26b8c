//! One page request: retried with backoff, through the circuit breaker and the concurrency
//! budget, with the app token (renewed once when the upstream refuses it), counted, timed and
//! read under the body cap.

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use reqwest::{StatusCode, header};
use tracing::Instrument;

use super::{Selection, UpstreamClient};
use crate::{
    secret::Secret,
    upstream::{UpstreamError, resilience::Outcome, wire::BatchPage},
};

impl UpstreamClient {
    /// One page; `None` when the upstream answers 404 to a `customerIds` request.
    ///
    /// A failure that may pass (see [`RetryPolicy`]) is tried again after a backoff, up to the
    /// attempt limit, as long as the wait ends before `deadline`; otherwise the last failure is
    /// the answer.
    pub(super) async fn page(
        &self,
        selection: &Selection<'_>,
        index: u64,
        size: u64,
        deadline: Instant,
    ) -> Result<Option<BatchPage>, UpstreamError> {
        let mut attempt = 1;
        loop {
            let result = self.attempt(selection, index, size, deadline, false).await;
            let Err(error) = &result else {
                return result;
            };
            let Some(wait) = self.retry.delay(attempt, error) else {
                return result;
            };
            if Instant::now() + wait >= deadline {
                return result;
            }
            self.metrics.upstream_retry(error.code());
            tracing::debug!(%error, attempt, wait_ms = wait.as_millis() as u64, "retrying an upstream request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One try at a page, through the circuit breaker and the concurrency budget.
    ///
    /// When the upstream refuses an issued app token, a new token is fetched and the request
    /// sent once more; a second refusal is the answer. A page sent `ahead` of page 1 that fails
    /// is not counted by the breaker: it is read again the usual way, and counted then, so the
    /// breaker sees what it would have seen without pages ahead.
    pub(super) async fn attempt(
        &self,
        selection: &Selection<'_>,
        index: u64,
        size: u64,
        deadline: Instant,
        ahead: bool,
    ) -> Result<Option<BatchPage>, UpstreamError> {
        let admission = self
            .breaker
            .admit()
            .inspect_err(|_| self.metrics.circuit_rejection())?;
        let result = async {
            let _permit =
                self.permits.acquire().await.map_err(|_| {
                    UpstreamError::Unavailable("the gateway is shutting down".into())
                })?;
            let timeout = deadline
                .saturating_duration_since(Instant::now())
                .min(self.timeout);
            if timeout.is_zero() {
                return Err(UpstreamError::Timeout(self.timeout));
            }
            let token = self.authorization().await?;
            match self.exchange(selection, index, size, &token, timeout).await {
                Err(UpstreamError::Unauthorized(_)) if self.token.invalidate(&token) => {
                    let token = self.authorization().await?;
                    self.exchange(selection, index, size, &token, timeout).await
                }
                result => result,
            }
        }
        .await;
        let outcome = match Outcome::of(&result) {
            Outcome::Healthy => {
                self.failing.store(false, Ordering::Relaxed);
                Outcome::Healthy
            }
            Outcome::Failed => {
                self.failing.store(true, Ordering::Relaxed);
                if ahead {
                    Outcome::Neutral
                } else {
                    Outcome::Failed
                }
            }
            Outcome::Neutral => Outcome::Neutral,
        };
        if let Some(state) = admission.finish(outcome) {
            self.metrics.circuit_state(state.gauge());
            tracing::warn!(state = ?state, "upstream circuit breaker changed state");
        }
        result
    }

    /// The app token, with readiness following a failure to get one.
    async fn authorization(&self) -> Result<Secret, UpstreamError> {
        self.token.get().await.inspect_err(|error| {
            if error.means_not_ready() {
                self.reachable.store(false, Ordering::Relaxed);
            }
        })
    }

    /// One request, counted and timed, updating readiness.
    async fn exchange(
        &self,
        selection: &Selection<'_>,
        index: u64,
        size: u64,
        token: &Secret,
        timeout: Duration,
    ) -> Result<Option<BatchPage>, UpstreamError> {
        let span = tracing::debug_span!(
            "upstream",
            page = index,
            ids = selection.customer_ids.map(<[String]>::len)
        );
        async {
            let started = Instant::now();
            let result = self.send(selection, index, size, token, timeout).await;
            match &result {
                Ok(_) => self.reachable.store(true, Ordering::Relaxed),
                Err(error) if error.means_not_ready() => {
                    self.reachable.store(false, Ordering::Relaxed);
                }
                Err(_) => {}
            }
            let outcome = result.as_ref().map_or_else(UpstreamError::code, |page| {
                if page.is_some() { "OK" } else { "NOT_FOUND" }
            });
            let elapsed = started.elapsed();
            tracing::debug!(
                outcome,
                elapsed_ms = elapsed.as_millis() as u64,
                "upstream answered"
            );
            self.metrics.upstream_request(outcome, elapsed);
            result
        }
        .instrument(span)
        .await
    }

    async fn send(
        &self,
        selection: &Selection<'_>,
        index: u64,
        size: u64,
        token: &Secret,
        timeout: Duration,
    ) -> Result<Option<BatchPage>, UpstreamError> {
        let transport = |error: reqwest::Error| {
            if error.is_timeout() && timeout < self.timeout {
                // The request deadline, not the upstream's own limit, cut this one short.
                UpstreamError::Deadline(self.deadline)
            } else if error.is_timeout() {
                UpstreamError::Timeout(timeout)
            } else if error.is_connect() {
                UpstreamError::Unavailable("could not connect".into())
            } else {
                UpstreamError::Unavailable(error.without_url().to_string())
            }
        };
        let response = self
            .http
            .post(self.endpoint.clone())
            .query(&[("pageIndex", index), ("pageSize", size)])
            .bearer_auth(token.expose())
            .header(header::ACCEPT, "application/json")
            .json(selection)
            .timeout(timeout)
            .send()
            .await
            .map_err(transport)?;
        if let Some(refused) =
            crate::outbound::redirect_refused(response.status(), "GATEWAY_UPSTREAM_URL")
        {
            return Err(UpstreamError::BadResponse(format!(
                "the upstream {refused}"
            )));
        }
        match response.status() {
            status if status.is_success() => {}
            StatusCode::NOT_FOUND if selection.customer_ids.is_some() => return Ok(None),
            StatusCode::TOO_MANY_REQUESTS => {
                let retry_after = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.trim().parse().ok())
                    .map(Duration::from_secs);
                return Err(UpstreamError::RateLimited { retry_after });
            }
            status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                return Err(UpstreamError::Unauthorized(status.as_u16()));
            }
            status if status.is_server_error() => {
                return Err(UpstreamError::Unavailable(format!(
                    "HTTP {}",
                    status.as_u16()
                )));
            }
            status => {
                return Err(UpstreamError::BadResponse(format!(
                    "unexpected HTTP {}",
                    status.as_u16()
                )));
            }
        }
        let body = crate::outbound::read_capped(response, self.max_body_bytes)
            .await
            .map_err(|error| match error {
                crate::outbound::ReadError::Transport(error) => transport(error),
                too_large => UpstreamError::BadResponse(format!(
                    "page {index}: {too_large} (GATEWAY_UPSTREAM_MAX_BODY_BYTES)"
                )),
            })?;
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|error| UpstreamError::BadResponse(format!("page {index}: {error}")))
    }
}
