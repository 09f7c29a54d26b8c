//! How old a cached answer is, and telling the caller so.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How long a failed refresh keeps anyone from asking the upstream again for the same data:
/// stale reads in that time serve the stale value without starting another refresh (and, with
/// Redis, the other replicas take the failure instead of asking), so a failing upstream is
/// asked about once a second per entry, however many callers read.
pub(super) const FAILED_FOR: Duration = Duration::from_secs(1);

/// A cached value, when it was fetched, and whether refreshing it has failed since.
#[derive(Debug, Clone)]
pub(super) struct Stamped<V> {
    pub(super) value: V,
    fetched_at: Instant,
    /// The code of the last failed refresh and when it failed, shared by every copy of this
    /// entry.
    refresh_failure: Arc<Mutex<Option<(&'static str, Instant)>>>,
}

impl<V> Stamped<V> {
    /// A value fetched at `now`.
    pub(super) fn new(value: V, now: Instant) -> Self {
        Self {
            value,
            fetched_at: now,
            refresh_failure: Arc::default(),
        }
    }

    /// A value that was already `age` old at `now` (data another replica fetched earlier).
    pub(super) fn aged(value: V, now: Instant, age: Duration) -> Self {
        Self::new(value, now.checked_sub(age).unwrap_or(now))
    }

    /// When the value stops being fresh, for a `ttl`.
    pub(super) fn fresh_until(&self, ttl: Duration) -> Instant {
        self.fetched_at + ttl
    }

    /// The value's age at `now`.
    pub(super) fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.fetched_at)
    }

    /// `None` while fresh at `now` (younger than `ttl`), otherwise how stale the value is.
    pub(super) fn staleness(&self, ttl: Duration, now: Instant) -> Option<Staleness> {
        let age = self.age(now);
        (age >= ttl).then(|| Staleness {
            age,
            upstream_error: self.failure().map(|(code, _)| code),
        })
    }

    /// Whether a stale read at `now` may start a refresh: no refresh has failed in the last
    /// [`FAILED_FOR`].
    pub(super) fn refresh_due(&self, now: Instant) -> bool {
        self.failure()
            .is_none_or(|(_, at)| now.saturating_duration_since(at) >= FAILED_FOR)
    }

    /// Records that a refresh of this value failed with `code` at `now`.
    pub(super) fn mark_failed(&self, code: &'static str, now: Instant) {
        *self
            .refresh_failure
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some((code, now));
    }

    fn failure(&self) -> Option<(&'static str, Instant)> {
        *self
            .refresh_failure
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Data served past its TTL: how old it is, and why it was not refreshed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Staleness {
    /// Time since the upstream gave the data.
    pub age: Duration,
    /// The code of the last failed refresh; `None` while a refresh is simply under way.
    pub upstream_error: Option<&'static str>,
}

impl Staleness {
    /// A stable word for metrics and the response extension.
    pub(crate) fn reason(&self) -> &'static str {
        if self.upstream_error.is_some() {
            "upstream_error"
        } else {
            "revalidating"
        }
    }

    /// The older of this and `other`.
    pub(crate) fn older(self, other: Option<Self>) -> Self {
        match other {
            Some(other) if other.age > self.age => other,
            _ => self,
        }
    }
}

/// Where data came from: the snapshot it was read from while every read came from that one,
/// and the oldest stale data among it. The cache gives each read one, a request's resolvers
/// merge theirs ([`ReadNotes`]), the `stale` response extension reports it, and whole-answer
/// reuse keeps only answers whose provenance is one fresh snapshot and, if any, keyed reads
/// while they are fresh.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Provenance {
    /// The snapshot generation read, while all reads came from that one snapshot.
    snapshot: Option<u64>,
    /// A read came from elsewhere (the per-id cache, pages of a read in progress) or from a
    /// second snapshot.
    mixed: bool,
    /// The oldest stale data read.
    stale: Option<Staleness>,
    /// The earliest instant, by the store's clock, at which a fresh keyed read used (a
    /// customer's jobs, seats or coverage, or details) stops being fresh: until then the
    /// same request reads the same data.
    until: Option<Instant>,
}

