//! How long a GET answer may be kept by the caller, and whether the copy it names by tag is
//! still current: the tag names what the answer was built from (the snapshot generation, the
//! caller's customer scope, the request in canonical form), so the same tag means the same
//! bytes.

use std::time::Duration;

/// What a GET answer may be cached with: its tag, and how long its data stay fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Validity {
    /// The entity tag, quoted.
    pub(crate) etag: String,
    /// How long the data under it stay fresh.
    pub(crate) fresh_for: Duration,
}

impl Validity {
    /// Whether `If-None-Match` (its text) names this tag, weakly or strongly, or `*`.
    pub(crate) fn named_by(&self, if_none_match: &str) -> bool {
        if_none_match
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == self.etag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_current_tag_is_named_and_another_is_not() {
        let validity = Validity {
            etag: "\"abc\"".into(),
            fresh_for: Duration::from_secs(41),
        };
        for tags in ["\"abc\"", "W/\"abc\"", "\"old\", \"abc\"", "*"] {
            assert!(validity.named_by(tags), "{tags}");
        }
        assert!(!validity.named_by("\"old\""));
        assert!(!validity.named_by(""));
    }
}
