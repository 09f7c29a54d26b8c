//! `POST /graphql` and `GET /graphql`: authenticate, read the GraphQL-over-HTTP parameters,
//! execute, and answer with the specification's status codes.
//!
//! Order matters: the caller's token is checked first, so an unauthenticated request costs no
//! parsing and can never reach the upstream.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_graphql::{
    Variables,
    parser::{parse_query, types::OperationType},
};
use axum::{
    Extension,
    body::{Body, Bytes},
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{
    AppState,
    answers::{Answer, AnswerKey, RequestKey, Shared, Turn},
    error::HttpError,
    graphiql,
    media::{ResponseMedia, require_json_body, wants_html},
    request_id::RequestId,
};
use crate::{
    auth::{Caller, CustomerAccess},
    graphql::{self, QueryLimits, RequestScope},
};

/// How long past its deadline a request's execution may run before the HTTP layer gives up
/// on it; resolvers stop waiting at the deadline itself, so this is only a safety net.
const EXECUTION_GRACE: Duration = Duration::from_secs(1);

/// A request ready to execute: checked, with its document parsed when it parses.
struct Prepared {
    request: async_graphql::Request,
    access: CustomerAccess,
    /// The document did not parse (execution reports why).
    unparsed: bool,
    /// The operation's name, for metrics: the one asked for, or the only operation's.
    operation: Option<String>,
    /// How the answer may be reused, when it may.
    reuse: Option<Reuse>,
    /// The estimated cost, when the request asked for it (`extensions: {"cost": true}`).
    cost: Option<u64>,
}

/// How a POST's answer may be reused: shared with identical requests in flight, and kept for
/// reuse when a fresh snapshot was current as the request arrived.
struct Reuse {
    request: RequestKey,
    generation: Option<u64>,
}

/// What reading a POST gives: a request to execute, or an answer to send again.
enum Read {
    Prepared(Box<Prepared>),
    Reused(Arc<Answer>),
}

/// `POST /graphql` with a JSON body.
pub(super) async fn post(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let media = ResponseMedia::negotiate(&headers).unwrap_or(ResponseMedia::Json);
    match read_post(&state, &headers, body).await {
        Ok(Read::Prepared(prepared)) => {
            let turn = state
                .answers
                .as_ref()
                .zip(prepared.reuse.as_ref())
                .map(|(answers, reuse)| answers.join_or_lead(reuse.request.clone()));
            match turn {
                Some(Turn::Follow(follow)) => match follow.outcome().await {
                    Shared::Answer(answer) => {
                        state.metrics.flight_join("answer");
                        reply_again(&state, media, &answer, started)
                    }
                    Shared::TimedOut => refuse(
                        &state,
                        HttpError::Timeout(state.limits.request_timeout),
                        media,
                    ),
                    Shared::Alone => execute(&state, media, *prepared, &id).await.0,
                },
                Some(Turn::Lead(lead)) => {
                    let (response, answer) = execute(&state, media, *prepared, &id).await;
                    lead.finish(answer);
                    response
                }
                None => execute(&state, media, *prepared, &id).await.0,
            }
        }
        Ok(Read::Reused(answer)) => reply_again(&state, media, &answer, started),
        Err(error) => refuse(&state, error, media),
    }
}

/// Sends an answer computed for an identical request.
fn reply_again(
    state: &AppState,
    media: ResponseMedia,
    answer: &Answer,
    started: Instant,
) -> Response {
    let outcome = if answer.failed { "error" } else { "ok" };
    state
        .metrics
        .graphql_request(answer.operation.as_deref(), outcome, started.elapsed());
    answered(answer.status, media, answer.body.clone())
}

/// `GET /graphql`: GraphiQL for a browser, otherwise a query from the URL.
pub(super) async fn get(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if wants_html(&headers) {
        return graphiql::page();
    }
    let media = ResponseMedia::negotiate(&headers).unwrap_or(ResponseMedia::Json);
    match read_get(&state, &headers, query.as_deref().unwrap_or_default()).await {
        Ok(prepared) => execute(&state, media, prepared, &id).await.0,
        Err(error) => refuse(&state, error, media),
    }
}

fn refuse(state: &AppState, error: HttpError, media: ResponseMedia) -> Response {
    if !matches!(error, HttpError::Auth(_)) {
        state.metrics.refusal(error.code());
        tracing::info!(code = error.code(), %error, "request refused");
    }
    error.respond(media)
}

/// The caller, once its token is accepted and its rate limit allows the request.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, HttpError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|value| value.as_bytes());
    let caller = state
        .authenticator
        .verify(authorization)
        .await
        .map_err(|error| {
            state.metrics.auth_refusal(error.reason());
            tracing::info!(reason = error.reason(), "caller refused");
            HttpError::Auth(error)
        })?;
    if let Some(limiter) = &state.rate_limiter {
        let key = rate_key(caller.subject.as_deref(), authorization.unwrap_or_default());
        limiter.acquire(&key).map_err(HttpError::RateLimited)?;
    }
    Ok(caller)
}

