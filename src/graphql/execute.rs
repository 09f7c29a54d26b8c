//! Running one GraphQL request: the one place where an answer's errors get their codes, a
//! partial answer its nulls, and the answer its extensions (`stale`, `cost`), before it is
//! written as JSON, with its status class and provenance. The transport (http/) turns the
//! class into a status and the memo decides whether to keep or share the bytes; nothing here
//! knows HTTP.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::body::Bytes;
use serde::Serialize;
use serde_json::json;

use super::{GatewaySchema, Prepared, RequestScope, complete::complete, for_caller};
use crate::{
    auth::CustomerAccess,
    cache::{CustomerStore, Provenance},
};

/// How long past its deadline a request's execution may run before it is given up on;
/// resolvers stop waiting at the deadline itself, so this is only a safety net.
const EXECUTION_GRACE: Duration = Duration::from_secs(1);

/// What one execution needs besides the request and its caller.
#[derive(Debug, Clone, Copy)]
pub struct ExecuteOptions<'a> {
    /// The request's deadline from now (`GATEWAY_LIMITS_REQUEST_TIMEOUT_MS`).
    pub timeout: Duration,
    /// The request's id, quoted by a masked internal error.
    pub request_id: &'a str,
}

/// What kind of answer it is, which decides its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerClass {
    /// Execution ran: `data`, perhaps with field errors.
    Data,
    /// A request error (parse, validation, variable coercion, unknown operation): no `data`.
    RequestError,
}

/// An executed request's answer.
#[derive(Debug)]
pub struct Answer {
    /// The answer as JSON.
    pub body: Bytes,
    /// Whether execution ran.
    pub class: AnswerClass,
    /// The answer holds an error.
    pub failed: bool,
    /// The answer quotes the request id (an internal error), so it is never shared or kept.
    pub quotes_id: bool,
    /// Where its data came from: the snapshot and its staleness.
    pub provenance: Provenance,
    /// The operation's name, for metrics.
    pub operation: Option<String>,
}

/// Why no answer came out.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// Execution ran past its deadline and the grace after it.
    #[error("the request did not complete in time")]
    TimedOut,
    /// The answer could not be written as JSON (a bug; the log says more).
    #[error("the answer could not be serialised")]
    Unserialisable,
}

/// A GraphQL answer without `data`, for requests that never started executing.
#[derive(Serialize)]
struct RequestErrors<'a> {
    errors: &'a [async_graphql::ServerError],
}

/// Executes `prepared` for `access` against `schema`, reading through `store`.
pub async fn execute(
    schema: &GatewaySchema,
    store: &Arc<CustomerStore>,
    prepared: Prepared,
    access: CustomerAccess,
    options: ExecuteOptions<'_>,
) -> Result<Answer, ExecuteError> {
    let Prepared {
        request,
        unparsed,
        operation,
        cost,
    } = prepared;
    let scope = RequestScope {
        deadline: Instant::now() + options.timeout,
        reads: Arc::default(),
    };
    // Kept to place the nulls of a partial answer (see `complete`).
    let query = request.query.clone();
    let operation_name = request.operation_name.clone();
    let request = for_caller(request, access, scope.clone(), store);
    let mut response =
        tokio::time::timeout(options.timeout + EXECUTION_GRACE, schema.execute(request))
            .await
            .map_err(|_| ExecuteError::TimedOut)?;
    // A request error (parse, validation, variable coercion, unknown operation) leaves no
    // data and points at no field; execution errors always carry a path.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty());
    if !request_error {
        complete(
            &mut response.data,
            &response.errors,
            &query,
            operation_name.as_deref(),
        );
    }
    let mut quotes_id = false;
    for error in &mut response.errors {
        quotes_id |= classify(error, request_error, unparsed, options.request_id);
    }
    let provenance = scope.reads.provenance();
    extend(&mut response, provenance, cost);
    let body = if request_error {
        serde_json::to_vec(&RequestErrors {
            errors: &response.errors,
        })
    } else {
        serde_json::to_vec(&response)
    };
    let body = body.map_err(|_| {
        tracing::error!("a GraphQL answer could not be serialised");
        ExecuteError::Unserialisable
    })?;
    let failed = !response.errors.is_empty();
    // The value tree of a very large answer is the bulk of its memory: give it back now.
    drop(response);
    if body.len() >= crate::memory::LARGE_ANSWER_BYTES {
        crate::memory::release_freed();
    }
    Ok(Answer {
        body: Bytes::from(body),
        class: if request_error {
            AnswerClass::RequestError
        } else {
            AnswerClass::Data
        },
        failed,
        quotes_id,
        provenance,
        operation,
    })
}

