//! What every request passes through before its route, besides tower-http's compression and
//! panic guard: the request's id and log span, the header size limit, and the panic guard's
//! answer.

use std::any::Any;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tracing::Instrument;

use super::{
    AppState,
    error::HttpError,
    media::ResponseMedia,
    request_id::{REQUEST_ID, RequestId},
};

/// Gives the request its id (the caller's sane `x-request-id`, otherwise a fresh one) as an
/// extension and as [`RequestId::current`] for the code below, and its log span; echoes the
/// id in the response's `x-request-id`.
pub(super) async fn request_span(mut request: Request, next: Next) -> Response {
    let id = RequestId::of(&request);
    let echoed = id.header();
    request.extensions_mut().insert(id.clone());
    let span = tracing::info_span!(
        "request",
        id = id.as_str(),
        method = request.method().as_str(),
        path = request.uri().path()
    );
    let mut response = id.scope(next.run(request)).instrument(span).await;
    response.headers_mut().insert(REQUEST_ID, echoed);
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

/// tower-http's `CatchPanic` answer: a masked 500 that quotes the request id; the detail goes
/// to the log and the process keeps serving.
pub(super) fn masked_panic(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(detail, "a request handler panicked");
    HttpError::Internal(RequestId::current()).into_response()
}

#[cfg(test)]
mod tests {
    use axum::{Router, body::Body, http::StatusCode, routing::get};
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_a_masked_500_quoting_the_request_id() {
        let router = Router::new().route(
            "/boom",
            get(|| async {
                if true {
                    panic!("secret detail");
                }
            }),
        );
        let router = super::super::plumbing(router);
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
