//! Single customers by id: from the snapshot while one is cached, otherwise from the customer
//! cache, with one `customerIds` fetch for the ids of a batch that nobody else is fetching.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use futures::future;
use tracing::Instrument;

use super::{
    CustomerMap, CustomerStore, Provenance, Served, Staleness,
    live::{self, Topic},
    stale::Stamped,
    wait,
    waiting::all_succeeded,
};
use crate::{
    clock::Clock,
    domain::{Customer, RawCustomer},
    shared::Shared,
    upstream::UpstreamError,
};

/// Customers asked for by id: those that exist, and, when the upstream failed, the ids it
/// left unknown with its error. An id neither found nor unknown does not exist.
#[derive(Debug, Default)]
pub(crate) struct ByIds {
    found: CustomerMap,
    unknown: Option<(Vec<String>, Arc<UpstreamError>)>,
}

impl ByIds {
    /// The customer with this id, `None` when there is none, or the failure that left it
    /// unknown: one failed id never fails the others, cached ones included.
    pub(crate) fn get(&self, id: &str) -> Result<Option<Arc<Customer>>, Arc<UpstreamError>> {
        if let Some(customer) = self.found.get(id) {
            return Ok(Some(Arc::clone(customer)));
        }
        match &self.unknown {
            Some((ids, error)) if ids.iter().any(|unknown| unknown == id) => Err(Arc::clone(error)),
            _ => Ok(None),
        }
    }
}

impl CustomerStore {
    /// The customers among `ids`, waiting for the upstream until `deadline` at most.
    pub(crate) async fn customers(&self, ids: &[String], deadline: Instant) -> Served<ByIds> {
        if let Some(Served { value, provenance }) = self.cached_snapshot(deadline).await {
            live::read(|| Topic::Snapshot);
            let found = ids
                .iter()
                .filter_map(|id| Some((id.clone(), Arc::clone(value.customer(id)?))))
                .collect();
            return Served {
                value: ByIds {
                    found,
                    unknown: None,
                },
                provenance,
            };
        }
        for id in ids {
            live::read(|| Topic::Customer(id.as_str().into()));
        }
        let (mut found, missing, oldest) = self.cached_customers(ids, deadline).await;
        let mut unknown = None;
        if !missing.is_empty()
            && let Err(error) = self.fetch_missing(&missing, deadline, &mut found).await
        {
            unknown = Some((missing, error));
        }
        Served {
            value: ByIds { found, unknown },
            provenance: Provenance::elsewhere(oldest),
        }
    }

    /// The customers among `ids` in the customer cache, the ids it does not hold, and the
    /// oldest stale entry used; stale entries are refreshed in the background (for a live
    /// answer's refreshing evaluation, waited for until `deadline`, then looked up again).
    async fn cached_customers(
        &self,
        ids: &[String],
        deadline: Instant,
    ) -> (CustomerMap, Vec<String>, Option<Staleness>) {
        let (found, missing, oldest, stale_ids) = self.look_up_customers(ids).await;
        if stale_ids.is_empty() {
            return (found, missing, oldest);
        }
        let (flights, _) = self.customer_flights.join_or_start(
            &stale_ids,
            |_| false,
            |ids| self.traced_fetch(ids),
        );
        if !live::refreshing() {
            return (found, missing, oldest);
        }
        if !all_succeeded(flights, deadline, self.upstream.deadline()).await {
            return (found, missing, oldest);
        }
        let (found, missing, oldest, _) = self.look_up_customers(ids).await;
        (found, missing, oldest)
    }

    /// The customer cache's entries for `ids`: those found, the ids it does not hold, the
    /// oldest stale entry used, and the stale ids due for a refresh.
    async fn look_up_customers(
        &self,
        ids: &[String],
    ) -> (CustomerMap, Vec<String>, Option<Staleness>, Vec<String>) {
        let mut found = CustomerMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        let mut stale_ids = Vec::new();
        let mut oldest: Option<Staleness> = None;
        for id in ids {
            let Some(entry) = self.kept_customer(id).await else {
                self.metrics.cache_lookup("customer", false);
                missing.push(id.clone());
                continue;
            };
            self.metrics.cache_lookup("customer", true);
            let now = self.clock.now();
            if let Some(staleness) = entry.staleness(self.ttl, now) {
                self.metrics.stale_served("customer", staleness.reason());
                if entry.refresh_due(now) {
                    stale_ids.push(id.clone());
                }
                oldest = Some(staleness.older(oldest));
            }
            if let Some(customer) = entry.value {
                found.insert(id.clone(), customer);
            }
        }
        (found, missing, oldest, stale_ids)
    }

    /// Fetches the `missing` ids (joining fetches already under way) into `found`, waiting
    /// until `deadline` at most.
    async fn fetch_missing(
        &self,
        missing: &[String],
        deadline: Instant,
        found: &mut CustomerMap,
    ) -> Result<(), Arc<UpstreamError>> {
        let (flights, joined) = self.customer_flights.join_or_start(
            missing,
            |id| self.customers.contains_key(id),
            |ids| self.traced_fetch(ids),
        );
        if joined > 0 {
            self.metrics.flight_join("customer");
        }
        let budget = self.upstream.deadline();
        let fetched = future::try_join_all(
            flights
                .into_iter()
                .map(|flight| wait(flight, deadline, budget)),
        )
        .await?;
        let mut settled = Vec::new();
        for id in missing {
            match fetched.iter().find_map(|batch| batch.get(id)) {
                Some(customer) => {
                    found.insert(id.clone(), Arc::clone(customer));
                }
                None => settled.push(id),
            }
        }
        // Ids no fetch here returned were either absent upstream or filled by a fetch that
        // completed just before ours started: the cache has the answer.
        for id in settled {
            if let Some(Some(customer)) = self.customers.get(id).await.map(|entry| entry.value) {
                found.insert(id.clone(), customer);
            }
        }
        Ok(())
    }

