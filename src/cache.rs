//! The customer store: moka caches in front of the upstream client.
//!
//! Two caches, both fresh for `GATEWAY_CACHE_TTL_SECS` from the moment they were filled:
//!
//! * the **snapshot**, every customer at once, under a single key. `customers`, `products`
//!   and (while it is fresh) every single-customer lookup are answered from it.
//! * **single customers** by id, including "no such customer" (an answer, not an error),
//!   filled by `customerIds` requests when no fresh snapshot is cached.
//!
//! Single-flight: concurrent misses of one key share one fetch (moka's `try_get_with`), so a
//! stampede of identical queries on a cold cache costs the upstream one read. For a batch of
//! ids, one lazily started `customerIds` fetch backs every id of the batch that nobody else is
//! already fetching; ids already in flight join that other fetch instead, and when all of
//! them are, no request is sent at all.
//!
//! Errors are never cached: the next caller tries the upstream again.

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::{FutureExt, future};
use moka::future::Cache;

use crate::{
    domain::{Customer, Snapshot},
    metrics::Metrics,
    upstream::{UpstreamClient, UpstreamError},
};

/// Customers by id, as the loader and resolvers want them.
pub type CustomerMap = HashMap<String, Arc<Customer>>;

/// Most single customers kept at once; the snapshot is not counted here.
const MAX_CACHED_CUSTOMERS: u64 = 100_000;

/// Cached reads of the upstream; shared by every request of the gateway.
#[derive(Debug)]
pub struct CustomerStore {
    upstream: Arc<UpstreamClient>,
    snapshot: Cache<(), Arc<Snapshot>>,
    customers: Cache<String, Option<Arc<Customer>>>,
    metrics: Arc<Metrics>,
}

impl CustomerStore {
    /// A store whose entries stay fresh for `ttl`.
    pub fn new(upstream: Arc<UpstreamClient>, ttl: Duration, metrics: Arc<Metrics>) -> Self {
        Self {
            upstream,
            snapshot: Cache::builder().max_capacity(1).time_to_live(ttl).build(),
            customers: Cache::builder()
                .max_capacity(MAX_CACHED_CUSTOMERS)
                .time_to_live(ttl)
                .build(),
            metrics,
        }
    }

    /// Every customer, from the cache when fresh, otherwise read once for all waiters.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, Arc<UpstreamError>> {
        if let Some(snapshot) = self.snapshot.get(&()).await {
            self.metrics.cache_lookup("snapshot", true);
            return Ok(snapshot);
        }
        self.metrics.cache_lookup("snapshot", false);
        self.snapshot
            .try_get_with((), async {
                let wire = self.upstream.all_customers().await?;
                let customers = wire.into_iter().map(Customer::from_wire).collect();
                Ok(Arc::new(Snapshot::new(customers)))
            })
            .await
    }

    /// The customers among `ids` that exist; an unknown id is simply absent from the map.
    pub async fn customers(&self, ids: &[String]) -> Result<CustomerMap, Arc<UpstreamError>> {
        if let Some(snapshot) = self.snapshot.get(&()).await {
            self.metrics.cache_lookup("snapshot", true);
            return Ok(ids
                .iter()
                .filter_map(|id| Some((id.clone(), Arc::clone(snapshot.customer(id)?))))
                .collect());
        }
        let mut found = CustomerMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.customers.get(id).await {
                Some(cached) => {
                    self.metrics.cache_lookup("customer", true);
                    if let Some(customer) = cached {
                        found.insert(id.clone(), customer);
                    }
                }
                None => {
                    self.metrics.cache_lookup("customer", false);
                    missing.push(id.clone());
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let batch = self.fetch_by_id(missing.clone()).shared();
        let lookups = missing.iter().map(|id| {
            let batch = batch.clone();
            self.customers.try_get_with_by_ref(id, async move {
                batch.await.map(|fetched| fetched.get(id).cloned())
            })
        });
        for (id, result) in missing.iter().zip(future::join_all(lookups).await) {
            if let Some(customer) = result.map_err(|error| Arc::clone(&*error))? {
                found.insert(id.clone(), customer);
            }
        }
        Ok(found)
    }

    async fn fetch_by_id(&self, ids: Vec<String>) -> Result<Arc<CustomerMap>, Arc<UpstreamError>> {
        let wire = self.upstream.customers_by_id(&ids).await?;
        Ok(Arc::new(
            wire.into_iter()
                .map(|customer| {
                    let customer = Customer::from_wire(customer);
                    (customer.id.to_string(), Arc::new(customer))
                })
                .collect(),
        ))
    }
}
