//! The request id: the caller's `x-request-id` when sane, otherwise a fresh one.
//!
//! The request-span middleware takes it from the request ([`RequestId::of`]), hands it to
//! the code below as an extension and as [`RequestId::current`] (for code with no access to
//! the request, like the panic guard), and echoes it in the response.

use std::{
    fmt,
    sync::{
        Arc, LazyLock,
        atomic::{AtomicU32, Ordering},
    },
};

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
};

/// The header that carries the request id, both ways.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest caller-given request id kept; a longer or odd one is replaced.
const MAX_REQUEST_ID: usize = 64;

/// The id of one request: the caller's `x-request-id` when it is a sane token, otherwise a
/// fresh random one. It is echoed in the response, set on the request's log span, and quoted in
/// masked errors, so a caller's report can be matched to the log.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(Arc<str>);

tokio::task_local! {
    /// The id of the request whose task is running, for code that cannot see the request.
    static CURRENT: RequestId;
}

/// Whether a caller's id is kept: 1 to 64 characters of letters, digits and `-_.:` (an id
/// lands in logs, so odd text is not carried there).
fn is_sane(given: &[u8]) -> bool {
    !given.is_empty()
        && given.len() <= MAX_REQUEST_ID
        && given
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(byte))
}

impl RequestId {
    /// The caller's id when it is sane, otherwise a fresh one.
    pub(super) fn of(request: &Request) -> Self {
        request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .filter(|given| is_sane(given.as_bytes()))
            .map_or_else(Self::generate, |given| Self(given.into()))
    }

    /// Runs `future` with this id as [`RequestId::current`].
    pub(super) async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }

    /// The id of the request being handled on this task, if any.
    pub(super) fn current() -> Option<Self> {
        CURRENT.try_with(Self::clone).ok()
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

    /// The id as the response's `x-request-id`.
    pub(super) fn header(&self) -> HeaderValue {
        // The id is letters, digits and `-_.:` alone (sane or generated), always a valid value.
        HeaderValue::from_str(&self.0).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
    }

    /// The id's text.
    pub(crate) fn as_str(&self) -> &str {
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
        assert!(!is_sane(b"bad id!"));
        assert!(!is_sane(&[b'a'; 65]));
        assert!(is_sane(b"caller-1.2:3_x"));
    }
}
