//! `POST /graphql` and `GET /graphql`: the caller and the request from the extractors, the
//! answer from the answer stage (`crate::answer`), and its response with the specification's
//! status codes, the coding a reused answer is sent in, and the caching headers.

use axum::{
    Extension,
    body::Bytes,
    extract::{FromRequestParts, RawQuery, Request, State, ws::WebSocketUpgrade},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{
    AppState, batch, caching, compress,
    error::HttpError,
    extract::{Authed, JsonBody, Refused},
    graphiql,
    media::{ResponseMedia, wants_event_stream, wants_html},
    request_id::RequestId,
    sse, ws,
};
use crate::{
    answer::{AnswerError, Reply},
    auth::Caller,
    graphql::{Answer, AnswerClass},
};

/// `POST /graphql` with a JSON body: one answer, or with `Accept: text/event-stream` a
/// stream of them ([`sse`]).
pub(super) async fn post(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    request: Request,
) -> Response {
    // The other transports are boxed: the answer's future is built, moved and boxed for every
    // request, and should not carry their state.
    if wants_event_stream(request.headers()) {
        return Box::pin(sse::post(state, id, request)).await;
    }
    let (caller, headers, JsonBody { media, text }) = match with_body(&state, request).await {
        Ok(taken) => taken,
        Err(refused) => return refused.into_response(),
    };
    if batch::is_batch(&text) {
        return Box::pin(batch::post(&state, &caller, &headers, &text, media, id)).await;
    }
    let replied = state.answer.post(&caller.access, text, id.as_str()).await;
    respond(&state, media, replied, &headers, id)
}

/// `GET /graphql`: GraphiQL for a browser, a WebSocket for a client asking to upgrade
/// ([`ws`]), otherwise a query from the URL.
pub(super) async fn get(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    request: Request,
) -> Response {
    if wants_html(request.headers()) {
        return graphiql::page(state.answer.safelist_only(), state.demo_token.get());
    }
    let (mut parts, _) = request.into_parts();
    if parts.headers.contains_key(header::UPGRADE) {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(upgrade) => Box::pin(ws::upgrade(state, id, upgrade, &parts.headers)).await,
            Err(rejection) => rejection.into_response(),
        };
    }
    let Authed(caller) = match Authed::from_request_parts(&mut parts, &state).await {
        Ok(authed) => authed,
        Err(refused) => return refused.into_response(),
    };
    let media = match ResponseMedia::negotiate(&parts.headers) {
        Ok(media) => media,
        Err(error) => {
            return Refused::new(&state, error.into(), ResponseMedia::Json).into_response();
        }
    };
    let RawQuery(query) = match RawQuery::from_request_parts(&mut parts, &state).await {
        Ok(query) => query,
        Err(never) => match never {},
    };
    let if_none_match = parts
        .headers
        .get(header::IF_NONE_MATCH)
        .and_then(|tags| tags.to_str().ok());
    let replied = state
        .answer
        .get(
            &caller.access,
            query.as_deref().unwrap_or_default(),
            if_none_match,
            id.as_str(),
        )
        .await;
    respond(&state, media, replied, &parts.headers, id)
}

/// `QUERY /graphql` (RFC 10008): a JSON body, like a POST's (the same content types refused),
/// answered like a GET (never a mutation; `ETag`, `Cache-Control` and `304`). Any other method
/// not routed here is refused with 405.
pub(super) async fn other_method(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    request: Request,
) -> Response {
    if request.method().as_str() != "QUERY" {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, POST, QUERY")],
        )
            .into_response();
    }
    let (caller, headers, JsonBody { media, text }) = match with_body(&state, request).await {
        Ok(taken) => taken,
        Err(refused) => return refused.into_response(),
    };
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|tags| tags.to_str().ok());
    let replied = state
        .answer
        .query_method(&caller.access, &text, if_none_match, id.as_str())
        .await;
    respond(&state, media, replied, &headers, id)
}

/// A request's caller (token checked first) and its JSON body, with its headers.
async fn with_body(
    state: &AppState,
    request: Request,
) -> Result<(Caller, HeaderMap, JsonBody), Refused> {
    let (mut parts, body) = request.into_parts();
    let Authed(caller) = Authed::from_request_parts(&mut parts, state).await?;
    let body = JsonBody::read(state, &parts.headers, body).await?;
    Ok((caller, parts.headers, body))
}

/// The response to what the answer stage replied.
fn respond(
    state: &AppState,
    media: ResponseMedia,
    replied: Result<Reply, AnswerError>,
    headers: &HeaderMap,
    id: RequestId,
) -> Response {
    match replied {
        Ok(Reply::Answer {
            kept,
            reused,
            validity,
        }) => {
            let coded = reused
                .then(|| compress::for_request(&kept, headers))
                .flatten();
            let mut response = match coded {
                Some((coding, body)) => {
                    let mut response = answered(&kept.answer, media, body);
                    let headers = response.headers_mut();
                    headers.insert(
                        header::CONTENT_ENCODING,
                        HeaderValue::from_static(coding.name()),
                    );
                    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                    response
                }
                None => answered(&kept.answer, media, kept.answer.body.clone()),
            };
            if validity.is_some() {
                caching::mark(&mut response, validity.as_ref());
            }
            response
        }
        Ok(Reply::NotModified(validity)) => caching::not_modified(&validity),
        Err(error) => Refused::new(state, HttpError::answering(error, id), media).into_response(),
    }
}

/// `294 Partial Success`: the GraphQL over HTTP specification's code (first edition, September
/// 2026) for an answer with both `data` (even `null`) and `errors`, in its own media type only.
const PARTIAL_SUCCESS: StatusCode = match StatusCode::from_u16(294) {
    Ok(status) => status,
    Err(_) => panic!("294 is a valid status code"),
};

/// A GraphQL answer's HTTP response. In `application/graphql-response+json` a request error is
/// 400 and an answer with data and errors 294; in `application/json`, for legacy clients, every
/// answer to a well-formed request is 200, as that edition's appendix says.
fn answered(answer: &Answer, media: ResponseMedia, body: Bytes) -> Response {
    let status = match (answer.class, media) {
        (AnswerClass::RequestError, ResponseMedia::GraphqlResponse) => StatusCode::BAD_REQUEST,
        (AnswerClass::Data, ResponseMedia::GraphqlResponse) if answer.failed => PARTIAL_SUCCESS,
        _ => StatusCode::OK,
    };
    let no_store = HeaderValue::from_static("no-store");
    (
        status,
        [
            (header::CONTENT_TYPE, media.content_type()),
            (header::CACHE_CONTROL, no_store),
        ],
        body,
    )
        .into_response()
}
