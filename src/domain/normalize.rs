//! Turning the upstream's all-string values into typed ones.
//!
//! The upstream writes every product field as a string and `"N/A"` for "no value"; numbers and
//! dates come in several historical forms. Each rule here is total: it returns a value or `None`,
//! never an error, because one odd field must not fail a caller's whole query (the verbatim text
//! stays available through `raw`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// The upstream's placeholder for "no value", compared without regard to case or padding.
const NOT_AVAILABLE: &str = "N/A";

/// The trimmed text, or `None` for a missing field, an empty or blank string, or `"N/A"`.
pub(crate) fn text(value: Option<&str>) -> Option<&str> {
    let value = value?;
    // Text that starts and ends with a visible ASCII character has nothing to trim (every
    // whitespace character is ASCII up to space or starts with a byte of 0x80 or more): the
    // common case skips the Unicode scan.
    let visible = |byte: Option<&u8>| byte.is_some_and(|&byte| (b'!'..0x80).contains(&byte));
    let bytes = value.as_bytes();
    let trimmed = if visible(bytes.first()) && visible(bytes.last()) {
        value
    } else {
        value.trim()
    };
    if trimmed.is_empty() || trimmed.eq_ignore_ascii_case(NOT_AVAILABLE) {
        None
    } else {
        Some(trimmed)
    }
}

/// A GraphQL `Int` (32-bit signed) from decimal text; anything else (fractions, thousands
/// separators, non-ASCII digits, out-of-range values) is `None`.
pub(crate) fn int(value: Option<&str>) -> Option<i32> {
    text(value)?.parse().ok()
}

/// An instant from any of the date forms the upstream has used, in UTC.
///
/// Accepted: RFC 3339 with `Z` or an offset and up to nanosecond fractions (the upstream writes
/// up to 7 digits); the same without an offset, with `T` or a space (read as UTC);
/// `MM/dd/yyyyTHH:mm:ssZ`; and the date-only forms `yyyy-MM-dd`, `yyyy/MM/dd` and
/// `MM/dd/yyyy` (read as UTC midnight).
pub(crate) fn date_time(value: Option<&str>) -> Option<DateTime<Utc>> {
    let trimmed = text(value)?;
    if let Ok(instant) = DateTime::parse_from_rfc3339(trimmed) {
        return Some(instant.with_timezone(&Utc));
    }
    const NAIVE_FORMS: [&str; 3] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        // The M365 overview's `lastRunTime` (`09/20/2026T13:00:00Z`).
        "%m/%d/%YT%H:%M:%S%.fZ",
    ];
    if let Some(naive) = NAIVE_FORMS
        .iter()
        .find_map(|form| NaiveDateTime::parse_from_str(trimmed, form).ok())
    {
        return Some(naive.and_utc());
    }
    const DATE_FORMS: [&str; 3] = ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y"];
    DATE_FORMS
        .iter()
        .find_map(|form| NaiveDate::parse_from_str(trimmed, form).ok())
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc())
}

/// A size in bytes from text like `"0 GB"`, `"1.5 TB"` or `"512MB"`: a decimal number and a
/// unit of `B`, `KB`, `MB`, `GB` or `TB`, each 1024 times the last, in any case. Anything else
/// (no unit, a negative or non-finite number) is `None`.
pub(crate) fn bytes(value: Option<&str>) -> Option<f64> {
    let trimmed = text(value)?;
    let split = trimmed
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number.trim().parse().ok()?;
    let power = match unit.trim().to_ascii_uppercase().as_str() {
        "B" => 0,
        "KB" => 1,
        "MB" => 2,
        "GB" => 3,
        "TB" => 4,
        _ => return None,
    };
    let bytes = number * 1024f64.powi(power);
    (bytes.is_finite() && bytes >= 0.0).then_some(bytes)
}

/// Whole seconds from a duration like `"17m39s"`, `"1h2m"`, `"45s"` or `"2d3h"`: numbers each
/// followed by `d`, `h`, `m` or `s`, in that order, each unit at most once. Anything else, or
/// more seconds than an `Int` holds, is `None`.
pub(crate) fn duration_seconds(value: Option<&str>) -> Option<i32> {
    const UNITS: [(char, i64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];
    let mut rest = text(value)?;
    let mut total: i64 = 0;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let amount: i64 = rest[..digits].parse().ok()?;
        let unit = rest[digits..].chars().next()?.to_ascii_lowercase();
        let position = UNITS[next_unit..]
            .iter()
            .position(|(letter, _)| *letter == unit)?;
        let (_, seconds) = UNITS[next_unit + position];
        total = total.checked_add(amount.checked_mul(seconds)?)?;
        next_unit += position + 1;
        rest = &rest[digits + 1..];
    }
    i32::try_from(total).ok()
}

