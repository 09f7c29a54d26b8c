//! Customers and products, normalised from the wire form.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};

use super::{RawCustomer, RawProduct, ids::ProductKey, normalize};

/// A customer with its products in the contract's order (by expiry, undated last).
#[derive(Debug)]
pub struct Customer {
    /// The upstream `customerId`.
    pub id: Arc<str>,
    /// The organisation's name, `None` for "N/A", empty or missing.
    pub organization: Option<Box<str>>,
    /// The customer's e-mail address (upstream `customer`), normalised like `organization`.
    pub email: Option<Box<str>>,
    /// Products ordered by `expiration_date` ascending, undated last, ties in upstream order.
    pub products: Vec<Product>,
    /// Lower-cased organisation and e-mail, computed once so `search` does not allocate.
    search_text: Box<str>,
}

/// One subscription: the verbatim upstream record plus the values parsed from it.
#[derive(Debug)]
pub struct Product {
    /// What the product's global id is made of (see `ids.rs`).
    pub key: ProductKey,
    /// Id of the customer that owns the product.
    pub customer_id: Arc<str>,
    /// Parsed `expirationDate`, `None` when absent or unparseable.
    pub expiration_date: Option<DateTime<Utc>>,
    /// Parsed `contractEndDate`, `None` when absent or unparseable.
    pub contract_end_date: Option<DateTime<Utc>>,
    /// Everything the upstream sent, verbatim; text and Int fields are read from here.
    pub raw: RawProduct,
    /// Lower-cased service name, computed once for the `service` filter.
    service_folded: Box<str>,
}

/// The contract's `ProductFilter`: every set condition must hold.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// Keep products whose expiry is strictly before this instant.
    pub expiring_before: Option<DateTime<Utc>>,
    /// Keep products whose expiry is strictly after this instant.
    pub expiring_after: Option<DateTime<Utc>>,
    /// Keep products whose service contains this text, ignoring case.
    pub service: Option<String>,
    /// Keep products of this customer only.
    pub customer_id: Option<String>,
}

impl Customer {
    /// Normalises a customer as the upstream sent it.
    pub fn from_wire(wire: RawCustomer) -> Self {
        let id: Arc<str> = Arc::from(wire.customer_id);
        let organization = normalize::text(wire.organization.as_deref()).map(Box::from);
        let email = normalize::text(wire.customer.as_deref()).map(Box::from);
        let mut seen: HashMap<ProductKey, u32> = HashMap::new();
        let mut products: Vec<Product> = wire
            .products
            .into_iter()
            .map(|raw| {
                let first = ProductKey::first(&raw);
                let occurrence = seen.entry(first).or_default();
                let key = first.nth(*occurrence);
                *occurrence += 1;
                Product::new(Arc::clone(&id), key, raw)
            })
            .collect();
        // A stable sort keeps upstream order among equal dates, as the contract asks.
        products.sort_by_key(|product| expiry_order(product.expiration_date));
        let search_text = format!(
            "{}\n{}",
            organization.as_deref().unwrap_or_default(),
            email.as_deref().unwrap_or_default()
        )
        .to_lowercase()
        .into_boxed_str();
        Self {
            id,
            organization,
            email,
            products,
            search_text,
        }
    }

    /// Whether `search` (already lower-cased) occurs in the organisation or the e-mail.
    pub fn matches_search(&self, folded_search: &str) -> bool {
        self.search_text
            .split('\n')
            .any(|part| part.contains(folded_search))
    }

    /// Positions (in [`Customer::products`]) of the products that pass `filter`, in order.
    pub fn products_matching<'a>(
        &'a self,
        filter: &'a ProductFilter,
    ) -> impl Iterator<Item = usize> + 'a {
        let folded = filter.folded_service();
        self.products
            .iter()
            .enumerate()
            .filter(move |(_, product)| product.matches(filter, folded.as_deref()))
            .map(|(index, _)| index)
    }
}

impl ProductFilter {
    /// The `service` condition lower-cased, once per query rather than once per product.
    pub fn folded_service(&self) -> Option<String> {
        self.service.as_deref().map(str::to_lowercase)
    }
}

impl Product {
    fn new(customer_id: Arc<str>, key: ProductKey, raw: RawProduct) -> Self {
        let expiration_date = normalize::date_time(raw.expiration_date.as_deref());
        let contract_end_date = normalize::date_time(raw.contract_end_date.as_deref());
        let service_folded = normalize::text(raw.service.as_deref())
            .unwrap_or_default()
            .to_lowercase()
            .into_boxed_str();
        Self {
            key,
            customer_id,
            expiration_date,
            contract_end_date,
            raw,
            service_folded,
        }
    }

    /// The product's global id.
    pub fn id(&self) -> String {
        self.key.id(&self.customer_id)
    }

    /// The service name; the schema makes it non-null, so an absent one reads as `""`.
    pub fn service(&self) -> &str {
        normalize::text(self.raw.service.as_deref()).unwrap_or_default()
    }

    /// Whether the product passes `filter`; `folded_service` is the filter's service text,
    /// lower-cased once by the caller.
    pub fn matches(&self, filter: &ProductFilter, folded_service: Option<&str>) -> bool {
        let expiry_ok = match (filter.expiring_before, filter.expiring_after) {
            (None, None) => true,
            (before, after) => self.expiration_date.is_some_and(|expiry| {
                before.is_none_or(|limit| expiry < limit)
                    && after.is_none_or(|limit| expiry > limit)
            }),
        };
        expiry_ok
            && folded_service.is_none_or(|needle| self.service_folded.contains(needle))
            && filter
                .customer_id
                .as_deref()
                .is_none_or(|id| *self.customer_id == *id)
    }
}

