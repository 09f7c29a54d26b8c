//! The memo, in the answer stage: whole answers kept for reuse, and one execution
//! for identical requests in flight.
//!
//! An answer built from fresh data of one snapshot alone, with no error, is a function of
//! that snapshot, the request (its query, operation name, variables and extensions, in a
//! canonical form: whitespace and key order in the body do not matter) and the caller's
//! customer scope, so the next such request gets the same bytes without GraphQL parsing,
//! validation or execution. Callers with the same scope share answers; callers with different
//! scopes never do. The key holds the snapshot generation: when the snapshot is refreshed, or
//! goes stale, old answers are never served again (and age out). Whether an answer may be kept
//! is read from its [`Provenance`](crate::cache::Provenance). Answers over 1 MiB are never
//! kept. The answer stage decides which requests come here at all (POST bodies), and http/ still
//! authenticates and rate-limits every one.
//!
//! In flight: while a request is being executed, the same request from the same scope joins
//! that execution
//! instead of running its own (a cold stampede of 200 identical queries executes once when the
//! data arrives, and a failing upstream is asked once for them all). The execution is a
//! [`crate::flight`]: it runs in its own task, so the first caller hanging up cancels it for
//! nobody. Its answer is shared unless it quotes its request's id (an internal error); then
//! each of the others executes on its own. When the execution ran out of time, so have the
//! others.

mod coded;

use std::{sync::Arc, time::Instant};

use axum::body::Bytes;
use moka::sync::Cache;

use coded::Codings;
pub(crate) use coded::{Coding, QUALITY};

use crate::{
    auth::CustomerAccess,
    flight::Flights,
    graphql::{Answer, ExecuteError, GraphqlRequest},
};

/// Largest answer kept: a few huge answers (every product, say) would otherwise take the
/// room of thousands of ordinary ones, and keep that memory for the snapshot's lifetime.
const MAX_KEPT_ANSWER: usize = 1024 * 1024;

/// Which request, for reuse and for joining: the caller's scope and the request in canonical
/// form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RequestKey {
    scope: CustomerAccess,
    text: Arc<str>,
    /// The request asks for the `cost` extension, which reports its own execution's upstream
    /// requests: its answer is never kept.
    reports_cost: bool,
}

impl RequestKey {
    /// The key of `request` from a caller with `access`. The variables' keys come out sorted
    /// (serde_json's map is ordered), so the text is the same for the same request however
    /// its body was written.
    pub(crate) fn new(access: &CustomerAccess, request: &GraphqlRequest) -> Self {
        let scope = access.clone();
        let canonical = (
            &request.query,
            &request.operation_name,
            &request.variables,
            request.report_cost,
        );
        let text = serde_json::to_string(&canonical).unwrap_or_default();
        Self {
            scope,
            text: text.into(),
            reports_cost: request.report_cost,
        }
    }

    /// The entity tag of this request's answer built from snapshot `generation` alone: the
    /// same answer bytes for the same tag (on every replica, since the generation comes from
    /// the shared data there). Made of digests only, never a token.
    pub(crate) fn etag(&self, generation: u64) -> String {
        use aws_lc_rs::digest::{Context, SHA256};
        let mut context = Context::new(&SHA256);
        context.update(&generation.to_be_bytes());
        match &self.scope {
            CustomerAccess::All => context.update(b"all"),
            CustomerAccess::Only(ids) => {
                let mut sorted: Vec<&str> = ids.iter().collect();
                sorted.sort_unstable();
                for id in sorted {
                    context.update(id.as_bytes());
                    context.update(b"\0");
                }
            }
        }
        context.update(self.text.as_bytes());
        let digest = context.finish();
        format!("\"{}\"", crate::hex::hex(&digest.as_ref()[..16]))
    }
}

/// Which answer: the snapshot it was built from, and the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    generation: u64,
    request: RequestKey,
}

/// An answer as the memo holds it: the answer, and its body in the codings asked for so far.
#[derive(Debug)]
pub(crate) struct Kept {
    /// The executed answer.
    pub(crate) answer: Answer,
    codings: Codings,
}

impl Kept {
    /// Whether the answer may still be reused at `now` (by the store's clock): its snapshot is
    /// checked by the key; the keyed reads it made, if any, must still be fresh.
    fn current(&self, now: Instant) -> bool {
        self.answer
            .provenance
            .until()
            .is_none_or(|until| now < until)
    }

    /// The body in `coding`, made the first time it is asked for and kept from then on;
    /// `None` should the encoder fail.
    pub(crate) fn coded(&self, coding: Coding) -> Option<Bytes> {
        self.codings.get(coding, &self.answer.body)
    }
}

/// What one execution gives its request and every identical one that joined it.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// An answer. When `shared` is false (it quotes its request's id) only its own request
    /// sends it; the others execute on their own.
    Answered { kept: Arc<Kept>, shared: bool },
    /// It ran out of time: so have the others.
    TimedOut,
    /// It gave no answer that serialises (its request gets a masked 500; the others execute
    /// on their own).
    Failed,
}

