//! Verification keys and which algorithms each may check.
//!
//! A key is only ever used for the algorithms its type allows: the HS256 secret for HS256,
//! an RSA key for RS256/384/512 and PS256/384/512, a P-256 key for ES256, a P-384 key for
//! ES384, an Ed25519 key for EdDSA. A JWK that names its `alg` is narrowed to that one. This is
//! what defeats algorithm confusion: an RSA public key is never treated as an HMAC secret, and
//! a token claiming `HS256` is only checked against the configured shared secret.

use std::path::Path;

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse},
};

use crate::secret::Secret;

/// Every asymmetric algorithm the gateway can verify, in the order keys list them.
const RSA_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// DER of the P-256 curve's object identifier (1.2.840.10045.3.1.7), as it appears in an
/// EC public key's parameters.
const P256_OID: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// DER of the P-384 curve's object identifier (1.3.132.0.34).
const P384_OID: &[u8] = &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22];

/// One key that can verify caller tokens.
#[derive(Clone)]
pub(crate) struct VerifyingKey {
    /// The JWK `kid`, when the key came from a JWKS that gave one.
    pub kid: Option<String>,
    /// The algorithms this key may check.
    pub algorithms: Vec<Algorithm>,
    /// The key itself.
    pub key: DecodingKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// The HS256 key for a shared secret.
    pub(crate) fn shared_secret(secret: &Secret) -> Self {
        Self {
            kid: None,
            algorithms: vec![Algorithm::HS256],
            key: DecodingKey::from_secret(secret.expose().as_bytes()),
        }
    }

    /// Whether this key may check a token signed with `algorithm` and naming `kid`.
    ///
    /// A key without a `kid` (the secret, a PEM file) is tried whatever the token names.
    pub(crate) fn matches(&self, algorithm: Algorithm, kid: Option<&str>) -> bool {
        self.algorithms.contains(&algorithm)
            && match (&self.kid, kid) {
                (Some(ours), Some(theirs)) => ours == theirs,
                _ => true,
            }
    }
}

/// Why a key could not be used; the message names the problem, never key material.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    /// The file cannot be read.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The file given.
        path: String,
        /// What the OS said.
        reason: String,
    },
    /// The file holds no PEM block.
    #[error("{0} holds no PEM public key (expected -----BEGIN PUBLIC KEY-----)")]
    NotPem(String),
    /// A private key where a public one belongs.
    #[error("{0} holds a private key: give the gateway only the public key (openssl pkey -pubout)")]
    PrivateKey(String),
    /// A PEM block of a type the gateway cannot verify with.
    #[error("{path}: the `{tag}` block is not an RSA, EC (P-256/P-384) or Ed25519 public key")]
    Unsupported {
        /// The file given.
        path: String,
        /// The PEM label.
        tag: String,
    },
}

/// Reads every public key (or certificate) in a PEM file.
pub(crate) fn from_pem_file(path: &Path) -> Result<Vec<VerifyingKey>, KeyError> {
    let shown = path.display().to_string();
    let text = std::fs::read(path).map_err(|error| KeyError::Unreadable {
        path: shown.clone(),
        reason: error.to_string(),
    })?;
    let blocks = pem::parse_many(&text).map_err(|_| KeyError::NotPem(shown.clone()))?;
    if blocks.is_empty() {
        return Err(KeyError::NotPem(shown));
    }
    blocks
        .iter()
        .map(|block| {
            if block.tag().contains("PRIVATE KEY") {
                return Err(KeyError::PrivateKey(shown.clone()));
            }
            from_pem_block(block).ok_or_else(|| KeyError::Unsupported {
                path: shown.clone(),
                tag: block.tag().to_owned(),
            })
        })
        .collect()
}

