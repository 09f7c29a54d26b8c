//! Every customer at one moment, indexed once so each query is a lookup or a range scan.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

/// Source of snapshot generations: each snapshot built in this process gets the next one.
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

use super::{Customer, ProductFilter, model::expiry_order};

/// A product named by its owner and its position there, so answers share the snapshot
/// instead of copying products.
#[derive(Debug, Clone)]
pub struct ProductRef {
    /// The customer that owns the product.
    pub customer: Arc<Customer>,
    /// Position in [`Customer::products`].
    pub index: usize,
}

impl ProductRef {
    /// The product itself.
    pub fn product(&self) -> &super::Product {
        &self.customer.products[self.index]
    }
}

/// All customers in upstream order, with an id index and every product ordered by expiry.
#[derive(Debug, Default)]
pub struct Snapshot {
    customers: Vec<Arc<Customer>>,
    /// Hashed with foldhash, seeded per process: every restricted page and `customer(id)`
    /// looks ids up here, and SipHash was most of a lookup's cost.
    by_id: HashMap<Arc<str>, usize, foldhash::fast::RandomState>,
    /// (customer position, product position) for every product, in contract order.
    by_expiry: Vec<(u32, u32)>,
    /// How many entries of `by_expiry` have a date; they come first.
    dated: usize,
    /// The most products one customer has.
    most_products: usize,
    /// Tells this snapshot apart from every other built in the process (0: the empty default).
    generation: u64,
}

impl Snapshot {
    /// Which snapshot this is: answers built from it alone may be reused while it is current.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Indexes `customers` (already free of duplicate ids) in the order given.
    pub fn new(customers: Vec<Customer>) -> Self {
        Self::from_shared(customers.into_iter().map(Arc::new).collect())
    }

    /// Like [`Snapshot::new`], for customers already shared (those read page by page while
    /// early answers were given from them).
    pub fn from_shared(customers: Vec<Arc<Customer>>) -> Self {
        Self::with_generation(customers, GENERATIONS.fetch_add(1, Ordering::Relaxed))
    }

    /// Like [`Snapshot::from_shared`], with the generation given: replicas that build a
    /// snapshot from the same shared data give it the same one.
    pub fn with_generation(customers: Vec<Arc<Customer>>, generation: u64) -> Self {
        let by_id = customers
            .iter()
            .enumerate()
            .map(|(position, customer)| (Arc::clone(&customer.id), position))
            .collect();
        let mut by_expiry: Vec<(u32, u32)> = customers
            .iter()
            .enumerate()
            .flat_map(|(c, customer)| {
                (0..customer.products.len()).map(move |p| (c as u32, p as u32))
            })
            .collect();
        let expiry =
            |&(c, p): &(u32, u32)| customers[c as usize].products[p as usize].expiration_date;
        // Stable: equal dates keep upstream order (customer order, then product order).
        by_expiry.sort_by_key(|entry| expiry_order(expiry(entry)));
        let dated = by_expiry.partition_point(|entry| expiry(entry).is_some());
        let most_products = customers
            .iter()
            .map(|customer| customer.products.len())
            .max()
            .unwrap_or(0);
        Self {
            most_products,
            customers,
            by_id,
            by_expiry,
            dated,
            generation,
        }
    }

    /// Every customer, in upstream order.
    pub fn customers(&self) -> &[Arc<Customer>] {
        &self.customers
    }

    /// Where the customer with this id sits in the listing, if the snapshot has it.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The customer with this id, if the snapshot has it.
    pub fn customer(&self, id: &str) -> Option<&Arc<Customer>> {
        self.by_id
            .get(id)
            .map(|&position| &self.customers[position])
    }

    /// How many products the snapshot holds.
    pub fn product_count(&self) -> usize {
        self.by_expiry.len()
    }

    /// The most products one customer has.
    pub fn most_products(&self) -> usize {
        self.most_products
    }

    /// At most how many products [`Snapshot::products`] gives for `filter`, from the indices
    /// alone (no product is looked at), for costing a query before it runs.
    pub fn products_bound(&self, filter: &ProductFilter) -> usize {
        match filter.customer_id.as_deref() {
            Some(id) => self
                .customer(id)
                .map_or(0, |customer| customer.products.len()),
            None => self.expiry_range(filter).len(),
        }
    }

