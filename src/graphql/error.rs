//! Resolver failures as GraphQL errors with an `extensions.code`. With the refusals of
//! `limits` and the request and internal errors coded in `execute`, every GraphQL error code
//! is set inside this module; http/ only codes its own transport refusals.

use std::sync::Arc;

use async_graphql::ErrorExtensions;

use crate::upstream::UpstreamError;

/// Why a field could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The upstream failed; the code is one of the contract's `UPSTREAM_*`.
    #[error(transparent)]
    Upstream(Arc<UpstreamError>),
    /// An argument is out of range or malformed; the message names it.
    #[error("{0}")]
    BadInput(String),
}

impl QueryError {
    /// The contract's code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Upstream(error) => error.code(),
            Self::BadInput(_) => "BAD_USER_INPUT",
        }
    }
}

impl From<Arc<UpstreamError>> for QueryError {
    fn from(error: Arc<UpstreamError>) -> Self {
        Self::Upstream(error)
    }
}

impl ErrorExtensions for QueryError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, extensions| {
            extensions.set("code", self.code());
        })
    }
}

/// Converts a layer error to a GraphQL error carrying its code (the blanket `From<Display>`
/// conversion would drop the code).
pub(crate) fn to_graphql(error: impl Into<QueryError>) -> async_graphql::Error {
    error.into().extend()
}

/// Gives every error a code. Request errors without one are the document's fault and keep
/// their message; a field error without one is a failure inside the gateway, so its detail
/// goes to the log and the caller gets a generic message quoting the request id (the one case
/// where this returns `true`).
pub(super) fn classify(
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

/// Whether any of `errors` is the upstream's (an `UPSTREAM_*` code).
pub(super) fn upstream_fault(errors: &[async_graphql::ServerError]) -> bool {
    errors.iter().any(|error| {
        let code = error
            .extensions
            .as_ref()
            .and_then(|codes| codes.get("code"));
        matches!(code, Some(async_graphql::Value::String(code)) if code.starts_with("UPSTREAM_"))
    })
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
