//! What every request passes through before its route, besides tower-http's compression and
//! panic guard: its id and log span, its access-log line and the header size limit, in one
//! middleware (one boxed service and future a request, not one for each), and the panic
//! guard's answer.

use std::{any::Any, sync::Arc};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tracing::Instrument;

use super::{
    AppState, access,
    error::HttpError,
    media::ResponseMedia,
    request_id::{REQUEST_ID, RequestId},
};
use crate::metrics::Metrics;

/// What [`front`] needs of the app.
#[derive(Debug, Clone)]
pub(super) struct Front {
    pub(super) metrics: Arc<Metrics>,
    /// `GATEWAY_LOG_REQUESTS`: whether to write the access log.
    pub(super) log_requests: bool,
    /// `GATEWAY_LIMITS_HEADER_BYTES`.
    pub(super) header_bytes: usize,
}

impl Front {
    /// The settings the front middleware reads, taken from `state` once at start.
    pub(super) fn of(state: &AppState) -> Self {
        Self {
            metrics: Arc::clone(&state.metrics),
            log_requests: state.log_requests,
            header_bytes: state.limits.header_bytes,
        }
    }
}

/// Gives the request its id (the caller's sane `x-request-id`, otherwise a fresh one) as an
/// extension and as [`RequestId::current`] for the code below, and its log span; writes its
/// access-log line; refuses it if its head is over the header limit; echoes the id in the
/// response's `x-request-id`.
pub(super) async fn front(
    State(front): State<Front>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = RequestId::of(&request);
    let echoed = id.header();
    request.extensions_mut().insert(id.clone());
    let span = tracing::info_span!(
        "request",
        id = id.as_str(),
        method = request.method().as_str(),
        path = request.uri().path()
    );
    let within_limit = |request| within_header_limit(&front, request, next);
    let mut response = if front.log_requests {
        let in_span = !span.is_disabled();
        let logged = access::logged(&front.metrics, request, id.clone(), in_span, within_limit);
        id.scope(logged).instrument(span).await
    } else {
        id.scope(within_limit(request)).instrument(span).await
    };
    response.headers_mut().insert(REQUEST_ID, echoed);
    response
}

/// Refuses a request whose header names and values add up to more than the limit, with 431
/// and a GraphQL-shaped body. (Past hyper's own buffer, about 400 KiB, hyper answers 431 itself.)
async fn within_header_limit(front: &Front, request: Request, next: Next) -> Response {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > front.header_bytes {
        front.metrics.refusal("header_bytes");
        return HttpError::HeadersTooLarge(front.header_bytes)
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

    /// The panic is caught inside the access log, so the request has its line, with the 500.
    #[tokio::test]
    async fn a_panic_becomes_a_masked_500_quoting_the_request_id_and_is_logged() {
        use tracing_subscriber::layer::SubscriberExt;
        let statuses = Statuses::default();
        let _default =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(statuses.clone()));
        // Callsites other tests met first without a subscriber are asked again.
        tracing::callsite::rebuild_interest_cache();
        let router = Router::new().route(
            "/boom",
            get(|| async {
                if true {
                    panic!("secret detail");
                }
            }),
        );
        let front = Front {
            metrics: Arc::new(Metrics::default()),
            log_requests: true,
            header_bytes: usize::MAX,
        };
        let request = Request::builder()
            .uri("/boom")
            .header("x-request-id", "boom-1")
            .body(Body::empty())
            .unwrap();
        let response = super::super::plumbing(router, front)
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(*statuses.0.lock().unwrap(), [500]);
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

    /// The statuses of the access-log events seen.
    #[derive(Clone, Default)]
    struct Statuses(Arc<std::sync::Mutex<Vec<u64>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Statuses {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            struct Status(Option<u64>);
            impl tracing::field::Visit for Status {
                fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                    if field.name() == "status" {
                        self.0 = Some(value);
                    }
                }
                fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
            }
            if event.metadata().target() == access::TARGET {
                let mut status = Status(None);
                event.record(&mut status);
                self.0.lock().unwrap().extend(status.0);
            }
        }
    }
}
