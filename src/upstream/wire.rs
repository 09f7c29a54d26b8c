//! Serde mirror of the upstream's page envelope, as lenient as the upstream is loose; the
//! items in it are the domain's raw records ([`RawCustomer`], and the rest of the partner
//! API's in [`crate::domain::partner`]).
//!
//! What is not accepted is the wrong *shape*: no `data` array, or a customer without an id;
//! those are `UPSTREAM_BAD_RESPONSE`.

use serde::{Deserialize, Deserializer};

use crate::domain::{
    RawCustomer, json_kind,
    partner::{RawCoverage, RawCustomerDetails, RawJob, RawSeats},
};

/// What one page request brought back.
#[derive(Debug)]
pub(crate) enum Page {
    /// A page of `services/batch`.
    Services(BatchPage),
    /// A page (or the whole bare list) of another partner endpoint.
    Partner(PartnerPage),
}

/// A page of one of the other partner endpoints.
#[derive(Debug)]
pub(crate) struct PartnerPage {
    /// The records on it.
    pub items: PartnerItems,
    /// What the upstream says about paging; `None` for an answer that was a bare list (the
    /// older seats path), which is all there is.
    pub metadata: Option<PageMetadata>,
}

/// The records of a partner page, by endpoint.
#[derive(Debug)]
pub(crate) enum PartnerItems {
    /// `customers/batch`.
    Details(Vec<RawCustomerDetails>),
    /// A customer's backup jobs.
    Jobs(Vec<RawJob>),
    /// A customer's tenants' seats.
    Seats(Vec<RawSeats>),
    /// A customer's Microsoft 365 backup overview.
    Coverage(Vec<RawCoverage>),
}

/// Which partner endpoint a body comes from, to read it with its records' type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartnerKind {
    /// `customers/batch`.
    Details,
    /// A customer's backup jobs.
    Jobs,
    /// A customer's tenants' seats.
    Seats,
    /// A customer's Microsoft 365 backup overview.
    Coverage,
}

/// A page of `T` in the usual envelope.
#[derive(Debug, Deserialize)]
struct Paged<T> {
    data: Vec<T>,
    metadata: PageMetadata,
}

/// The seats answer in either documented shape.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SeatsShape {
    Paged(Paged<RawSeats>),
    Bare(Vec<RawSeats>),
}

impl PartnerKind {
    /// The body of a page of this endpoint, read with its records' type.
    pub(crate) fn parse(self, body: &[u8]) -> serde_json::Result<PartnerPage> {
        fn paged<T: for<'de> Deserialize<'de>>(
            body: &[u8],
            wrap: fn(Vec<T>) -> PartnerItems,
        ) -> serde_json::Result<PartnerPage> {
            let page: Paged<T> = serde_json::from_slice(body)?;
            Ok(PartnerPage {
                items: wrap(page.data),
                metadata: Some(page.metadata),
            })
        }
        match self {
            Self::Details => paged(body, PartnerItems::Details),
            Self::Jobs => paged(body, PartnerItems::Jobs),
            Self::Coverage => paged(body, PartnerItems::Coverage),
            Self::Seats => Ok(match serde_json::from_slice(body)? {
                SeatsShape::Paged(page) => PartnerPage {
                    items: PartnerItems::Seats(page.data),
                    metadata: Some(page.metadata),
                },
                SeatsShape::Bare(seats) => PartnerPage {
                    items: PartnerItems::Seats(seats),
                    metadata: None,
                },
            }),
        }
    }
}

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
    fn both_seat_shapes_are_read() {
        let bare = PartnerKind::Seats
            .parse(br#"[{"tenantId": "t1", "tenantName": "A", "availableUserSeat": 25}]"#)
            .unwrap();
        assert!(bare.metadata.is_none());
        let paged = PartnerKind::Seats
            .parse(
                br#"{"data": [{"id": "t1", "name": "A"}, {"id": "t2"}],
                     "metadata": {"pageIndex": 1, "pageSize": 50, "totalCount": 2}}"#,
            )
            .unwrap();
        assert_eq!(paged.metadata.as_ref().map(|m| m.total_count), Some(2));
        for (page, count) in [(bare, 1), (paged, 2)] {
            let PartnerItems::Seats(seats) = page.items else {
                panic!("not seats")
            };
            assert_eq!(seats.len(), count);
            assert_eq!(seats[0].id.as_deref(), Some("t1"));
        }
        assert!(
            PartnerKind::Jobs.parse(br#"[{"jobId": "j"}]"#).is_err(),
            "jobs are paged"
        );
        assert!(
            PartnerKind::Details
                .parse(br#"{"data": [{"organization": "no id"}], "metadata": {}}"#)
                .is_err()
        );
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
