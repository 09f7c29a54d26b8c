//! `customers` paging: the page-size limits, Relay-style connection types, and opaque,
//! validated cursors.
//!
//! A cursor is the position of a customer in the (searched) listing, base64url-encoded behind
//! a version tag, so callers treat it as opaque and a hand-made or corrupted one is refused
//! with an error instead of silently answering an empty page.

use std::sync::Arc;

use async_graphql::{Object, SimpleObject};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{error::QueryError, types::CustomerNode};
use crate::domain::{Customer, partner::CustomerFilter};

const CURSOR_TAG: &str = "customer:v1:";

/// The most customers one `customers` page may ask for.
pub(crate) const MAX_PAGE_SIZE: i32 = 1000;

/// `first` when a `customers` query leaves it out.
pub(super) const DEFAULT_PAGE_SIZE: i32 = 100;

/// Refuses a `first` outside 0 to [`MAX_PAGE_SIZE`], naming the limit.
pub(super) fn check_page_size(first: i32) -> Result<(), QueryError> {
    check_size("first", first)
}

/// Refuses a page size `name` outside 0 to [`MAX_PAGE_SIZE`], naming the limit.
pub(super) fn check_size(name: &str, size: i32) -> Result<(), QueryError> {
    if (0..=MAX_PAGE_SIZE).contains(&size) {
        Ok(())
    } else {
        Err(QueryError::BadInput(format!(
            "`{name}` must be between 0 and {MAX_PAGE_SIZE}, got {size}"
        )))
    }
}

/// A `customers` page as its arguments give it (their values known before execution).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PageArgs {
    /// `first` (its default applied when `last` is not given).
    pub first: Option<u64>,
    /// `last`.
    pub last: Option<u64>,
    /// `after`, still encoded.
    pub after: Option<String>,
    /// `before`, still encoded.
    pub before: Option<String>,
    /// `search`.
    pub search: Option<String>,
    /// `filter`, when given.
    pub filter: Option<CustomerFilter>,
}

impl PageArgs {
    /// The most customers the page may hold.
    pub(crate) fn size(&self) -> u64 {
        self.first.or(self.last).unwrap_or(0)
    }
}

/// A page of customers: the customers themselves and where the page starts. Cursors, edges
/// and the page's info are made only when selected.
pub(super) struct CustomerConnection {
    /// How many customers match, across all pages.
    pub total_count: i32,
    /// The position of the page's first customer among those that match.
    pub start: usize,
    /// Whether customers follow this page.
    pub has_next_page: bool,
    /// The customers of this page, in order.
    pub page: Vec<Arc<Customer>>,
}

/// A page of customers.
#[Object]
impl CustomerConnection {
    /// How many customers match `search`, across all pages.
    async fn total_count(&self) -> i32 {
        self.total_count
    }

    /// Where this page sits in the listing.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.has_next_page,
            has_previous_page: self.start > 0,
            start_cursor: self.cursor_at(0),
            end_cursor: self
                .page
                .len()
                .checked_sub(1)
                .and_then(|last| self.cursor_at(last)),
        }
    }

    /// The customers of this page, each with its cursor.
    async fn edges(&self) -> Vec<CustomerEdge> {
        (0..self.page.len())
            .map(|offset| CustomerEdge {
                cursor: encode_cursor(self.start + offset),
                node: CustomerNode(Arc::clone(&self.page[offset])),
            })
            .collect()
    }

    /// The customers of this page, without cursors.
    async fn nodes(&self) -> Vec<CustomerNode> {
        self.page
            .iter()
            .map(|customer| CustomerNode(Arc::clone(customer)))
            .collect()
    }
}

impl CustomerConnection {
    /// The cursor of the page's customer at `offset`, if the page holds one there.
    pub(super) fn cursor_at(&self, offset: usize) -> Option<String> {
        (offset < self.page.len()).then(|| encode_cursor(self.start + offset))
    }
}

