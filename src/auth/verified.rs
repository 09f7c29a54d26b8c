//! Tokens verified recently, so a caller that sends the same token with every request pays for
//! signature checking and claim parsing once, not every time.
//!
//! An entry is keyed by the SHA-256 of the token (no token is kept in memory), and holds the
//! caller it proved and when the token stops being valid (`exp` plus the leeway). It is used
//! only while that time has not passed and the JWKS key set is the one it was verified
//! against: a refetched key set (a rotation, a withdrawn key) sends every token through full
//! verification again. Refusals are never kept. Entries live at most five minutes.

use std::{sync::Arc, time::Duration};

use aws_lc_rs::digest::{SHA256, digest};
use moka::sync::Cache;

use super::{Caller, VerifyingKey};
use crate::clock::unix_now;

/// Tokens remembered at most.
const MAX_TOKENS: u64 = 10_000;
/// Longest a verification is reused.
const REUSE_FOR: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Verified {
    caller: Caller,
    /// Unix second after which the token is expired (leeway included).
    valid_until: u64,
    /// The JWKS key set at verification (`None` without a JWKS).
    keys: Option<Arc<[VerifyingKey]>>,
}

/// The recently verified tokens.
#[derive(Debug)]
pub(super) struct VerifiedTokens(Cache<[u8; 32], Arc<Verified>>);

impl VerifiedTokens {
    pub(super) fn new() -> Self {
        Self(
            Cache::builder()
                .max_capacity(MAX_TOKENS)
                .time_to_live(REUSE_FOR)
                .build(),
        )
    }

    fn key(token: &str) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        key
    }

    /// The caller `token` proved, if it was verified against the key set `keys` and has not
    /// expired since.
    pub(super) fn get(&self, token: &str, keys: Option<&Arc<[VerifyingKey]>>) -> Option<Caller> {
        let entry = self.0.get(&Self::key(token))?;
        let same_keys = match (&entry.keys, keys) {
            (Some(then), Some(now)) => Arc::ptr_eq(then, now),
            (None, None) => true,
            _ => false,
        };
        (same_keys && unix_now() <= entry.valid_until).then(|| entry.caller.clone())
    }

    /// Remembers that `token` proved `caller` against `keys`, valid until `valid_until`.
    pub(super) fn insert(
        &self,
        token: &str,
        caller: &Caller,
        valid_until: u64,
        keys: Option<Arc<[VerifyingKey]>>,
    ) {
        self.0.insert(
            Self::key(token),
            Arc::new(Verified {
                caller: caller.clone(),
                valid_until,
                keys,
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::CustomerAccess;

    fn caller() -> Caller {
        Caller::from_claims(
            serde_json::Map::new(),
            &super::super::CustomerScoping::default(),
        )
        .unwrap()
    }

    #[test]
    fn an_entry_serves_until_expiry_and_only_for_the_same_key_set() {
        let tokens = VerifiedTokens::new();
        let keys: Arc<[VerifyingKey]> = Arc::from(Vec::new());
        tokens.insert("live", &caller(), unix_now() + 60, Some(Arc::clone(&keys)));
        tokens.insert(
            "expired",
            &caller(),
            unix_now() - 1,
            Some(Arc::clone(&keys)),
        );
        let hit = tokens
            .get("live", Some(&keys))
            .expect("a live token is reused");
        assert!(matches!(hit.access, CustomerAccess::All));
        assert!(tokens.get("expired", Some(&keys)).is_none());
        assert!(tokens.get("unknown", Some(&keys)).is_none());
        let rotated: Arc<[VerifyingKey]> = Arc::from(Vec::new());
        assert!(
            tokens.get("live", Some(&rotated)).is_none(),
            "a new key set means verifying again"
        );
        assert!(tokens.get("live", None).is_none());
    }
}
