//! `POST /graphql` and `GET /graphql`: the caller and the request from the extractors, the
//! memo for a POST (keyed by the caller's customer scope and the request), execution in
//! graphql/, and the answer with the specification's status codes.

use std::{sync::atomic::Ordering, time::Instant};

use axum::{
    Extension,
    body::Bytes,
    extract::{FromRequestParts, RawQuery, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{
    AppState, access,
    caching::{self, Validity},
    compress,
    error::HttpError,
    extract::{Authed, JsonBody, Refused},
    graphiql,
    media::{ResponseMedia, wants_html},
    params,
    request_id::RequestId,
};
use crate::{
    auth::CustomerAccess,
    graphql::{self, Answer, AnswerClass, ExecuteError, GraphqlRequest, Parsed, Prepared},
    memo::{Kept, Outcome, RequestKey},
};

/// `POST /graphql` with a JSON body.
pub(super) async fn post(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    Authed(caller): Authed,
    headers: HeaderMap,
    JsonBody { media, text }: JsonBody,
) -> Response {
    let started = Instant::now();
    let memo = state.memo.as_ref();
    let generation = match memo {
        Some(_) => state.store.fresh_generation().await,
        None => None,
    };
    // A body seen before is found by its bytes, without being parsed.
    if let (Some(memo), Some(generation)) = (memo, generation)
        && let Some(kept) = memo.reused_body(generation, &caller.access, &text)
    {
        state.metrics.cache_lookup("answer", true);
        return reply_again(&state, media, &kept, &headers, started);
    }
    let request = match params::from_body(&text, state.limits.query_bytes) {
        Ok(request) => request,
        Err(error) => return Refused::new(&state, error, media).into_response(),
    };
    let request = match persisted(&state, request).await {
        Ok(request) => request,
        Err(error) => return Refused::new(&state, error, media).into_response(),
    };
    let memo = memo.map(|memo| (memo, RequestKey::new(&caller.access, &request)));
    // The same request written another way (spacing, key order) is found by its key.
    if let (Some((memo, key)), Some(generation)) = (&memo, generation) {
        let kept = memo.reused(generation, key);
        state.metrics.cache_lookup("answer", kept.is_some());
        if let Some(kept) = kept {
            memo.alias(generation, key, text, &kept);
            return reply_again(&state, media, &kept, &headers, started);
        }
    }
    let prepared = match prepare(&state, request, false).await {
        Ok(prepared) => prepared,
        Err(error) => return Refused::new(&state, error, media).into_response(),
    };
    let Some((memo, key)) = memo else {
        return run_own(&state, media, prepared, caller.access, &id).await;
    };
    // The first of identical requests executes in a task of its own; the others join it, and
    // keep their own request in case its answer cannot be shared.
    let mut own = Some(prepared);
    let (outcome, _) = memo
        .run_or_join(key, text, generation, || {
            let (state, id, access) = (state.clone(), id.clone(), caller.access.clone());
            let prepared = own.take();
            async move {
                match prepared {
                    Some(prepared) => run(&state, prepared, access, &id).await,
                    None => Err(ExecuteError::Unserialisable),
                }
            }
        })
        .await;
    match (own, outcome) {
        (None, Some(outcome)) => respond(&state, media, outcome, &id),
        (None, None) => HttpError::Internal(Some(id)).respond(media),
        (Some(_), Some(Outcome::Answered { kept, shared: true })) => {
            state.metrics.flight_join("answer");
            reply_again(&state, media, &kept, &headers, started)
        }
        (Some(_), Some(Outcome::TimedOut)) => timed_out(&state, media),
        (Some(prepared), _) => run_own(&state, media, prepared, caller.access, &id).await,
    }
}

/// `GET /graphql`: GraphiQL for a browser, otherwise a query from the URL.
pub(super) async fn get(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    request: Request,
) -> Response {
    if wants_html(request.headers()) {
        return graphiql::page(state.persisted.safelist_only());
    }
    let (mut parts, _) = request.into_parts();
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
    let query = query.as_deref().unwrap_or_default();
    let request = match params::from_url(query, state.limits.query_bytes) {
        Ok(request) => request,
        Err(error) => return Refused::new(&state, error, media).into_response(),
    };
    let request = match persisted(&state, request).await {
        Ok(request) => request,
        Err(error) => return Refused::new(&state, error, media).into_response(),
    };
    let key = RequestKey::new(&caller.access, &request);
    // Only a request that names a tag pays for working out the current one before executing.
    if parts.headers.contains_key(header::IF_NONE_MATCH)
        && let Some(validity) = validity(&state, &key, None).await
        && let Some(not_modified) = caching::not_modified(&parts.headers, &validity)
    {
        state.metrics.cache_lookup("http", true);
        noted(&state, None, "not_modified");
        return not_modified;
    }
    let prepared = match prepare(&state, request, true).await {
        Ok(prepared) => prepared,
        Err(error) => return Refused::new(&state, error, media).into_response(),
    };
    let executed = run(&state, prepared, caller.access, &id).await;
    let cacheable = match &executed {
        Ok(answer) if answer.class == AnswerClass::Data && !answer.failed => {
            validity(&state, &key, Some(answer)).await
        }
        _ => None,
    };
    let mut response = respond(&state, media, Outcome::from(executed), &id);
    caching::mark(&mut response, cacheable.as_ref());
    response
}

/// How a GET answer to `key` may be cached: while the cached snapshot is fresh, and, for an
/// answer already built, only if it read nothing but that snapshot's fresh data.
async fn validity(state: &AppState, key: &RequestKey, answer: Option<&Answer>) -> Option<Validity> {
    let (generation, fresh_for) = state.store.fresh_window().await?;
    if answer.is_some_and(|answer| !answer.provenance.fresh_from(generation)) {
        return None;
    }
    Some(Validity {
        etag: key.etag(generation),
        fresh_for,
    })
}

/// The request with the text of the persisted document it names, if it names one (or
/// refused: an unknown hash, a mismatch, or any other document in safelist mode).
async fn persisted(
    state: &AppState,
    mut request: GraphqlRequest,
) -> Result<GraphqlRequest, HttpError> {
    if let Some(document) = &request.document {
        access::document(&document.hash);
    }
    let query = (request.document.is_none() || !request.query.is_empty())
        .then(|| std::mem::take(&mut request.query));
    request.query = state
        .persisted
        .resolve(request.document.take().as_ref(), query)
        .await?;
    Ok(request)
}

/// Parses the request and prices it against the limits (list sizes from the latest cached
/// snapshot). Over GET (`read_only`) a mutation is refused before it is priced.
async fn prepare(
    state: &AppState,
    request: GraphqlRequest,
    read_only: bool,
) -> Result<Prepared, HttpError> {
    let parsed = Parsed::new(request, &state.documents);
    if read_only && parsed.is_mutation() {
        return Err(HttpError::MethodNotAllowed(
            "mutations are not allowed over GET: use POST".into(),
        ));
    }
    parsed
        .prepare(
            state.limits.query(state.introspection),
            &state.store,
            Instant::now() + state.limits.request_timeout,
        )
        .await
        .map_err(HttpError::Refused)
}

/// Executes a request on its own (not shared with others) and answers it.
async fn run_own(
    state: &AppState,
    media: ResponseMedia,
    prepared: Prepared,
    access: CustomerAccess,
    id: &RequestId,
) -> Response {
    let executed = run(state, prepared, access, id).await;
    respond(state, media, Outcome::from(executed), id)
}

/// Executes a prepared request for `access`, counting it.
async fn run(
    state: &AppState,
    prepared: Prepared,
    access: CustomerAccess,
    id: &RequestId,
) -> Result<Answer, ExecuteError> {
    let started = Instant::now();
    let options = graphql::ExecuteOptions {
        timeout: state.limits.request_timeout,
        request_id: id.as_str(),
        fast: state.fast_executor.load(Ordering::Relaxed),
    };
    let answer = graphql::execute(&state.schema, &state.store, prepared, access, options).await?;
    state.metrics.execution(answer.executor.name());
    let outcome = if answer.failed { "error" } else { "ok" };
    state
        .metrics
        .graphql_request(answer.operation.as_deref(), outcome, started.elapsed());
    Ok(answer)
}

/// The HTTP response of a request's own execution.
fn respond(state: &AppState, media: ResponseMedia, outcome: Outcome, id: &RequestId) -> Response {
    match outcome {
        Outcome::Answered { kept, .. } => {
            let answer = &kept.answer;
            let source = match answer.provenance.stale() {
                Some(_) => "stale",
                None => "fresh",
            };
            noted(state, answer.operation.as_deref(), source);
            answered(answer, media, answer.body.clone())
        }
        Outcome::TimedOut => {
            noted(state, None, "timeout");
            timed_out(state, media)
        }
        Outcome::Failed => {
            noted(state, None, "error");
            HttpError::Internal(Some(id.clone())).respond(media)
        }
    }
}

/// Counts where an answer came from and notes it for the access log.
fn noted(state: &AppState, operation: Option<&str>, source: &'static str) {
    state.metrics.answer(source);
    access::answered(operation, source);
}

/// The refusal of a request that ran out of time.
fn timed_out(state: &AppState, media: ResponseMedia) -> Response {
    Refused::new(
        state,
        HttpError::Timeout(state.limits.request_timeout),
        media,
    )
    .into_response()
}

/// Sends an answer computed for an identical request, compressed as the caller accepts (the
/// coding made once per answer, not per request).
fn reply_again(
    state: &AppState,
    media: ResponseMedia,
    kept: &Kept,
    headers: &HeaderMap,
    started: Instant,
) -> Response {
    let answer = &kept.answer;
    let outcome = if answer.failed { "error" } else { "ok" };
    state
        .metrics
        .graphql_request(answer.operation.as_deref(), outcome, started.elapsed());
    noted(state, answer.operation.as_deref(), "reused");
    match compress::for_request(kept, headers) {
        Some((coding, body)) => {
            let mut response = answered(answer, media, body);
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(coding.name()),
            );
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            response
        }
        None => answered(answer, media, answer.body.clone()),
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
