//! The one cached customer snapshot: a lock around one stamped entry, not a moka cache, whose
//! hashing and housekeeping on every read would be all cost for a single key, and every reused
//! answer reads the snapshot once (to know whether its answer is still current). The entry is
//! dropped when read past the time it may be kept, and counted as an `expired` eviction, as
//! moka counts the customers' entries.

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use crate::metrics::Metrics;

use super::stale::Stamped;

/// At most one stamped value, kept for `kept` after it was fetched.
#[derive(Debug)]
pub(super) struct Slot<V> {
    entry: RwLock<Option<Stamped<V>>>,
    kept: Duration,
    /// The cache's name in the eviction metric.
    name: &'static str,
    metrics: Arc<Metrics>,
}

impl<V: Clone> Slot<V> {
    /// An empty slot whose entry is kept for `kept`.
    pub(super) fn new(name: &'static str, kept: Duration, metrics: &Arc<Metrics>) -> Self {
        Self {
            entry: RwLock::new(None),
            kept,
            name,
            metrics: Arc::clone(metrics),
        }
    }

    /// The entry, unless there is none or it is past the time it may be kept at `now` (then it
    /// is dropped).
    pub(super) fn get(&self, now: Instant) -> Option<Stamped<V>> {
        {
            let entry = self
                .entry
                .read()
                .unwrap_or_else(|poison| poison.into_inner());
            match &*entry {
                Some(entry) if entry.age(now) < self.kept => return Some(entry.clone()),
                Some(_) => {}
                None => return None,
            }
        }
        self.expire(now);
        None
    }

    /// Drops the entry if it is past the time it may be kept at `now`.
    fn expire(&self, now: Instant) {
        let mut entry = self
            .entry
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if entry
            .as_ref()
            .is_some_and(|entry| entry.age(now) >= self.kept)
        {
            *entry = None;
            self.metrics.cache_eviction(self.name, "expired");
        }
    }

    /// Replaces the entry.
    pub(super) fn insert(&self, value: Stamped<V>) {
        *self
            .entry
            .write()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(value);
    }

    /// Whether an entry usable at `now` is held.
    pub(super) fn holds(&self, now: Instant) -> bool {
        self.get(now).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_until_it_may_no_longer_be_kept_then_dropped_and_counted() {
        let metrics = Arc::new(Metrics::default());
        let slot = Slot::new("snapshot", Duration::from_secs(10), &metrics);
        let start = Instant::now();
        assert!(slot.get(start).is_none());
        slot.insert(Stamped::new(7, start));
        assert_eq!(
            slot.get(start + Duration::from_secs(9)).map(|e| e.value),
            Some(7)
        );
        assert!(slot.holds(start + Duration::from_secs(9)));
        assert!(slot.get(start + Duration::from_secs(10)).is_none());
        // Dropped: an earlier clock does not bring it back.
        assert!(slot.get(start).is_none());
        let text = metrics.render();
        assert!(
            text.contains("gateway_cache_evictions_total{cache=\"snapshot\",cause=\"expired\"} 1"),
            "{text}"
        );
    }
}