/// Whose bucket a request is taken from: the token's `sub`, or for a token without one the
/// token itself (by digest, so no token is kept), never one bucket shared by all of them.
fn rate_key(subject: Option<&str>, authorization: &[u8]) -> String {
    match subject {
        Some(subject) => format!("sub:{subject}"),
        None => {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, authorization);
            let hex: String = digest.as_ref()[..16]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            format!("token:{hex}")
        }
    }
}

async fn read_post(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Read, HttpError> {
    let caller = authenticate(state, headers).await?;
    let media = ResponseMedia::negotiate(headers)?;
    require_json_body(headers)?;
    let limit = state.limits.body_bytes;
    // A body trickled in byte by byte must not hold the connection past the deadline.
    let timeout = state.limits.request_timeout;
    let read = tokio::time::timeout(timeout, axum::body::to_bytes(body, limit))
        .await
        .map_err(|_| HttpError::BodyTimeout(timeout))?;
    let bytes = read.map_err(|error| {
        let too_large = std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            HttpError::PayloadTooLarge(limit)
        } else {
            HttpError::BadRequest("the request body could not be read".into())
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(HttpError::BadRequest(
            "the request body is empty: send a JSON object with a `query`".into(),
        ));
    }
    let reuse = match (&state.answers, &caller.access) {
        (Some(answers), CustomerAccess::All) => {
            let request = RequestKey::new(media, bytes.clone());
            let generation = state.store.fresh_generation().await;
            if let Some(generation) = generation {
                let reused = answers.get(&AnswerKey::new(generation, request.clone()));
                state.metrics.cache_lookup("answer", reused.is_some());
                if let Some(answer) = reused {
                    return Ok(Read::Reused(answer));
                }
            }
            Some(Reuse {
                request,
                generation,
            })
        }
        _ => None,
    };
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
    let built = build_request(params, state.limits.query_bytes)?;
    prepare(state, built, caller, reuse)
        .await
        .map(|prepared| Read::Prepared(Box::new(prepared)))
}

async fn read_get(
    state: &AppState,
    headers: &HeaderMap,
    query_string: &str,
) -> Result<Prepared, HttpError> {
    let caller = authenticate(state, headers).await?;
    ResponseMedia::negotiate(headers)?;
    let mut params = Map::new();
    for (name, value) in url_parameters(query_string)? {
        let value = match name.as_str() {
            "variables" | "extensions" if !value.trim().is_empty() => serde_json::from_str(&value)
                .map_err(|_| {
                    HttpError::BadRequest(format!(
                        "`{name}` must be a JSON object encoded in the URL"
                    ))
                })?,
            _ => Value::String(value),
        };
        params.insert(name, value);
    }
    let built = build_request(params, state.limits.query_bytes)?;
    if built
        .document
        .as_ref()
        .is_some_and(|document| is_mutation(document, built.request.operation_name.as_deref()))
    {
        return Err(HttpError::MethodNotAllowed(
            "mutations are not allowed over GET: use POST".into(),
        ));
    }
    prepare(state, built, caller, None).await
}

/// The URL's `name=value` pairs, decoded; refuses bytes that are not UTF-8 once decoded
/// rather than guessing what they meant.
fn url_parameters(query_string: &str) -> Result<Vec<(String, String)>, HttpError> {
    let decode = |text: &str| {
        let text = text.replace('+', " ");
        percent_encoding::percent_decode_str(&text)
            .decode_utf8()
            .map(|decoded| decoded.into_owned())
            .map_err(|_| {
                HttpError::BadRequest(
                    "the URL's parameters are not valid UTF-8 once percent-decoded".into(),
                )
            })
    };
    query_string
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

/// Checks the document against the limits (list sizes from the latest cached snapshot) and
/// gives it the parsed document, so execution does not parse it again.
async fn prepare(
    state: &AppState,
    built: Built,
    caller: Caller,
    reuse: Option<Reuse>,
) -> Result<Prepared, HttpError> {
    let Built {
        mut request,
        document,
        report_cost,
    } = built;
    let unparsed = document.is_none();
    let mut operation = request.operation_name.clone();
    let mut cost = None;
    if let Some(document) = document {
        if operation.is_none() {
            let mut operations = document.operations.iter();
            if let (Some((Some(name), _)), None) = (operations.next(), operations.next()) {
                operation = Some(name.to_string());
            }
        }
        let measure = graphql::measure(
            &document,
            request.operation_name.as_deref(),
            &request.variables,
            QueryLimits::new(&state.limits, state.introspection),
            &state.store,
            Instant::now() + state.limits.request_timeout,
        )
        .await?;
        cost = measure.filter(|_| report_cost).map(|measure| measure.cost);
        request.set_parsed_query(document);
    }
    Ok(Prepared {
        request,
        access: caller.access,
        unparsed,
        operation,
        reuse,
        cost,
    })
}

/// A GraphQL request read from its parameters.
struct Built {
    request: async_graphql::Request,
    /// The document, when it parses (execution reports why it does not).
    document: Option<async_graphql::parser::types::ExecutableDocument>,
    /// `extensions.cost` is `true`: the answer reports the estimated cost.
    report_cost: bool,
}

/// The GraphQL request from its parameters, each checked for the right JSON type, and its
/// document when it parses.
fn build_request(
    mut params: Map<String, Value>,
    max_query_bytes: usize,
) -> Result<Built, HttpError> {
    let query = match params.remove("query") {
        Some(Value::String(query)) => query,
        Some(_) => return Err(HttpError::BadRequest("`query` must be a string".into())),
        None => {
            return Err(HttpError::BadRequest(
                "the request has no `query` parameter".into(),
            ));
        }
    };
    if query.len() > max_query_bytes {
        return Err(HttpError::QueryTooLarge(max_query_bytes));
    }
    let document = parse_query(&query).ok();
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
    let report_cost = match params.remove("extensions") {
        None | Some(Value::Null) => false,
        Some(Value::Object(extensions)) => extensions.get("cost") == Some(&Value::Bool(true)),
        Some(_) => {
            return Err(HttpError::BadRequest(
                "`extensions` must be an object or null".into(),
            ));
        }
    };
    Ok(Built {
        request,
        document,
        report_cost,
    })
}

/// Whether the operation the request would run is a mutation.
fn is_mutation(
    document: &async_graphql::parser::types::ExecutableDocument,
    operation_name: Option<&str>,
) -> bool {
    let mut operations = document.operations.iter();
    let chosen = match operation_name {
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

/// Runs a prepared request; also says what identical requests waiting for it may share.
async fn execute(
    state: &AppState,
    media: ResponseMedia,
    prepared: Prepared,
    id: &RequestId,
) -> (Response, Shared) {
    let started = Instant::now();
    let timeout = state.limits.request_timeout;
    let scope = RequestScope {
        deadline: Instant::now() + timeout,
        reads: Arc::default(),
    };
    // Kept to place the nulls of a partial answer (see `graphql::complete`).
    let query = prepared.request.query.clone();
    let operation_name = prepared.request.operation_name.clone();
    let request = graphql::for_caller(
        prepared.request,
        prepared.access,
        scope.clone(),
        &state.store,
    );
    let Ok(mut response) =
        tokio::time::timeout(timeout + EXECUTION_GRACE, state.schema.execute(request)).await
    else {
        return (
            refuse(state, HttpError::Timeout(timeout), media),
            Shared::TimedOut,
        );
    };
    // A request error (parse, validation, variable coercion, unknown operation) leaves no
    // data and points at no field; execution errors always carry a path.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty());
    if !request_error {
        graphql::complete(
            &mut response.data,
            &response.errors,
            &query,
            operation_name.as_deref(),
        );
    }
    let mut quotes_id = false;
    for error in &mut response.errors {
        quotes_id |= classify(error, request_error, prepared.unparsed, id);
    }
    if let Some(cost) = prepared.cost {
        response.extensions.insert(
            "cost".into(),
            async_graphql::Value::from_json(json!({
                "estimated": cost,
                "limit": state.limits.complexity,
            }))
            .unwrap_or_default(),
        );
    }
    if let Some(stale) = scope.reads.oldest() {
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
    state.metrics.graphql_request(
        prepared.operation.as_deref(),
        if response.errors.is_empty() {
            "ok"
        } else {
            "error"
        },
        started.elapsed(),
    );
    let body = if request_error {
        serde_json::to_vec(&RequestErrors {
            errors: &response.errors,
        })
    } else {
        serde_json::to_vec(&response)
    };
    let Ok(body) = body else {
        tracing::error!("a GraphQL answer could not be serialised");
        return (
            HttpError::Internal(Some(id.clone())).respond(media),
            Shared::Alone,
        );
    };
    let status = if request_error && media == ResponseMedia::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = Bytes::from(body);
    let failed = !response.errors.is_empty();
    let answer = (!quotes_id).then(|| {
        Arc::new(Answer {
            status,
            body: body.clone(),
            operation: prepared.operation,
            failed,
        })
    });
    if let (Some(answers), Some(reuse), Some(answer)) = (&state.answers, prepared.reuse, &answer)
        && !failed
        && let Some(generation) = reuse.generation
        && scope.reads.only_fresh(generation)
    {
        answers.insert(
            AnswerKey::new(generation, reuse.request),
            Arc::clone(answer),
        );
    }
    let shared = answer.map_or(Shared::Alone, Shared::Answer);
    (answered(status, media, body), shared)
}

/// A GraphQL answer's HTTP response, executed or reused.
fn answered(status: StatusCode, media: ResponseMedia, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response()
}

/// Gives every error a code. Request errors without one are the document's fault and keep
/// their message; a field error without one is a failure inside the gateway, so its detail
/// goes to the log and the caller gets a generic message quoting the request id (the one case
/// where this returns `true`).
fn classify(
    error: &mut async_graphql::ServerError,
    request_error: bool,
    unparsed: bool,
    id: &RequestId,
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
    extensions.set("requestId", id.as_str());
    error.message = format!("internal error: quote request id {id} when reporting it");
    true
}

#[cfg(test)]
mod tests {
    use async_graphql::{ErrorExtensions, PathSegment, ServerError};

    use super::*;

    fn id() -> RequestId {
        RequestId::from_header_value("req-1")
    }

    #[test]
    fn a_field_error_without_a_code_is_masked_and_quotes_the_request_id() {
        let mut error = ServerError::new("db password is hunter2", None);
        error.path = vec![PathSegment::Field("customers".into())];
        assert!(
            classify(&mut error, false, false, &id()),
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
        assert!(!classify(&mut error, false, false, &id()));
        assert_eq!(error.message, "the upstream is unavailable: HTTP 503");

        let mut unknown_field = ServerError::new("Unknown field \"nope\"", None);
        assert!(!classify(&mut unknown_field, true, false, &id()));
        assert_eq!(unknown_field.message, "Unknown field \"nope\"");
        assert_eq!(
            unknown_field.extensions.unwrap().get("code"),
            Some(&async_graphql::Value::from("GRAPHQL_VALIDATION_FAILED"))
        );
        let mut unparsed = ServerError::new("expected selection", None);
        classify(&mut unparsed, true, true, &id());
        assert_eq!(
            unparsed.extensions.unwrap().get("code"),
            Some(&async_graphql::Value::from("GRAPHQL_PARSE_FAILED"))
        );
    }
}
