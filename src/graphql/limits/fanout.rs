//! Pricing in upstream requests: which per-customer reads a query selects, for which
//! customers, and how many requests they cost given what the cache holds.
//!
//! The walk notes each read a `Customer` selection asks for (its [`Site`]) and where the
//! customers come from ([`Customers`]): a `customers` page, ids (`customer`, `node`, `nodes`),
//! or any customer the caller may see (through `Product.customer`). [`estimate`] then counts,
//! per site, the customers whose read is not fresh in the cache: one request each (the
//! per-customer endpoints; a read of one page is expected), or one per 100 for the details,
//! which `customerIds` batches read. A customer is counted once per site however often the
//! query names it, since one query never reads the same thing twice. With less in the cache
//! the estimate can only grow, so a query refused warm is never answered cold.

use std::{collections::HashSet, sync::Arc};

use crate::{cache::Read, graphql::connection::PageArgs, upstream::MAX_IDS_PER_REQUEST};

/// A read a `Customer` selection causes for each customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Site {
    /// The customer's details (`customers/batch`, in batches of ids).
    Details,
    /// A per-customer read (jobs, seats, coverage).
    Read(Read),
}

/// Which customers a selection's reads are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Customers {
    /// The customers of a `customers` page.
    Page(PageArgs),
    /// These ids (`customer(id:)`, `node`, `nodes`).
    Ids(Vec<String>),
    /// Any customer the caller may see (`Product.customer`).
    Any,
}

/// The per-customer reads of a selection.
#[derive(Debug, Clone, Default)]
pub(super) struct FanOut {
    /// Reads asked of the customer objects at this level, not yet tied to customers.
    pub(super) open: Vec<Site>,
    /// Reads asked of each customer of an enclosing `customers` page.
    pub(super) page: Vec<Site>,
    /// Reads tied to their customers.
    pub(super) reads: Vec<(Customers, Vec<Site>)>,
}

/// Adds the sites of `more` not in `sites`.
fn union(sites: &mut Vec<Site>, more: &[Site]) {
    for site in more {
        if !sites.contains(site) {
            sites.push(*site);
        }
    }
}

impl FanOut {
    /// Merges the reads of a sibling selection.
    pub(super) fn add(&mut self, other: &Self) {
        union(&mut self.open, &other.open);
        union(&mut self.page, &other.page);
        self.reads.extend(other.reads.iter().cloned());
    }

    /// The selection of a page's items (`edges`, `nodes`): its customers' reads are the page's.
    pub(super) fn items(&mut self, sub: &Self) {
        union(&mut self.page, &sub.open);
        union(&mut self.page, &sub.page);
        self.reads.extend(sub.reads.iter().cloned());
    }

    /// A field whose customers are `customers`: the reads of its selection are theirs.
    pub(super) fn tie(&mut self, sub: &Self, customers: Customers, own: &[Site]) {
        let mut sites = own.to_vec();
        union(&mut sites, &sub.open);
        union(&mut sites, &sub.page);
        let filtered = matches!(&customers, Customers::Page(args) if args.filter.is_some());
        if !sites.is_empty() || filtered {
            self.reads.push((customers, sites));
        }
        self.reads.extend(sub.reads.iter().cloned());
    }
}

/// What the estimate needs to know of the data: the listing (when cached), the caller's
/// access, and the cache.
pub(crate) trait Known {
    /// The ids of the customers a page lists, when the listing is cached (and the arguments
    /// are good; a bad cursor fails the field without a read).
    fn page(&self, args: &PageArgs) -> Option<Vec<Arc<str>>>;
    /// Every customer the caller may see, when the listing is cached.
    fn visible(&self) -> Option<Vec<Arc<str>>>;
    /// Whether the caller may see customer `id`.
    fn allows(&self, id: &str) -> bool;
    /// Whether `site`'s read of customer `id` is fresh in the cache.
    fn fresh(&self, id: &str, site: Site) -> bool;
    /// The requests reading every customer's details (for `customers(filter:)`) would make.
    fn details_listing(&self) -> u64;
}

