//! Customers' details from `customers/batch`, by id: a moka cache of each customer's record
//! ("no such customer" included), fresh for the cache TTL and kept `GATEWAY_CACHE_STALE_SECS`
//! longer: stale records are served at once while one `customerIds` read refreshes them, and
//! go on being served while the upstream fails. Records not cached are read in one
//! `customerIds` read (in batches of 100) for the ids of a batch that nobody else is reading,
//! so concurrent queries share it, and with Redis once for the deployment: under a lease on
//! the set of ids, each record stored for every replica. While the whole listing is cached fresh
//! (`details_listing.rs`), it answers instead.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use futures::future;
use moka::sync::Cache;

use super::{
    CustomerStore, Provenance, Staleness,
    live::{self, Topic},
    stale::Stamped,
    waiting::{all_succeeded, wait},
};
use crate::{
    clock::Clock,
    domain::partner::{CustomerDetails, RawCustomerDetails},
    shared::{Shared, StoredRead, Turn},
    upstream::{UpstreamClient, UpstreamError},
};

/// Each id's details, `None` for a customer `customers/batch` does not list.
pub(crate) type DetailsMap = HashMap<String, Option<Arc<CustomerDetails>>>;

/// One customer's cached record.
pub(super) type DetailsEntry = Stamped<Option<Arc<CustomerDetails>>>;

/// Most customers whose details are kept.
const MAX_DETAILS: u64 = 100_000;

/// The cache of details, by customer id, kept for `kept` (the TTL and the stale window).
pub(super) fn cache(kept: std::time::Duration) -> Cache<String, DetailsEntry> {
    Cache::builder()
        .max_capacity(MAX_DETAILS)
        .time_to_live(kept)
        .build()
}

impl CustomerStore {
    /// The details of the customers `ids`, and how stale the oldest served is: cached (stale
    /// ones refreshed in the background), the rest read from the upstream (once for every
    /// caller asking at the same time), waiting until `deadline` at most.
    pub(crate) async fn details(
        &self,
        ids: &[String],
        deadline: Instant,
    ) -> Result<(DetailsMap, Provenance), Arc<UpstreamError>> {
        if let Some(listing) = self.fresh_details_listing() {
            live::read(|| Topic::DetailsListing);
            self.metrics.cache_lookup("details", true);
            let found = ids
                .iter()
                .map(|id| (id.clone(), listing.get(id).cloned()))
                .collect();
            return Ok((found, Provenance::elsewhere(None)));
        }
        let now = self.clock.now();
        let mut found = DetailsMap::with_capacity(ids.len());
        let (mut missing, mut refresh, mut oldest) = (Vec::new(), Vec::new(), None);
        let mut fresh = Provenance::default();
        for id in ids {
            live::read(|| Topic::Details(id.as_str().into()));
            let Some(entry) = self.kept_details(id, now) else {
                missing.push(id.clone());
                continue;
            };
            match entry.staleness(self.ttl, now) {
                Some(staleness) => {
                    oldest = Some(staleness.older(oldest));
                    if entry.refresh_due(now) {
                        refresh.push(id.clone());
                    }
                }
                None => fresh = fresh.merge(Provenance::keyed(entry.fresh_until(self.ttl))),
            }
            found.insert(id.clone(), entry.value);
        }
        let provenance = |fresh: Provenance, oldest: Option<Staleness>| match oldest {
            Some(stale) => Provenance::elsewhere(Some(stale)),
            None => fresh,
        };
        self.metrics.cache_lookup("details", missing.is_empty());
        if let Some(staleness) = &oldest {
            self.metrics.stale_served("details", staleness.reason());
        }
        if !refresh.is_empty() {
            // The refresh runs in a task of its own; only a live answer's refreshing
            // evaluation waits for it, then looks again (the refreshed entries are fresh).
            let (refreshing, _) = self.details_flights.join_or_start(
                &refresh,
                |_| false,
                |ids| self.read_details(ids),
            );
            if live::refreshing()
                && all_succeeded(refreshing, deadline, self.upstream.deadline()).await
            {
                return Box::pin(self.details(ids, deadline)).await;
            }
        }
        if missing.is_empty() {
            return Ok((found, provenance(fresh, oldest)));
        }
        let (flights, joined) = self.details_flights.join_or_start(
            &missing,
            |id| self.details.contains_key(id),
            |ids| self.read_details(ids),
        );
        if joined > 0 {
            self.metrics.flight_join("details");
        }
        let budget = self.upstream.deadline();
        future::try_join_all(
            flights
                .into_iter()
                .map(|flight| wait(flight, deadline, budget)),
        )
        .await?;
        for id in missing {
            let entry = self.details.get(&id);
            fresh = fresh.merge(match &entry {
                Some(entry) => Provenance::keyed(entry.fresh_until(self.ttl)),
                None => Provenance::elsewhere(None),
            });
            found.insert(id, entry.and_then(|entry| entry.value));
        }
        Ok((found, provenance(fresh, oldest)))
    }

    /// Whether customer `id`'s details are cached fresh, alone or in the whole listing (a
    /// query that needs them costs no request).
    pub(crate) fn details_are_fresh(&self, id: &str) -> bool {
        let now = self.clock.now();
        self.fresh_details_listing().is_some()
            || self
                .details
                .get(id)
                .is_some_and(|entry| entry.age(now) < self.ttl)
    }

    /// The entry for `id` unless it is past the stale window by the store's clock.
    fn kept_details(&self, id: &String, now: Instant) -> Option<DetailsEntry> {
        let entry = self.details.get(id)?;
        if entry.age(now) < self.kept {
            return Some(entry);
        }
        self.details.invalidate(id);
        None
    }

