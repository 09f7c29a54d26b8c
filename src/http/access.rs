//! The access log (`GATEWAY_LOG_REQUESTS`, on by default): one line per request at `info`,
//! JSON with `GATEWAY_LOG_FORMAT=json`, inside the request's span (so it carries the request
//! id): method, path, status, duration, the operation name (bounded as the metrics bound it),
//! the persisted document named, where the answer came from, and the upstream calls made for
//! it. Never a token, variables or query text: the path is logged without its query string.
//!
//! Handlers note what only they know through a task-local the log's middleware sets up; when
//! `info` is off for the log's target, nothing is noted or written.

use std::{cell::RefCell, time::Instant};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};

use super::AppState;
use crate::calls;

/// The log's target, which `GATEWAY_LOG_LEVEL` can name (`elements_gateway::access=warn`).
const TARGET: &str = "elements_gateway::access";

tokio::task_local! {
    static NOTED: RefCell<Noted>;
}

/// What the handler noted about one request.
#[derive(Debug, Default)]
struct Noted {
    operation: Option<String>,
    document: Option<String>,
    source: Option<&'static str>,
}

/// Notes the answer's operation and where it came from (`reused`, `fresh`, `stale`,
/// `not_modified`, `timeout`, `error`).
pub(super) fn answered(operation: Option<&str>, source: &'static str) {
    let _ = NOTED.try_with(|noted| {
        let mut noted = noted.borrow_mut();
        noted.operation = operation.map(str::to_owned);
        noted.source = Some(source);
    });
}

/// Notes the persisted document the request named (its hash).
pub(super) fn document(hash: &str) {
    let _ = NOTED.try_with(|noted| {
        noted.borrow_mut().document = Some(format!("sha256:{}", &hash[..hash.len().min(16)]));
    });
}

/// Writes the request's line once it is answered.
pub(super) async fn log(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.log_requests || !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let ((noted, response), upstream_calls) =
        calls::counted(NOTED.scope(RefCell::new(Noted::default()), async {
            let response = next.run(request).await;
            (NOTED.with(|noted| noted.take()), response)
        }))
        .await;
    let status = response.status().as_u16();
    let source = noted
        .source
        .unwrap_or(if status >= 400 { "refused" } else { "other" });
    tracing::info!(
        target: TARGET,
        method = %method,
        path = %path,
        status,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        operation = noted.operation.as_deref().map(|name| state.metrics.operation_label(Some(name))),
        document = noted.document.as_deref(),
        source,
        upstream_calls,
        "request"
    );
    response
}
