//! The request id: the caller's `x-request-id` when sane, otherwise a fresh one.

use std::{
    fmt,
    sync::{
        Arc, LazyLock,
        atomic::{AtomicU32, Ordering},
    },
};

use axum::http::{HeaderMap, HeaderName};

/// The header that carries the request id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest caller-given request id kept; a longer or odd one is replaced.
const MAX_REQUEST_ID: usize = 64;

/// The id of one request: the caller's `x-request-id` when it is a sane token, otherwise a
/// fresh random one. It is echoed in the response, set on the request's log span, and quoted in
/// masked errors, so a caller's report can be matched to the log.
#[derive(Debug, Clone)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// The id for a request with these headers.
    pub(super) fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get(&REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .map_or_else(Self::generate, Self::from_header_value)
    }

    /// The caller's id when it is 1 to 64 characters of letters, digits and `-_.:`; otherwise
    /// a fresh one (an id lands in logs, so odd text is not carried there).
    pub(crate) fn from_header_value(given: &str) -> Self {
        let sane = Some(given).filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_REQUEST_ID
                && id
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte))
        });
        match sane {
            Some(id) => Self(id.into()),
            None => Self::generate(),
        }
    }

    /// A fresh id: 8 random bytes drawn once per process, then a counter, as 24 hex digits.
    /// Unique within the process and, by the random part, across processes; no system call
    /// or allocation beyond the id itself per request.
    fn generate() -> Self {
        static PREFIX: LazyLock<u64> = LazyLock::new(|| {
            let mut bytes = [0u8; 8];
            // Without OS randomness, the clock still tells processes apart.
            if getrandom::fill(&mut bytes).is_err() {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos();
                bytes.copy_from_slice(&nanos.to_le_bytes()[..8]);
            }
            u64::from_le_bytes(bytes)
        });
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut text = [0u8; 24];
        let digits = (u128::from(*PREFIX) << 32) | u128::from(count);
        for (position, slot) in text.iter_mut().enumerate() {
            let nibble = (digits >> (4 * (23 - position))) & 0xf;
            *slot = b"0123456789abcdef"[nibble as usize];
        }
        Self(std::str::from_utf8(&text).unwrap_or_default().into())
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_24_hex_digits_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..1000)
            .map(|_| RequestId::generate().as_str().to_owned())
            .collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), 24);
            assert!(id.bytes().all(|byte| byte.is_ascii_hexdigit()), "{id}");
        }
        assert_eq!(RequestId::from_header_value("bad id!").as_str().len(), 24);
    }
}
