//! Running one GraphQL request: the one place where an answer's errors get their codes, a
//! partial answer its nulls, and the answer its extensions (`stale`, `cost`), before it is
//! written as JSON, with its status class and provenance. The transport (http/) turns the
//! class into a status and the memo decides whether to keep or share the bytes; nothing here
//! knows HTTP.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::body::Bytes;
use serde::Serialize;
use serde_json::json;

use async_graphql::parser::types::ExecutableDocument;

use super::{
    GatewaySchema, Prepared, RequestScope, chosen_operation,
    complete::complete,
    error::{classify, upstream_fault},
    fast, for_caller,
    request::{CostReport, Document},
    variables,
};
use crate::{
    auth::CustomerAccess,
    cache::{CustomerStore, Provenance},
};

/// How long past its deadline a request's execution may run before it is given up on;
/// resolvers stop waiting at the deadline itself, so this is only a safety net.
const EXECUTION_GRACE: Duration = Duration::from_secs(1);

/// What one execution needs besides the request and its caller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExecuteOptions<'a> {
    /// The request's deadline from now (`GATEWAY_LIMITS_REQUEST_TIMEOUT_MS`).
    pub timeout: Duration,
    /// The request's id, quoted by a masked internal error.
    pub request_id: &'a str,
    /// Whether the fast executor may answer.
    pub fast: bool,
    /// The request's upstream calls counted before execution (the `cost` extension reports
    /// those made since).
    pub calls_before: u32,
}

/// What kind of answer it is, which decides its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnswerClass {
    /// Execution ran: `data`, perhaps with field errors.
    Data,
    /// A request error (parse, validation, variable coercion, unknown operation): no `data`.
    RequestError,
}

/// An executed request's answer.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The answer as JSON.
    pub body: Bytes,
    /// Whether execution ran.
    pub class: AnswerClass,
    /// The answer holds an error.
    pub failed: bool,
    /// The answer quotes the request id (an internal error), so it is never shared or kept.
    pub quotes_id: bool,
    /// An error in it is the upstream's (`UPSTREAM_*`): a live answer sends nothing new then.
    pub upstream_fault: bool,
    /// Where its data came from: the snapshot and its staleness.
    pub provenance: Provenance,
    /// The operation's name, for metrics.
    pub operation: Option<String>,
    /// Which executor wrote it.
    pub executor: Executor,
}

/// The two executors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Executor {
    /// The gateway's own, for the data fields of a validated document (`graphql/fast/`).
    Fast,
    /// async-graphql's: introspection, first sightings, and what the fast one leaves.
    Reference,
}

impl Executor {
    /// The name metrics give it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Reference => "reference",
        }
    }
}

/// The upstream requests this request has made since `before` (its count when execution
/// began).
fn made(before: u32) -> u32 {
    crate::calls::so_far().unwrap_or(0).saturating_sub(before)
}

/// Why no answer came out.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecuteError {
    /// Execution ran past its deadline and the grace after it.
    #[error("the request did not complete in time")]
    TimedOut,
    /// The answer could not be written as JSON (a bug; the log says more).
    #[error("the answer could not be serialised")]
    Unserialisable,
}

/// A GraphQL answer without `data`, for requests that never started executing.
#[derive(Serialize)]
pub(super) struct RequestErrors<'a> {
    pub(super) errors: &'a [async_graphql::ServerError],
}

/// Executes `prepared` for `access` against `schema`, reading through `store`: with the fast
/// executor when it covers the request, otherwise with async-graphql's.
pub(crate) async fn execute(
    schema: &GatewaySchema,
    store: &Arc<CustomerStore>,
    prepared: Prepared,
    access: CustomerAccess,
    options: ExecuteOptions<'_>,
) -> Result<Answer, ExecuteError> {
    let scope = RequestScope {
        deadline: Instant::now() + options.timeout,
        reads: Arc::default(),
    };
    let limit = options.timeout + EXECUTION_GRACE;
    let validated = prepared
        .document
        .as_ref()
        .filter(|document| options.fast && document.is_valid());
    if let Some(document) = validated {
        let fast = fast::run(
            &document.parsed,
            &document.kept,
            prepared.request.operation_name.as_deref(),
            &prepared.request.variables,
            &access,
            store,
            &scope,
        );
        let written = tokio::time::timeout(limit, fast)
            .await
            .map_err(|_| ExecuteError::TimedOut)?;
        if let Ok(written) = written {
            let document = Arc::clone(document);
            let answer = fast_answer(written, prepared, &scope, options);
            document.kept.answered(answer.body.len());
            return Ok(answer);
        }
    }
    // Boxed: async-graphql's execution is most of this future's size, and the fast path
    // should not carry (and move) it.
    Box::pin(reference(schema, store, prepared, access, scope, options)).await
}