    /// [`CustomerStore::fetch_by_id`] under its own span.
    fn traced_fetch(
        &self,
        ids: Vec<String>,
    ) -> impl Future<Output = Result<Arc<CustomerMap>, Arc<UpstreamError>>> + Send + 'static {
        let span = super::fetch_span(ids.len());
        self.fetch_by_id(ids).instrument(span)
    }

    /// Reads these customers and caches each answer, "no such customer" included; with a
    /// shared Redis, fresh answers another replica stored are taken from it, and what the
    /// upstream answered is stored there.
    fn fetch_by_id(
        &self,
        ids: Vec<String>,
    ) -> impl Future<Output = Result<Arc<CustomerMap>, Arc<UpstreamError>>> + Send + 'static {
        let upstream = Arc::clone(&self.upstream);
        let shared = self.shared.clone();
        let cache = self.customers.clone();
        let clock = self.clock.clone();
        let metrics = Arc::clone(&self.metrics);
        let (ttl, kept) = (self.ttl, self.kept);
        async move {
            let mut stale = Vec::new();
            for id in &ids {
                if let Some(entry) = cache.get(id).await {
                    stale.push(entry);
                }
            }
            let refreshed = !stale.is_empty();
            let (known, to_read) = match &shared {
                Some(shared) => stored_customers(shared, ids, ttl, &clock).await,
                None => (Vec::new(), ids),
            };
            let result = if to_read.is_empty() {
                Ok(Vec::new())
            } else {
                upstream.customers_by_id(&to_read).await
            };
            let wire = match result {
                Ok(wire) => wire,
                Err(error) => {
                    if refreshed {
                        metrics.refresh("customer", error.code());
                    }
                    for entry in stale {
                        entry.mark_failed(error.code(), clock.now());
                    }
                    return Err(Arc::new(error));
                }
            };
            if let Some(shared) = &shared {
                share_customers(shared, &to_read, &wire, clock.unix_millis(), kept).await;
            }
            let mut fetched: CustomerMap = wire
                .into_iter()
                .map(|customer| {
                    let customer = Customer::from_wire(customer);
                    (customer.id.to_string(), Arc::new(customer))
                })
                .collect();
            let now = clock.now();
            let mut found = CustomerMap::with_capacity(to_read.len() + known.len());
            let answers = to_read
                .into_iter()
                .map(|id| {
                    let customer = fetched.remove(&id);
                    (id, customer, Duration::ZERO)
                })
                .chain(known);
            for (id, customer, age) in answers {
                if let Some(customer) = &customer {
                    found.insert(id.clone(), Arc::clone(customer));
                }
                cache.insert(id, Stamped::aged(customer, now, age)).await;
            }
            if refreshed {
                metrics.refresh("customer", "OK");
            }
            Ok(Arc::new(found))
        }
    }
}

/// An id's answer taken from Redis: the customer (or none) and how old it is.
type Known = (String, Option<Arc<Customer>>, Duration);

/// The answers among `ids` that Redis holds fresh, and the ids left to read.
async fn stored_customers(
    shared: &Shared,
    ids: Vec<String>,
    ttl: Duration,
    clock: &Clock,
) -> (Vec<Known>, Vec<String>) {
    let Ok(stored) = shared.read_customers(&ids).await else {
        shared.fell_back("redis_error");
        return (Vec::new(), ids);
    };
    let mut known = Vec::new();
    let mut rest = Vec::new();
    for (id, stored) in ids.into_iter().zip(stored) {
        let fresh = stored
            .map(|stored| (clock.since_unix_millis(stored.fetched_ms), stored))
            .filter(|(age, _)| *age < ttl);
        match fresh {
            Some((age, stored)) => {
                let customer = stored
                    .customer
                    .map(|wire| Arc::new(Customer::from_wire(wire)));
                known.push((id, customer, age));
            }
            None => rest.push(id),
        }
    }
    (known, rest)
}

/// Stores what the upstream answered for `ids` (absent ones as "no such customer").
async fn share_customers(
    shared: &Shared,
    ids: &[String],
    wire: &[RawCustomer],
    fetched_ms: u64,
    keep_for: Duration,
) {
    let by_id: HashMap<&str, &RawCustomer> = wire
        .iter()
        .map(|customer| (&*customer.customer_id, customer))
        .collect();
    let answers: Vec<(&str, Option<&RawCustomer>)> = ids
        .iter()
        .map(|id| (id.as_str(), by_id.get(id.as_str()).copied()))
        .collect();
    if shared
        .write_customers(&answers, fetched_ms, keep_for)
        .await
        .is_err()
    {
        shared.fell_back("store_failed");
    }
}
