//! The data of an answer written as JSON straight from the snapshot, following the plan: no
//! value tree, no per-field future. The bytes are what serde_json writes for the same value,
//! which the differential test holds the two executors to.

use std::sync::Arc;

use super::plan::{
    ConnectionField, CustomerField, EdgeField, Entry, PageInfoField, ProductField, RawText,
    Selected,
};
use crate::{
    domain::{Customer, ProductRef, normalize},
    graphql::{connection::CustomerConnection, scalars::DateTime},
};

/// Bytes that JSON strings escape: `"`, `\\` and the control characters.
static ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Whether any of the eight bytes of `word` is one that JSON strings escape: below 0x20 (a
/// control character), `"` or `\\`.
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_zero = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    let quote = has_zero(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
    below_space | quote | backslash != 0
}

/// Writes `text` as a JSON string, escaped as serde_json escapes it. Most text needs no
/// escape: it is checked and copied eight bytes at a time (a fixed-size copy, with no call
/// to `memcpy`), and only a word holding a byte to escape, and the last few bytes, go one
/// byte at a time.
pub(super) fn string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut at = 0;
    while at < bytes.len() {
        while let Some(chunk) = bytes.get(at..at + 8) {
            let word: [u8; 8] = chunk.try_into().unwrap_or_default();
            if needs_escape(u64::from_ne_bytes(word)) {
                break;
            }
            out.extend_from_slice(&word);
            at += 8;
        }
        let stop = bytes.len().min(at + 8);
        for &byte in &bytes[at..stop] {
            if ESCAPED[usize::from(byte)] {
                escape(out, byte);
            } else {
                out.push(byte);
            }
        }
        at = stop;
    }
    out.push(b'"');
}

/// Writes the escape of `byte`, one of [`ESCAPED`].
fn escape(out: &mut Vec<u8>, byte: u8) {
    match byte {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
        }
    }
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
        key.write(out);
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
                object(out, "PageInfo", selected, |out, field| match field {
                    PageInfoField::HasNextPage => boolean(out, page.has_next_page),
                    PageInfoField::HasPreviousPage => boolean(out, page.start > 0),
                    PageInfoField::StartCursor => {
                        optional_string(out, page.cursor_at(0).as_deref());
                    }
                    PageInfoField::EndCursor => {
                        let last = page.page.len().checked_sub(1);
                        optional_string(out, last.and_then(|last| page.cursor_at(last)).as_deref());
                    }
                });
            }
            ConnectionField::Edges(selected) => {
                list(out, page.page.iter().enumerate(), |out, (offset, of)| {
                    object(out, "CustomerEdge", selected, |out, field| match field {
                        EdgeField::Cursor => {
                            optional_string(out, page.cursor_at(offset).as_deref());
                        }
                        EdgeField::Node(selected) => customer(out, selected, of),
                    });
                });
            }
            ConnectionField::Nodes(selected) => list(out, &page.page, |out, of| {
                customer(out, selected, of);
            }),
        },
    );
}

/// One customer.
pub(super) fn customer(out: &mut Vec<u8>, selected: &Selected<CustomerField>, of: &Arc<Customer>) {
    object(out, "Customer", selected, |out, field| match field {
        CustomerField::Id => string(out, &of.id),
        CustomerField::Text(read) => optional_string(out, read(of)),
        CustomerField::Products(filter, selected) => {
            list(out, of.products_matching(filter), |out, index| {
                product(out, selected, of, index);
            });
        }
    });
}

/// A list of products from across customers.
pub(super) fn products(out: &mut Vec<u8>, selected: &Selected<ProductField>, items: &[ProductRef]) {
    list(out, items, |out, item| {
        product(out, selected, &item.customer, item.index);
    });
}

