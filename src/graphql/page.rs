//! One `customers` page: the arguments asked for ([`PageWanted`]), the page read from the
//! listing (or from its first pages while a read is under way) for the caller, after `search`
//! and `filter`, and the ids of a page for pricing ([`page_ids`]).

use std::sync::Arc;

use super::{
    RequestScope,
    connection::{CustomerConnection, PageArgs, check_size, decode_cursor},
    error::QueryError,
};
use crate::{
    auth::CustomerAccess,
    cache::{CustomerStore, DetailsIndex, Listing, Provenance},
    domain::{Customer, Snapshot, partner::CustomerFilter},
};

/// The arguments of one `customers` field, and which parts of its answer are selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PageWanted {
    /// `first`, its default applied unless `last` is given.
    pub first: Option<i32>,
    /// `after`, still encoded.
    pub after: Option<String>,
    /// `last`, when paging backwards.
    pub last: Option<i32>,
    /// `before`, still encoded.
    pub before: Option<String>,
    /// `search`, as given.
    pub search: Option<String>,
    /// `filter`, when given.
    pub filter: Option<CustomerFilter>,
    /// `totalCount` is selected: every customer must be counted.
    pub total: bool,
    /// `pageInfo.hasNextPage` is selected: one customer past the page must be read.
    pub next: bool,
}

/// One `customers` page for `access`, noting in `scope` what it was read from. Both executors
/// answer the field with this.
pub(super) async fn customers_page(
    store: &CustomerStore,
    access: &CustomerAccess,
    scope: &RequestScope,
    wanted: PageWanted,
) -> Result<CustomerConnection, QueryError> {
    if let Some(first) = wanted.first {
        check_size("first", first)?;
    }
    if let Some(last) = wanted.last {
        check_size("last", last)?;
    }
    let start = match wanted.after.as_deref() {
        Some(cursor) => decode_cursor(cursor)?.saturating_add(1),
        None => 0,
    };
    let before = wanted.before.as_deref().map(decode_cursor).transpose()?;
    let details = match &wanted.filter {
        Some(filter) => {
            let served = store.details_listing(scope.deadline).await?;
            scope.reads.note(served.provenance);
            Some((filter.clone(), served.value))
        }
        None => None,
    };
    let page = CustomerPage {
        start,
        before,
        first: wanted.first.map(|first| first as usize),
        last: wanted.last.map(|last| last as usize),
        search: wanted.search.map(|text| text.to_lowercase()),
        details,
        access,
        needs_total: wanted.total,
        needs_next: wanted.next,
    };
    let listing = store
        .listing(scope.deadline, |read| page.page_of_prefix(read))
        .await?;
    match listing {
        Listing::Whole(served) => {
            scope.reads.note(served.provenance);
            Ok(page.page_of_all(&served.value))
        }
        Listing::Early(connection) => {
            // Not from a whole snapshot: the answer is not reused.
            scope.reads.note(Provenance::elsewhere(None));
            Ok(connection)
        }
    }
}

/// The ids of the customers the page `args` gives `access` in `snapshot`, for pricing: none
/// for arguments the field refuses (it then reads nothing); unknown (`None`) for a filter
/// without the details it needs.
pub(super) fn page_ids(
    snapshot: &Snapshot,
    details: Option<Arc<DetailsIndex>>,
    access: &CustomerAccess,
    args: &PageArgs,
) -> Option<Vec<Arc<str>>> {
    let details = match &args.filter {
        Some(filter) => Some((filter.clone(), details?)),
        None => None,
    };
    let position = |cursor: &Option<String>| cursor.as_deref().map(decode_cursor).transpose();
    let (Ok(after), Ok(before)) = (position(&args.after), position(&args.before)) else {
        return Some(Vec::new());
    };
    let page = CustomerPage {
        start: after.map_or(0, |after| after.saturating_add(1)),
        before,
        first: args.first.map(|first| first as usize),
        last: args.last.map(|last| last as usize),
        search: args.search.as_ref().map(|text| text.to_lowercase()),
        details,
        access,
        needs_total: false,
        needs_next: false,
    };
    let connection = page.page_of_all(snapshot);
    Some(
        connection
            .page
            .iter()
            .map(|customer| Arc::clone(&customer.id))
            .collect(),
    )
}

