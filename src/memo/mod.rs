//! The memo stage, between http/ and graphql/: whole answers kept for reuse, and one execution
//! for identical requests in flight.
//!
//! An answer built from fresh data of one snapshot alone, with no error, is a function of
//! that snapshot and the request's text (the caller being unrestricted), so the next identical
//! text gets the same bytes without JSON parsing, GraphQL parsing, validation or execution.
//! The key holds the snapshot generation: when the snapshot is refreshed, or goes stale, old
//! answers are never served again (and age out). Whether an answer may be kept is read from its
//! [`Provenance`](crate::cache::Provenance). Answers over 1 MiB are never kept. The transport
//! decides which requests come here at all (http/: unrestricted callers' POST bodies), and
//! still authenticates and rate-limits every one.
//!
//! In flight: while a request's text is being executed, the same text joins that execution
//! instead of running its own (a cold stampede of 200 identical queries executes once when the
//! data arrives, and a failing upstream is asked once for them all). The execution is a
//! [`crate::flight`]: it runs in its own task, so the first caller hanging up cancels it for
//! nobody. Its answer is shared unless it quotes its request's id (an internal error); then
//! each of the others executes on its own. When the execution ran out of time, so have the
//! others.

mod coded;

use std::sync::Arc;

use axum::body::Bytes;
use moka::sync::Cache;

use coded::Codings;
pub(crate) use coded::{Coding, QUALITY};

use crate::{
    flight::Flights,
    graphql::{Answer, ExecuteError},
};

/// Largest answer kept: a few huge answers (every product, say) would otherwise take the
/// room of thousands of ordinary ones, and keep that memory for the snapshot's lifetime.
const MAX_KEPT_ANSWER: usize = 1024 * 1024;

/// Which answer: the snapshot it was built from, and the request's text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    generation: u64,
    text: Bytes,
}

/// An answer as the memo holds it: the answer, and its body in the codings asked for so far.
#[derive(Debug)]
pub(crate) struct Kept {
    /// The executed answer.
    pub(crate) answer: Answer,
    codings: Codings,
}

impl Kept {
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

/// Answers by key, bounded by their total size, and the executions in flight.
#[derive(Debug)]
pub struct Memo {
    kept: Cache<Key, Arc<Kept>>,
    running: Flights<Bytes, Outcome>,
}

impl Memo {
    /// A memo holding answers of up to `max_bytes` in all; `None` when 0 (no reuse, no
    /// sharing).
    pub fn new(max_bytes: u64) -> Option<Self> {
        (max_bytes > 0).then(|| Self {
            kept: Cache::builder()
                .max_capacity(max_bytes)
                // Twice the body: room for its compressed forms, made after it is kept.
                .weigher(|key: &Key, kept: &Arc<Kept>| {
                    u32::try_from(key.text.len() + 2 * kept.answer.body.len() + 64)
                        .unwrap_or(u32::MAX)
                })
                .build(),
            running: Flights::default(),
        })
    }

    /// The answer kept for `text` on snapshot `generation`.
    pub(crate) fn reused(&self, generation: u64, text: &Bytes) -> Option<Arc<Kept>> {
        self.kept.get(&Key {
            generation,
            text: text.clone(),
        })
    }

    /// Runs the execution `start` makes for `text`, or joins the identical one in flight (then
    /// `start` is not called); says which (`true`: joined). The answer is kept when it has no
    /// error and its data are fresh data of snapshot `generation` alone. `None`: the execution
    /// panicked.
    pub(crate) async fn run_or_join<F>(
        &self,
        text: Bytes,
        generation: Option<u64>,
        start: impl FnOnce() -> F,
    ) -> (Option<Outcome>, bool)
    where
        F: Future<Output = Result<Answer, ExecuteError>> + Send + 'static,
    {
        let kept = self.kept.clone();
        let key = text.clone();
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
                    keep(&kept, Key { generation, text }, answer);
                }
                outcome
            }
        });
        (flight.await, joined)
    }
}

/// Keeps `kept` under `key` when it may be reused: no error, fresh data of that snapshot
/// alone, and no larger than [`MAX_KEPT_ANSWER`].
fn keep(cache: &Cache<Key, Arc<Kept>>, key: Key, kept: &Arc<Kept>) {
    let answer = &kept.answer;
    if !answer.failed
        && answer.provenance.fresh_from(key.generation)
        && answer.body.len() <= MAX_KEPT_ANSWER
    {
        cache.insert(key, Arc::clone(kept));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{
        cache::{Provenance, Staleness},
        graphql::AnswerClass,
    };

    fn answer(body: &str, failed: bool, provenance: Provenance) -> Answer {
        Answer {
            body: Bytes::from(body.to_owned()),
            class: AnswerClass::Data,
            failed,
            quotes_id: false,
            provenance,
            operation: None,
        }
    }

    async fn run(memo: &Memo, text: &'static str, generation: u64, answer: Answer) -> bool {
        let (outcome, joined) = memo
            .run_or_join(
                Bytes::from_static(text.as_bytes()),
                Some(generation),
                || async move { Ok(answer) },
            )
            .await;
        assert!(!joined);
        assert!(matches!(
            outcome,
            Some(Outcome::Answered { shared: true, .. })
        ));
        memo.reused(generation, &Bytes::from_static(text.as_bytes()))
            .is_some()
    }

    #[tokio::test]
    async fn only_error_free_answers_of_one_fresh_snapshot_are_kept() {
        let memo = Memo::new(1 << 24).unwrap();
        let fresh = Provenance::snapshot(7, None);
        assert!(run(&memo, "a", 7, answer("{}", false, fresh)).await);
        assert!(
            !run(&memo, "b", 7, answer("{}", true, fresh)).await,
            "an error"
        );
        let stale = Provenance::snapshot(
            7,
            Some(Staleness {
                age: Duration::from_secs(90),
                upstream_error: None,
            }),
        );
        assert!(
            !run(&memo, "c", 7, answer("{}", false, stale)).await,
            "stale data"
        );
        let other = Provenance::snapshot(6, None);
        assert!(
            !run(&memo, "d", 7, answer("{}", false, other)).await,
            "another snapshot"
        );
        let huge = "x".repeat(MAX_KEPT_ANSWER + 1);
        let huge: &'static str = Box::leak(huge.into_boxed_str());
        assert!(
            !run(&memo, "e", 7, answer(huge, false, fresh)).await,
            "over 1 MiB"
        );
        assert!(
            memo.reused(8, &Bytes::from_static(b"a")).is_none(),
            "a newer snapshot"
        );
    }

    #[tokio::test]
    async fn an_answer_that_quotes_its_request_id_is_not_shared() {
        let memo = Memo::new(1 << 24).unwrap();
        let mut quoting = answer("{}", true, Provenance::default());
        quoting.quotes_id = true;
        let (outcome, _) = memo
            .run_or_join(
                Bytes::from_static(b"q"),
                Some(1),
                || async move { Ok(quoting) },
            )
            .await;
        assert!(matches!(
            outcome,
            Some(Outcome::Answered { shared: false, .. })
        ));
        let (outcome, _) = memo
            .run_or_join(Bytes::from_static(b"t"), Some(1), || async {
                Err(ExecuteError::TimedOut)
            })
            .await;
        assert!(matches!(outcome, Some(Outcome::TimedOut)));
    }
}
