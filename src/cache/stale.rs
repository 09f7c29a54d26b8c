//! How old a cached answer is, and telling the caller so.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// A cached value, when it was fetched, and whether refreshing it has failed since.
#[derive(Debug, Clone)]
pub(super) struct Stamped<V> {
    pub(super) value: V,
    fetched_at: Instant,
    /// The code of the last failed refresh, shared by every copy of this entry.
    refresh_failure: Arc<Mutex<Option<&'static str>>>,
}

impl<V> Stamped<V> {
    /// A value fetched just now.
    pub(super) fn new(value: V) -> Self {
        Self {
            value,
            fetched_at: Instant::now(),
            refresh_failure: Arc::default(),
        }
    }

    /// `None` while fresh (younger than `ttl`), otherwise how stale the value is.
    pub(super) fn staleness(&self, ttl: Duration) -> Option<Staleness> {
        let age = self.fetched_at.elapsed();
        (age >= ttl).then(|| Staleness {
            age,
            upstream_error: *self
                .refresh_failure
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        })
    }

    /// Records that a refresh of this value failed with `code`.
    pub(super) fn mark_failed(&self, code: &'static str) {
        *self
            .refresh_failure
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(code);
    }
}

/// Data served past its TTL: how old it is, and why it was not refreshed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Staleness {
    /// Time since the upstream gave the data.
    pub age: Duration,
    /// The code of the last failed refresh; `None` while a refresh is simply under way.
    pub upstream_error: Option<&'static str>,
}

impl Staleness {
    /// A stable word for metrics and the response extension.
    pub fn reason(&self) -> &'static str {
        if self.upstream_error.is_some() {
            "upstream_error"
        } else {
            "revalidating"
        }
    }

    /// The older of this and `other`.
    pub fn older(self, other: Option<Self>) -> Self {
        match other {
            Some(other) if other.age > self.age => other,
            _ => self,
        }
    }
}

/// What one request's answer was built from, shared between the resolvers that read data and
/// the HTTP layer: the oldest stale data (reported as the `stale` response extension), and
/// whether every read came from one snapshot (so the answer may be reused while it is current).
#[derive(Debug, Default)]
pub struct ReadNotes(Mutex<Reads>);

#[derive(Debug, Default)]
struct Reads {
    oldest: Option<Staleness>,
    /// The snapshot generation read, while all reads came from that one snapshot.
    generation: Option<u64>,
    /// A read came from elsewhere (the per-id cache) or from a second snapshot.
    mixed: bool,
}

impl ReadNotes {
    fn reads(&self) -> std::sync::MutexGuard<'_, Reads> {
        self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Notes one read: how stale it was, and the snapshot generation it came from (`None`:
    /// not from a snapshot).
    pub fn note<T>(&self, served: &super::Served<T>) {
        let mut reads = self.reads();
        if let Some(staleness) = served.stale {
            reads.oldest = Some(staleness.older(reads.oldest));
        }
        match (served.generation, reads.generation) {
            (None, _) => reads.mixed = true,
            (Some(now), Some(before)) if now != before => reads.mixed = true,
            (Some(now), _) => reads.generation = Some(now),
        }
    }

    /// The oldest stale data used, if any.
    pub fn oldest(&self) -> Option<Staleness> {
        self.reads().oldest
    }

    /// Whether the answer was built from fresh data of snapshot `generation` alone (or read no
    /// data at all).
    pub fn only_fresh(&self, generation: u64) -> bool {
        let reads = self.reads();
        reads.oldest.is_none() && !reads.mixed && reads.generation.is_none_or(|g| g == generation)
    }
}