    /// Reads the details of `ids` (those another replica stored fresh from Redis, the rest
    /// from the upstream, stored for the others) and caches each answer, "not listed"
    /// included; a failed refresh marks the stale entries.
    fn read_details(
        &self,
        ids: Vec<String>,
    ) -> impl Future<Output = Result<(), Arc<UpstreamError>>> + Send + 'static {
        let fill = DetailsFill {
            upstream: Arc::clone(&self.upstream),
            shared: self.shared.clone(),
            clock: self.clock.clone(),
            ttl: self.ttl,
        };
        let cache = self.details.clone();
        async move {
            match fill.run(ids.clone()).await {
                Ok(read) => {
                    let now = fill.clock.now();
                    for (id, (record, age)) in read {
                        let details = record
                            .as_ref()
                            .map(|raw| Arc::new(CustomerDetails::from(raw)));
                        cache.insert(id, Stamped::aged(details, now, age));
                    }
                    Ok(())
                }
                Err(error) => {
                    let now = fill.clock.now();
                    for id in &ids {
                        if let Some(entry) = cache.get(id) {
                            entry.mark_failed(error.code(), now);
                        }
                    }
                    Err(Arc::new(error))
                }
            }
        }
    }
}

/// Each id's record (`None`: not listed) and how old it is.
type Records = Vec<(String, (Option<RawCustomerDetails>, Duration))>;

/// What one fill of details by id needs.
struct DetailsFill {
    upstream: Arc<UpstreamClient>,
    shared: Option<Arc<Shared>>,
    clock: Clock,
    ttl: Duration,
}

impl DetailsFill {
    /// The records of `ids`: those stored fresh in Redis, and the rest read from the
    /// upstream in `customerIds` batches (and stored for the other replicas). One replica
    /// reads a given set of ids at a time, under a lease on the set; the others wait for what
    /// it stores, and read themselves only when Redis cannot help.
    async fn run(&self, ids: Vec<String>) -> Result<Records, UpstreamError> {
        let Some(shared) = &self.shared else {
            return self.upstream_read(ids).await;
        };
        let give_up = Instant::now() + self.upstream.deadline();
        let mut records = Records::with_capacity(ids.len());
        let mut missing = ids;
        loop {
            match self.stored(shared, missing).await {
                Ok((found, still)) => {
                    records.extend(found);
                    missing = still;
                }
                Err(all) => {
                    missing = all;
                    break;
                }
            }
            if missing.is_empty() {
                return Ok(records);
            }
            let mut sorted = missing.clone();
            sorted.sort_unstable();
            let digest = crate::hex::sha256(sorted.join("\n").as_bytes(), 16);
            match shared.turn(&format!("details:{digest}"), give_up).await {
                Turn::Mine(lease) => {
                    // Another replica may have stored them between the look and the lease.
                    let read = match self.stored(shared, missing).await {
                        Ok((found, still)) if still.is_empty() => Ok(found),
                        Ok((found, still)) => {
                            records.extend(found);
                            self.read_and_store(shared, still).await
                        }
                        Err(all) => self.read_and_store(shared, all).await,
                    };
                    lease.release().await;
                    records.extend(read?);
                    return Ok(records);
                }
                Turn::Wait => {}
                Turn::Alone => break,
            }
        }
        records.extend(self.upstream_read(missing).await?);
        Ok(records)
    }

    /// The records of `ids` stored fresh in Redis, and the ids without one; `Err(ids)` when
    /// Redis did not answer.
    async fn stored(
        &self,
        shared: &Shared,
        ids: Vec<String>,
    ) -> Result<(Records, Vec<String>), Vec<String>> {
        let names: Vec<String> = ids.iter().map(|id| format!("details\n{id}")).collect();
        let Ok(stored) = shared
            .read_stored_many::<Option<RawCustomerDetails>>(&names)
            .await
        else {
            shared.fell_back("redis_error");
            return Err(ids);
        };
        let (mut found, mut missing) = (Records::new(), Vec::new());
        for (id, stored) in ids.into_iter().zip(stored) {
            match stored {
                Some(stored) if self.clock.since_unix_millis(stored.fetched_ms) < self.ttl => {
                    let age = self.clock.since_unix_millis(stored.fetched_ms);
                    found.push((id, (stored.records, age)));
                }
                _ => missing.push(id),
            }
        }
        Ok((found, missing))
    }

    /// Reads `ids` from the upstream and stores each record for the other replicas.
    async fn read_and_store(
        &self,
        shared: &Shared,
        ids: Vec<String>,
    ) -> Result<Records, UpstreamError> {
        let read = self.upstream_read(ids).await?;
        let fetched_ms = self.clock.unix_millis();
        let stored: Vec<(String, StoredRead<&Option<RawCustomerDetails>>)> = read
            .iter()
            .map(|(id, (record, _))| {
                let name = format!("details\n{id}");
                (
                    name,
                    StoredRead {
                        fetched_ms,
                        records: record,
                    },
                )
            })
            .collect();
        if shared.write_stored_many(&stored, self.ttl).await.is_err() {
            shared.fell_back("store_failed");
        }
        Ok(read)
    }

    /// The records of `ids` from the upstream, read now.
    async fn upstream_read(&self, ids: Vec<String>) -> Result<Records, UpstreamError> {
        let read = self.upstream.details_records(Some(&ids)).await?;
        let mut by_id: HashMap<String, RawCustomerDetails> = read
            .into_iter()
            .map(|record| (record.id.to_string(), record))
            .collect();
        Ok(ids
            .into_iter()
            .map(|id| {
                let record = by_id.remove(&id);
                (id, (record, Duration::ZERO))
            })
            .collect())
    }
}
