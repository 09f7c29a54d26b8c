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
use crate::{
    metrics::Metrics,
    upstream::{UpstreamError, client::Endpoint, wire::Page},
};

/// The bottom of the stack.
#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    /// The upstream's base URL; the endpoint's path goes below its path.
    pub(crate) base: Url,
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
            endpoint = request.endpoint.name(),
            page = request.index,
            ids = request.endpoint.ids()
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
            self.metrics
                .upstream_request(request.endpoint.name(), outcome, elapsed);
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
        let mut url = self.base.clone();
        let base = self.base.path().trim_end_matches('/');
        url.set_path(&format!("{base}{}", request.endpoint.path()));
        let mut sending = match request.endpoint {
            Endpoint::Services(selection) => self.http.post(url).json(&selection),
            Endpoint::Partner(read) => match &read.body {
                Some(body) => self.http.post(url).json(body),
                None => self.http.get(url),
            },
        }
        .query(&[("pageIndex", request.index), ("pageSize", request.size)])
        .header(header::ACCEPT, "application/json")
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
        refusal(&response, &request.endpoint)?;
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
        let bad =
            |error: serde_json::Error| UpstreamError::BadResponse(format!("page {index}: {error}"));
        match request.endpoint {
            Endpoint::Services(_) => serde_json::from_slice(&body).map(Page::Services),
            Endpoint::Partner(read) => read.kind.parse(&body).map(Page::Partner),
        }
        .map(Some)
        .map_err(bad)
    }
}

/// The error an unsuccessful status means. A 404 to a request for chosen customers is no
/// error but "none of these"; a 403 from an endpoint of the rest of the partner API is the
/// permission it needs.
fn refusal(response: &reqwest::Response, endpoint: &Endpoint<'_>) -> Result<(), UpstreamError> {
    match response.status() {
        status if status.is_success() => Ok(()),
        StatusCode::NOT_FOUND if endpoint.names_customers() => Ok(()),
        StatusCode::FORBIDDEN if let Endpoint::Partner(read) = endpoint => {
            Err(UpstreamError::Forbidden {
                permission: read.permission,
            })
        }
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
