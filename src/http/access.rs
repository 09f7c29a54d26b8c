//! The access log (`GATEWAY_LOG_REQUESTS`, on by default): one line per request at `info`,
//! JSON with `GATEWAY_LOG_FORMAT=json`, inside the request's span (so it carries the request
//! id): method, path, status, duration, the operation name (bounded as the metrics bound it),
//! the persisted document named, where the answer came from, and the upstream calls made for
//! it. Never a token, variables or query text: the path is logged without its query string.
//!
//! The stages below note what only they know ([`crate::noted`]) in a scope the log's
//! middleware sets up; when `info` is off for the log's target, nothing is noted or written.

use std::time::Instant;

use axum::{extract::Request, response::Response};

use super::request_id::RequestId;
use crate::{
    calls,
    metrics::Metrics,
    noted,
    telemetry::{self, access::AccessLine},
};

pub(super) use telemetry::access::TARGET;

/// Answers `request` (whose id is `id`, in a `request` span unless the filter left it out)
/// by `answer`, and writes its line once it is answered.
pub(super) async fn logged<F>(
    metrics: &Metrics,
    request: Request,
    id: RequestId,
    in_span: bool,
    answer: impl FnOnce(Request) -> F,
) -> Response
where
    F: Future<Output = Response>,
{
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return answer(request).await;
    }
    let method = request.method().clone();
    // The URI shares the request line's bytes: cloning it copies no path.
    let uri = request.uri().clone();
    let started = Instant::now();
    // Boxed once, the answer's future is not copied again by each of the two scopes and the
    // `await` that wrap it.
    let answering = Box::pin(answer(request));
    let ((response, noted), upstream_calls) = calls::counted(noted::scope(answering)).await;
    let status = response.status().as_u16();
    let line = AccessLine {
        in_span,
        id: id.as_str(),
        method: method.as_str(),
        path: uri.path(),
        status,
        // Whole microseconds: the figure stays short, and exact in any format.
        duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        operation: noted
            .operation
            .as_deref()
            .map(|name| metrics.operation_label(Some(name))),
        document: noted.document.as_deref(),
        source: noted
            .source
            .unwrap_or(if status >= 400 { "refused" } else { "other" }),
        upstream_calls,
    };
    telemetry::access::log(&line);
    response
}
