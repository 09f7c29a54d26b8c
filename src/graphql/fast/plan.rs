//! The plan of one request: every selected field of every object, typed by the schema's
//! types, with its response key and coerced arguments. [`super::bind`] makes it; the writer
//! follows it.

use async_graphql::{Name, Pos};

use crate::{
    domain::{ProductFilter, RawProduct, with_raw_fields},
    graphql::query::PageWanted,
};

/// A response key written once as JSON (`"key":`), since every object of a list repeats it.
#[derive(Debug)]
pub(super) struct Key {
    /// The key as the response names it, for error paths.
    pub name: Name,
    /// `"name":`.
    pub json: Box<str>,
}

impl Key {
    /// The key `name`. A GraphQL name is letters, digits and `_` alone, so it needs no escape.
    pub(super) fn new(name: &Name) -> Self {
        Self {
            name: name.clone(),
            json: format!("\"{name}\":").into_boxed_str(),
        }
    }
}

/// One selected response key of an object: its `__typename` or a field of the type.
#[derive(Debug)]
pub(super) struct Entry<F> {
    pub key: Key,
    /// `None` for `__typename`.
    pub field: Option<F>,
}

/// The selections of one object.
pub(super) type Selected<F> = Vec<Entry<F>>;

/// A root field of the query, with where it was written (its error's location).
#[derive(Debug)]
pub(super) struct Root {
    pub key: Key,
    pub pos: Pos,
    /// `None` for `__typename`.
    pub field: Option<RootField>,
}

/// What a root field reads.
#[derive(Debug)]
pub(super) enum RootField {
    Customers(PageWanted, Selected<ConnectionField>),
    Customer(String, Selected<CustomerField>),
    Products(ProductFilter, Selected<ProductField>),
}

/// A field of `CustomerConnection`.
#[derive(Debug)]
pub(super) enum ConnectionField {
    TotalCount,
    PageInfo(Selected<PageInfoField>),
    Edges(Selected<EdgeField>),
    Nodes(Selected<CustomerField>),
}

/// A field of `PageInfo`.
#[derive(Debug, Clone, Copy)]
pub(super) enum PageInfoField {
    HasNextPage,
    HasPreviousPage,
    StartCursor,
    EndCursor,
}

/// A field of `CustomerEdge`.
#[derive(Debug)]
pub(super) enum EdgeField {
    Cursor,
    Node(Selected<CustomerField>),
}

/// A field of `Customer`.
#[derive(Debug)]
pub(super) enum CustomerField {
    Id,
    Organization,
    Email,
    Products(ProductFilter, Selected<ProductField>),
}

/// Reads one upstream text of a product.
pub(super) type RawText = fn(&RawProduct) -> &Option<Box<str>>;

/// A field of `Product`.
#[derive(Debug)]
pub(super) enum ProductField {
    Id,
    CustomerId,
    Customer(Selected<CustomerField>),
    Service,
    /// Text, null for "N/A", empty or missing.
    Text(RawText),
    /// An Int, null when the text does not parse.
    Int(RawText),
    ExpirationDate,
    ContractEndDate,
    Raw(Selected<RawText>),
}

/// The operation as this request runs it.
#[derive(Debug)]
pub(super) struct Plan {
    pub roots: Vec<Root>,
}

/// The normalised text and Int fields of `Product`.
pub(super) fn product_scalar(name: &str) -> Option<ProductField> {
    use ProductField::{Int, Text};
    Some(match name {
        "subscriptionModel" => Text(|raw| &raw.subscription_model),
        "purchasedUserSeats" => Int(|raw| &raw.purchased_user_seats),
        "purchasedUnits" => Int(|raw| &raw.purchased_units),
        "microsoftLicenseAssigned" => Int(|raw| &raw.microsoft_license_assigned),
        "microsoftLicenseAvailable" => Int(|raw| &raw.microsoft_license_available),
        "purchasedCapacity" => Text(|raw| &raw.purchased_capacity),
        "protectedCapacity" => Text(|raw| &raw.protected_capacity),
        "storage" => Text(|raw| &raw.storage),
        "retention" => Text(|raw| &raw.retention),
        "consumedStorage" => Text(|raw| &raw.consumed_storage),
        "change" => Text(|raw| &raw.change),
        "source" => Text(|raw| &raw.source),
        "paymentType" => Text(|raw| &raw.payment_type),
        "subscriptionName" => Text(|raw| &raw.subscription_name),
        "package" => Text(|raw| &raw.package),
        _ => return None,
    })
}

/// Generates [`raw_field`] from the upstream field list.
macro_rules! raw_fields {
    ($($field:ident => $json:literal),+ $(,)?) => {
        /// The verbatim `RawProduct` field of this GraphQL name.
        pub(super) fn raw_field(name: &str) -> Option<RawText> {
            match name {
                $($json => Some(|raw: &RawProduct| &raw.$field),)+
                _ => None,
            }
        }
    };
}

with_raw_fields!(raw_fields);