fn from_pem_block(block: &pem::Pem) -> Option<VerifyingKey> {
    let text = pem::encode(block);
    let text = text.as_bytes();
    let (algorithms, key) = if let Ok(key) = DecodingKey::from_rsa_pem(text) {
        (RSA_ALGORITHMS.to_vec(), key)
    } else if let Ok(key) = DecodingKey::from_ec_pem(text) {
        let der = block.contents();
        let algorithm = if contains(der, P256_OID) {
            Algorithm::ES256
        } else if contains(der, P384_OID) {
            Algorithm::ES384
        } else {
            return None;
        };
        (vec![algorithm], key)
    } else if let Ok(key) = DecodingKey::from_ed_pem(text) {
        (vec![Algorithm::EdDSA], key)
    } else {
        return None;
    };
    Some(VerifyingKey {
        kid: None,
        algorithms,
        key,
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The key a JWK describes, or why it is skipped.
///
/// Symmetric (`oct`) keys are refused: a shared secret has no business in a published key
/// set, and accepting one would let anyone who can read the JWKS mint tokens.
pub(super) fn from_jwk(jwk: &Jwk) -> Result<VerifyingKey, String> {
    if let Some(usage) = &jwk.common.public_key_use
        && *usage != PublicKeyUse::Signature
    {
        return Err("its `use` is not `sig`".into());
    }
    let by_type: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => RSA_ALGORITHMS.to_vec(),
        AlgorithmParameters::EllipticCurve(params) => match params.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => return Err("its curve is not supported".into()),
        },
        AlgorithmParameters::OctetKeyPair(params) if params.curve == EllipticCurve::Ed25519 => {
            vec![Algorithm::EdDSA]
        }
        AlgorithmParameters::OctetKeyPair(_) => return Err("its curve is not supported".into()),
        AlgorithmParameters::OctetKey(_) => {
            return Err("it is a symmetric key, which a JWKS must not publish".into());
        }
    };
    let algorithms = match jwk.common.key_algorithm {
        None => by_type,
        Some(named) => match named_algorithm(named) {
            Some(algorithm) if by_type.contains(&algorithm) => vec![algorithm],
            _ => return Err("its `alg` does not fit its key type".into()),
        },
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "its parameters are not a valid key")?;
    Ok(VerifyingKey {
        kid: jwk.common.key_id.clone(),
        algorithms,
        key,
    })
}

fn named_algorithm(named: KeyAlgorithm) -> Option<Algorithm> {
    Some(match named {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Every algorithm a JWKS key might allow (JWKS keys change at run time).
pub(super) fn asymmetric_algorithms() -> Vec<Algorithm> {
    let mut all = RSA_ALGORITHMS.to_vec();
    all.extend([Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA]);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/keys")
            .join(name)
    }

    #[test]
    fn pem_keys_allow_only_what_their_type_can_sign() {
        let rsa = from_pem_file(&fixture("rsa-1.pub.pem")).unwrap();
        assert_eq!(rsa[0].algorithms, RSA_ALGORITHMS);
        let p256 = from_pem_file(&fixture("ec-p256.pub.pem")).unwrap();
        assert_eq!(p256[0].algorithms, [Algorithm::ES256]);
        let p384 = from_pem_file(&fixture("ec-p384.pub.pem")).unwrap();
        assert_eq!(p384[0].algorithms, [Algorithm::ES384]);
        let certificate = from_pem_file(&fixture("client.crt")).unwrap();
        assert_eq!(certificate[0].algorithms, RSA_ALGORITHMS);
        for keys in [rsa, p256, p384] {
            assert!(!keys[0].algorithms.contains(&Algorithm::HS256));
        }
    }

    #[test]
    fn a_private_key_or_garbage_is_refused_with_a_reason() {
        let private = from_pem_file(&fixture("rsa-1.key")).unwrap_err();
        assert!(matches!(private, KeyError::PrivateKey(_)), "{private}");
        let missing = from_pem_file(&fixture("nope.pem")).unwrap_err();
        assert!(matches!(missing, KeyError::Unreadable { .. }), "{missing}");
        let not_pem = from_pem_file(&fixture("generate.sh")).unwrap_err();
        assert!(matches!(not_pem, KeyError::NotPem(_)), "{not_pem}");
    }

    #[test]
    fn jwks_keys_are_narrowed_by_alg_and_symmetric_ones_refused() {
        let rsa: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "RSA", "kid": "a", "alg": "PS256", "use": "sig",
            "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
            "e": "AQAB"
        }))
        .unwrap();
        let key = from_jwk(&rsa).unwrap();
        assert_eq!(key.algorithms, [Algorithm::PS256]);
        assert!(key.matches(Algorithm::PS256, Some("a")));
        assert!(!key.matches(Algorithm::PS256, Some("b")));
        assert!(!key.matches(Algorithm::RS256, Some("a")));
        let oct: Jwk =
            serde_json::from_value(serde_json::json!({ "kty": "oct", "k": "c2VjcmV0" })).unwrap();
        assert!(from_jwk(&oct).unwrap_err().contains("symmetric"));
    }
}