/// Sort key for the contract's product order: dated products by date, then undated ones.
pub(crate) fn expiry_order(expiry: Option<DateTime<Utc>>) -> (bool, Option<DateTime<Utc>>) {
    (expiry.is_none(), expiry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(json: &str) -> Customer {
        Customer::from_wire(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn products_are_ordered_by_expiry_with_undated_last_and_ties_stable() {
        let customer = customer(
            r#"{"customerId":"c","products":[
                {"service":"undated-1","expirationDate":"N/A"},
                {"service":"late","expirationDate":"2027-01-01"},
                {"service":"tie-1","expirationDate":"2026/01/01"},
                {"service":"garbage","expirationDate":"soon"},
                {"service":"tie-2","expirationDate":"01/01/2026"},
                {"service":"early","expirationDate":"2025-06-01T12:00:00Z"}]}"#,
        );
        let order: Vec<&str> = customer.products.iter().map(Product::service).collect();
        assert_eq!(
            order,
            ["early", "tie-1", "tie-2", "late", "undated-1", "garbage"]
        );
    }

    #[test]
    fn search_is_case_insensitive_over_organization_and_email_but_not_across_them() {
        let customer = customer(
            r#"{"customerId":"c","organization":"Straße Ärzte GmbH","customer":"Ops@Example.com"}"#,
        );
        assert!(customer.matches_search("straße ärzte"));
        assert!(customer.matches_search("ops@example"));
        assert!(!customer.matches_search("gmbh\nops"));
        assert!(!customer.matches_search("contoso"));
    }

    #[test]
    fn filters_combine_with_and_and_undated_never_match_expiry_bounds() {
        let customer = customer(
            r#"{"customerId":"c","products":[
                {"service":"Cloud Backup","expirationDate":"2026-01-01"},
                {"service":"Cloud Governance","expirationDate":"2026-06-01"},
                {"service":"Cloud Backup","expirationDate":"N/A"}]}"#,
        );
        let at = |text: &str| normalize::date_time(Some(text));
        let filter = ProductFilter {
            expiring_before: at("2026-06-01"),
            service: Some("BACKUP".into()),
            ..ProductFilter::default()
        };
        let kept: Vec<_> = customer.products_matching(&filter).collect();
        assert_eq!(kept, [0]);

        let strictly_after = ProductFilter {
            expiring_after: at("2026-01-01"),
            ..ProductFilter::default()
        };
        let kept: Vec<_> = customer.products_matching(&strictly_after).collect();
        assert_eq!(kept, [1]);
        assert_eq!(customer.products[1].service(), "Cloud Governance");

        let other_customer = ProductFilter {
            customer_id: Some("d".into()),
            ..ProductFilter::default()
        };
        assert_eq!(customer.products_matching(&other_customer).count(), 0);
    }

    mod properties {
        use proptest::prelude::*;
        use serde_json::{Value, json};

        use super::*;

        /// Field text as the upstream might send it: dates in every form, numbers, N/A,
        /// blanks, garbage, or no field at all.
        fn field() -> impl Strategy<Value = Option<String>> {
            prop_oneof![
                Just(None),
                Just(Some("N/A".to_owned())),
                Just(Some(String::new())),
                "[0-9]{1,12}".prop_map(Some),
                "20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])".prop_map(Some),
                "(0[1-9]|1[0-2])/(0[1-9]|1[0-9]|2[0-8])/20[0-9]{2}".prop_map(Some),
                ".{0,12}".prop_map(Some),
            ]
        }

        fn raw_product() -> impl Strategy<Value = Value> {
            (field(), field(), field()).prop_map(|(service, seats, expiry)| {
                let mut product = serde_json::Map::new();
                for (name, value) in [
                    ("service", service),
                    ("purchasedUserSeats", seats),
                    ("expirationDate", expiry),
                ] {
                    if let Some(value) = value {
                        product.insert(name.into(), value.into());
                    }
                }
                Value::Object(product)
            })
        }

        proptest! {
            /// Whatever the field text, normalisation keeps every product, orders them by
            /// expiry with undated ones last, and keeps the verbatim text in `raw`.
            #[test]
            fn any_products_normalise_in_contract_order(products in proptest::collection::vec(raw_product(), 0..12)) {
                let wire = json!({ "customerId": "c", "products": &products });
                let customer = Customer::from_wire(serde_json::from_value(wire).unwrap());
                prop_assert_eq!(customer.products.len(), products.len());
                let dates: Vec<_> = customer.products.iter().map(|p| p.expiration_date).collect();
                let dated = dates.iter().take_while(|date| date.is_some()).count();
                prop_assert!(dates[dated..].iter().all(Option::is_none));
                prop_assert!(dates[..dated].windows(2).all(|pair| pair[0] <= pair[1]));
                let mut raw_expiries: Vec<_> = customer
                    .products
                    .iter()
                    .map(|p| p.raw.expiration_date.as_deref().map(str::to_owned))
                    .collect();
                let mut sent: Vec<_> = products
                    .iter()
                    .map(|p| p["expirationDate"].as_str().map(str::to_owned))
                    .collect();
                raw_expiries.sort();
                sent.sort();
                prop_assert_eq!(raw_expiries, sent);
            }
        }
    }
}
