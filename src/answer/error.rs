//! Why the answer stage gave no GraphQL answer: one enum, which http/ maps to its status
//! codes and bodies in one place (`http/error.rs`).

use std::time::Duration;

use crate::{graphql::Refusal, persisted::PersistedError};

/// A request the answer stage refused, or could not answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AnswerError {
    /// The body or its parameters are not a GraphQL-over-HTTP request.
    #[error("{0}")]
    BadRequest(String),
    /// The query text is longer than the limit.
    #[error("the query text is longer than the limit of {0} bytes (GATEWAY_LIMITS_QUERY_BYTES)")]
    QueryTooLarge(usize),
    /// A mutation asked for over a safe method (GET or QUERY).
    #[error("mutations are not allowed over a safe method (GET, QUERY): use POST")]
    MutationNotSafe,
    /// A subscription asked for without a stream.
    #[error(
        "subscriptions are answered over a stream: a WebSocket at /graphql (graphql-transport-ws), or a POST with `Accept: text/event-stream` (graphql-sse)"
    )]
    SubscriptionNeedsStream,
    /// A batched POST holds more operations than allowed.
    #[error(
        "the batch holds {given} operations, over the limit of {limit} (GATEWAY_LIMITS_BATCH): send fewer in one POST"
    )]
    BatchTooLarge {
        /// The operations sent.
        given: usize,
        /// `GATEWAY_LIMITS_BATCH`.
        limit: usize,
    },
    /// An operation of a batch was over the caller's rate limit; it waits this long.
    #[error("too many requests from this caller (GATEWAY_LIMITS_RATE_PER_MINUTE)")]
    RateLimited(Duration),
    /// The caller holds the most subscriptions allowed.
    #[error(
        "this caller already holds {0} open subscriptions (GATEWAY_LIMITS_SUBSCRIPTIONS_PER_CALLER): close one first"
    )]
    TooManySubscriptions(usize),
    /// A persisted document that could not be used.
    #[error(transparent)]
    Persisted(#[from] PersistedError),
    /// The document breaks a limit or has a bad argument (a GraphQL request error).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Execution did not finish within the request's time limit.
    #[error(
        "the request did not complete within its time limit of {}ms (GATEWAY_LIMITS_REQUEST_TIMEOUT_MS)", .0.as_millis()
    )]
    Timeout(Duration),
    /// The execution gave no answer that serialises; the detail is in the log.
    #[error("internal error")]
    Internal,
}
