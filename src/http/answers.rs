//! Reusing whole answers: the serialized response to a POST body, kept while the snapshot it
//! was built from is current, and shared by identical requests that arrive while it is being
//! computed.
//!
//! An answer built from fresh data of one snapshot alone, with no error, is a function of
//! that snapshot and the request body (the caller being unrestricted), so the next identical
//! body gets the same bytes without JSON parsing, GraphQL parsing, validation or execution.
//! The key holds the snapshot generation: when the snapshot is refreshed, or goes stale, old
//! answers are never served again (and age out). Callers restricted to some customers, GET
//! requests, answers with errors, answers over 1 MiB and answers that read stale data or the
//! per-id cache are never reused. Authentication and the rate limit still run for every request.
//!
//! In flight: while an unrestricted caller's body is being executed, the same body from another
//! unrestricted caller joins that execution instead of running its own (a cold stampede of 200
//! identical queries executes once when the data arrives, and a failing upstream is asked once
//! for them all). The execution is a [`crate::flight`]: it runs in its own task, so the first
//! caller hanging up cancels it for nobody. Its answer is shared unless an error in it quotes
//! its request's id (an internal error); then each waiter executes on its own. When the
//! execution ran out of time, so have the others: each answers so.

use std::sync::Arc;

use axum::{body::Bytes, http::StatusCode};
use moka::sync::Cache;

use super::{compress::Encoded, media::ResponseMedia};
use crate::flight::Flights;

/// Largest answer kept: a few huge answers (every product, say) would otherwise take the
/// room of thousands of ordinary ones, and keep that memory for the snapshot's lifetime.
const MAX_KEPT_ANSWER: usize = 1024 * 1024;

/// Which request: the media type asked for and the raw body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct RequestKey {
    media: ResponseMedia,
    body: Bytes,
}

impl RequestKey {
    pub(super) fn new(media: ResponseMedia, body: Bytes) -> Self {
        Self { media, body }
    }
}

/// Which answer: the snapshot it was built from, and the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct AnswerKey {
    generation: u64,
    request: RequestKey,
}

impl AnswerKey {
    pub(super) fn new(generation: u64, request: RequestKey) -> Self {
        Self {
            generation,
            request,
        }
    }
}

/// What one execution gives its request and every identical one that joined it.
#[derive(Debug, Clone)]
pub(super) enum Outcome {
    /// An answer. When `shared` is false (an error in it quotes its request's id) only its own
    /// request sends it; the others execute on their own.
    Answered { answer: Arc<Answer>, shared: bool },
    /// It ran out of time: so have the others.
    TimedOut,
    /// It gave no answer that serialises (its request gets a masked 500; the others execute
    /// on their own).
    Failed,
}

/// An executed answer: its status and bytes, and for metrics the operation name and whether
/// it reports errors (only answers without errors are kept; answers with errors are shared).
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: Bytes,
    pub(super) operation: Option<String>,
    pub(super) failed: bool,
    /// The body compressed, in the codings callers asked for so far.
    pub(super) encoded: Encoded,
}

/// Answers by key, bounded by their total size, and the requests being executed.
#[derive(Debug)]
pub struct AnswerCache {
    kept: Cache<AnswerKey, Arc<Answer>>,
    /// Executions in flight, by request.
    pub(super) running: Flights<RequestKey, Outcome>,
}

impl AnswerCache {
    /// A cache holding answers of up to `max_bytes` in all; `None` when 0 (no reuse).
    pub fn new(max_bytes: u64) -> Option<Self> {
        (max_bytes > 0).then(|| Self {
            kept: Cache::builder()
                .max_capacity(max_bytes)
                // Twice the body: room for its compressed forms, made after it is kept.
                .weigher(|key: &AnswerKey, answer: &Arc<Answer>| {
                    u32::try_from(key.request.body.len() + 2 * answer.body.len() + 64)
                        .unwrap_or(u32::MAX)
                })
                .build(),
            running: Flights::default(),
        })
    }

    pub(super) fn get(&self, key: &AnswerKey) -> Option<Arc<Answer>> {
        self.kept.get(key)
    }

    /// Keeps `answer` for reuse, unless it is larger than [`MAX_KEPT_ANSWER`].
    pub(super) fn insert(&self, key: AnswerKey, answer: Arc<Answer>) {
        if answer.body.len() <= MAX_KEPT_ANSWER {
            self.kept.insert(key, answer);
        }
    }
}
