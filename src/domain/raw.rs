//! The upstream's records as it sends them, before normalisation: what a customer and its
//! products say, every value verbatim. The upstream client reads pages of these; the model
//! ([`super::Customer`]) is built from them. Lenient as the upstream is loose: every product
//! value is documented as a string, but a number or a boolean in its place is kept as its JSON
//! text and a missing field as `None`. What is not accepted is the wrong *shape* (a customer
//! without an id, an object where text belongs).

use serde::{Deserialize, Deserializer};

/// A customer as the upstream sends it. Written back in the same form when replicas share
/// what the upstream answered.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCustomer {
    /// The upstream's id; required, since nothing can be looked up without it.
    #[serde(deserialize_with = "required_text")]
    pub customer_id: Box<str>,
    /// The organisation's name, verbatim.
    #[serde(
        default,
        deserialize_with = "lenient_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub organization: Option<Box<str>>,
    /// The customer's e-mail address, verbatim (the upstream calls it `customer`).
    #[serde(
        default,
        deserialize_with = "lenient_text",
        skip_serializing_if = "Option::is_none"
    )]
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
            pub const FIELD_NAMES: &'static [&'static str] = &[$($json),+];
        }
    };
}

/// Calls `$callback! { field => "jsonName", … }` with the 18 upstream product fields, so every
/// place that lists them (this raw type, the GraphQL `RawProduct`) follows one list.
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
pub(crate) fn lenient_text<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Box<str>>, D::Error> {
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

/// A list, where `null` means an empty one.
pub(crate) fn null_as_empty<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(de)?.unwrap_or_default())
}

/// What kind of JSON `value` is, in words, for an error that says what came instead.
pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