/// The product at `index` of `owner`.
fn product(
    out: &mut Vec<u8>,
    selected: &Selected<ProductField>,
    owner: &Arc<Customer>,
    index: usize,
) {
    let item = &owner.products[index];
    object(out, "Product", selected, |out, field| match field {
        ProductField::Id => string(out, &item.id()),
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
        Some(instant) => date_time(out, instant),
        None => out.extend_from_slice(b"null"),
    }
}

/// An instant as [`DateTime::written`] writes it (RFC 3339, `Z`, the fraction in 3, 6 or 9
/// digits as needed): years 0 to 9999 by hand (every upstream date), anything else, and leap
/// seconds, through chrono.
fn date_time(out: &mut Vec<u8>, instant: chrono::DateTime<chrono::Utc>) {
    use chrono::{Datelike, Timelike};
    let naive = instant.naive_utc();
    let (date, time) = (naive.date(), naive.time());
    let (year, nanos) = (date.year(), time.nanosecond());
    if nanos >= 1_000_000_000 || !(0..=9999).contains(&year) {
        string(out, &DateTime(instant).written());
        return;
    }
    // Written in place into one buffer, then copied out whole (a fixed-size copy, with no
    // call to `memcpy`) and cut to its length.
    let mut text = *b"\"0000-00-00T00:00:00.000000000Z\"";
    let mut pair = |at: usize, value: u32| {
        text[at..at + 2].copy_from_slice(&PAIRS[value as usize % 100]);
    };
    let year = year as u32;
    pair(1, year / 100);
    pair(3, year % 100);
    pair(6, date.month());
    pair(9, date.day());
    pair(12, time.hour());
    pair(15, time.minute());
    pair(18, time.second());
    let end = match (nanos, nanos % 1_000_000, nanos % 1_000) {
        (0, _, _) => 20,
        (_, 0, _) => 21 + 3,
        (_, _, 0) => 21 + 6,
        _ => 21 + 9,
    };
    if end > 20 {
        // The nine digits of the fraction; those past `end` are overwritten or cut.
        pair(21, nanos / 10_000_000);
        pair(23, nanos / 100_000);
        pair(25, nanos / 1_000);
        pair(27, nanos / 10);
        text[29] = b'0' + (nanos % 10) as u8;
    }
    text[end] = b'Z';
    text[end + 1] = b'"';
    let length = out.len() + end + 2;
    out.extend_from_slice(&text);
    out.truncate(length);
}

/// The two digits of every number below 100.
static PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0; 2]; 100];
    let mut value = 0;
    while value < 100 {
        pairs[value] = [b'0' + (value / 10) as u8, b'0' + (value % 10) as u8];
        value += 1;
    }
    pairs
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_byte: String = (0u8..=0x7f).map(char::from).collect();
        let long = format!("{}\"{}\n", "a".repeat(13), "é".repeat(9));
        for text in [
            every_byte.as_str(),
            long.as_str(),
            "",
            "plain",
            "eight by",
            "sixteen bytes ab",
            "é ü 中 😀",
            "a\"b\\c\u{2028}",
        ] {
            let mut out = Vec::new();
            string(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
            for word in text.as_bytes().windows(8) {
                let escaped = word.iter().any(|&byte| ESCAPED[usize::from(byte)]);
                let word = u64::from_ne_bytes(word.try_into().unwrap());
                assert_eq!(needs_escape(word), escaped, "{text:?}");
            }
        }
    }

    #[test]
    fn instants_are_written_as_the_scalar_writes_them() {
        use chrono::TimeZone;
        let utc = chrono::Utc;
        for instant in [
            utc.with_ymd_and_hms(2025, 9, 26, 0, 0, 0).unwrap(),
            utc.with_ymd_and_hms(1, 1, 1, 23, 59, 59).unwrap(),
            utc.with_ymd_and_hms(9999, 12, 31, 7, 5, 3).unwrap(),
            utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            utc.timestamp_opt(1_700_000_000, 250_000_000).unwrap(),
            utc.timestamp_opt(1_700_000_000, 1).unwrap(),
            utc.timestamp_opt(1_700_000_000, 223_000_000).unwrap(),
            utc.timestamp_opt(1_700_000_000, 1_000_000).unwrap(),
            utc.timestamp_opt(1_700_000_000, 123_456_000).unwrap(),
            utc.timestamp_opt(1_700_000_000, 1_000).unwrap(),
            utc.timestamp_opt(1_700_000_000, 999_999_999).unwrap(),
            utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap(),
            utc.timestamp_opt(1_699_999_979, 1_500_000_000).unwrap(),
        ] {
            let mut out = Vec::new();
            date_time(&mut out, instant);
            let expected = serde_json::to_vec(&DateTime(instant).written()).unwrap();
            assert_eq!(out, expected, "{instant:?}");
        }
    }
}
