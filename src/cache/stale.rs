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

/// The oldest stale data one request's answer was built from; shared between the resolvers
/// that note it and the HTTP layer that reports it as the `stale` response extension.
#[derive(Debug, Default)]
pub struct StaleNotes(Mutex<Option<Staleness>>);

impl StaleNotes {
    /// Notes that part of the answer came from stale data.
    pub fn note(&self, staleness: Option<Staleness>) {
        if let Some(staleness) = staleness {
            let mut oldest = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
            *oldest = Some(staleness.older(*oldest));
        }
    }

    /// The oldest stale data used, if any.
    pub fn oldest(&self) -> Option<Staleness> {
        *self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}
