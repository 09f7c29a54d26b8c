//! Serde mirror of the upstream's JSON, as lenient as the upstream is loose.
//!
//! Every product value is documented as a string, but a careful client accepts a number or a
//! boolean in its place (kept as its JSON text) and a missing field (kept as `None`). What is
//! not accepted is the wrong *shape*: no `data` array, or a customer without an id; those are
//! `UPSTREAM_BAD_RESPONSE`.

use serde::{Deserialize, Deserializer};

/// One page of `POST …/customers/services/batch`.
#[derive(Debug, Deserialize)]
pub struct BatchPage {
    /// The customers on this page, in upstream order.
    pub data: Vec<WireCustomer>,
    /// What the upstream says about paging; it may differ from what was asked.
    pub metadata: PageMetadata,
}

/// The `metadata` object of a page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageMetadata {
    /// The page size the upstream actually used (it may cap what was asked).
    #[serde(default, deserialize_with = "lenient_count")]
    pub page_size: u64,
    /// How many customers the whole listing holds.
    #[serde(default, deserialize_with = "lenient_count")]
    pub total_count: u64,
}

/// A customer as the upstream sends it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCustomer {
    /// The upstream's id; required, since nothing can be looked up without it.
    #[serde(deserialize_with = "required_text")]
    pub customer_id: Box<str>,
    /// The organisation's name, verbatim.
    #[serde(default, deserialize_with = "lenient_text")]
    pub organization: Option<Box<str>>,
    /// The customer's e-mail address, verbatim (the upstream calls it `customer`).
    #[serde(default, deserialize_with = "lenient_text")]
    pub customer: Option<Box<str>>,
    /// The subscriptions; a missing or null list is no products.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub products: Vec<RawProduct>,
}

/// Declares [`RawProduct`] from the field list of [`with_raw_fields`].
macro_rules! raw_product {
    ($($field:ident => $json:literal),+ $(,)?) => {
        /// A product exactly as the upstream sent it: every field verbatim, `None` when absent.
        #[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
        pub struct RawProduct {
            $(
                #[doc = concat!("The upstream's `", $json, "`, verbatim.")]
                #[serde(
                    rename = $json,
                    default,
                    deserialize_with = "lenient_text",
                    skip_serializing_if = "Option::is_none"
                )]
                pub $field: Option<Box<str>>,
            )+
        }

        impl RawProduct {
            /// The upstream's names of the product fields, in documented order.
            pub const FIELD_NAMES: [&'static str; 18] = [$($json),+];
        }
    };
}

/// Calls `$callback! { field => "jsonName", … }` with the 18 upstream product fields, so every
/// place that lists them (this wire type, the GraphQL `RawProduct`) follows one list.
macro_rules! with_raw_fields {
    ($callback:ident) => {
        $callback! {
            service => "service",
            subscription_model => "subscriptionModel",
            purchased_user_seats => "purchasedUserSeats",
            purchased_units => "purchasedUnits",
            microsoft_license_assigned => "microsoftLicenseAssigned",
            microsoft_license_available => "microsoftLicenseAvailable",
            purchased_capacity => "purchasedCapacity",
            protected_capacity => "protectedCapacity",
            storage => "storage",
            retention => "retention",
            consumed_storage => "consumedStorage",
            expiration_date => "expirationDate",
            change => "change",
            source => "source",
            payment_type => "paymentType",
            subscription_name => "subscriptionName",
            package => "package",
            contract_end_date => "contractEndDate",
        }
    };
}
pub(crate) use with_raw_fields;

with_raw_fields!(raw_product);

/// A JSON scalar as text: strings verbatim, numbers and booleans as their JSON text, null as
/// `None`. Objects and arrays are a wrong shape.
fn lenient_text<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Box<str>>, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(de)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(text) => Ok(Some(text.into_boxed_str())),
        serde_json::Value::Number(number) => Ok(Some(number.to_string().into_boxed_str())),
        serde_json::Value::Bool(flag) => Ok(Some(flag.to_string().into_boxed_str())),
        other => Err(D::Error::custom(format!(
            "expected a string, found {}",
            json_kind(&other)
        ))),
    }
}

/// Like [`lenient_text`], but the value must be there and not blank.
fn required_text<'de, D: Deserializer<'de>>(de: D) -> Result<Box<str>, D::Error> {
    use serde::de::Error;
    match lenient_text(de)? {
        Some(text) if !text.trim().is_empty() => Ok(text),
        _ => Err(D::Error::custom("customerId is missing or empty")),
    }
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

/// A list, where `null` means an empty one.
fn null_as_empty<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(de)?.unwrap_or_default())
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
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