    /// Products across all customers that pass `filter`, in contract order.
    ///
    /// Expiry bounds become a binary-searched range of the dated products, so a narrow
    /// `expiringBefore` window costs its size, not the catalogue's.
    pub fn products(&self, filter: &ProductFilter) -> Vec<ProductRef> {
        if let Some(id) = filter.customer_id.as_deref() {
            return self.customer(id).map_or_else(Vec::new, |customer| {
                customer
                    .products_matching(filter)
                    .map(|index| ProductRef {
                        customer: Arc::clone(customer),
                        index,
                    })
                    .collect()
            });
        }
        let folded = filter.folded_service();
        self.expiry_range(filter)
            .iter()
            .filter_map(|&(c, p)| {
                let customer = &self.customers[c as usize];
                customer.products[p as usize]
                    .matches(filter, folded.as_deref())
                    .then(|| ProductRef {
                        customer: Arc::clone(customer),
                        index: p as usize,
                    })
            })
            .collect()
    }

    /// The entries of `by_expiry` within the filter's expiry bounds (all of them without any).
    fn expiry_range(&self, filter: &ProductFilter) -> &[(u32, u32)] {
        if filter.expiring_before.is_none() && filter.expiring_after.is_none() {
            return &self.by_expiry;
        }
        let expiry =
            |&(c, p): &(u32, u32)| self.customers[c as usize].products[p as usize].expiration_date;
        let dated = &self.by_expiry[..self.dated];
        let start = filter.expiring_after.map_or(0, |after| {
            dated.partition_point(|entry| expiry(entry) <= Some(after))
        });
        let end = filter.expiring_before.map_or(dated.len(), |before| {
            dated.partition_point(|entry| expiry(entry) < Some(before))
        });
        dated.get(start..end).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::normalize::date_time;

    fn snapshot() -> Snapshot {
        let wire: Vec<crate::domain::RawCustomer> = serde_json::from_str(
            r#"[{"customerId":"a","products":[
                    {"service":"A-late","expirationDate":"2027-01-01"},
                    {"service":"A-none","expirationDate":"N/A"},
                    {"service":"A-tie","expirationDate":"2026-01-01"}]},
                {"customerId":"b","products":[
                    {"service":"B-tie","expirationDate":"2026-01-01T00:00:00Z"},
                    {"service":"B-early","expirationDate":"2025-01-01"},
                    {"service":"B-none"}]}]"#,
        )
        .unwrap();
        Snapshot::new(wire.into_iter().map(Customer::from_wire).collect())
    }

    fn services(refs: &[ProductRef]) -> Vec<&str> {
        refs.iter().map(|r| r.product().service()).collect()
    }

    #[test]
    fn all_products_in_contract_order_across_customers() {
        let snapshot = snapshot();
        let all = snapshot.products(&ProductFilter::default());
        assert_eq!(
            services(&all),
            ["B-early", "A-tie", "B-tie", "A-late", "A-none", "B-none"]
        );
        assert_eq!(snapshot.product_count(), 6);
    }

    #[test]
    fn expiry_bounds_are_strict_and_skip_undated() {
        let snapshot = snapshot();
        let filter = ProductFilter {
            expiring_before: date_time(Some("2027-01-01")),
            expiring_after: date_time(Some("2025-01-01")),
            ..ProductFilter::default()
        };
        assert_eq!(services(&snapshot.products(&filter)), ["A-tie", "B-tie"]);
        let inverted = ProductFilter {
            expiring_before: date_time(Some("2025-01-01")),
            expiring_after: date_time(Some("2027-01-01")),
            ..ProductFilter::default()
        };
        assert!(snapshot.products(&inverted).is_empty());
        assert_eq!(snapshot.products_bound(&filter), 2);
        assert_eq!(snapshot.products_bound(&inverted), 0);
    }

    #[test]
    fn customer_filter_and_lookup() {
        let snapshot = snapshot();
        let filter = ProductFilter {
            customer_id: Some("b".into()),
            service: Some("tie".into()),
            ..ProductFilter::default()
        };
        assert_eq!(services(&snapshot.products(&filter)), ["B-tie"]);
        assert_eq!(snapshot.products_bound(&filter), 3, "every product of b");
        assert_eq!(snapshot.most_products(), 3);
        assert!(snapshot.customer("missing").is_none());
        assert_eq!(&*snapshot.customer("a").unwrap().id, "a");
    }
}
