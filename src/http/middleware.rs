//! What every request passes through before its route: a request id, the header size limit,
//! and a last line of defence against a panic.

use std::{
    fmt,
    panic::AssertUnwindSafe,
    sync::{
        Arc, LazyLock,
        atomic::{AtomicU32, Ordering},
    },
};

use axum::{
    extract::{Request, State},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures::FutureExt;
use tracing::Instrument;

use super::{AppState, error::HttpError, media::ResponseMedia};

/// The header that carries the request id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest caller-given request id kept; a longer or odd one is replaced.
const MAX_REQUEST_ID: usize = 64;

/// The id of one request: the caller's `x-request-id` when it is a sane token, otherwise a
/// fresh random one. It is echoed in the response, set on the request's log span, and quoted in
/// masked errors, so a caller's report can be matched to the log.
#[derive(Debug, Clone)]
pub struct RequestId(Arc<str>);

impl RequestId {
    fn from_request(request: &Request) -> Self {
        request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .map_or_else(Self::generate, Self::from_header_value)
    }

    /// The caller's id when it is 1 to 64 characters of letters, digits and `-_.:`; otherwise
    /// a fresh one (an id lands in logs, so odd text is not carried there).
    pub(super) fn from_header_value(given: &str) -> Self {
        let sane = Some(given).filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_REQUEST_ID
                && id
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte))
        });
        match sane {
            Some(id) => Self(id.into()),
            None => Self::generate(),
        }
    }

    /// A fresh id: 8 random bytes drawn once per process, then a counter, as 24 hex digits.
    /// Unique within the process and, by the random part, across processes; no system call
    /// or allocation beyond the id itself per request.
    fn generate() -> Self {
        static PREFIX: LazyLock<u64> = LazyLock::new(|| {
            let mut bytes = [0u8; 8];
            // Without OS randomness, the clock still tells processes apart.
            if getrandom::fill(&mut bytes).is_err() {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos();
                bytes.copy_from_slice(&nanos.to_le_bytes()[..8]);
            }
            u64::from_le_bytes(bytes)
        });
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut text = [0u8; 24];
        let digits = (u128::from(*PREFIX) << 32) | u128::from(count);
        for (position, slot) in text.iter_mut().enumerate() {
            let nibble = (digits >> (4 * (23 - position))) & 0xf;
            *slot = b"0123456789abcdef"[nibble as usize];
        }
        Self(std::str::from_utf8(&text).unwrap_or_default().into())
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Gives the request its id and log span, and echoes the id in the response.
pub(super) async fn request_id(mut request: Request, next: Next) -> Response {
    let id = RequestId::from_request(&request);
    request.extensions_mut().insert(id.clone());
    let span = tracing::info_span!("request", id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// Refuses a request whose header names and values add up to more than the limit, with 431
/// and a GraphQL-shaped body. (Past hyper's own buffer, about 400 KiB, hyper answers 431 itself.)
pub(super) async fn header_limit(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > state.limits.header_bytes {
        state.metrics.refusal("header_bytes");
        return HttpError::HeadersTooLarge(state.limits.header_bytes)
            .respond(ResponseMedia::negotiate(request.headers()).unwrap_or(ResponseMedia::Json));
    }
    next.run(request).await
}

/// Turns a panic while handling a request into a masked 500 that quotes the request id; the
/// detail goes to the log and the process keeps serving.
pub(super) async fn catch_panic(request: Request, next: Next) -> Response {
    let id = request.extensions().get::<RequestId>().cloned();
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(detail, "a request handler panicked");
            HttpError::Internal(id).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::{Router, body::Body, http::StatusCode, routing::get};
    use tower::ServiceExt;

    use super::*;

    #[test]
    fn generated_ids_are_24_hex_digits_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..1000)
            .map(|_| RequestId::generate().as_str().to_owned())
            .collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), 24);
            assert!(id.bytes().all(|byte| byte.is_ascii_hexdigit()), "{id}");
        }
        assert_eq!(RequestId::from_header_value("bad id!").as_str().len(), 24);
    }

    #[tokio::test]
    async fn a_panic_becomes_a_masked_500_quoting_the_request_id() {
        let router = Router::new()
            .route(
                "/boom",
                get(|| async {
                    if true {
                        panic!("secret detail");
                    }
                }),
            )
            .layer(axum::middleware::from_fn(catch_panic))
            .layer(axum::middleware::from_fn(request_id));
        let request = Request::builder()
            .uri("/boom")
            .header("x-request-id", "boom-1")
            .body(Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[REQUEST_ID], "boom-1");
        let body = axum::body::to_bytes(response.into_body(), 10_000)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(text.contains("INTERNAL_SERVER_ERROR"), "{text}");
        assert!(text.contains("boom-1"), "{text}");
        assert!(!text.contains("secret detail"), "{text}");
    }
}
