//! The partner graph's keyed caches (a customer's jobs, seats and coverage; the details
//! listing), served as the snapshot is: a kept entry at once, a stale one while one background
//! fill refreshes it (and while that fails), and a missing one filled once for every caller.

use std::{
    hash::Hash,
    sync::Arc,
    time::{Duration, Instant},
};

use moka::sync::Cache;

use super::{
    Provenance, Served, live,
    stale::Stamped,
    waiting::{Fetched, wait},
};
use crate::{flight::Flights, metrics::Metrics, upstream::UpstreamError};

/// One keyed cache: its stamped entries and the fills in flight.
pub(super) struct Keyed<K, V> {
    pub(super) entries: Cache<K, Stamped<V>>,
    flights: Flights<K, Fetched<V>>,
}

/// How long a key's value is fresh, and kept in all.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lifetime {
    pub(super) ttl: Duration,
    pub(super) kept: Duration,
}

impl<K, V> std::fmt::Debug for Keyed<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyed").finish_non_exhaustive()
    }
}

impl<K, V> Keyed<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache over `entries`, with no fill under way.
    pub(super) fn new(entries: Cache<K, Stamped<V>>) -> Self {
        Self {
            entries,
            flights: Flights::default(),
        }
    }

    /// `key`'s value, counted in `metrics` as `cache`: kept (a stale one served while `fill`
    /// refreshes it in a task of its own), or filled once for every caller, waiting until
    /// `deadline` (past it, a timeout naming `budget`).
    #[allow(
        clippy::too_many_arguments,
        reason = "one call per cache, each argument its own"
    )]
    pub(super) async fn get<F>(
        &self,
        key: K,
        cache: &'static str,
        life: Lifetime,
        now: Instant,
        metrics: &Metrics,
        deadline: Instant,
        budget: Duration,
        fill: impl Fn() -> F,
    ) -> Result<Served<V>, Arc<UpstreamError>>
    where
        F: Future<Output = Fetched<V>> + Send + 'static,
    {
        if let Some(entry) = self.kept(&key, life, now) {
            metrics.cache_lookup(cache, true);
            let stale = entry.staleness(life.ttl, now);
            if let Some(staleness) = &stale {
                if entry.refresh_due(now) {
                    let (refresh, _) = self.flights.join_or_start_one(key.clone(), &fill);
                    // A live answer's refreshing evaluation waits for the new value.
                    if live::refreshing()
                        && let Ok(value) = wait(refresh, deadline, budget).await
                    {
                        let provenance = self.provenance_of(&key, life);
                        return Ok(Served { value, provenance });
                    }
                }
                metrics.stale_served(cache, staleness.reason());
            }
            let provenance = match stale {
                None => Provenance::keyed(entry.fresh_until(life.ttl)),
                stale => Provenance::elsewhere(stale),
            };
            return Ok(Served {
                value: entry.value,
                provenance,
            });
        }
        metrics.cache_lookup(cache, false);
        let (flight, joined) = self.flights.join_or_start_one(key.clone(), &fill);
        if joined {
            metrics.flight_join(cache);
        }
        let value = wait(flight, deadline, budget).await?;
        let provenance = self.provenance_of(&key, life);
        Ok(Served { value, provenance })
    }

    /// The provenance of a value a fill of `key` just gave: fresh until the entry the fill
    /// kept expires (fills keep what they return), unless it was not kept.
    fn provenance_of(&self, key: &K, life: Lifetime) -> Provenance {
        match self.entries.get(key) {
            Some(entry) => Provenance::keyed(entry.fresh_until(life.ttl)),
            None => Provenance::elsewhere(None),
        }
    }

    /// `key`'s value while it is fresh at `now`, with no fill.
    pub(super) fn fresh(&self, key: &K, ttl: Duration, now: Instant) -> Option<V> {
        let entry = self.entries.get(key)?;
        (entry.age(now) < ttl).then_some(entry.value)
    }

    /// The entry for `key` unless it is past its stale window by the store's clock (then
    /// dropped, as moka would on its own timer).
    fn kept(&self, key: &K, life: Lifetime, now: Instant) -> Option<Stamped<V>> {
        let entry = self.entries.get(key)?;
        if entry.age(now) < life.kept {
            return Some(entry);
        }
        self.entries.invalidate(key);
        None
    }
}

/// What a fill of `key` in `entries` came to, settled: the value cached `age` old at `now`,
/// or, when it was refreshing a stale entry, the failure marked on that entry (so stale reads
/// hold back a moment) and counted in `metrics` as `cache`'s refresh.
#[allow(
    clippy::too_many_arguments,
    reason = "one call per cache, each argument its own"
)]
pub(super) fn settle<K, V>(
    entries: &Cache<K, Stamped<V>>,
    key: K,
    refreshing: Option<Stamped<V>>,
    outcome: Result<(V, Duration), UpstreamError>,
    cache: &'static str,
    metrics: &Metrics,
    started: Instant,
    now: Instant,
) -> Fetched<V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    match outcome {
        Ok((value, age)) => {
            entries.insert(key, Stamped::aged(value.clone(), now, age));
            if refreshing.is_some() {
                metrics.refresh(cache, "OK");
            }
            Ok(value)
        }
        Err(error) => {
            if let Some(entry) = refreshing {
                metrics.refresh(cache, error.code());
                entry.mark_failed(error.code(), started);
            }
            Err(Arc::new(error))
        }
    }
}