/// The answer's extensions: the estimated cost when asked for, and how stale its data are.
fn extend(
    response: &mut async_graphql::Response,
    provenance: Provenance,
    cost: Option<(u64, usize)>,
) {
    if let Some((estimated, limit)) = cost {
        response.extensions.insert(
            "cost".into(),
            async_graphql::Value::from_json(json!({ "estimated": estimated, "limit": limit }))
                .unwrap_or_default(),
        );
    }
    if let Some(stale) = provenance.stale() {
        response.extensions.insert(
            "stale".into(),
            async_graphql::Value::from_json(json!({
                "ageSeconds": stale.age.as_secs(),
                "reason": stale.reason(),
                "upstreamCode": stale.upstream_error,
            }))
            .unwrap_or_default(),
        );
    }
}

/// Gives every error a code. Request errors without one are the document's fault and keep
/// their message; a field error without one is a failure inside the gateway, so its detail
/// goes to the log and the caller gets a generic message quoting the request id (the one case
/// where this returns `true`).
fn classify(
    error: &mut async_graphql::ServerError,
    request_error: bool,
    unparsed: bool,
    id: &str,
) -> bool {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if let Some(code) = extensions.get("code") {
        if !request_error {
            tracing::info!(code = %code, message = %error.message, path = ?error.path, "field failed");
        }
        return false;
    }
    if request_error {
        let code = if unparsed {
            "GRAPHQL_PARSE_FAILED"
        } else {
            "GRAPHQL_VALIDATION_FAILED"
        };
        extensions.set("code", code);
        return false;
    }
    tracing::error!(detail = %error.message, path = ?error.path, "internal error while resolving a field");
    extensions.set("code", "INTERNAL_SERVER_ERROR");
    extensions.set("requestId", id);
    error.message = format!("internal error: quote request id {id} when reporting it");
    true
}

#[cfg(test)]
mod tests {
    use async_graphql::{ErrorExtensions, PathSegment, ServerError};

    use super::*;

    fn id() -> &'static str {
        "req-1"
    }

    #[test]
    fn a_field_error_without_a_code_is_masked_and_quotes_the_request_id() {
        let mut error = ServerError::new("db password is hunter2", None);
        error.path = vec![PathSegment::Field("customers".into())];
        assert!(
            classify(&mut error, false, false, id()),
            "quotes the id: not shared"
        );
        assert!(!error.message.contains("hunter2"));
        assert!(error.message.contains("req-1"));
        let extensions = error.extensions.unwrap();
        assert_eq!(
            extensions.get("code"),
            Some(&async_graphql::Value::from("INTERNAL_SERVER_ERROR"))
        );
        assert_eq!(
            extensions.get("requestId"),
            Some(&async_graphql::Value::from("req-1"))
        );
    }

    #[test]
    fn coded_and_request_errors_keep_their_messages() {
        let coded = async_graphql::Error::new("the upstream is unavailable: HTTP 503")
            .extend_with(|_, extensions| extensions.set("code", "UPSTREAM_UNAVAILABLE"));
        let mut error = coded.into_server_error(async_graphql::Pos::default());
        error.path = vec![PathSegment::Field("customers".into())];
        assert!(!classify(&mut error, false, false, id()));
        assert_eq!(error.message, "the upstream is unavailable: HTTP 503");

        let mut unknown_field = ServerError::new("Unknown field \"nope\"", None);
        assert!(!classify(&mut unknown_field, true, false, id()));
        assert_eq!(unknown_field.message, "Unknown field \"nope\"");
        assert_eq!(
            unknown_field.extensions.unwrap().get("code"),
            Some(&async_graphql::Value::from("GRAPHQL_VALIDATION_FAILED"))
        );
        let mut unparsed = ServerError::new("expected selection", None);
        classify(&mut unparsed, true, true, id());
        assert_eq!(
            unparsed.extensions.unwrap().get("code"),
            Some(&async_graphql::Value::from("GRAPHQL_PARSE_FAILED"))
        );
    }
}
