//! What a `/graphql` handler takes from a request, as axum extractors: the [`Authed`] caller
//! (token accepted, rate limit passed) and a POST's [`JsonBody`]. Each refuses with
//! [`Refused`], the GraphQL-shaped HTTP error in the media type the caller accepts.
//!
//! axum runs a handler's extractors in order, the body last, so the caller's token is checked
//! before any byte of the body is read: an unauthenticated request costs no parsing and can
//! never reach the upstream.

use axum::{
    body::{Body, Bytes},
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, header, request::Parts},
    response::{IntoResponse, Response},
};

use super::{
    AppState,
    error::HttpError,
    media::{ResponseMedia, require_json_body},
};
use crate::auth::Caller;

/// A refusal: the error, and the media type to write it in.
#[derive(Debug)]
pub(super) struct Refused {
    error: HttpError,
    media: ResponseMedia,
}

impl Refused {
    /// Refuses with `error`, counted and logged (an authentication refusal is counted where
    /// it is decided, by reason).
    pub(super) fn new(state: &AppState, error: HttpError, media: ResponseMedia) -> Self {
        if !matches!(error, HttpError::Auth(_)) {
            state.metrics.refusal(error.code());
            tracing::info!(code = error.code(), %error, "request refused");
        }
        Self { error, media }
    }

    /// Refuses with `error` in the media type `headers` accept (JSON when they accept none).
    pub(super) fn negotiated(state: &AppState, error: HttpError, headers: &HeaderMap) -> Self {
        let media = ResponseMedia::negotiate(headers).unwrap_or(ResponseMedia::Json);
        Self::new(state, error, media)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        self.error.respond(self.media)
    }
}

/// The caller of a request whose token is accepted and whose rate limit allows it.
#[derive(Debug)]
pub(super) struct Authed(pub(super) Caller);

impl FromRequestParts<AppState> for Authed {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        authenticate(state, &parts.headers)
            .await
            .map(Self)
            .map_err(|error| Refused::negotiated(state, error, &parts.headers))
    }
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, HttpError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|value| value.as_bytes());
    authenticate_token(state, authorization).await
}

/// Verifies an `Authorization` value (`Bearer …`) and takes one request from the caller's
/// rate limit: what every transport does before anything else.
pub(super) async fn authenticate_token(
    state: &AppState,
    authorization: Option<&[u8]>,
) -> Result<Caller, HttpError> {
    let caller = state
        .authenticator
        .verify(authorization)
        .await
        .map_err(|error| {
            state.metrics.auth_refusal(error.reason());
            tracing::info!(reason = error.reason(), "caller refused");
            HttpError::Auth(error)
        })?;
    // The key is made only when there is a limit (there is none by default).
    if state.rate_limiter.is_some() {
        let key = rate_key(caller.subject.as_deref(), authorization.unwrap_or_default());
        take_rate(state, &key).await?;
    }
    Ok(caller)
}

/// Takes one request from the rate limit of the caller `key` names, when there is a limit.
pub(super) async fn take_rate(state: &AppState, key: &str) -> Result<(), HttpError> {
    match &state.rate_limiter {
        Some(limiter) => limiter
            .acquire(&key.to_owned())
            .await
            .map_err(HttpError::RateLimited),
        None => Ok(()),
    }
}

/// Whose bucket a request is taken from (and whose subscriptions it holds): the token's `sub`,
/// or for a token without one the token itself (by digest, so no token is kept), never one
/// bucket shared by all of them.
pub(super) fn rate_key(subject: Option<&str>, authorization: &[u8]) -> String {
    match subject {
        Some(subject) => format!("sub:{subject}"),
        None => {
            format!("token:{}", crate::hex::sha256(authorization, 16))
        }
    }
}

/// A POST's body: JSON (by its content type), not empty, within the size limit, arrived
/// within the request deadline; with the media type the answer is to be written in.
#[derive(Debug)]
pub(super) struct JsonBody {
    pub(super) media: ResponseMedia,
    pub(super) text: Bytes,
}

impl JsonBody {
    /// Reads `body`, sent with `headers`, as a POST's JSON body.
    pub(super) async fn read(
        state: &AppState,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Self, Refused> {
        read_body(state, headers, body)
            .await
            .map_err(|error| Refused::negotiated(state, error, headers))
    }
}

impl FromRequest<AppState> for JsonBody {
    type Rejection = Refused;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Refused> {
        let (parts, body) = request.into_parts();
        Self::read(state, &parts.headers, body).await
    }
}

async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<JsonBody, HttpError> {
    let media = ResponseMedia::negotiate(headers)?;
    let text = read_json(state, headers, body).await?;
    Ok(JsonBody { media, text })
}

/// A POST's JSON body: declared as JSON, not empty, within the size limit, arrived within the
/// request deadline.
pub(super) async fn read_json(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, HttpError> {
    require_json_body(headers)?;
    let limit = state.limits.body_bytes;
    // A body trickled in byte by byte must not hold the connection past the deadline.
    let timeout = state.limits.request_timeout;
    let mut read = std::pin::pin!(axum::body::to_bytes(body, limit));
    // Most bodies are in by the time their head is read: the deadline's timer is made only
    // for one that is not.
    let read = match futures::poll!(read.as_mut()) {
        std::task::Poll::Ready(read) => read,
        std::task::Poll::Pending => tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| HttpError::BodyTimeout(timeout))?,
    };
    let text = read.map_err(|error| {
        let too_large = std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            HttpError::PayloadTooLarge(limit)
        } else {
            HttpError::BadRequest("the request body could not be read".into())
        }
    })?;
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(HttpError::BadRequest(
            "the request body is empty: send a JSON object with a `query`".into(),
        ));
    }
    Ok(text)
}
