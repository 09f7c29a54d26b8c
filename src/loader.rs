//! The DataLoaders: every customer a query touches, and every customer's details, in one
//! batch each.
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
    cache::{CustomerStore, Provenance, ReadNotes},
    domain::{Customer, partner::CustomerDetails},
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

/// Loads customers' details (`customers/batch`) by id, for one request: every customer of a
/// page in one batch, and one `customerIds` read for those not cached.
#[derive(Debug, Clone)]
pub(crate) struct DetailsLoader {
    store: Arc<CustomerStore>,
    deadline: Instant,
    reads: Arc<ReadNotes>,
}

impl DetailsLoader {
    /// A loader over `store`, like [`CustomerLoader::new`].
    pub(crate) fn new(store: Arc<CustomerStore>, deadline: Instant, reads: Arc<ReadNotes>) -> Self {
        Self {
            store,
            deadline,
            reads,
        }
    }
}

/// One customer's details: `None` when `customers/batch` does not list it, or the upstream
/// failure that left them unknown.
pub(crate) type Details = Result<Option<Arc<CustomerDetails>>, Arc<UpstreamError>>;

impl Loader<String> for DetailsLoader {
    type Value = Details;
    /// A failed read fails each of its ids (see [`Details`]): a batch as a whole never does.
    type Error = Infallible;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, Details>, Self::Error> {
        // Details are not part of the snapshot: an answer that reads them is reused only
        // while they are fresh.
        Ok(match self.store.details(ids, self.deadline).await {
            Ok((found, provenance)) => {
                self.reads.note(provenance);
                found
                    .into_iter()
                    .map(|(id, details)| (id, Ok(details)))
                    .collect()
            }
            Err(error) => {
                self.reads.note(Provenance::elsewhere(None));
                ids.iter()
                    .map(|id| (id.clone(), Err(Arc::clone(&error))))
                    .collect()
            }
        })
    }
}
