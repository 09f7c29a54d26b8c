//! The signed client assertion the app may prove itself with (RFC 7523): an RS256 JWT whose
//! header names the registered certificate by its SHA-1 thumbprint (`kid` in hex, `x5t` in
//! base64url), signed with that certificate's key.

use std::{path::Path, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::UpstreamError;
use crate::clock::unix_now;

/// `client_assertion_type` of a JWT client assertion (RFC 7523).
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lifetime of one client assertion.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// Why the app's credentials could not be loaded; names the file, never key material.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CredentialError {
    /// The key file cannot be read.
    #[error("cannot read {path}: {reason}")]
    UnreadableKey {
        /// The file given.
        path: String,
        /// What the OS said.
        reason: String,
    },
    /// The certificate file cannot be read.
    #[error("cannot read {path}: {reason}")]
    UnreadableCertificate {
        /// The file given.
        path: String,
        /// What the OS said.
        reason: String,
    },
    /// The key file is not an RSA private key in PEM.
    #[error("{0} is not an RSA private key in PEM (PKCS#1 or PKCS#8)")]
    NotRsaKey(String),
    /// The certificate file holds no PEM certificate.
    #[error("{0} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NotCertificate(String),
}

impl CredentialError {
    /// Whether the certificate file (rather than the key file) is at fault.
    pub(crate) fn is_about_certificate(&self) -> bool {
        matches!(
            self,
            Self::UnreadableCertificate { .. } | Self::NotCertificate(_)
        )
    }
}

/// Signs client assertions with the app's certificate key.
pub(crate) struct AssertionSigner {
    key: EncodingKey,
    /// SHA-1 thumbprint of the certificate, upper-case hex (the form portals show).
    kid: String,
    /// The same thumbprint, base64url.
    x5t: String,
}

impl std::fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    exp: u64,
}

impl AssertionSigner {
    /// Reads the private key and its certificate.
    pub(crate) fn from_files(key_file: &Path, cert_file: &Path) -> Result<Self, CredentialError> {
        let key_pem = std::fs::read(key_file).map_err(|error| CredentialError::UnreadableKey {
            path: key_file.display().to_string(),
            reason: error.to_string(),
        })?;
        let key = EncodingKey::from_rsa_pem(&key_pem)
            .map_err(|_| CredentialError::NotRsaKey(key_file.display().to_string()))?;
        let cert_pem =
            std::fs::read(cert_file).map_err(|error| CredentialError::UnreadableCertificate {
                path: cert_file.display().to_string(),
                reason: error.to_string(),
            })?;
        let certificate = pem::parse_many(cert_pem)
            .ok()
            .and_then(|blocks| {
                blocks
                    .into_iter()
                    .find(|block| block.tag() == "CERTIFICATE")
            })
            .ok_or_else(|| CredentialError::NotCertificate(cert_file.display().to_string()))?;
        let thumbprint = certificate_thumbprint(certificate.contents());
        Ok(Self {
            key,
            kid: thumbprint
                .iter()
                .map(|byte| format!("{byte:02X}"))
                .collect(),
            x5t: URL_SAFE_NO_PAD.encode(thumbprint),
        })
    }

    /// The `kid` the assertions carry: the certificate's SHA-1 thumbprint in hex.
    #[cfg(test)]
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// A fresh assertion that `client_id` is asking `audience` (the token URL) for a token.
    pub(super) fn sign(&self, client_id: &str, audience: &str) -> Result<String, UpstreamError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.x5t = Some(self.x5t.clone());
        let claims = AssertionClaims {
            iss: client_id,
            sub: client_id,
            aud: audience,
            jti: random_id()?,
            exp: unix_now() + ASSERTION_LIFETIME.as_secs(),
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|_| UpstreamError::Unavailable("could not sign the client assertion".into()))
    }
}

/// SHA-1 of a certificate's DER: the thumbprint identity services register it under.
pub(crate) fn certificate_thumbprint(der: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der)
        .as_ref()
        .to_vec()
}

fn random_id() -> Result<String, UpstreamError> {
    crate::hex::random(16)
        .map_err(|_| UpstreamError::Unavailable("no randomness for the client assertion".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assertion_names_the_certificate_by_its_sha1_thumbprint() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys");
        let signer =
            AssertionSigner::from_files(&dir.join("client.key"), &dir.join("client.crt")).unwrap();
        // `openssl x509 -in client.crt -noout -fingerprint -sha1`, without the colons.
        assert_eq!(signer.kid(), "E006D7BEF0160490B4661D3E9D0A3F1B31F11E11");
        let assertion = signer
            .sign("app-id", "https://id.test/connect/token")
            .unwrap();
        let header = jsonwebtoken::decode_header(&assertion).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(header.x5t.unwrap()).unwrap(),
            certificate_thumbprint(
                pem::parse(std::fs::read(dir.join("client.crt")).unwrap())
                    .unwrap()
                    .contents()
            )
        );
        assert!(format!("{signer:?}").contains("E006D7"));
    }

    #[test]
    fn a_missing_or_wrong_file_is_named() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys");
        let error = AssertionSigner::from_files(&dir.join("ec-p256.key"), &dir.join("client.crt"))
            .unwrap_err();
        assert!(error.to_string().contains("ec-p256.key"), "{error}");
        let error =
            AssertionSigner::from_files(&dir.join("client.key"), &dir.join("rsa-1.pub.pem"))
                .unwrap_err();
        assert!(
            matches!(error, CredentialError::NotCertificate(_)),
            "{error}"
        );
    }
}
