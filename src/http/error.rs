//! The one HTTP edge for refusals: every error the transport itself produces is answered with
//! a GraphQL-shaped body, `{"errors":[{"message":…,"extensions":{"code":…}}]}`, and the status
//! the GraphQL-over-HTTP specification and the contract ask for.

use std::time::Duration;

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::{
    media::{MediaError, ResponseMedia},
    request_id::RequestId,
};
use crate::{answer::AnswerError, auth::AuthError, graphql::Refusal, persisted::PersistedError};

/// A request refused before GraphQL execution.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    /// The caller's token was refused (401 or 403).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The body or its parameters are not a GraphQL-over-HTTP request (400).
    #[error("{0}")]
    BadRequest(String),
    /// The POST's content type is not JSON (415); this also refuses the form and text types
    /// browsers send cross-site without a preflight.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The `Accept` header allows no type the gateway can answer in (406).
    #[error(
        "the Accept header allows neither application/graphql-response+json nor application/json"
    )]
    NotAcceptable,
    /// The body is larger than the limit (413).
    #[error("the request body is larger than the limit of {0} bytes (GATEWAY_LIMITS_BODY_BYTES)")]
    PayloadTooLarge(usize),
    /// The query text is longer than the limit (413).
    #[error("the query text is longer than the limit of {0} bytes (GATEWAY_LIMITS_QUERY_BYTES)")]
    QueryTooLarge(usize),
    /// The request headers are larger than the limit (431).
    #[error(
        "the request headers are larger than the limit of {0} bytes (GATEWAY_LIMITS_HEADER_BYTES)"
    )]
    HeadersTooLarge(usize),
    /// A mutation over GET (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A persisted document that could not be used: an unknown automatic persisted query
    /// (answered like a request error), or 400.
    #[error(transparent)]
    Persisted(#[from] PersistedError),
    /// The caller holds the most subscriptions allowed (429).
    #[error(
        "this caller already holds {0} open subscriptions (GATEWAY_LIMITS_SUBSCRIPTIONS_PER_CALLER): close one first"
    )]
    TooManySubscriptions(usize),
    /// The caller used up its rate limit (429, with `Retry-After`).
    #[error("too many requests from this caller (GATEWAY_LIMITS_RATE_PER_MINUTE): retry after {}s", retry_secs(*.0))]
    RateLimited(Duration),
    /// The document breaks a limit or has a bad argument: a GraphQL request error, answered
    /// 400 in `application/graphql-response+json` and 200 in `application/json`, as the
    /// GraphQL-over-HTTP specification asks.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The request body did not arrive within the request deadline (408).
    #[error(
        "the request body did not arrive within {}ms (GATEWAY_LIMITS_REQUEST_TIMEOUT_MS)", .0.as_millis()
    )]
    BodyTimeout(Duration),
    /// Execution did not finish in time (504).
    #[error(
        "the request did not complete within its time limit of {}ms (GATEWAY_LIMITS_REQUEST_TIMEOUT_MS)", .0.as_millis()
    )]
    Timeout(Duration),
    /// Something failed inside the gateway (500); the detail is in the log, under the id.
    #[error("internal error{}", .0.as_ref().map_or_else(String::new, |id| format!(": quote request id {id} when reporting it")))]
    Internal(Option<RequestId>),
}

impl From<MediaError> for HttpError {
    fn from(error: MediaError) -> Self {
        match error {
            MediaError::NotAcceptable => Self::NotAcceptable,
            MediaError::Unsupported(detail) => Self::UnsupportedMediaType(detail),
        }
    }
}

impl HttpError {
    /// The refusal of what the answer stage could not answer; an internal error quotes the
    /// request's `id`.
    pub(super) fn answering(error: AnswerError, id: RequestId) -> Self {
        match error {
            AnswerError::BadRequest(detail) => Self::BadRequest(detail),
            AnswerError::QueryTooLarge(limit) => Self::QueryTooLarge(limit),
            AnswerError::MutationNotSafe => Self::MethodNotAllowed(error.to_string()),
            AnswerError::SubscriptionNeedsStream => Self::BadRequest(error.to_string()),
            AnswerError::TooManySubscriptions(limit) => Self::TooManySubscriptions(limit),
            AnswerError::BatchTooLarge { .. } => Self::BadRequest(error.to_string()),
            AnswerError::RateLimited(wait) => Self::RateLimited(wait),
            AnswerError::Persisted(error) => Self::Persisted(error),
            AnswerError::Refused(refusal) => Self::Refused(refusal),
            AnswerError::Timeout(limit) => Self::Timeout(limit),
            AnswerError::Internal => Self::Internal(Some(id)),
        }
    }
}

/// Whole seconds to wait, rounded up and at least one.
fn retry_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

impl HttpError {
    fn status(&self, media: ResponseMedia) -> StatusCode {
        match self {
            Self::Refused(_) if media == ResponseMedia::Json => StatusCode::OK,
            Self::Persisted(error) if error.is_request_error() && media == ResponseMedia::Json => {
                StatusCode::OK
            }
            Self::Persisted(_) => StatusCode::BAD_REQUEST,
            Self::Refused(_) => StatusCode::BAD_REQUEST,
            Self::QueryTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::RateLimited(_) | Self::TooManySubscriptions(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Auth(error) if error.is_forbidden() => StatusCode::FORBIDDEN,
            Self::Auth(_) => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The `extensions.code` of the refusal.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::Auth(error) => error.code(),
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            Self::NotAcceptable => "NOT_ACCEPTABLE",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::MethodNotAllowed(_) => "METHOD_NOT_ALLOWED",
            Self::QueryTooLarge(_) => "QUERY_TOO_LARGE",
            Self::HeadersTooLarge(_) => "HEADERS_TOO_LARGE",
            Self::RateLimited(_) => "RATE_LIMITED",
            Self::TooManySubscriptions(_) => "TOO_MANY_SUBSCRIPTIONS",
            Self::Refused(refusal) => refusal.code(),
            Self::Persisted(error) => error.code(),
            Self::Timeout(_) => "TIMEOUT",
            Self::BodyTimeout(_) => "REQUEST_TIMEOUT",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The GraphQL-shaped body: the error's message and code (and the request id it quotes).
    pub(crate) fn body(&self) -> String {
        let mut extensions = json!({ "code": self.code() });
        if let Self::Internal(Some(id)) = self {
            extensions["requestId"] = id.as_str().into();
        }
        json!({
            "errors": [{ "message": self.to_string(), "extensions": extensions }]
        })
        .to_string()
    }

    /// The response, in `media` (the type the caller accepts, where known).
    pub(crate) fn respond(self, media: ResponseMedia) -> Response {
        let mut response = (self.status(media), self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, media.content_type());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match &self {
            // RFC 6750 §3: a refused bearer token is answered with a challenge.
            Self::Auth(error) if error.is_forbidden() => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"insufficient_scope\""),
                );
            }
            Self::Auth(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::MethodNotAllowed(_) => {
                headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
            }
            Self::RateLimited(wait) => {
                headers.insert(header::RETRY_AFTER, retry_secs(*wait).into());
            }
            _ => {}
        }
        response
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        self.respond(ResponseMedia::Json)
    }
}
