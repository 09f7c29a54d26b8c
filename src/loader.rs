//! The customer DataLoader: every customer a query touches, in one batch.
//!
//! `customer(id)`, aliased lookups and `Product.customer` all call [`CustomerLoader`]; the
//! DataLoader (built per request, so no caller ever sees another's batch) gathers the ids of one
//! execution tick and hands them here at once. The store then answers from a fresh snapshot
//! with no upstream call, or sends one `customerIds` round for the ids it lacks (chunked by 100,
//! chunks in parallel): never one call per id or per product. When that round fails, only the
//! ids it was for fail; customers the cache held are still answered.

use std::{collections::HashMap, convert::Infallible, sync::Arc, time::Instant};

use async_graphql::dataloader::Loader;

use crate::{
    cache::{CustomerStore, ReadNotes},
    domain::Customer,
    upstream::UpstreamError,
};

/// Loads customers by id through the shared [`CustomerStore`], for one request.
#[derive(Debug, Clone)]
pub(crate) struct CustomerLoader {
    store: Arc<CustomerStore>,
    deadline: Instant,
    reads: Arc<ReadNotes>,
}

impl CustomerLoader {
    /// A loader over `store` that waits for the upstream until `deadline` and notes what each
    /// answer came from in `reads`; wrap it in a `DataLoader` per request.
    pub(crate) fn new(store: Arc<CustomerStore>, deadline: Instant, reads: Arc<ReadNotes>) -> Self {
        Self {
            store,
            deadline,
            reads,
        }
    }
}

/// What one id of a batch came to: its customer, or the upstream failure that left it
/// unknown (an id that does not exist is absent from the batch's map).
pub(crate) type Looked = Result<Arc<Customer>, Arc<UpstreamError>>;

impl Loader<String> for CustomerLoader {
    type Value = Looked;
    /// Each id fails on its own (see [`Looked`]): a batch as a whole never does.
    type Error = Infallible;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, Looked>, Self::Error> {
        self.store.metrics().loader_batch(ids.len());
        let served = self.store.customers(ids, self.deadline).await;
        self.reads.note(served.provenance);
        Ok(ids
            .iter()
            .filter_map(|id| {
                let looked = served.value.get(id).transpose()?;
                Some((id.clone(), looked))
            })
            .collect())
    }
}
