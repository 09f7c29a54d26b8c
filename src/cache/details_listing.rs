//! Every customer's details (`customers/batch` with `{}`), for `customers(filter:)`: read like
//! the services listing (pages merged, duplicates dropped, the page cap), cached under one key
//! for `GATEWAY_CACHE_TTL_SECS` and kept `GATEWAY_CACHE_STALE_SECS` longer (a stale listing is
//! served at once while one background read refreshes it, and while the upstream fails), and,
//! with Redis, filled once for the deployment: the replica holding the fill lease reads the
//! upstream and stores the records; the others wait for them, and read the upstream
//! themselves only when Redis cannot help. While it is cached, single customers' details are
//! answered from it too.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use super::{
    CustomerStore, Served,
    keyed::{Keyed, Lifetime, settle},
    live::{self, Topic},
};
use crate::{
    clock::Clock,
    domain::partner::{CustomerDetails, RawCustomerDetails},
    shared::{Shared, StoredRead, Turn},
    upstream::{UpstreamClient, UpstreamError},
};

/// The lease's and the stored listing's name in Redis.
const LISTING: &str = "details";

/// Every customer's details, by id.
#[derive(Debug, Default)]
pub(crate) struct DetailsIndex {
    by_id: HashMap<Box<str>, Arc<CustomerDetails>>,
}

impl DetailsIndex {
    fn new(records: &[RawCustomerDetails]) -> Self {
        let mut by_id = HashMap::with_capacity(records.len());
        for record in records {
            by_id
                .entry(record.id.clone())
                .or_insert_with(|| Arc::new(CustomerDetails::from(record)));
        }
        Self { by_id }
    }

    /// The details of customer `id`; `None` when the listing does not hold it.
    pub(crate) fn get(&self, id: &str) -> Option<&Arc<CustomerDetails>> {
        self.by_id.get(id)
    }
}

/// The listing's name in metrics.
const LISTING_CACHE: &str = "details_listing";

/// The cache of the listing (one entry).
pub(super) fn cache(kept: Duration) -> Keyed<(), Arc<DetailsIndex>> {
    Keyed::new(
        moka::sync::Cache::builder()
            .max_capacity(1)
            .time_to_live(kept)
            .build(),
    )
}

impl CustomerStore {
    /// Every customer's details: cached (a stale listing served while one background read
    /// refreshes it), or read once for every caller, waiting until `deadline` at most.
    pub(crate) async fn details_listing(
        &self,
        deadline: Instant,
    ) -> Result<Served<Arc<DetailsIndex>>, Arc<UpstreamError>> {
        live::read(|| Topic::DetailsListing);
        let life = Lifetime {
            ttl: self.ttl,
            kept: self.kept,
        };
        let (now, budget) = (self.clock.now(), self.upstream.deadline());
        let fill = || self.fill_details_listing();
        self.details_listing
            .get(
                (),
                LISTING_CACHE,
                life,
                now,
                &self.metrics,
                deadline,
                budget,
                fill,
            )
            .await
    }

    /// The listing when it is cached and fresh, with no fetch: single customers' details
    /// are then answered from it, and `customers(filter:)` costs no upstream request.
    pub(crate) fn fresh_details_listing(&self) -> Option<Arc<DetailsIndex>> {
        self.details_listing.fresh(&(), self.ttl, self.clock.now())
    }

    /// The requests reading the listing is expected to make for `customers` customers (one
    /// when their number is unknown): none while it is cached fresh (unless priced `cold`, as
    /// if nothing were cached), else one a page.
    pub(crate) fn details_listing_requests(&self, customers: Option<usize>, cold: bool) -> u64 {
        if !cold && self.fresh_details_listing().is_some() {
            return 0;
        }
        customers.map_or(1, |count| {
            (count as u64).div_ceil(self.upstream.page_size()).max(1)
        })
    }

    /// Reads the listing (through Redis when there is one) and caches it; a failed refresh
    /// marks the stale entry.
    fn fill_details_listing(
        &self,
    ) -> impl Future<Output = Result<Arc<DetailsIndex>, Arc<UpstreamError>>> + Send + 'static {
        let fill = ListingFill {
            upstream: Arc::clone(&self.upstream),
            shared: self.shared.clone(),
            clock: self.clock.clone(),
            ttl: self.ttl,
            kept: self.kept,
        };
        let entries = self.details_listing.entries.clone();
        let metrics = Arc::clone(&self.metrics);
        async move {
            let started = fill.clock.now();
            let refreshing = entries.get(&());
            let outcome = fill
                .run()
                .await
                .map(|(records, age)| (Arc::new(DetailsIndex::new(&records)), age));
            let now = fill.clock.now();
            settle(
                &entries,
                (),
                refreshing,
                outcome,
                LISTING_CACHE,
                &metrics,
                started,
                now,
            )
        }
    }
}

/// What one fill of the listing needs.
struct ListingFill {
    upstream: Arc<UpstreamClient>,
    shared: Option<Arc<Shared>>,
    clock: Clock,
    ttl: Duration,
    kept: Duration,
}

impl ListingFill {
    /// The records and how old they are: stored fresh by another replica (perhaps after
    /// waiting for its fill), or read from the upstream now (under the lease, stored for the
    /// others).
    async fn run(&self) -> Result<(Vec<RawCustomerDetails>, Duration), UpstreamError> {
        let Some(shared) = &self.shared else {
            return Ok((self.upstream.all_details().await?, Duration::ZERO));
        };
        let give_up = Instant::now() + self.upstream.deadline();
        loop {
            match self.stored(shared).await {
                Ok(Some(found)) => return Ok(found),
                Ok(None) => {}
                Err(()) => break,
            }
            match shared.turn(LISTING, give_up).await {
                Turn::Mine(lease) => {
                    // Another replica may have stored it between the look and the lease.
                    let read = match self.stored(shared).await {
                        Ok(Some(found)) => Ok(found),
                        _ => self.read_and_store(shared).await,
                    };
                    lease.release().await;
                    return read;
                }
                Turn::Wait => {}
                Turn::Alone => break,
            }
        }
        Ok((self.upstream.all_details().await?, Duration::ZERO))
    }

    /// The listing stored fresh in Redis, if any; `Err` when Redis did not answer.
    async fn stored(
        &self,
        shared: &Shared,
    ) -> Result<Option<(Vec<RawCustomerDetails>, Duration)>, ()> {
        shared
            .read_fresh(LISTING, true, self.ttl, &self.clock)
            .await
    }

    /// Reads the listing from the upstream and stores it for the other replicas.
    async fn read_and_store(
        &self,
        shared: &Shared,
    ) -> Result<(Vec<RawCustomerDetails>, Duration), UpstreamError> {
        let records = self.upstream.all_details().await?;
        let stored = StoredRead {
            fetched_ms: self.clock.unix_millis(),
            records,
        };
        if shared
            .write_stored(LISTING, &stored, self.kept, true)
            .await
            .is_err()
        {
            shared.fell_back("store_failed");
        }
        Ok((stored.records, Duration::ZERO))
    }
}
