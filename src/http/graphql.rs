//! `POST /graphql` and `GET /graphql`: authenticate, read the GraphQL-over-HTTP parameters,
//! execute, and answer with the specification's status codes.
//!
//! Order matters: the caller's token is checked first, so an unauthenticated request costs no
//! parsing and can never reach the upstream.

use std::{sync::Arc, time::Instant};

use axum::{
    Extension,
    body::{Body, Bytes},
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value};

use super::{
    AppState,
    answers::{Answer, AnswerKey, Outcome, RequestKey},
    compress::Encoded,
    error::HttpError,
    graphiql,
    media::{ResponseMedia, require_json_body, wants_html},
    params::{Built, build_request, url_parameters},
    request_id::RequestId,
};
use crate::{
    auth::{Caller, CustomerAccess},
    graphql::{self, QueryLimits},
};

/// A request ready to execute: checked, with its document parsed when it parses.
struct Prepared {
    request: async_graphql::Request,
    /// The answer's media type, which decides the status of a request error.
    media: ResponseMedia,
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
    let prepared = match read_post(&state, &headers, body).await {
        Ok(Read::Prepared(prepared)) => prepared,
        Ok(Read::Reused(answer)) => return reply_again(&state, media, &answer, &headers, started),
        Err(error) => return refuse(&state, error, media),
    };
    let Some((answers, request)) = state
        .answers
        .as_ref()
        .zip(prepared.reuse.as_ref().map(|reuse| reuse.request.clone()))
    else {
        return respond(
            &state,
            media,
            run(state.clone(), *prepared, id.clone()).await,
            &id,
        );
    };
    // The first of identical requests executes in a task of its own; the others join it, and
    // keep their own request in case its answer cannot be shared.
    let mut own = Some(prepared);
    let (flight, joined) = answers.running.join_or_start_one(request, || {
        let (state, id, prepared) = (state.clone(), id.clone(), own.take());
        async move {
            match prepared {
                Some(prepared) => run(state, *prepared, id).await,
                None => Outcome::Failed,
            }
        }
    });
    let outcome = flight.await;
    match (own, outcome) {
        (None, Some(outcome)) => respond(&state, media, outcome, &id),
        (None, None) => HttpError::Internal(Some(id)).respond(media),
        (
            Some(_),
            Some(Outcome::Answered {
                answer,
                shared: true,
            }),
        ) => {
            state.metrics.flight_join("answer");
            reply_again(&state, media, &answer, &headers, started)
        }
        (Some(_), Some(Outcome::TimedOut)) => refuse(
            &state,
            HttpError::Timeout(state.limits.request_timeout),
            media,
        ),
        (Some(prepared), _) => {
            debug_assert!(joined, "only a request that joined keeps its own");
            respond(
                &state,
                media,
                run(state.clone(), *prepared, id.clone()).await,
                &id,
            )
        }
    }
}

/// Sends an answer computed for an identical request, compressed as the caller accepts (the
/// coding made once per answer, not per request).
fn reply_again(
    state: &AppState,
    media: ResponseMedia,
    answer: &Answer,
    headers: &HeaderMap,
    started: Instant,
) -> Response {
    let outcome = if answer.failed { "error" } else { "ok" };
    state
        .metrics
        .graphql_request(answer.operation.as_deref(), outcome, started.elapsed());
    match answer.encoded.for_request(headers, &answer.body) {
        Some((coding, body)) => {
            let mut response = answered(answer.status, media, body);
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_ENCODING, coding.header());
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            response
        }
        None => answered(answer.status, media, answer.body.clone()),
    }
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
        Ok(prepared) => respond(
            &state,
            media,
            run(state.clone(), prepared, id.clone()).await,
            &id,
        ),
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
    prepare(state, built, caller, media, reuse)
        .await
        .map(|prepared| Read::Prepared(Box::new(prepared)))
}

async fn read_get(
    state: &AppState,
    headers: &HeaderMap,
    query_string: &str,
) -> Result<Prepared, HttpError> {
    let caller = authenticate(state, headers).await?;
    let media = ResponseMedia::negotiate(headers)?;
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
    if built.document.as_ref().is_some_and(|document| {
        graphql::is_mutation(document, built.request.operation_name.as_deref())
    }) {
        return Err(HttpError::MethodNotAllowed(
            "mutations are not allowed over GET: use POST".into(),
        ));
    }
    prepare(state, built, caller, media, None).await
}

/// Checks the document against the limits (list sizes from the latest cached snapshot) and
/// gives it the parsed document, so execution does not parse it again.
async fn prepare(
    state: &AppState,
    built: Built,
    caller: Caller,
    media: ResponseMedia,
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
            operation = graphql::chosen_operation(&document, None)
                .and_then(|(name, _)| name)
                .map(|name| name.to_string());
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
        media,
        access: caller.access,
        unparsed,
        operation,
        reuse,
        cost,
    })
}

/// Runs a prepared request, and keeps its answer for reuse when it may be.
async fn run(state: AppState, prepared: Prepared, id: RequestId) -> Outcome {
    let started = Instant::now();
    let options = graphql::ExecuteOptions {
        timeout: state.limits.request_timeout,
        unparsed: prepared.unparsed,
        cost: prepared
            .cost
            .map(|estimated| (estimated, state.limits.complexity)),
        request_id: id.as_str(),
    };
    let executed = match graphql::execute(
        &state.schema,
        &state.store,
        prepared.request,
        prepared.access,
        options,
    )
    .await
    {
        Ok(executed) => executed,
        Err(graphql::ExecuteError::TimedOut) => return Outcome::TimedOut,
        Err(graphql::ExecuteError::Unserialisable) => return Outcome::Failed,
    };
    let outcome = if executed.failed { "error" } else { "ok" };
    state
        .metrics
        .graphql_request(prepared.operation.as_deref(), outcome, started.elapsed());
    let status = if executed.request_error && prepared.media == ResponseMedia::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let answer = Arc::new(Answer {
        status,
        body: executed.body,
        operation: prepared.operation,
        failed: executed.failed,
        encoded: Encoded::default(),
    });
    let shared = !executed.quotes_id;
    if let (Some(answers), Some(reuse)) = (&state.answers, prepared.reuse)
        && shared
        && !executed.failed
        && let Some(generation) = reuse.generation
        && executed.reads.only_fresh(generation)
    {
        answers.insert(
            AnswerKey::new(generation, reuse.request),
            Arc::clone(&answer),
        );
    }
    Outcome::Answered { answer, shared }
}

/// The HTTP response of a request's own execution.
fn respond(state: &AppState, media: ResponseMedia, outcome: Outcome, id: &RequestId) -> Response {
    match outcome {
        Outcome::Answered { answer, .. } => answered(answer.status, media, answer.body.clone()),
        Outcome::TimedOut => refuse(
            state,
            HttpError::Timeout(state.limits.request_timeout),
            media,
        ),
        Outcome::Failed => HttpError::Internal(Some(id.clone())).respond(media),
    }
}

/// A GraphQL answer's HTTP response, executed or reused.
fn answered(status: StatusCode, media: ResponseMedia, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response()
}
