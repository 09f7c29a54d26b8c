//! The plan of one request: every selected field of every object, typed by the schema's
//! types, with its response key and coerced arguments. [`super::bind`] makes it; the writer
//! follows it.

use async_graphql::{Name, Pos};

use crate::{
    domain::{ProductFilter, RawProduct},
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
    pub(super) fn new(name: &Name) -> Self {
        let mut json = Vec::with_capacity(name.len() + 3);
        super::write::string(&mut json, name);
        json.push(b':');
        Self {
            name: name.clone(),
            json: String::from_utf8(json).unwrap_or_default().into_boxed_str(),
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
