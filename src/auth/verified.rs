//! Tokens verified recently, so a caller that sends the same token with every request pays for
//! signature checking and claim parsing once, not every time.
//!
//! An entry is keyed by the SHA-256 of the token's signature, the one part only a key holder
//! could have made, and carries a fingerprint of the whole token under a key drawn when the
//! process starts: a token that shares a signature but differs anywhere else is not the one
//! verified. No token is kept in memory, and a request hashes its signature (a block or a few)
//! rather than the whole token, which a customer claim can make kilobytes long. An entry holds the
//! caller it proved and when the token stops being valid (`exp` plus the leeway). It is used
//! only while that time has not passed and the JWKS key set is the one it was verified
//! against: a refetched key set (a rotation, a withdrawn key) sends every token through full
//! verification again. Refusals are never kept. Entries live at most five minutes.

use std::{hash::BuildHasher, sync::Arc, time::Duration};

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
    /// The whole token's fingerprint under [`VerifiedTokens`]' hash key.
    fingerprint: u64,
    /// Unix second after which the token is expired (leeway included).
    valid_until: u64,
    /// The JWKS key set at verification (`None` without a JWKS).
    keys: Option<Arc<[VerifyingKey]>>,
}

/// The recently verified tokens.
#[derive(Debug)]
pub(super) struct VerifiedTokens {
    entries: Cache<[u8; 32], Arc<Verified>>,
    /// Keys the fingerprints with a seed drawn at start, so no caller can aim at a collision.
    fingerprints: foldhash::quality::RandomState,
}

impl VerifiedTokens {
    /// An empty cache, bounded to `MAX_TOKENS` tokens.
    pub(super) fn new() -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(MAX_TOKENS)
                .time_to_live(REUSE_FOR)
                .build(),
            fingerprints: foldhash::quality::RandomState::default(),
        }
    }

    /// The SHA-256 of the token's last segment (its signature).
    fn key(token: &str) -> [u8; 32] {
        let signature = token.rsplit('.').next().unwrap_or(token);
        let mut key = [0u8; 32];
        key.copy_from_slice(digest(&SHA256, signature.as_bytes()).as_ref());
        key
    }

    fn fingerprint(&self, token: &str) -> u64 {
        self.fingerprints.hash_one(token.as_bytes())
    }

    /// The caller `token` proved, if it was verified against the key set `keys` and has not
    /// expired since.
    pub(super) fn get(&self, token: &str, keys: Option<&Arc<[VerifyingKey]>>) -> Option<Caller> {
        let entry = self.entries.get(&Self::key(token))?;
        if entry.fingerprint != self.fingerprint(token) {
            return None;
        }
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
        self.entries.insert(
            Self::key(token),
            Arc::new(Verified {
                caller: caller.clone(),
                fingerprint: self.fingerprint(token),
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

    #[test]
    fn a_token_altered_outside_its_signature_is_not_taken_for_the_verified_one() {
        let tokens = VerifiedTokens::new();
        let keys: Arc<[VerifyingKey]> = Arc::from(Vec::new());
        tokens.insert(
            "head.body.signature",
            &caller(),
            unix_now() + 60,
            Some(Arc::clone(&keys)),
        );
        assert!(tokens.get("head.body.signature", Some(&keys)).is_some());
        assert!(tokens.get("head.bodx.signature", Some(&keys)).is_none());
        assert!(tokens.get("heax.body.signature", Some(&keys)).is_none());
        assert!(tokens.get("head.body.signaturf", Some(&keys)).is_none());
    }
}
