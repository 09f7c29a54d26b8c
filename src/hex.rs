//! Bytes as lower-case hex, the one way the gateway writes digests and random tokens as text:
//! keys in Redis and the rate limiter, ETags, persisted-document ids, lease and request tokens.

use aws_lc_rs::digest::{SHA256, digest};

/// `bytes` in lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The first `len` bytes (at most 32) of the SHA-256 of `bytes`, in hex.
pub(crate) fn sha256(bytes: &[u8], len: usize) -> String {
    let digest = digest(&SHA256, bytes);
    hex(&digest.as_ref()[..len.min(32)])
}

/// `len` random bytes in hex.
pub(crate) fn random(len: usize) -> Result<String, getrandom::Error> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes)?;
    Ok(hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_random_tokens_are_lower_case_hex_of_the_length_asked() {
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
        assert_eq!(
            sha256(b"abc", 32),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256(b"abc", 4), "ba7816bf");
        let token = random(16).unwrap();
        assert_eq!(token.len(), 32);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
}
