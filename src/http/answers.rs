//! Reusing whole answers: the serialized response to a POST body, kept while the snapshot it
//! was built from is current.
//!
//! An answer built from fresh data of one snapshot alone, with no error, is a function of
//! that snapshot and the request body (the caller being unrestricted), so the next identical
//! body gets the same bytes without JSON parsing, GraphQL parsing, validation or execution.
//! The key holds the snapshot generation: when the snapshot is refreshed, or goes stale, old
//! answers are never served again (and age out). Callers restricted to some customers, GET
//! requests, answers with errors, answers over 1 MiB and answers that read stale data or the
//! per-id cache are never reused. Authentication and the rate limit still run for every request.

use std::sync::Arc;

use axum::body::Bytes;
use moka::sync::Cache;

use super::media::ResponseMedia;

/// Largest answer kept: a few huge answers (every product, say) would otherwise take the
/// room of thousands of ordinary ones, and keep that memory for the snapshot's lifetime.
const MAX_KEPT_ANSWER: usize = 1024 * 1024;

/// Which answer: the snapshot it was built from, the media type asked for, the raw body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct AnswerKey {
    generation: u64,
    media: ResponseMedia,
    body: Bytes,
}

impl AnswerKey {
    pub(super) fn new(generation: u64, media: ResponseMedia, body: Bytes) -> Self {
        Self {
            generation,
            media,
            body,
        }
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation
    }
}

/// A reusable answer: its bytes (always a 200: only answers without errors are kept), and
/// the operation name for metrics.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) body: Bytes,
    pub(super) operation: Option<String>,
}

/// Answers by key, bounded by their total size.
#[derive(Debug)]
pub struct AnswerCache(Cache<AnswerKey, Arc<Answer>>);

impl AnswerCache {
    /// A cache holding answers of up to `max_bytes` in all; `None` when 0 (no reuse).
    pub fn new(max_bytes: u64) -> Option<Self> {
        (max_bytes > 0).then(|| {
            Self(
                Cache::builder()
                    .max_capacity(max_bytes)
                    .weigher(|key: &AnswerKey, answer: &Arc<Answer>| {
                        u32::try_from(key.body.len() + answer.body.len() + 64).unwrap_or(u32::MAX)
                    })
                    .build(),
            )
        })
    }

    pub(super) fn get(&self, key: &AnswerKey) -> Option<Arc<Answer>> {
        self.0.get(key)
    }

    /// Keeps `answer` for reuse, unless it is larger than [`MAX_KEPT_ANSWER`].
    pub(super) fn insert(&self, key: AnswerKey, answer: Answer) {
        if answer.body.len() <= MAX_KEPT_ANSWER {
            self.0.insert(key, Arc::new(answer));
        }
    }
}
