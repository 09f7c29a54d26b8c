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
//! unrestricted caller waits for that execution instead of running its own (a cold stampede of
//! 200 identical queries executes once when the data arrives, and a failing upstream is asked
//! once for them all). The answer is shared unless an error in it quotes its request's id (an
//! internal error); then, or when the first request is cancelled, each waiter executes on its
//! own. When the first request ran out of time, so have the others: each answers so.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{body::Bytes, http::StatusCode};
use moka::sync::Cache;
use tokio::sync::watch;

use super::{compress::Encoded, media::ResponseMedia};

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

/// What the first of identical requests in flight gives the others.
#[derive(Debug, Clone)]
pub(super) enum Shared {
    /// Its answer, to send as it is.
    Answer(Arc<Answer>),
    /// It ran out of time: so have the others.
    TimedOut,
    /// Nothing to share: each executes on its own.
    Alone,
}

/// `None` while the first request runs.
type Outcome = Option<Shared>;

/// Whether a request runs, or waits for an identical one already running.
pub(super) enum Turn<'a> {
    /// Execute, then [`Lead::finish`] with the answer.
    Lead(Lead<'a>),
    /// Wait for the one running: [`Follow::outcome`].
    Follow(Follow),
}

/// The request that executes for every identical one arriving meanwhile; dropped unfinished
/// (cancelled), it lets the waiters execute on their own.
pub(super) struct Lead<'a> {
    running: &'a Mutex<HashMap<RequestKey, watch::Receiver<Outcome>>>,
    key: RequestKey,
    done: watch::Sender<Outcome>,
}

impl Lead<'_> {
    /// Hands the outcome to the waiters.
    pub(super) fn finish(self, shared: Shared) {
        self.done.send_replace(Some(shared));
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .remove(&self.key);
    }
}

/// A request waiting for an identical one.
pub(super) struct Follow(watch::Receiver<Outcome>);

impl Follow {
    /// What the request waited for gives ([`Shared::Alone`] when it was cancelled).
    pub(super) async fn outcome(mut self) -> Shared {
        match self.0.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or(Shared::Alone),
            Err(_) => Shared::Alone,
        }
    }
}

/// A reusable answer: its status and bytes, and for metrics the operation name and whether it
/// reports errors (only answers without errors are kept; answers with errors are shared).
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
    running: Mutex<HashMap<RequestKey, watch::Receiver<Outcome>>>,
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
            running: Mutex::default(),
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

    /// Leads the execution of `request`, or follows the identical one already running.
    pub(super) fn join_or_lead(&self, request: RequestKey) -> Turn<'_> {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(done) = running.get(&request) {
            return Turn::Follow(Follow(done.clone()));
        }
        let (done, waiting) = watch::channel(None);
        running.insert(request.clone(), waiting);
        Turn::Lead(Lead {
            running: &self.running,
            key: request,
            done,
        })
    }
}
