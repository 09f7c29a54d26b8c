//! Response compression: the policy tower-http's `CompressionLayer` applies to every answer,
//! the reading of `Accept-Encoding`, and a reused answer's body in the coding a caller
//! accepts (made once, by the memo, then sent as it is).

use axum::{
    body::Bytes,
    http::{HeaderMap, header},
};
use tower_http::{
    CompressionLevel,
    compression::{
        Predicate,
        predicate::{NotForContentType, SizeAbove},
    },
};

use crate::answer::{Coding, Kept, QUALITY};

/// Smallest answer compressed: below it the coding saves less than it costs.
pub(super) const MIN_BYTES: u16 = 1024;

/// The memo's [`QUALITY`] as tower-http takes it.
pub(super) const LEVEL: CompressionLevel = CompressionLevel::Precise(QUALITY as i32);

/// Which answers tower-http compresses: [`MIN_BYTES`] or more, not images, and not an event
/// stream (whose events must leave as they come, not when a compressed block fills).
pub(super) fn predicate() -> impl Predicate {
    SizeAbove::new(MIN_BYTES)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::const_new("text/event-stream"))
}

/// The coding a request accepts, by its `Accept-Encoding`: the highest `q` (br on a tie),
/// none when it lists neither or gives them `q=0`.
pub(super) fn accepted(headers: &HeaderMap) -> Option<Coding> {
    let mut best: Option<(Coding, f32)> = None;
    for (coding, weight) in listed(headers) {
        let better = best.is_none_or(|(known, q)| {
            weight > q || (weight == q && coding == Coding::Br && known == Coding::Gzip)
        });
        if weight > 0.0 && better {
            best = Some((coding, weight));
        }
    }
    best.map(|(coding, _)| coding)
}

/// Whether a request accepts `coding` at all (`q` above 0), whichever it prefers.
pub(super) fn is_accepted(headers: &HeaderMap, coding: Coding) -> bool {
    listed(headers).any(|(listed, weight)| listed == coding && weight > 0.0)
}

/// A kept answer's body in the coding the request accepts, when it accepts one and the
/// answer is large enough to be worth it.
pub(super) fn for_request(kept: &Kept, headers: &HeaderMap) -> Option<(Coding, Bytes)> {
    if kept.answer.body.len() < usize::from(MIN_BYTES) {
        return None;
    }
    let coding = accepted(headers)?;
    kept.coded(coding).map(|body| (coding, body))
}

/// The codings an `Accept-Encoding` lists that the gateway sends, with their `q` (1 unless
/// given).
fn listed(headers: &HeaderMap) -> impl Iterator<Item = (Coding, f32)> + '_ {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| {
            let mut parts = item.split(';');
            let coding = match parts.next().map(str::trim) {
                Some(name) if name.eq_ignore_ascii_case("br") => Coding::Br,
                Some(name) if name.eq_ignore_ascii_case("gzip") => Coding::Gzip,
                _ => return None,
            };
            let weight = parts
                .filter_map(|param| param.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((coding, weight))
        })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn accepting(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn the_accepted_coding_follows_q_values_and_prefers_br_on_a_tie() {
        assert_eq!(accepted(&accepting("gzip, deflate, br")), Some(Coding::Br));
        assert_eq!(accepted(&accepting("br;q=0.5, gzip")), Some(Coding::Gzip));
        assert_eq!(accepted(&accepting("br;q=0, gzip;q=0")), None);
        assert_eq!(accepted(&accepting("identity, deflate")), None);
        assert_eq!(accepted(&HeaderMap::new()), None);
        assert!(is_accepted(&accepting("br, gzip;q=0.1"), Coding::Gzip));
        assert!(!is_accepted(&accepting("gzip;q=0"), Coding::Gzip));
    }
}