/// A whole number from text or a JSON number's text (codes, counts): `None` when it is not
/// one.
pub(crate) fn code(value: Option<&str>) -> Option<i64> {
    text(value)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn placeholders_become_none() {
        for value in [
            None,
            Some(""),
            Some("   "),
            Some("N/A"),
            Some("n/a"),
            Some(" N/A "),
        ] {
            assert_eq!(text(value), None, "{value:?}");
            assert_eq!(int(value), None, "{value:?}");
            assert_eq!(date_time(value), None, "{value:?}");
        }
    }

    #[test]
    fn text_keeps_meaningful_values_including_unicode() {
        assert_eq!(text(Some("Cloud Backup")), Some("Cloud Backup"));
        assert_eq!(text(Some("  Zürich AG ")), Some("Zürich AG"));
        assert_eq!(text(Some("東京株式会社")), Some("東京株式会社"));
        assert_eq!(text(Some("N/A/B")), Some("N/A/B"));
        assert_eq!(text(Some("NA")), Some("NA"));
    }

    #[test]
    fn int_parses_plain_decimal_text_only() {
        assert_eq!(int(Some("42")), Some(42));
        assert_eq!(int(Some(" 7 ")), Some(7));
        assert_eq!(int(Some("-3")), Some(-3));
        assert_eq!(int(Some("+5")), Some(5));
        assert_eq!(int(Some("0")), Some(0));
        assert_eq!(int(Some("2147483647")), Some(i32::MAX));
        for odd in [
            "2147483648",
            "1,000",
            "1.5",
            "1e3",
            "ten",
            "１２",
            "0x10",
            "--1",
            "5 seats",
        ] {
            assert_eq!(int(Some(odd)), None, "{odd}");
        }
    }

    #[test]
    fn rfc3339_with_zone_or_offset_and_long_fractions() {
        assert_eq!(
            date_time(Some("2025-09-26T00:00:00Z")),
            Some(utc("2025-09-26T00:00:00Z"))
        );
        assert_eq!(
            date_time(Some("2025-09-26T02:00:00+02:00")),
            Some(utc("2025-09-26T00:00:00Z"))
        );
        assert_eq!(
            date_time(Some("2025-09-26T10:11:12.1234567Z")),
            Some(utc("2025-09-26T10:11:12.1234567Z"))
        );
    }

    #[test]
    fn naive_date_times_are_read_as_utc() {
        let expected = Some(utc("2025-09-26T10:11:12.1234567Z"));
        assert_eq!(date_time(Some("2025-09-26T10:11:12.1234567")), expected);
        assert_eq!(date_time(Some("2025-09-26 10:11:12.1234567")), expected);
        assert_eq!(
            date_time(Some("2025-09-26T10:11:12")),
            Some(utc("2025-09-26T10:11:12Z"))
        );
    }

    #[test]
    fn date_only_forms_are_utc_midnight() {
        let midnight = Some(utc("2025-09-26T00:00:00Z"));
        assert_eq!(date_time(Some("2025-09-26")), midnight);
        assert_eq!(date_time(Some("2025/09/26")), midnight);
        assert_eq!(date_time(Some("09/26/2025")), midnight);
        assert_eq!(date_time(Some(" 09/26/2025 ")), midnight);
        assert_eq!(
            date_time(Some("9/6/2025")),
            Some(utc("2025-09-06T00:00:00Z"))
        );
    }

    #[test]
    fn impossible_or_foreign_dates_are_none() {
        for odd in [
            "2025-02-30",
            "26/09/2025",
            "2025-13-01",
            "yesterday",
            "2025-09-26T25:00:00Z",
            "２０２５-09-26",
            "2025-09-26Tnoon",
            "\u{0}",
        ] {
            assert_eq!(date_time(Some(odd)), None, "{odd}");
        }
    }

    mod properties {
        use chrono::{Datelike, NaiveDate, TimeZone};
        use proptest::prelude::*;

        use super::super::*;

        /// A UTC instant with whole seconds, years 1000 to 9999 (four-digit years, as every
        /// accepted form writes them).
        fn instants() -> impl Strategy<Value = DateTime<Utc>> {
            (
                1000i32..=9999,
                1u32..=12,
                1u32..=28,
                0u32..24,
                0u32..60,
                0u32..60,
            )
                .prop_map(|(year, month, day, hour, minute, second)| {
                    Utc.with_ymd_and_hms(year, month, day, hour, minute, second)
                        .unwrap()
                })
        }

        proptest! {
            /// Any text: never a panic, and what comes back is the text trimmed, non-empty and
            /// not N/A (the fast path for visible edges included).
            #[test]
            fn text_is_total(value in proptest::option::of("[ \\t\u{a0}\u{3000}]?.{0,24}[ \\n\u{2029}]?")) {
                let trimmed = value.as_deref().map(str::trim);
                let expected = trimmed.filter(|kept| !kept.is_empty() && !kept.eq_ignore_ascii_case("n/a"));
                prop_assert_eq!(text(value.as_deref()), expected);
                if let Some(kept) = text(value.as_deref()) {
                    prop_assert_eq!(kept, kept.trim());
                    prop_assert!(!kept.is_empty());
                    prop_assert!(!kept.eq_ignore_ascii_case("n/a"));
                }
            }

            #[test]
            fn ints_read_back_whatever_their_padding(number in any::<i32>(), pad in " {0,3}") {
                let written = format!("{pad}{number}{pad}");
                prop_assert_eq!(int(Some(&written)), Some(number));
            }

            /// Any text: an int only when the text is exactly one (no guessing).
            #[test]
            fn int_is_total(value in ".{0,16}") {
                if let Some(number) = int(Some(&value)) {
                    prop_assert_eq!(value.trim().trim_start_matches('+').parse::<i32>().ok(), Some(number));
                }
            }

            /// Any text: never a panic.
            #[test]
            fn date_time_is_total(value in ".{0,40}") {
                let _ = date_time(Some(&value));
            }

            /// Every documented form of an instant reads back as that instant (date-only forms
            /// as its UTC midnight).
            #[test]
            fn every_documented_form_reads_back(instant in instants(), fraction in 0u32..10_000_000) {
                let with_fraction = instant + chrono::Duration::nanoseconds(i64::from(fraction) * 100);
                let seven_digits = format!("{}.{fraction:07}Z", instant.format("%Y-%m-%dT%H:%M:%S"));
                prop_assert_eq!(date_time(Some(&seven_digits)), Some(with_fraction));
                prop_assert_eq!(date_time(Some(&instant.to_rfc3339())), Some(instant));
                let offset = instant.with_timezone(&chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap());
                prop_assert_eq!(date_time(Some(&offset.to_rfc3339())), Some(instant));
                let naive = instant.format("%Y-%m-%d %H:%M:%S").to_string();
                prop_assert_eq!(date_time(Some(&naive)), Some(instant));
                let midnight = NaiveDate::from_ymd_opt(instant.year(), instant.month(), instant.day())
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc();
                for form in ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y"] {
                    let written = instant.format(form).to_string();
                    prop_assert_eq!(date_time(Some(&written)), Some(midnight), "{}", written);
                }
            }
        }
    }

    #[test]
    fn sizes_are_1024_based_with_their_unit() {
        assert_eq!(bytes(Some("0 GB")), Some(0.0));
        assert_eq!(bytes(Some("1 KB")), Some(1024.0));
        assert_eq!(bytes(Some("1.5 GB")), Some(1.5 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(bytes(Some("2tb")), Some(2.0 * 1024f64.powi(4)));
        assert_eq!(bytes(Some(" 512 MB ")), Some(512.0 * 1024.0 * 1024.0));
        assert_eq!(bytes(Some("7 B")), Some(7.0));
        for odd in [
            "N/A", "", "GB", "12", "1 PB", "-1 GB", "one GB", "1,5 GB", "NaN GB", "inf GB",
        ] {
            assert_eq!(bytes(Some(odd)), None, "{odd}");
        }
    }

    #[test]
    fn durations_add_their_units_in_order() {
        assert_eq!(duration_seconds(Some("17m39s")), Some(17 * 60 + 39));
        assert_eq!(duration_seconds(Some("1h2m")), Some(3_720));
        assert_eq!(duration_seconds(Some("45s")), Some(45));
        assert_eq!(duration_seconds(Some("2d3h")), Some(2 * 86_400 + 3 * 3_600));
        assert_eq!(duration_seconds(Some("0s")), Some(0));
        for odd in [
            "N/A",
            "",
            "17",
            "m39s",
            "39s17m",
            "1h1h",
            "1x",
            "1.5h",
            "99999999999s",
            "-5s",
        ] {
            assert_eq!(duration_seconds(Some(odd)), None, "{odd}");
        }
    }

    #[test]
    fn the_overview_date_form_parses() {
        assert_eq!(
            date_time(Some("09/20/2026T13:00:00Z")),
            Some(utc("2026-09-20T13:00:00Z"))
        );
        assert_eq!(date_time(Some("13/20/2026T13:00:00Z")), None);
    }

    #[test]
    fn codes_are_whole_numbers() {
        assert_eq!(code(Some("3")), Some(3));
        assert_eq!(code(Some("303")), Some(303));
        for odd in ["N/A", "", "3.0", "three"] {
            assert_eq!(code(Some(odd)), None, "{odd}");
        }
    }
}
