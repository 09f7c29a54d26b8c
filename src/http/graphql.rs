//! `POST /graphql` and `GET /graphql`: authenticate, read the GraphQL-over-HTTP parameters,
//! execute, and answer with the specification's status codes.
//!
//! Order matters: the caller's token is checked first, so an unauthenticated request costs no
//! parsing and can never reach the upstream.

use async_graphql::{
    Variables,
    parser::{parse_query, types::OperationType},
};
use axum::{
    body::Body,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    AppState,
    error::HttpError,
    graphiql,
    media::{ResponseMedia, require_json_body, wants_html},
};
use crate::{auth::Caller, graphql};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// `POST /graphql` with a JSON body.
pub(super) async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let media = ResponseMedia::negotiate(&headers).unwrap_or(ResponseMedia::Json);
    match read_post(&state, &headers, body).await {
        Ok(request) => execute(&state, media, request).await,
        Err(error) => error.respond(media),
    }
}

/// `GET /graphql`: GraphiQL for a browser, otherwise a query from the URL.
pub(super) async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if wants_html(&headers) {
        return graphiql::page();
    }
    let media = ResponseMedia::negotiate(&headers).unwrap_or(ResponseMedia::Json);
    match read_get(&state, &headers, query.as_deref().unwrap_or_default()).await {
        Ok(request) => execute(&state, media, request).await,
        Err(error) => error.respond(media),
    }
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, HttpError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|value| value.as_bytes());
    state
        .authenticator
        .verify(authorization)
        .await
        .map_err(|error| {
            state.metrics.auth_refusal(error.reason());
            tracing::info!(reason = error.reason(), "caller refused");
            HttpError::Auth(error)
        })
}

async fn read_post(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<async_graphql::Request, HttpError> {
    let caller = authenticate(state, headers).await?;
    ResponseMedia::negotiate(headers)?;
    require_json_body(headers)?;
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|error| {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if too_large {
                HttpError::PayloadTooLarge(MAX_BODY_BYTES)
            } else {
                HttpError::BadRequest("the request body could not be read".into())
            }
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(HttpError::BadRequest(
            "the request body is empty: send a JSON object with a `query`".into(),
        ));
    }
    let params: Value = serde_json::from_slice(&bytes).map_err(|error| {
        HttpError::BadRequest(format!("the request body is not valid JSON: {error}"))
    })?;
    let params = match params {
        Value::Object(params) => params,
        Value::Array(_) => {
            return Err(HttpError::BadRequest(
                "batched requests (a JSON array) are not supported: send one request per POST"
                    .into(),
            ));
        }
        _ => {
            return Err(HttpError::BadRequest(
                "the request body must be a JSON object with a `query`".into(),
            ));
        }
    };
    Ok(graphql::for_caller(
        build_request(params)?,
        caller,
        &state.store,
    ))
}

async fn read_get(
    state: &AppState,
    headers: &HeaderMap,
    query_string: &str,
) -> Result<async_graphql::Request, HttpError> {
    let caller = authenticate(state, headers).await?;
    ResponseMedia::negotiate(headers)?;
    let mut params = Map::new();
    for (name, value) in form_urlencoded::parse(query_string.as_bytes()) {
        let value = match name.as_ref() {
            "variables" | "extensions" if !value.trim().is_empty() => serde_json::from_str(&value)
                .map_err(|_| {
                    HttpError::BadRequest(format!(
                        "`{name}` must be a JSON object encoded in the URL"
                    ))
                })?,
            _ => Value::String(value.into_owned()),
        };
        params.insert(name.into_owned(), value);
    }
    let request = build_request(params)?;
    if is_mutation(&request) {
        return Err(HttpError::MethodNotAllowed(
            "mutations are not allowed over GET: use POST".into(),
        ));
    }
    Ok(graphql::for_caller(request, caller, &state.store))
}

/// The GraphQL request from its parameters, each checked for the right JSON type.
fn build_request(mut params: Map<String, Value>) -> Result<async_graphql::Request, HttpError> {
    let query = match params.remove("query") {
        Some(Value::String(query)) => query,
        Some(_) => return Err(HttpError::BadRequest("`query` must be a string".into())),
        None => {
            return Err(HttpError::BadRequest(
                "the request has no `query` parameter".into(),
            ));
        }
    };
    let mut request = async_graphql::Request::new(query);
    match params.remove("operationName") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => request = request.operation_name(name),
        Some(_) => {
            return Err(HttpError::BadRequest(
                "`operationName` must be a string or null".into(),
            ));
        }
    }
    match params.remove("variables") {
        None | Some(Value::Null) => {}
        Some(variables @ Value::Object(_)) => {
            request = request.variables(Variables::from_json(variables));
        }
        Some(_) => {
            return Err(HttpError::BadRequest(
                "`variables` must be an object or null".into(),
            ));
        }
    }
    match params.remove("extensions") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(_) => {
            return Err(HttpError::BadRequest(
                "`extensions` must be an object or null".into(),
            ));
        }
    }
    Ok(request)
}

/// Whether the operation the request would run is a mutation (parse errors are left to
/// execution, which reports them properly).
fn is_mutation(request: &async_graphql::Request) -> bool {
    let Ok(document) = parse_query(&request.query) else {
        return false;
    };
    let mut operations = document.operations.iter();
    let chosen = match request.operation_name.as_deref() {
        Some(name) => operations.find(|(op_name, _)| op_name.is_some_and(|n| n.as_str() == name)),
        None => operations.next(),
    };
    chosen.is_some_and(|(_, operation)| operation.node.ty == OperationType::Mutation)
}

/// A GraphQL answer without `data`, for requests that never started executing.
#[derive(Serialize)]
struct RequestErrors<'a> {
    errors: &'a [async_graphql::ServerError],
}

async fn execute(
    state: &AppState,
    media: ResponseMedia,
    request: async_graphql::Request,
) -> Response {
    let response = state.schema.execute(request).await;
    // A request error (parse, validation, variable coercion, unknown operation) leaves no
    // data and points at no field; execution errors always carry a path.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty());
    state
        .metrics
        .graphql_request(if response.errors.is_empty() {
            "ok"
        } else {
            "error"
        });
    let body = if request_error {
        serde_json::to_vec(&RequestErrors {
            errors: &response.errors,
        })
    } else {
        serde_json::to_vec(&response)
    };
    let Ok(body) = body else {
        return HttpError::BadRequest("the answer could not be serialised".into()).respond(media);
    };
    let status = if request_error && media == ResponseMedia::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response()
}