/// The upstream requests `reads` are expected to make.
pub(crate) fn estimate(reads: &[(Customers, Vec<Site>)], known: &impl Known) -> u64 {
    let mut sites: Vec<Site> = Vec::new();
    for (_, more) in reads {
        union(&mut sites, more);
    }
    let mut visible = None;
    let filtered = reads
        .iter()
        .any(|(customers, _)| matches!(customers, Customers::Page(args) if args.filter.is_some()));
    let mut total = if filtered { known.details_listing() } else { 0 };
    for site in sites {
        let mut stale: HashSet<Arc<str>> = HashSet::new();
        let mut unknown = 0u64;
        let mut note = |id: Arc<str>| {
            if known.allows(&id) && !known.fresh(&id, site) {
                stale.insert(id);
            }
        };
        for (customers, _) in reads.iter().filter(|(_, more)| more.contains(&site)) {
            match customers {
                Customers::Ids(ids) => ids.iter().for_each(|id| note(Arc::from(id.as_str()))),
                Customers::Page(args) => match known.page(args) {
                    Some(ids) => ids.into_iter().for_each(&mut note),
                    None => unknown = unknown.saturating_add(args.size()),
                },
                Customers::Any => {
                    let all = visible.get_or_insert_with(|| known.visible());
                    if let Some(all) = all {
                        all.iter().cloned().for_each(&mut note);
                    }
                }
            }
        }
        let customers = (stale.len() as u64).saturating_add(unknown);
        total = total.saturating_add(match site {
            Site::Details => customers.div_ceil(MAX_IDS_PER_REQUEST as u64),
            Site::Read(_) => customers,
        });
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::JobFilter;

    /// Ten customers listed, a caller allowed all but `c9`, and `c0`'s jobs cached.
    struct Data {
        listed: bool,
    }

    const JOBS: Site = Site::Read(Read::Jobs(JobFilter {
        job_type: None,
        job_module: None,
    }));

    impl Known for Data {
        fn page(&self, args: &PageArgs) -> Option<Vec<Arc<str>>> {
            let size = args.size() as usize;
            self.listed.then(|| {
                (0..size.min(10))
                    .map(|n| Arc::from(format!("c{n}")))
                    .collect()
            })
        }
        fn visible(&self) -> Option<Vec<Arc<str>>> {
            self.listed
                .then(|| (0..9).map(|n| Arc::from(format!("c{n}"))).collect())
        }
        fn allows(&self, id: &str) -> bool {
            id != "c9"
        }
        fn fresh(&self, id: &str, site: Site) -> bool {
            id == "c0" && site == JOBS
        }
        fn details_listing(&self) -> u64 {
            3
        }
    }

    fn page(first: u64) -> Customers {
        Customers::Page(PageArgs {
            first: Some(first),
            ..PageArgs::default()
        })
    }

    #[test]
    fn a_page_counts_first_until_the_listing_is_known_then_what_is_not_cached() {
        let reads = [(page(50), vec![JOBS, Site::Read(Read::Coverage)])];
        assert_eq!(estimate(&reads, &Data { listed: false }), 100);
        // Ten listed, `c9` not the caller's, `c0`'s jobs cached: 8 jobs reads, 9 coverage.
        assert_eq!(estimate(&reads, &Data { listed: true }), 17);
    }

    #[test]
    fn a_customer_is_counted_once_per_read_and_details_by_the_hundred() {
        let ids = |ids: &[&str]| Customers::Ids(ids.iter().map(|id| id.to_string()).collect());
        let reads = [
            (ids(&["c1", "c2", "c9"]), vec![JOBS, Site::Details]),
            (page(3), vec![JOBS]),
        ];
        // Jobs: c1, c2 (c9 refused; c0 cached); details: one batch.
        assert_eq!(estimate(&reads, &Data { listed: true }), 2 + 1);
    }

    #[test]
    fn a_filtered_page_counts_the_details_listing_once() {
        let filtered = Customers::Page(PageArgs {
            first: Some(5),
            filter: Some(Default::default()),
            ..PageArgs::default()
        });
        let reads = [(filtered.clone(), vec![]), (filtered, vec![])];
        assert_eq!(estimate(&reads, &Data { listed: true }), 3);
    }

    #[test]
    fn any_customer_counts_every_visible_one_not_cached() {
        let reads = [(Customers::Any, vec![JOBS])];
        assert_eq!(estimate(&reads, &Data { listed: true }), 8);
    }
}
