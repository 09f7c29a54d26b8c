//! Customers' details from `customers/batch`, by id: a moka cache of each customer's record
//! ("no such customer" included), fresh for the cache TTL and kept `GATEWAY_CACHE_STALE_SECS`
//! longer: stale records are served at once while one `customerIds` read refreshes them, and
//! go on being served while the upstream fails. Records not cached are read in one
//! `customerIds` read (in batches of 100) for the ids of a batch that nobody else is reading,
//! so concurrent queries share it. While the whole listing is cached fresh
//! (`details_listing.rs`), it answers instead.

use std::{collections::HashMap, sync::Arc, time::Instant};

use futures::future;
use moka::sync::Cache;

use super::{CustomerStore, Staleness, stale::Stamped, waiting::wait};
use crate::{domain::partner::CustomerDetails, upstream::UpstreamError};

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
    ) -> Result<(DetailsMap, Option<Staleness>), Arc<UpstreamError>> {
        if let Some(listing) = self.fresh_details_listing() {
            self.metrics.cache_lookup("details", true);
            let found = ids
                .iter()
                .map(|id| (id.clone(), listing.get(id).cloned()))
                .collect();
            return Ok((found, None));
        }
        let now = self.clock.now();
        let mut found = DetailsMap::with_capacity(ids.len());
        let (mut missing, mut refresh, mut oldest) = (Vec::new(), Vec::new(), None);
        for id in ids {
            let Some(entry) = self.kept_details(id, now) else {
                missing.push(id.clone());
                continue;
            };
            if let Some(staleness) = entry.staleness(self.ttl, now) {
                oldest = Some(staleness.older(oldest));
                if entry.refresh_due(now) {
                    refresh.push(id.clone());
                }
            }
            found.insert(id.clone(), entry.value);
        }
        self.metrics.cache_lookup("details", missing.is_empty());
        if let Some(staleness) = &oldest {
            self.metrics.stale_served("details", staleness.reason());
        }
        if !refresh.is_empty() {
            // The refresh runs in a task of its own; nobody waits for it here.
            let _refresh = self.details_flights.join_or_start(
                &refresh,
                |_| false,
                |ids| self.read_details(ids),
            );
        }
        if missing.is_empty() {
            return Ok((found, oldest));
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
            let details = self.details.get(&id).and_then(|entry| entry.value);
            found.insert(id, details);
        }
        Ok((found, oldest))
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

    /// Reads the details of `ids` and caches each answer, "not listed" included; a failed
    /// refresh marks the stale entries.
    fn read_details(
        &self,
        ids: Vec<String>,
    ) -> impl Future<Output = Result<(), Arc<UpstreamError>>> + Send + 'static {
        let upstream = Arc::clone(&self.upstream);
        let cache = self.details.clone();
        let clock = self.clock.clone();
        async move {
            let read = match upstream.customer_details(Some(&ids)).await {
                Ok(read) => read,
                Err(error) => {
                    let now = clock.now();
                    for id in &ids {
                        if let Some(entry) = cache.get(id) {
                            entry.mark_failed(error.code(), now);
                        }
                    }
                    return Err(Arc::new(error));
                }
            };
            let mut by_id: HashMap<String, Arc<CustomerDetails>> = read
                .into_iter()
                .map(|details| (details.id.to_string(), Arc::new(details)))
                .collect();
            let now = clock.now();
            for id in ids {
                let details = by_id.remove(&id);
                cache.insert(id, Stamped::new(details, now));
            }
            Ok(())
        }
    }
}
