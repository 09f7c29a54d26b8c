//! Customers' details from `customers/batch`, by id: a moka cache of each customer's record
//! ("no such customer" included), fresh for the cache TTL, and one `customerIds` read (in
//! batches of 100) for the ids of a batch that nobody else is reading, so concurrent queries
//! share it.

use std::{collections::HashMap, sync::Arc, time::Instant};

use futures::future;
use moka::future::Cache;

use super::{CustomerStore, waiting::wait};
use crate::{domain::partner::CustomerDetails, upstream::UpstreamError};

/// Each id's details, `None` for a customer `customers/batch` does not list.
type DetailsMap = HashMap<String, Option<Arc<CustomerDetails>>>;

/// Most customers whose details are kept.
const MAX_DETAILS: u64 = 100_000;

/// The cache of details, by customer id.
pub(super) fn cache(ttl: std::time::Duration) -> Cache<String, Option<Arc<CustomerDetails>>> {
    Cache::builder()
        .max_capacity(MAX_DETAILS)
        .time_to_live(ttl)
        .build()
}

impl CustomerStore {
    /// The details of the customers `ids`, reading those not cached from the upstream (once
    /// for every caller asking at the same time), waiting until `deadline` at most.
    pub(crate) async fn details(
        &self,
        ids: &[String],
        deadline: Instant,
    ) -> Result<DetailsMap, Arc<UpstreamError>> {
        if let Some(listing) = self.fresh_details_listing() {
            self.metrics.cache_lookup("details", true);
            return Ok(ids
                .iter()
                .map(|id| (id.clone(), listing.get(id).cloned()))
                .collect());
        }
        let mut found = DetailsMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.details.get(id).await {
                Some(details) => {
                    found.insert(id.clone(), details);
                }
                None => missing.push(id.clone()),
            }
        }
        self.metrics.cache_lookup("details", missing.is_empty());
        if missing.is_empty() {
            return Ok(found);
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
            let details = self.details.get(&id).await.flatten();
            found.insert(id, details);
        }
        Ok(found)
    }

    /// Whether customer `id`'s details are cached, alone or in the whole listing (a query that
    /// needs them costs no request).
    pub(crate) fn details_are_fresh(&self, id: &str) -> bool {
        self.details.contains_key(id) || self.fresh_details_listing().is_some()
    }

    /// Reads the details of `ids` and caches each answer, "not listed" included.
    fn read_details(
        &self,
        ids: Vec<String>,
    ) -> impl Future<Output = Result<(), Arc<UpstreamError>>> + Send + 'static {
        let upstream = Arc::clone(&self.upstream);
        let cache = self.details.clone();
        async move {
            let read = upstream
                .customer_details(Some(&ids))
                .await
                .map_err(Arc::new)?;
            let mut by_id: HashMap<String, Arc<CustomerDetails>> = read
                .into_iter()
                .map(|details| (details.id.to_string(), Arc::new(details)))
                .collect();
            for id in ids {
                let details = by_id.remove(&id);
                cache.insert(id, details).await;
            }
            Ok(())
        }
    }
}
