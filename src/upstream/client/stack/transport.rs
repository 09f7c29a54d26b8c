//! One HTTP request for one page: sent with the token and time limit the layers above gave
//! it, never redirected, its body read under the cap; counted, timed, and reported to
//! [`Health`].

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::{StatusCode, Url, header};
use tracing::Instrument;

use super::{Exchange, Health, PageRequest, PageResult};
use crate::{metrics::Metrics, upstream::UpstreamError};

/// The bottom of the stack.
#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: Url,
    /// The upstream's own time limit (`GATEWAY_UPSTREAM_TIMEOUT_MS`).
    pub(crate) timeout: Duration,
    /// The time one read may take, named when the read's deadline cut a request short.
    pub(crate) deadline: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) health: Arc<Health>,
    pub(crate) metrics: Arc<Metrics>,
}

impl Exchange for Transport {
    async fn call(&self, request: PageRequest<'_>) -> PageResult {
        let span = tracing::debug_span!(
            "upstream",
            page = request.index,
            ids = request.selection.customer_ids.map(<[String]>::len)
        );
        async {
            let started = Instant::now();
            crate::calls::made();
            let result = self.send(&request).await;
            self.health.exchanged(&result);
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
}

impl Transport {
    async fn send(&self, request: &PageRequest<'_>) -> PageResult {
        let timeout = request.timeout;
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
        let mut sending = self
            .http
            .post(self.endpoint.clone())
            .query(&[("pageIndex", request.index), ("pageSize", request.size)])
            .header(header::ACCEPT, "application/json")
            .json(&request.selection)
            .timeout(timeout);
        if let Some(token) = &request.token {
            sending = sending.bearer_auth(token.expose());
        }
        let response = sending.send().await.map_err(transport)?;
        if let Some(refused) =
            crate::outbound::redirect_refused(response.status(), "GATEWAY_UPSTREAM_URL")
        {
            return Err(UpstreamError::BadResponse(format!(
                "the upstream {refused}"
            )));
        }
        refusal(&response, request.selection.customer_ids.is_some())?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let index = request.index;
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

/// The error an unsuccessful status means; a 404 to a `customerIds` request (`by_id`) is no
/// error but "none of these".
fn refusal(response: &reqwest::Response, by_id: bool) -> Result<(), UpstreamError> {
    match response.status() {
        status if status.is_success() => Ok(()),
        StatusCode::NOT_FOUND if by_id => Ok(()),
        StatusCode::TOO_MANY_REQUESTS => {
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse().ok())
                .map(Duration::from_secs);
            Err(UpstreamError::RateLimited { retry_after })
        }
        status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
            Err(UpstreamError::Unauthorized(status.as_u16()))
        }
        status if status.is_server_error() => Err(UpstreamError::Unavailable(format!(
            "HTTP {}",
            status.as_u16()
        ))),
        status => Err(UpstreamError::BadResponse(format!(
            "unexpected HTTP {}",
            status.as_u16()
        ))),
    }
}