/// Paging state of a `CustomerConnection`.
#[derive(SimpleObject)]
pub(super) struct PageInfo {
    /// Whether customers follow this page; pass `endCursor` as `after` to read them.
    pub has_next_page: bool,
    /// Whether customers precede this page.
    pub has_previous_page: bool,
    /// Cursor of the first customer of this page, null when the page is empty.
    pub start_cursor: Option<String>,
    /// Cursor of the last customer of this page, null when the page is empty.
    pub end_cursor: Option<String>,
}

/// A customer and its cursor.
#[derive(SimpleObject)]
pub(super) struct CustomerEdge {
    /// Pass as `after` to continue after this customer.
    pub cursor: String,
    /// The customer.
    pub node: CustomerNode,
}

/// The cursor of the customer at `position` in the listing.
pub(super) fn encode_cursor(position: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_TAG}{position}"))
}

/// The position a cursor stands for, or an error naming what is wrong with it.
pub(super) fn decode_cursor(cursor: &str) -> Result<usize, QueryError> {
    let invalid = || {
        QueryError::BadInput(
            "`after` or `before` is not a cursor from this API: pass a `startCursor`, `endCursor` or `cursor` value unchanged"
                .into(),
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
    let digits = text.strip_prefix(CURSOR_TAG).ok_or_else(invalid)?;
    // Only the form `encode_cursor` writes: digits, no leading zero.
    let canonical = !digits.is_empty()
        && digits.bytes().all(|byte| byte.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !canonical {
        return Err(invalid());
    }
    digits.parse().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_look_opaque() {
        for position in [0, 1, 49, 999_999] {
            let cursor = encode_cursor(position);
            assert!(!cursor.contains(&position.to_string()));
            assert_eq!(decode_cursor(&cursor).unwrap(), position);
        }
    }

    #[test]
    fn foreign_or_damaged_cursors_are_refused() {
        let damaged = {
            let mut cursor = encode_cursor(7);
            cursor.pop();
            cursor
        };
        for cursor in [
            "",
            "7",
            "not base64!",
            &URL_SAFE_NO_PAD.encode("customer:v1:"),
            &URL_SAFE_NO_PAD.encode("customer:v1:-1"),
            &URL_SAFE_NO_PAD.encode("customer:v1:+1"),
            &URL_SAFE_NO_PAD.encode("customer:v1:07"),
            &URL_SAFE_NO_PAD.encode("customer:v2:1"),
            &URL_SAFE_NO_PAD.encode("customer:v1:99999999999999999999999"),
            &URL_SAFE_NO_PAD.encode([0xff, 0xfe]),
            &damaged,
        ] {
            assert!(decode_cursor(cursor).is_err(), "{cursor:?}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        proptest! {
            #[test]
            fn every_position_round_trips(position in any::<usize>()) {
                prop_assert_eq!(decode_cursor(&encode_cursor(position)).unwrap(), position);
            }

            /// Any text: never a panic; a value only for the exact text `encode_cursor` writes.
            #[test]
            fn any_text_is_a_cursor_only_when_it_is_the_canonical_one(text in ".{0,40}") {
                if let Ok(position) = decode_cursor(&text) {
                    prop_assert_eq!(encode_cursor(position), text);
                }
            }

            /// Base64 of arbitrary bytes (the likely tampering): same rule.
            #[test]
            fn any_encoded_bytes_are_refused_or_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
                let text = URL_SAFE_NO_PAD.encode(&bytes);
                match decode_cursor(&text) {
                    Ok(position) => prop_assert_eq!(encode_cursor(position), text),
                    Err(error) => prop_assert!(error.to_string().contains("`after`")),
                }
            }

            /// A damaged tag or number is refused.
            #[test]
            fn tampered_tags_are_refused(tag in "[a-z:0-9]{0,14}", digits in "[0-9]{1,5}") {
                let plain = format!("{tag}{digits}");
                prop_assume!(!plain.starts_with(CURSOR_TAG));
                prop_assert!(decode_cursor(&URL_SAFE_NO_PAD.encode(plain)).is_err());
            }
        }
    }
}
