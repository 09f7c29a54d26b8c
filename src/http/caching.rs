//! HTTP caching of GET answers: a browser (or any private cache) may keep an answer built from
//! the fresh snapshot for as long as that snapshot stays fresh, and ask again with its tag to
//! get `304 Not Modified` without the gateway executing anything.
//!
//! The tag names what the answer was built from (the snapshot generation, the caller's
//! customer scope, the request in canonical form), so the same tag means the same bytes. Only
//! an answer with data, no errors, and nothing but fresh data of that one snapshot gets one;
//! everything else, and every POST answer and refusal, is `no-store`.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::answer::Validity;

/// The caches' key must include who asked and in what form.
const VARY: &str = "Authorization, Accept, Accept-Encoding";

/// `304 Not Modified`, with the tag and freshness of the copy the caller holds.
pub(super) fn not_modified(validity: &Validity) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    mark(&mut response, Some(validity));
    response
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
    use std::time::Duration;

    use super::*;

    #[test]
    fn not_modified_carries_the_tag_and_the_freshness_left() {
        let validity = Validity {
            etag: "\"abc\"".into(),
            fresh_for: Duration::from_millis(41_900),
        };
        let response = not_modified(&validity);
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(response.headers()[header::ETAG], "\"abc\"");
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "private, max-age=41"
        );
    }

    #[test]
    fn without_validity_nothing_is_stored() {
        let mut response = StatusCode::OK.into_response();
        mark(&mut response, None);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert!(response.headers().get(header::ETAG).is_none());
    }
}
