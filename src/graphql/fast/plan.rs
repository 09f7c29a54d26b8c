//! The plan of one request: every selected field of every object, typed by the schema's
//! types, with its response key and coerced arguments. [`super::bind`] makes it; the writer
//! follows it.

use async_graphql::{Name, Pos};

use crate::{
    domain::{Customer, ProductFilter, RawProduct, with_raw_fields},
    graphql::{
        page::PageWanted,
        table::{with_customer_texts, with_product_scalars},
    },
};

/// A response key written once as JSON (`"key":`), since every object of a list repeats it.
#[derive(Debug)]
pub(super) struct Key {
    /// The key as the response names it, for error paths.
    pub name: Name,
    json: KeyJson,
}

/// `"name":`, padded when it fits: a padded key is copied whole at a fixed size and cut,
/// which needs no call to `memcpy`.
#[derive(Debug)]
enum KeyJson {
    /// The text, then padding; its length.
    Padded([u8; PADDED], u8),
    Long(Box<str>),
}

/// The size of [`KeyJson::Padded`]: keys of up to 29 characters fit.
const PADDED: usize = 32;

impl Key {
    /// The key `name`. A GraphQL name is letters, digits and `_` alone, so it needs no escape.
    pub(super) fn new(name: &Name) -> Self {
        let text = format!("\"{name}\":");
        let json = match u8::try_from(text.len()) {
            Ok(length) if text.len() <= PADDED => {
                let mut padded = [b' '; PADDED];
                padded[..text.len()].copy_from_slice(text.as_bytes());
                KeyJson::Padded(padded, length)
            }
            _ => KeyJson::Long(text.into_boxed_str()),
        };
        Self {
            name: name.clone(),
            json,
        }
    }

    /// Writes `"name":` to `out`.
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        match &self.json {
            KeyJson::Padded(padded, length) => {
                let length = out.len() + usize::from(*length);
                out.extend_from_slice(padded);
                out.truncate(length);
            }
            KeyJson::Long(text) => out.extend_from_slice(text.as_bytes()),
        }
    }

    /// The bytes the key holds besides its entry, for a plan's weight.
    pub(super) fn held(&self) -> usize {
        match &self.json {
            KeyJson::Padded(..) => self.name.len(),
            KeyJson::Long(text) => self.name.len() + text.len(),
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

/// Reads one normalised text of a customer.
pub(super) type CustomerText = fn(&Customer) -> Option<&str>;

/// A field of `Customer`.
#[derive(Debug)]
pub(super) enum CustomerField {
    Id,
    /// A text field of the [field table](crate::graphql::table).
    Text(CustomerText),
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
    /// About how many bytes the plan holds, for the budget of what documents keep.
    pub weight: usize,
}

/// What a plan holds for each response key besides its name, about: the entry with its
/// padded key, and the headers of the name (and of a long key's JSON). Text arguments are
/// counted by their length.
pub(super) const ENTRY_BYTES: usize = 160;

/// Generates [`product_scalar`] from the [field table](crate::graphql::table).
macro_rules! product_scalars {
    (
        texts: [$($text:ident => $text_name:literal: $text_doc:literal),+ $(,)?],
        ints: [$($int:ident => $int_name:literal: $int_doc:literal),+ $(,)?] $(,)?
    ) => {
        /// The normalised text and Int fields of `Product`.
        pub(super) fn product_scalar(name: &str) -> Option<ProductField> {
            Some(match name {
                $($text_name => ProductField::Text(|raw| &raw.$text),)+
                $($int_name => ProductField::Int(|raw| &raw.$int),)+
                _ => return None,
            })
        }
    };
}

with_product_scalars!(product_scalars);

/// Generates [`customer_text`] from the [field table](crate::graphql::table).
macro_rules! customer_texts {
    (texts: [$($text:ident => $text_name:literal: $text_doc:literal),+ $(,)?] $(,)?) => {
        /// The text fields of `Customer`.
        pub(super) fn customer_text(name: &str) -> Option<CustomerText> {
            match name {
                $($text_name => Some(|customer: &Customer| customer.$text.as_deref()),)+
                _ => None,
            }
        }
    };
}

with_customer_texts!(customer_texts);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_written_as_json_whatever_its_length() {
        for length in [1, 28, 29, 30, 31, 64] {
            let name = "k".repeat(length);
            let mut out = b"{".to_vec();
            Key::new(&Name::new(&name)).write(&mut out);
            assert_eq!(out, format!("{{\"{name}\":").into_bytes(), "{length}");
        }
    }
}