impl Provenance {
    /// Data from snapshot `generation`, stale or not.
    pub(crate) fn snapshot(generation: u64, stale: Option<Staleness>) -> Self {
        Self {
            snapshot: Some(generation),
            mixed: false,
            stale,
            until: None,
        }
    }

    /// Fresh data of a keyed cache, fresh until `until`.
    pub(crate) fn keyed(until: Instant) -> Self {
        Self {
            snapshot: None,
            mixed: false,
            stale: None,
            until: Some(until),
        }
    }

    /// Data from somewhere other than one whole snapshot.
    pub(crate) fn elsewhere(stale: Option<Staleness>) -> Self {
        Self {
            snapshot: None,
            mixed: true,
            stale,
            until: None,
        }
    }

    /// The provenance of data made of both.
    pub(crate) fn merge(self, other: Self) -> Self {
        let stale = match (self.stale, other.stale) {
            (Some(one), two) => Some(one.older(two)),
            (None, two) => two,
        };
        let (snapshot, mixed) = match (self.snapshot, other.snapshot) {
            (Some(one), Some(two)) if one != two => (None, true),
            (one, two) => (one.or(two), self.mixed || other.mixed),
        };
        let until = match (self.until, other.until) {
            (Some(one), Some(two)) => Some(one.min(two)),
            (one, two) => one.or(two),
        };
        Self {
            snapshot,
            mixed,
            stale,
            until,
        }
    }

    /// When the keyed data read stop being fresh, if any were read.
    pub(crate) fn until(&self) -> Option<Instant> {
        self.until
    }

    /// The oldest stale data used, if any.
    pub(crate) fn stale(&self) -> Option<Staleness> {
        self.stale
    }

    /// Whether the data are fresh data of snapshot `generation` alone, or of it and keyed
    /// reads that are fresh until [`Self::until`] (or no data at all).
    pub(crate) fn fresh_from(&self, generation: u64) -> bool {
        self.stale.is_none() && !self.mixed && self.snapshot.is_none_or(|read| read == generation)
    }
}

/// The provenance of one request's reads so far, noted by its resolvers as they read.
#[derive(Debug, Default)]
pub(crate) struct ReadNotes(Mutex<Provenance>);

impl ReadNotes {
    /// Notes one read.
    pub(crate) fn note(&self, read: Provenance) {
        let mut reads = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
        *reads = reads.merge(read);
    }

    /// Where the request's data came from.
    pub(crate) fn provenance(&self) -> Provenance {
        *self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALE: Staleness = Staleness {
        age: Duration::from_secs(90),
        upstream_error: None,
    };

    #[test]
    fn reads_of_one_fresh_snapshot_are_fresh_from_it_and_nothing_else_is() {
        let one = Provenance::snapshot(1, None);
        assert!(Provenance::default().fresh_from(1), "no data read at all");
        assert!(one.merge(one).fresh_from(1));
        assert!(!one.fresh_from(2));
        assert!(!one.merge(Provenance::snapshot(2, None)).fresh_from(1));
        assert!(!one.merge(Provenance::elsewhere(None)).fresh_from(1));
        let stale = one.merge(Provenance::snapshot(1, Some(STALE)));
        assert!(!stale.fresh_from(1));
        assert_eq!(stale.stale(), Some(STALE));
    }

    #[test]
    fn a_failed_refresh_holds_the_next_back_for_a_second_in_every_copy() {
        let start = Instant::now();
        let entry = Stamped::new((), start);
        let copy = entry.clone();
        assert!(copy.refresh_due(start), "nothing failed yet");
        entry.mark_failed("UPSTREAM_UNAVAILABLE", start);
        assert!(!copy.refresh_due(start + FAILED_FOR / 2));
        assert!(copy.refresh_due(start + FAILED_FOR));
        let stale = copy.staleness(Duration::ZERO, start).unwrap();
        assert_eq!(stale.upstream_error, Some("UPSTREAM_UNAVAILABLE"));
    }
}