/// The answer of the fast executor, written around its data.
fn fast_answer(
    written: fast::Written,
    prepared: Prepared,
    scope: &RequestScope,
    options: ExecuteOptions<'_>,
) -> Answer {
    let fast::Written {
        opened: mut body,
        mut errors,
    } = written;
    let mut quotes_id = false;
    for error in &mut errors {
        quotes_id |= classify(error, false, false, options.request_id);
    }
    let upstream_fault = upstream_fault(&errors);
    let provenance = scope.reads.provenance();
    let extensions = extensions(provenance, prepared.cost, made(options.calls_before));
    // Serialising these async-graphql types cannot fail: no map has a non-text key.
    if !extensions.is_empty() {
        body.extend_from_slice(b",\"extensions\":");
        let _ = serde_json::to_writer(&mut body, &extensions);
    }
    if !errors.is_empty() {
        body.extend_from_slice(b",\"errors\":");
        let _ = serde_json::to_writer(&mut body, &errors);
    }
    body.push(b'}');
    if body.len() >= crate::memory::LARGE_ANSWER_BYTES {
        crate::memory::release_freed();
    }
    Answer {
        body: Bytes::from(body),
        class: AnswerClass::Data,
        failed: !errors.is_empty(),
        quotes_id,
        upstream_fault,
        provenance,
        operation: prepared.operation,
        executor: Executor::Fast,
    }
}

/// Executes `prepared` with async-graphql's executor, and brings its answer to the
/// specification ([`complete`]).
async fn reference(
    schema: &GatewaySchema,
    store: &Arc<CustomerStore>,
    prepared: Prepared,
    access: CustomerAccess,
    scope: RequestScope,
    options: ExecuteOptions<'_>,
) -> Result<Answer, ExecuteError> {
    let Prepared {
        request,
        document,
        unparsed,
        operation,
        cost,
        ..
    } = prepared;
    let coercion = document
        .as_ref()
        .and_then(|document| chosen_operation(&document.parsed, request.operation_name.as_deref()))
        .map(|(_, chosen)| variables::errors(&chosen.node, &request.variables))
        .unwrap_or_default();
    let (mut response, request_error) = match &document {
        // Validated before, and the variables do not fit: nothing to execute.
        Some(document) if document.is_valid() && !coercion.is_empty() => {
            (async_graphql::Response::from_errors(coercion), true)
        }
        _ => {
            let (response, request_error) = run_reference(
                schema,
                store,
                request,
                document.as_deref(),
                access,
                &scope,
                options,
            )
            .await?;
            // Validation comes first: only a valid document's variables are reported.
            match request_error || coercion.is_empty() {
                true => (response, request_error),
                false => (async_graphql::Response::from_errors(coercion), true),
            }
        }
    };
    let mut quotes_id = false;
    for error in &mut response.errors {
        quotes_id |= classify(error, request_error, unparsed, options.request_id);
    }
    let provenance = scope.reads.provenance();
    response.extensions = extensions(provenance, cost, made(options.calls_before));
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
    let upstream_fault = upstream_fault(&response.errors);
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
        upstream_fault,
        provenance,
        operation,
        executor: Executor::Reference,
    })
}

/// Runs `request` through async-graphql, brings a data answer to the specification
/// ([`complete`]) and notes that its document passed validation; says whether the answer is
/// a request error.
async fn run_reference(
    schema: &GatewaySchema,
    store: &Arc<CustomerStore>,
    mut request: async_graphql::Request,
    document: Option<&Document>,
    access: CustomerAccess,
    scope: &RequestScope,
    options: ExecuteOptions<'_>,
) -> Result<(async_graphql::Response, bool), ExecuteError> {
    if let Some(document) = document {
        with_default_variables(&mut request, &document.parsed);
        request.set_parsed_query(document.parsed.clone());
    }
    // Kept to place the nulls of a partial answer (see `complete`).
    let operation_name = request.operation_name.clone();
    let variables = request.variables.clone();
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
    if request_error {
        // Some of async-graphql's rules report in hash order: give them the document's.
        response
            .errors
            .sort_by(|a, b| (&a.locations, &a.message).cmp(&(&b.locations, &b.message)));
    } else if let Some(document) = document {
        document.validated();
        complete(
            &mut response.data,
            &mut response.errors,
            &document.parsed,
            operation_name.as_deref(),
            &variables,
        );
    }
    Ok((response, request_error))
}

/// Gives every variable the request leaves out its default: async-graphql applies defaults
/// when a field reads an argument, but not to `@skip` and `@include`.
fn with_default_variables(request: &mut async_graphql::Request, document: &ExecutableDocument) {
    let Some((_, operation)) = chosen_operation(document, request.operation_name.as_deref()) else {
        return;
    };
    for definition in &operation.node.variable_definitions {
        let definition = &definition.node;
        if let Some(default) = &definition.default_value
            && !request.variables.contains_key(&definition.name.node)
        {
            request
                .variables
                .insert(definition.name.node.clone(), default.node.clone());
        }
    }
}

/// The answer's extensions: the estimated cost when asked for, and how stale its data are.
fn extensions(
    provenance: Provenance,
    cost: Option<CostReport>,
    made: u32,
) -> BTreeMap<String, async_graphql::Value> {
    let mut extensions = BTreeMap::new();
    if let Some(cost) = cost {
        extensions.insert(
            "cost".into(),
            async_graphql::Value::from_json(json!({
                "estimated": cost.estimated,
                "limit": cost.limit,
                "upstreamRequests": {
                    "estimated": cost.upstream_estimated,
                    "made": made,
                    "limit": cost.upstream_limit,
                },
            }))
            .unwrap_or_default(),
        );
    }
    if let Some(stale) = provenance.stale() {
        extensions.insert(
            "stale".into(),
            async_graphql::Value::from_json(json!({
                "ageSeconds": stale.age.as_secs(),
                "reason": stale.reason(),
                "upstreamCode": stale.upstream_error,
            }))
            .unwrap_or_default(),
        );
    }
    extensions
}
