//! The one HTTP edge for refusals: every error the transport itself produces is answered with
//! a GraphQL-shaped body, `{"errors":[{"message":…,"extensions":{"code":…}}]}`, and the status
//! the GraphQL-over-HTTP specification and the contract ask for.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::media::ResponseMedia;
use crate::auth::AuthError;

/// A request refused before GraphQL execution.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
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
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// A mutation over GET (405).
    #[error("{0}")]
    MethodNotAllowed(String),
}

impl HttpError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Auth(error) if error.is_forbidden() => StatusCode::FORBIDDEN,
            Self::Auth(_) => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Auth(error) => error.code(),
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            Self::NotAcceptable => "NOT_ACCEPTABLE",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::MethodNotAllowed(_) => "METHOD_NOT_ALLOWED",
        }
    }

    /// The response, in `media` (the type the caller accepts, where known).
    pub fn respond(self, media: ResponseMedia) -> Response {
        let body = json!({
            "errors": [{ "message": self.to_string(), "extensions": { "code": self.code() } }]
        });
        let mut response = (self.status(), body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, media.content_type());
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
