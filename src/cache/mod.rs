//! The customer store: moka caches in front of the upstream client.
//!
//! Two caches, both fresh for `GATEWAY_CACHE_TTL_SECS` from the moment they were filled:
//!
//! * the **snapshot**, every customer at once, under a single key. `customers`, `products`
//!   and (while it is cached) every single-customer lookup are answered from it.
//! * **single customers** by id, including "no such customer" (an answer, not an error),
//!   filled by `customerIds` requests when no snapshot is cached.
//!
//! Past its TTL an entry is kept for `GATEWAY_CACHE_STALE_SECS` more. Such a stale entry is
//! still served at once, and one background fetch refreshes it (stale-while-revalidate), so no
//! caller waits at a TTL boundary; while the upstream fails, the stale entry goes on being
//! served (stale-if-error). Every answer built from stale data says how old it is
//! ([`Staleness`]). Only with nothing cached does a caller wait for the upstream, and only then
//! does it see an upstream error.
//!
//! Single-flight: concurrent misses of one key share one fetch ([`crate::flight`]), which runs in its
//! own task, so a stampede on a cold cache costs the upstream one read and a caller that gives
//! up cancels nothing. For a batch of ids, one `customerIds` fetch covers every id of the batch
//! that nobody else is fetching; ids already in flight join that other fetch instead.
//!
//! Early answers: a snapshot read publishes its customers a page at a time, in upstream order,
//! so a caller that needs only the first customers (`customers(first: 50)`) is answered as soon
//! as the pages holding them are in, while the read goes on and fills the cache
//! ([`CustomerStore::listing`]). Such an answer is never reused as a whole.
//!
//! Errors are never cached: the next caller tries the upstream again.

mod by_id;
mod details;
mod details_listing;
mod fill;
mod keyed;
pub(crate) mod live;
mod reads;
mod settings;
mod slot;
mod stale;
mod waiting;

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use moka::{future::Cache, notification::RemovalCause};
use tokio::sync::watch;
use tracing::Instrument;

pub(crate) use by_id::ByIds;
pub(crate) use details_listing::DetailsIndex;
pub(crate) use live::Topic;
pub(crate) use reads::{Read, ReadValue};
pub(crate) use settings::CacheSettings;
#[cfg(test)]
pub(crate) use settings::DEFAULT_ANSWER_BYTES;
pub(crate) use stale::{Provenance, ReadNotes, Staleness};

use self::waiting::{Fetched, wait, wait_early};
use self::{
    fill::{Fill, Filled},
    stale::Stamped,
};
use crate::{
    clock::Clock,
    domain::{Customer, Snapshot},
    flight::Flights,
    metrics::Metrics,
    shared::Shared,
    upstream::{UpstreamClient, UpstreamError},
};

/// Customers by id, as the loader and resolvers want them.
pub(crate) type CustomerMap = HashMap<String, Arc<Customer>>;

/// Most single customers kept at once; the snapshot is not counted here.
const MAX_CACHED_CUSTOMERS: u64 = 100_000;

/// An answer and, when it was built from data past its TTL, how old that data is.
#[derive(Debug, Clone)]
pub(crate) struct Served<T> {
    /// The answer.
    pub value: T,
    /// Where it came from, and how stale it is.
    pub provenance: Provenance,
}

type SnapshotEntry = Stamped<Arc<Snapshot>>;
type CustomerEntry = Stamped<Option<Arc<Customer>>>;

/// The customers a snapshot read has collected so far, in upstream order, growing a page at a
/// time; emptied when they become the snapshot, kept after a failed read until the next one.
type Progress = Arc<watch::Sender<Vec<Arc<Customer>>>>;

/// What [`CustomerStore::listing`] answered with.
#[derive(Debug)]
pub(crate) enum Listing<R> {
    /// The whole snapshot, cached or read just now.
    Whole(Served<Arc<Snapshot>>),
    /// An answer built from the first pages of a read still under way.
    Early(R),
}

/// Cached reads of the upstream; shared by every request of the gateway.
#[derive(Debug)]
pub(crate) struct CustomerStore {
    upstream: Arc<UpstreamClient>,
    /// The replicas' shared Redis, when there is one.
    shared: Option<Arc<Shared>>,
    ttl: Duration,
    /// TTL plus the stale window: past it an entry is gone, whatever moka still holds (the
    /// snapshot's slot drops it when read).
    kept: Duration,
    clock: Clock,
    snapshot: Arc<slot::Slot<Arc<Snapshot>>>,
    customers: Cache<String, CustomerEntry>,
    snapshot_flights: Flights<(), Fetched<Arc<Snapshot>>>,
    /// The progress of the latest snapshot read started.
    snapshot_progress: Mutex<Option<Progress>>,
    customer_flights: Flights<String, Fetched<Arc<CustomerMap>>>,
    /// Customers' details (`customers/batch`), by id.
    details: moka::sync::Cache<String, details::DetailsEntry>,
    details_flights: Flights<String, Fetched<()>>,
    /// Every customer's details (`customers/batch` with `{}`), for `customers(filter:)`.
    details_listing: keyed::Keyed<(), Arc<DetailsIndex>>,
    /// Customers' jobs, seats and coverage, by customer and read.
    reads: keyed::Keyed<reads::ReadKey, ReadValue>,
    read_times: reads::ReadTimes,
    metrics: Arc<Metrics>,
}