/// One `customers` page asked for, and which parts of the answer were selected.
struct CustomerPage<'a> {
    /// The position after `after`.
    start: usize,
    /// The position of `before`.
    before: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
    /// `search`, lower-cased.
    search: Option<String>,
    /// `filter`, and every customer's details to apply it to.
    details: Option<(CustomerFilter, Arc<DetailsIndex>)>,
    access: &'a CustomerAccess,
    /// `totalCount` needs every customer.
    needs_total: bool,
    /// `pageInfo.hasNextPage` needs one customer past the page.
    needs_next: bool,
}

impl CustomerPage<'_> {
    /// The customers of `listed` that `search` and `filter` keep.
    fn searched<'c>(
        &self,
        listed: impl Iterator<Item = &'c Arc<Customer>>,
    ) -> impl Iterator<Item = &'c Arc<Customer>> {
        listed.filter(|customer| {
            let searched = self
                .search
                .as_deref()
                .is_none_or(|needle| customer.matches_search(needle));
            searched
                && self.details.as_ref().is_none_or(|(filter, details)| {
                    filter.matches(details.get(&customer.id).map(|found| &**found))
                })
        })
    }

    /// The customers of `customers` that the caller may see and `search` keeps.
    fn matching<'c>(
        &self,
        customers: &'c [Arc<Customer>],
    ) -> impl Iterator<Item = &'c Arc<Customer>> {
        self.searched(
            customers
                .iter()
                .filter(|customer| self.access.allows(&customer.id)),
        )
    }

    /// The page from the whole listing. A caller allowed a few customers has them looked up
    /// by id (in listing order) instead of every customer tested against its set; only a
    /// selected `totalCount` makes every match counted.
    fn page_of_all(&self, snapshot: &Snapshot) -> CustomerConnection {
        let customers = snapshot.customers();
        match self.access {
            CustomerAccess::Only(ids) if ids.len() < customers.len() / 8 => {
                let positions = ids.positions_in(snapshot);
                let listed = positions.iter().filter_map(|&at| customers.get(at));
                self.page_from(self.searched(listed))
            }
            _ => self.page_from(self.matching(customers)),
        }
    }

    /// The page from `matching`, the customers that match, in listing order.
    fn page_from<'c>(
        &self,
        matching: impl Iterator<Item = &'c Arc<Customer>>,
    ) -> CustomerConnection {
        // Without the total, one customer past the page tells whether another page follows.
        let matching: Vec<_> = matching.take(self.wanted(true)).collect();
        self.connection(&matching, matching.len())
    }

    /// The page from the first customers of the listing, when they already hold all of it.
    fn page_of_prefix(&self, read: &[Arc<Customer>]) -> Option<CustomerConnection> {
        let wanted = self.wanted(self.needs_next);
        // An empty page is left to the whole read, so that it too reports an upstream failure.
        if wanted == usize::MAX || wanted == 0 {
            return None;
        }
        let matching: Vec<_> = self.matching(read).take(wanted).collect();
        // The total is not selected: the customers counted so far stand in for it.
        (matching.len() == wanted).then(|| self.connection(&matching, matching.len()))
    }

    /// How many matching customers the page needs read: up to its end, and one more with
    /// `past_end` (which tells whether another page follows); all of them for `totalCount`,
    /// or for `last` with no `before` (the page ends where the listing does).
    fn wanted(&self, past_end: bool) -> usize {
        if self.needs_total {
            return usize::MAX;
        }
        let end = match (self.first, self.before) {
            (Some(first), before) => self
                .start
                .saturating_add(first)
                .min(before.unwrap_or(usize::MAX)),
            (None, Some(before)) => before,
            (None, None) => return usize::MAX,
        };
        end.saturating_add(usize::from(past_end))
    }

    /// The page's positions among `total` matching customers: after `after`, before
    /// `before`, then the first `first` or the last `last` of those.
    fn bounds(&self, total: usize) -> (usize, usize) {
        let end = self.before.map_or(total, |before| before.min(total));
        let start = self.start.min(end);
        match (self.first, self.last) {
            (Some(first), _) => (start, start.saturating_add(first).min(end)),
            (None, Some(last)) => (end.saturating_sub(last).max(start), end),
            (None, None) => (start, end),
        }
    }

    /// The connection over `matching` (at least up to one past the page), `total` long.
    fn connection(&self, matching: &[&Arc<Customer>], total: usize) -> CustomerConnection {
        let (start, end) = self.bounds(total);
        let page = matching.get(start..end).unwrap_or_default();
        CustomerConnection {
            total_count: i32::try_from(total).unwrap_or(i32::MAX),
            start,
            has_next_page: end < total,
            page: page.iter().map(|customer| Arc::clone(customer)).collect(),
        }
    }
}
