//! The `DateTime` scalar: RFC 3339 out, RFC 3339 (or a bare date) in.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};

/// An instant in UTC, written as RFC 3339 with `Z` (e.g. `2025-09-26T00:00:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant, written in RFC 3339 such as `2025-09-26T00:00:00Z`. As an argument, a bare date
/// such as `2025-09-26` is also accepted and means midnight UTC.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        Self::from_text(text).ok_or_else(|| {
            InputValueError::custom(format!(
                "{text:?} is not an RFC 3339 date-time such as 2025-09-26T00:00:00Z"
            ))
        })
    }

    /// Checked during validation, so a bad literal is a request error rather than a failed
    /// field.
    fn is_valid(value: &Value) -> bool {
        Self::parse(value.clone()).is_ok()
    }

    fn to_value(&self) -> Value {
        Value::String(self.written())
    }
}

impl DateTime {
    /// The instant `text` stands for: RFC 3339, or a bare date meaning midnight UTC.
    pub fn from_text(text: &str) -> Option<Self> {
        if let Ok(instant) = chrono::DateTime::parse_from_rfc3339(text) {
            return Some(Self(instant.with_timezone(&Utc)));
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .map(|midnight| Self(midnight.and_utc()))
    }

    /// The instant as an answer writes it.
    pub fn written(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}
