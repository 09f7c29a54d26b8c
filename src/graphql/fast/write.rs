//! The data of an answer written as JSON straight from the snapshot, following the plan: no
//! value tree, no per-field future. The bytes are what serde_json writes for the same value,
//! which the differential test holds the two executors to.

use std::sync::Arc;

use super::plan::{
    ConnectionField, CustomerField, EdgeField, Entry, PageInfoField, ProductField, RawText,
    Selected,
};
use crate::{
    domain::{Customer, normalize},
    graphql::{connection::CustomerConnection, scalars::DateTime},
};

/// Writes `text` as a JSON string, escaped as serde_json escapes it.
pub(super) fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[start..at]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xf)]);
                start = at + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..at]);
        out.extend_from_slice(escape);
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn optional_string(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => string(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

fn boolean(out: &mut Vec<u8>, value: bool) {
    out.extend_from_slice(if value { b"true" } else { b"false" });
}

fn integer(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// An object of type `type_name` with the `selected` entries, each field written by `field`.
fn object<F>(
    out: &mut Vec<u8>,
    type_name: &str,
    selected: &Selected<F>,
    mut field: impl FnMut(&mut Vec<u8>, &F),
) {
    out.push(b'{');
    for (index, Entry { key, field: entry }) in selected.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(key.json.as_bytes());
        match entry {
            Some(entry) => field(out, entry),
            None => string(out, type_name),
        }
    }
    out.push(b'}');
}

/// A list with `write` called for each item.
fn list<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut Vec<u8>, T),
) {
    out.push(b'[');
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// A `customers` page.
pub(super) fn connection(
    out: &mut Vec<u8>,
    selected: &Selected<ConnectionField>,
    page: &CustomerConnection,
) {
    object(
        out,
        "CustomerConnection",
        selected,
        |out, field| match field {
            ConnectionField::TotalCount => integer(out, i64::from(page.total_count)),
            ConnectionField::PageInfo(selected) => {
                let info = &page.page_info;
                object(out, "PageInfo", selected, |out, field| match field {
                    PageInfoField::HasNextPage => boolean(out, info.has_next_page),
                    PageInfoField::HasPreviousPage => boolean(out, info.has_previous_page),
                    PageInfoField::StartCursor => {
                        optional_string(out, info.start_cursor.as_deref())
                    }
                    PageInfoField::EndCursor => optional_string(out, info.end_cursor.as_deref()),
                });
            }
            ConnectionField::Edges(selected) => list(out, &page.edges, |out, edge| {
                object(out, "CustomerEdge", selected, |out, field| match field {
                    EdgeField::Cursor => string(out, &edge.cursor),
                    EdgeField::Node(selected) => customer(out, selected, &edge.node.0),
                });
            }),
            ConnectionField::Nodes(selected) => list(out, &page.nodes, |out, node| {
                customer(out, selected, &node.0);
            }),
        },
    );
}

/// One customer.
pub(super) fn customer(out: &mut Vec<u8>, selected: &Selected<CustomerField>, of: &Arc<Customer>) {
    object(out, "Customer", selected, |out, field| match field {
        CustomerField::Id => string(out, &of.id),
        CustomerField::Organization => optional_string(out, of.organization.as_deref()),
        CustomerField::Email => optional_string(out, of.email.as_deref()),
        CustomerField::Products(filter, selected) => {
            list(out, of.products_matching(filter), |out, index| {
                product(out, selected, of, index);
            });
        }
    });
}

/// The product at `index` of `owner`.
pub(super) fn product(
    out: &mut Vec<u8>,
    selected: &Selected<ProductField>,
    owner: &Arc<Customer>,
    index: usize,
) {
    let item = &owner.products[index];
    object(out, "Product", selected, |out, field| match field {
        ProductField::CustomerId => string(out, &owner.id),
        ProductField::Customer(selected) => customer(out, selected, owner),
        ProductField::Service => string(out, item.service()),
        ProductField::Text(read) => {
            optional_string(out, normalize::text(read(&item.raw).as_deref()))
        }
        ProductField::Int(read) => match normalize::int(read(&item.raw).as_deref()) {
            Some(value) => integer(out, i64::from(value)),
            None => out.extend_from_slice(b"null"),
        },
        ProductField::ExpirationDate => date(out, item.expiration_date),
        ProductField::ContractEndDate => date(out, item.contract_end_date),
        ProductField::Raw(selected) => {
            object(out, "RawProduct", selected, |out, read: &RawText| {
                optional_string(out, read(&item.raw).as_deref());
            });
        }
    });
}

fn date(out: &mut Vec<u8>, instant: Option<chrono::DateTime<chrono::Utc>>) {
    match instant {
        Some(instant) => string(out, &DateTime(instant).written()),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_byte: String = (0u8..=0x7f).map(char::from).collect();
        for text in [
            every_byte.as_str(),
            "",
            "plain",
            "é ü 中 😀",
            "a\"b\\c\u{2028}",
        ] {
            let mut out = Vec::new();
            string(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }
}