impl CustomerStore {
    /// A store whose entries are fresh for `freshness.ttl` and kept `freshness.stale` longer.
    pub(crate) fn new(
        upstream: Arc<UpstreamClient>,
        freshness: &CacheSettings,
        clock: Clock,
        metrics: Arc<Metrics>,
    ) -> Self {
        let kept = freshness.ttl + freshness.stale;
        let read_times = reads::ReadTimes::new(freshness.ttl, freshness.jobs_ttl, freshness.stale);
        Self {
            upstream,
            shared: None,
            ttl: freshness.ttl,
            kept,
            clock,
            snapshot: Arc::new(slot::Slot::new("snapshot", kept, &metrics)),
            customers: Cache::builder()
                .max_capacity(MAX_CACHED_CUSTOMERS)
                .time_to_live(kept)
                .eviction_listener(count_evictions("customer", &metrics))
                .build(),
            snapshot_flights: Flights::default(),
            snapshot_progress: Mutex::default(),
            customer_flights: Flights::default(),
            details: details::cache(kept),
            details_flights: Flights::default(),
            details_listing: details_listing::cache(kept),
            reads: reads::cache(read_times),
            read_times,
            metrics,
        }
    }

    /// The same store, filling through the replicas' shared Redis when `shared` is one.
    pub(crate) fn with_shared(mut self, shared: Option<Arc<Shared>>) -> Self {
        self.shared = shared;
        self
    }

    /// Records how many entries each cache holds, for `/metrics`; first lets moka finish its
    /// pending housekeeping, so the counts and the evictions are current.
    pub(crate) async fn record_sizes(&self) {
        self.customers.run_pending_tasks().await;
        let snapshots = self.snapshot.holds(self.clock.now());
        self.metrics.cache_entries("snapshot", u64::from(snapshots));
        self.metrics
            .cache_entries("customer", self.customers.entry_count());
    }

    /// The metrics this store reports to, shared with the per-request loaders.
    pub(crate) fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Every customer: from the cache when there is a usable entry (refreshing it in the
    /// background when stale), otherwise read once for all waiters, waiting until `deadline`.
    pub(crate) async fn snapshot(
        &self,
        deadline: Instant,
    ) -> Result<Served<Arc<Snapshot>>, Arc<UpstreamError>> {
        match self.listing(deadline, |_| None::<Infallible>).await? {
            Listing::Whole(served) => Ok(served),
        }
    }

    /// Like [`CustomerStore::snapshot`], but while a caller waits for a read, `early` is asked
    /// after each page whether the customers read so far (a prefix of the listing, in upstream
    /// order) already give its answer; the first `Some` is returned at once.
    pub(crate) async fn listing<R>(
        &self,
        deadline: Instant,
        early: impl FnMut(&[Arc<Customer>]) -> Option<R> + Send,
    ) -> Result<Listing<R>, Arc<UpstreamError>> {
        live::read(|| Topic::Snapshot);
        loop {
            if let Some(served) = self.cached_snapshot(deadline).await {
                return Ok(Listing::Whole(served));
            }
            self.metrics.cache_lookup("snapshot", false);
            let (flights, joined) = self.snapshot_flights.join_or_start(
                &[()],
                |_| self.snapshot.holds(self.clock.now()),
                |_| self.fetch_snapshot().instrument(fetch_span(1)),
            );
            if joined > 0 {
                self.metrics.flight_join("snapshot");
            }
            // None: a fetch filled the cache between the miss and now.
            if let Some(flight) = flights.into_iter().next() {
                let progress = self
                    .snapshot_progress
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner())
                    .as_ref()
                    .map(|progress| progress.subscribe());
                return wait_early(flight, progress, deadline, self.upstream.deadline(), early)
                    .await;
            }
        }
    }

    /// The cached snapshot, unless it is past the stale window by the store's clock (then it is
    /// dropped, so that a read never takes it for a fetch that has just completed, and waits
    /// for nothing, or serves it).
    fn kept_snapshot(&self) -> Option<SnapshotEntry> {
        self.snapshot.get(self.clock.now())
    }

    /// The cached customer entry for `id`, unless it is past the stale window (then dropped,
    /// as the snapshot's slot drops the snapshot).
    async fn kept_customer(&self, id: &String) -> Option<CustomerEntry> {
        let entry = self.customers.get(id).await?;
        if entry.age(self.clock.now()) < self.kept {
            return Some(entry);
        }
        self.customers.invalidate(id).await;
        None
    }

