//! Serde mirror of the upstream's page envelope, as lenient as the upstream is loose; the
//! customers in it are the domain's raw records ([`RawCustomer`]).
//!
//! What is not accepted is the wrong *shape*: no `data` array, or a customer without an id;
//! those are `UPSTREAM_BAD_RESPONSE`.

use serde::{Deserialize, Deserializer};

use crate::domain::{RawCustomer, json_kind};

/// One page of `POST …/customers/services/batch`.
#[derive(Debug, Deserialize)]
pub(crate) struct BatchPage {
    /// The customers on this page, in upstream order.
    pub data: Vec<RawCustomer>,
    /// What the upstream says about paging; it may differ from what was asked.
    pub metadata: PageMetadata,
}

/// The `metadata` object of a page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageMetadata {
    /// The page size the upstream actually used (it may cap what was asked).
    #[serde(default, deserialize_with = "lenient_count")]
    pub page_size: u64,
    /// How many customers the whole listing holds.
    #[serde(default, deserialize_with = "lenient_count")]
    pub total_count: u64,
}

/// A count given as a JSON number or as decimal text (the upstream writes values as strings).
fn lenient_count<'de, D: Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(de)? {
        serde_json::Value::Null => Ok(0),
        serde_json::Value::Number(number) => number
            .as_u64()
            .ok_or_else(|| D::Error::custom("expected a non-negative whole number")),
        serde_json::Value::String(text) => text
            .trim()
            .parse()
            .map_err(|_| D::Error::custom("expected a non-negative whole number")),
        other => Err(D::Error::custom(format!(
            "expected a number, found {}",
            json_kind(&other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_with_odd_but_acceptable_values_parses() {
        let page: BatchPage = serde_json::from_str(
            r#"{"data":[{"customerId":"c1","organization":"N/A","customer":null,
                "products":[{"service":"Backup","purchasedUserSeats":25,"retention":true,
                             "unknownField":"ignored"}]},
               {"customerId":"c2","products":null}],
                "metadata":{"pageIndex":"1","pageSize":"50","totalCount":2}}"#,
        )
        .unwrap();
        assert_eq!(page.metadata.page_size, 50);
        assert_eq!(page.metadata.total_count, 2);
        let product = &page.data[0].products[0];
        assert_eq!(product.purchased_user_seats.as_deref(), Some("25"));
        assert_eq!(product.retention.as_deref(), Some("true"));
        assert_eq!(product.expiration_date, None);
        assert_eq!(page.data[0].organization.as_deref(), Some("N/A"));
        assert!(page.data[1].products.is_empty());
    }

    #[test]
    fn wrong_shapes_are_refused() {
        for body in [
            r#"{"metadata":{"pageSize":1,"totalCount":1}}"#,
            r#"{"data":{},"metadata":{"pageSize":1,"totalCount":1}}"#,
            r#"{"data":[{"organization":"no id"}],"metadata":{}}"#,
            r#"{"data":[{"customerId":""}],"metadata":{}}"#,
            r#"{"data":[{"customerId":"c","products":[{"service":{"x":1}}]}],"metadata":{}}"#,
            r#"{"data":[],"metadata":{"totalCount":-1}}"#,
        ] {
            assert!(serde_json::from_str::<BatchPage>(body).is_err(), "{body}");
        }
    }
}
