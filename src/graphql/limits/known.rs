//! What the upstream estimate knows of the data: the cached listing, the caller's access and
//! the store's caches ([`fanout::Known`](super::fanout::Known)).

use std::sync::Arc;

use super::fanout::{Known, Site};
use crate::graphql::connection::PageArgs;
use crate::{
    auth::CustomerAccess, cache::CustomerStore, domain::Snapshot, graphql::page::page_ids,
};

/// The store, the caller and the listing (when one is cached).
pub(super) struct Store<'a> {
    store: &'a CustomerStore,
    access: &'a CustomerAccess,
    snapshot: Option<&'a Snapshot>,
    /// Nothing counts as cached (a live answer reads everything again each TTL).
    cold: bool,
}

impl<'a> Store<'a> {
    /// What `store` holds for the caller of `access`, over `snapshot`; `cold` counts nothing as
    /// cached.
    pub(super) fn new(
        store: &'a CustomerStore,
        access: &'a CustomerAccess,
        snapshot: Option<&'a Snapshot>,
    ) -> Self {
        Self {
            store,
            access,
            snapshot,
            cold: false,
        }
    }

    /// The same, counting nothing as cached when `cold`.
    pub(super) fn cold(self, cold: bool) -> Self {
        Self { cold, ..self }
    }
}

impl Known for Store<'_> {
    fn page(&self, args: &PageArgs) -> Option<Vec<Arc<str>>> {
        let listing = (!self.cold)
            .then(|| self.store.fresh_details_listing())
            .flatten();
        page_ids(self.snapshot?, listing, self.access, args)
    }

    fn visible(&self) -> Option<Vec<Arc<str>>> {
        let snapshot = self.snapshot?;
        Some(
            snapshot
                .customers()
                .iter()
                .filter(|customer| self.access.allows(&customer.id))
                .map(|customer| Arc::clone(&customer.id))
                .collect(),
        )
    }

    fn allows(&self, id: &str) -> bool {
        self.access.allows(id)
    }

    fn details_listing(&self) -> u64 {
        let customers = self.snapshot.map(|snapshot| snapshot.customers().len());
        self.store.details_listing_requests(customers, self.cold)
    }

    fn fresh(&self, id: &str, site: Site) -> bool {
        if self.cold {
            return false;
        }
        match site {
            Site::Details => self.store.details_are_fresh(id),
            Site::Read(read) => self.store.read_is_fresh(id, read),
        }
    }
}