    /// The cached snapshot when usable, starting a refresh when it is stale (and, for a live
    /// answer's refreshing evaluation, waiting for that refresh until `deadline`).
    async fn cached_snapshot(&self, deadline: Instant) -> Option<Served<Arc<Snapshot>>> {
        let entry = self.kept_snapshot()?;
        self.metrics.cache_lookup("snapshot", true);
        let now = self.clock.now();
        let stale = entry.staleness(self.ttl, now);
        if stale.is_some() && entry.refresh_due(now) {
            let (flights, _) = self.snapshot_flights.join_or_start(
                &[()],
                |_| false,
                |_| self.fetch_snapshot().instrument(fetch_span(1)),
            );
            if live::refreshing()
                && let Some(flight) = flights.into_iter().next()
                && let Ok(snapshot) = wait(flight, deadline, self.upstream.deadline()).await
            {
                return Some(Served {
                    provenance: Provenance::snapshot(snapshot.generation(), None),
                    value: snapshot,
                });
            }
        }
        if let Some(staleness) = &stale {
            self.metrics.stale_served("snapshot", staleness.reason());
        }
        Some(Served {
            provenance: Provenance::snapshot(entry.value.generation(), stale),
            value: entry.value,
        })
    }

    /// The cached snapshot, fresh or stale, with no fetch and no refresh: its sizes cost a
    /// query before it runs.
    pub(crate) fn latest_snapshot(&self) -> Option<Arc<Snapshot>> {
        self.kept_snapshot().map(|entry| entry.value)
    }

    /// The generation of the cached snapshot while it is fresh; no fetch, no refresh.
    pub(crate) fn fresh_generation(&self) -> Option<u64> {
        self.fresh_window().map(|(generation, _)| generation)
    }

    /// Now, by the store's clock (which tests move).
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Completes once the store's clock reads `at`.
    pub(crate) async fn sleep_until(&self, at: Instant) {
        self.clock.sleep_until(at).await;
    }

    /// The generation of the cached snapshot while it is fresh, and how long it stays so (an
    /// HTTP answer built from it may be cached that long).
    pub(crate) fn fresh_window(&self) -> Option<(u64, Duration)> {
        let entry = self.kept_snapshot()?;
        let age = entry.age(self.clock.now());
        (age < self.ttl).then(|| (entry.value.generation(), self.ttl - age))
    }

    /// Reads every customer (through the shared Redis when there is one, see `fill.rs`) and
    /// caches the snapshot; on failure, marks the stale entry.
    fn fetch_snapshot(
        &self,
    ) -> impl Future<Output = Result<Arc<Snapshot>, Arc<UpstreamError>>> + Send + 'static {
        let cache = Arc::clone(&self.snapshot);
        let metrics = Arc::clone(&self.metrics);
        let progress: Progress = Arc::new(watch::Sender::new(Vec::new()));
        *self
            .snapshot_progress
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(Arc::clone(&progress));
        let mut fill = Fill {
            upstream: Arc::clone(&self.upstream),
            shared: self.shared.clone(),
            clock: self.clock.clone(),
            ttl: self.ttl,
            kept: self.kept,
            known: None,
            progress,
        };
        async move {
            let refreshing = cache.get(fill.clock.now());
            fill.known = refreshing.as_ref().map(|entry| entry.value.generation());
            let clock = fill.clock.clone();
            match fill.run().await {
                Ok(Filled { snapshot, age }) => {
                    cache.insert(Stamped::aged(Arc::clone(&snapshot), clock.now(), age));
                    if refreshing.is_some() {
                        metrics.refresh("snapshot", "OK");
                    }
                    Ok(snapshot)
                }
                Err(error) => {
                    if let Some(entry) = refreshing {
                        metrics.refresh("snapshot", error.code());
                        entry.mark_failed(error.code(), clock.now());
                        tracing::warn!(%error, "refreshing the customer snapshot failed; serving stale data");
                    }
                    Err(Arc::new(error))
                }
            }
        }
    }
}

/// A moka eviction listener counting entries dropped for age or room (not those replaced).
fn count_evictions<K, V>(
    cache: &'static str,
    metrics: &Arc<Metrics>,
) -> impl Fn(Arc<K>, V, RemovalCause) + Send + Sync + 'static {
    let metrics = Arc::clone(metrics);
    move |_, _, cause| match cause {
        RemovalCause::Expired => metrics.cache_eviction(cache, "expired"),
        RemovalCause::Size => metrics.cache_eviction(cache, "size"),
        RemovalCause::Explicit | RemovalCause::Replaced => {}
    }
}

/// The span of one upstream read, under the request that started it.
fn fetch_span(keys: usize) -> tracing::Span {
    tracing::debug_span!("fetch", keys)
}