impl From<Result<Answer, ExecuteError>> for Outcome {
    fn from(executed: Result<Answer, ExecuteError>) -> Self {
        match executed {
            Ok(answer) => Self::Answered {
                shared: !answer.quotes_id,
                kept: Arc::new(Kept {
                    answer,
                    codings: Codings::default(),
                }),
            },
            Err(ExecuteError::TimedOut) => Self::TimedOut,
            Err(ExecuteError::Unserialisable) => Self::Failed,
        }
    }
}

/// A kept answer by the exact body that asked for it, so a repeated body finds its answer
/// without being parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BodyKey {
    generation: u64,
    scope: CustomerAccess,
    body: Bytes,
}

/// Answers by key and by body, each bounded by their total size, and the executions in
/// flight.
#[derive(Debug)]
pub(crate) struct Memo {
    kept: Cache<Key, Arc<Kept>>,
    by_body: Cache<BodyKey, Arc<Kept>>,
    running: Flights<RequestKey, Outcome>,
}

impl Memo {
    /// A memo holding answers of up to `max_bytes` in all; `None` when 0 (no reuse, no
    /// sharing).
    pub(crate) fn new(max_bytes: u64) -> Option<Self> {
        let half = max_bytes / 2;
        (max_bytes > 0).then(|| Self {
            kept: Cache::builder()
                .max_capacity(half)
                .weigher(|key: &Key, kept: &Arc<Kept>| weight(key.request.text.len(), kept))
                .build(),
            by_body: Cache::builder()
                .max_capacity(half)
                .weigher(|key: &BodyKey, kept: &Arc<Kept>| weight(key.body.len(), kept))
                .build(),
            running: Flights::default(),
        })
    }

    /// The answer kept on snapshot `generation` for this very `body` from a caller with
    /// `access`.
    pub(crate) fn reused_body(
        &self,
        generation: u64,
        access: &CustomerAccess,
        body: &Bytes,
        now: Instant,
    ) -> Option<Arc<Kept>> {
        let kept = self.by_body.get(&BodyKey {
            generation,
            scope: access.clone(),
            body: body.clone(),
        })?;
        kept.current(now).then_some(kept)
    }

    /// Finds `kept` by `body` too from now on (`request`'s scope is the caller's).
    pub(crate) fn alias(
        &self,
        generation: u64,
        request: &RequestKey,
        body: Bytes,
        kept: &Arc<Kept>,
    ) {
        let key = BodyKey {
            generation,
            scope: request.scope.clone(),
            body,
        };
        self.by_body.insert(key, Arc::clone(kept));
    }

    /// The answer kept for `request` on snapshot `generation`.
    pub(crate) fn reused(
        &self,
        generation: u64,
        request: &RequestKey,
        now: Instant,
    ) -> Option<Arc<Kept>> {
        let kept = self.kept.get(&Key {
            generation,
            request: request.clone(),
        })?;
        kept.current(now).then_some(kept)
    }

    /// Runs the execution `start` makes for `request`, or joins the identical one in flight (then
    /// `start` is not called); says which (`true`: joined). The answer is kept when it has no
    /// error and its data are fresh data of snapshot `generation` alone. `None`: the execution
    /// panicked.
    pub(crate) async fn run_or_join<F>(
        &self,
        request: RequestKey,
        body: Bytes,
        generation: Option<u64>,
        start: impl FnOnce() -> F,
    ) -> (Option<Outcome>, bool)
    where
        F: Future<Output = Result<Answer, ExecuteError>> + Send + 'static,
    {
        let (kept, by_body) = (self.kept.clone(), self.by_body.clone());
        let key = request.clone();
        let (flight, joined) = self.running.join_or_start_one(key, move || {
            let execution = start();
            async move {
                let outcome = Outcome::from(execution.await);
                if let (
                    Outcome::Answered {
                        kept: answer,
                        shared: true,
                    },
                    Some(generation),
                ) = (&outcome, generation)
                {
                    let by = BodyKey {
                        generation,
                        scope: request.scope.clone(),
                        body,
                    };
                    if keep(
                        &kept,
                        Key {
                            generation,
                            request,
                        },
                        answer,
                    ) {
                        by_body.insert(by, Arc::clone(answer));
                    }
                }
                outcome
            }
        });
        (flight.await, joined)
    }
}

/// Keeps `kept` under `key` when it may be reused: no error, no cost report, fresh data of
/// that snapshot (and keyed reads while fresh), and no larger than [`MAX_KEPT_ANSWER`]. Says
/// whether it did.
fn keep(cache: &Cache<Key, Arc<Kept>>, key: Key, kept: &Arc<Kept>) -> bool {
    let answer = &kept.answer;
    let reusable = !answer.failed
        && !key.request.reports_cost
        && answer.provenance.fresh_from(key.generation)
        && answer.body.len() <= MAX_KEPT_ANSWER;
    if reusable {
        cache.insert(key, Arc::clone(kept));
    }
    reusable
}

/// What one entry weighs: its key's text, and twice the body (room for its compressed
/// forms, made after it is kept).
fn weight(key_bytes: usize, kept: &Kept) -> u32 {
    u32::try_from(key_bytes + 2 * kept.answer.body.len() + 64).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
