//! HTTP caching of GET answers: a browser (or any private cache) may keep an answer built from
//! the fresh snapshot for as long as that snapshot stays fresh, and ask again with its tag to
//! get `304 Not Modified` without the gateway executing anything.
//!
//! The tag names what the answer was built from (the snapshot generation, the caller's
//! customer scope, the request in canonical form), so the same tag means the same bytes. Only
//! an answer with data, no errors, and nothing but fresh data of that one snapshot gets one;
//! everything else, and every POST answer and refusal, is `no-store`.

use std::time::Duration;

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// What a GET answer may be cached with: its tag, and how long its data stay fresh.
#[derive(Debug, Clone)]
pub(super) struct Validity {
    pub(super) etag: String,
    pub(super) fresh_for: Duration,
}

/// The caches' key must include who asked and in what form.
const VARY: &str = "Authorization, Accept, Accept-Encoding";

/// `304 Not Modified` when `If-None-Match` names `validity`'s tag (or `*`).
pub(super) fn not_modified(headers: &HeaderMap, validity: &Validity) -> Option<Response> {
    let asked = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    let matches = asked
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == validity.etag);
    if !matches {
        return None;
    }
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    mark(&mut response, Some(validity));
    Some(response)
}

/// Sets the caching headers: `private, max-age` and the tag when the answer may be kept,
/// `no-store` otherwise.
pub(super) fn mark(response: &mut Response, validity: Option<&Validity>) {
    let kept = validity.and_then(|validity| {
        let control = format!("private, max-age={}", validity.fresh_for.as_secs());
        let control = HeaderValue::from_str(&control).ok()?;
        Some((control, HeaderValue::from_str(&validity.etag).ok()?))
    });
    let headers = response.headers_mut();
    match kept {
        Some((control, etag)) => {
            headers.insert(header::CACHE_CONTROL, control);
            headers.insert(header::ETAG, etag);
            headers.insert(header::VARY, HeaderValue::from_static(VARY));
        }
        None => {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validity() -> Validity {
        Validity {
            etag: "\"abc\"".into(),
            fresh_for: Duration::from_millis(41_900),
        }
    }

    fn asking(tags: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, tags.parse().unwrap());
        headers
    }

    #[test]
    fn a_current_tag_is_not_modified_and_another_is_answered() {
        for tags in ["\"abc\"", "W/\"abc\"", "\"old\", \"abc\"", "*"] {
            let response = not_modified(&asking(tags), &validity()).expect(tags);
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
            assert_eq!(response.headers()[header::ETAG], "\"abc\"");
            assert_eq!(
                response.headers()[header::CACHE_CONTROL],
                "private, max-age=41"
            );
        }
        assert!(not_modified(&asking("\"old\""), &validity()).is_none());
        assert!(not_modified(&HeaderMap::new(), &validity()).is_none());
    }

    #[test]
    fn without_validity_nothing_is_stored() {
        let mut response = StatusCode::OK.into_response();
        mark(&mut response, None);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert!(response.headers().get(header::ETAG).is_none());
    }
}
