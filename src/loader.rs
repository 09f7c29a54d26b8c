//! The customer DataLoader: every customer a query touches, in one batch.
//!
//! `customer(id)`, aliased lookups and `Product.customer` all call [`CustomerLoader`]; the
//! DataLoader (built per request, so no caller ever sees another's batch) gathers the ids of one
//! execution tick and hands them here at once. The store then answers from a fresh snapshot
//! with no upstream call, or sends one `customerIds` round for the ids it lacks (chunked by 100,
//! chunks in parallel): never one call per id or per product.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;

use crate::{cache::CustomerStore, domain::Customer, upstream::UpstreamError};

/// Loads customers by id through the shared [`CustomerStore`].
#[derive(Debug, Clone)]
pub struct CustomerLoader {
    store: Arc<CustomerStore>,
}

impl CustomerLoader {
    /// A loader over `store`; wrap it in a `DataLoader` per request.
    pub fn new(store: Arc<CustomerStore>) -> Self {
        Self { store }
    }
}

impl Loader<String> for CustomerLoader {
    type Value = Arc<Customer>;
    type Error = Arc<UpstreamError>;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, Arc<Customer>>, Self::Error> {
        self.store.customers(ids).await
    }
}
