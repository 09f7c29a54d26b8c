//! The gateway's own bearer token for the upstream: fixed, or obtained from the identity
//! service by the OAuth 2.0 client-credentials grant.
//!
//! An issued token is reused until shortly before it expires ([`refresh_margin`]). Refreshes
//! are single-flight: when many upstream requests need a token at once, one asks the identity
//! service and the rest wait for its answer. When the upstream refuses a token, the client
//! calls [`AppToken::invalidate`] with it and asks again, which fetches a new one at most once
//! however many requests saw the refusal.
//!
//! The app proves itself with a client secret or a signed client assertion
//! ([`AssertionSigner`]): an RS256 JWT whose header names the registered certificate by its
//! SHA-1 thumbprint (`kid` in hex, `x5t` in base64url).

use std::{
    path::Path,
    sync::{Arc, RwLock},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::UpstreamError;
use crate::{metrics::Metrics, secret::Secret};

/// `client_assertion_type` of a JWT client assertion (RFC 7523).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lifetime of one client assertion.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// Lifetime assumed when the identity service sends no `expires_in` (its documented value).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// The range an issued token's `expires_in` is held to: at least a second, so a `0` cannot
/// make every request fetch a token (one a second at most, shared by all requests), and at
/// most a day, so a number near `u64::MAX` cannot overflow the clock.
const LIFETIME_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(24 * 60 * 60));

/// `expires_in` as the gateway uses it: clamped to [`LIFETIME_RANGE`], logged when it was not.
fn token_lifetime(expires_in: Option<u64>) -> Duration {
    let Some(said) = expires_in else {
        return DEFAULT_LIFETIME;
    };
    let (shortest, longest) = LIFETIME_RANGE;
    let lifetime = Duration::from_secs(said).clamp(shortest, longest);
    if lifetime.as_secs() != said {
        tracing::warn!(
            expires_in_secs = said,
            used_secs = lifetime.as_secs(),
            "the identity service's expires_in is out of range; clamped"
        );
    }
    lifetime
}

/// How long before expiry an issued token is replaced: a tenth of its life, at most a minute,
/// so a request never leaves with a token about to lapse on the way.
fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).min(Duration::from_secs(60))
}

/// Why the app's credentials could not be loaded; names the file, never key material.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
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
    pub fn is_about_certificate(&self) -> bool {
        matches!(
            self,
            Self::UnreadableCertificate { .. } | Self::NotCertificate(_)
        )
    }
}

/// Signs client assertions with the app's certificate key.
pub struct AssertionSigner {
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
    pub fn from_files(key_file: &Path, cert_file: &Path) -> Result<Self, CredentialError> {
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
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A fresh assertion that `client_id` is asking `audience` (the token URL) for a token.
    fn sign(&self, client_id: &str, audience: &str) -> Result<String, UpstreamError> {
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
pub fn certificate_thumbprint(der: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der)
        .as_ref()
        .to_vec()
}

fn random_id() -> Result<String, UpstreamError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|_| UpstreamError::Unavailable("no randomness for the client assertion".into()))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// How the app proves itself to the identity service.
#[derive(Debug)]
pub enum ClientProof {
    /// `client_secret` in the form body.
    Secret(Secret),
    /// A signed client assertion.
    Assertion(AssertionSigner),
}

/// What the gateway needs to run the client-credentials grant.
#[derive(Debug)]
pub struct ClientCredentials {
    /// The identity service's token endpoint.
    pub token_url: Url,
    /// The app registration's id.
    pub client_id: String,
    /// The scope asked for.
    pub scope: String,
    /// The app's proof.
    pub proof: ClientProof,
}

#[derive(Debug, Clone)]
struct Issued {
    value: Secret,
    replace_at: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Secret,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenRefusal {
    error: Option<String>,
}

/// The client-credentials grant, with its current token.
#[derive(Debug)]
pub struct TokenClient {
    http: reqwest::Client,
    credentials: ClientCredentials,
    timeout: Duration,
    current: RwLock<Option<Issued>>,
    /// Held while a token is being requested: single flight.
    refreshing: tokio::sync::Mutex<()>,
    metrics: Arc<Metrics>,
}

/// Where the gateway's upstream token comes from (from the settings).
#[derive(Debug)]
pub enum AppCredentials {
    /// `GATEWAY_UPSTREAM_TOKEN`.
    Fixed(Secret),
    /// The client-credentials grant.
    Client(ClientCredentials),
}

/// The gateway's bearer token for the upstream.
#[derive(Debug)]
pub enum AppToken {
    /// A fixed token from the settings; never refreshed.
    Fixed(Secret),
    /// Tokens from the identity service.
    Issued(Box<TokenClient>),
}

impl AppToken {
    /// The token to send now, fetching one when there is none or it is about to expire.
    pub async fn get(&self) -> Result<Secret, UpstreamError> {
        match self {
            Self::Fixed(token) => Ok(token.clone()),
            Self::Issued(client) => client.get().await,
        }
    }

    /// The upstream refused `token`: forget it, so the next [`AppToken::get`] fetches anew.
    /// Returns whether a new token can be had (false for a fixed token).
    pub fn invalidate(&self, token: &Secret) -> bool {
        match self {
            Self::Fixed(_) => false,
            Self::Issued(client) => {
                client.invalidate(token);
                true
            }
        }
    }
}

impl TokenClient {
    /// A client for `credentials`; each token request may take `timeout`.
    pub fn new(
        http: reqwest::Client,
        credentials: ClientCredentials,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            http,
            credentials,
            timeout,
            current: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            metrics,
        }
    }

    fn fresh(&self) -> Option<Secret> {
        let current = self
            .current
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        current
            .as_ref()
            .filter(|issued| Instant::now() < issued.replace_at)
            .map(|issued| issued.value.clone())
    }

    async fn get(&self) -> Result<Secret, UpstreamError> {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let _flight = self.refreshing.lock().await;
        if let Some(token) = self.fresh() {
            return Ok(token); // fetched by the request this one waited for
        }
        let result = self.request().await;
        self.metrics
            .token_request(result.as_ref().map_or_else(UpstreamError::code, |_| "OK"));
        let issued = result?;
        let token = issued.value.clone();
        *self
            .current
            .write()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(issued);
        Ok(token)
    }

    fn invalidate(&self, token: &Secret) {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if current
            .as_ref()
            .is_some_and(|issued| issued.value == *token)
        {
            tracing::info!("the upstream refused the app token; a new one will be requested");
            *current = None;
        }
    }

    async fn request(&self) -> Result<Issued, UpstreamError> {
        let credentials = &self.credentials;
        let assertion;
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "client_credentials"),
            ("client_id", &credentials.client_id),
            ("scope", &credentials.scope),
        ];
        match &credentials.proof {
            ClientProof::Secret(secret) => form.push(("client_secret", secret.expose())),
            ClientProof::Assertion(signer) => {
                assertion = signer.sign(&credentials.client_id, credentials.token_url.as_str())?;
                form.push(("client_assertion_type", ASSERTION_TYPE));
                form.push(("client_assertion", &assertion));
            }
        }
        let transport = |error: reqwest::Error| {
            if error.is_timeout() {
                UpstreamError::Timeout(self.timeout)
            } else {
                UpstreamError::Unavailable("could not reach the identity service".into())
            }
        };
        let started = Instant::now();
        let response = self
            .http
            .post(credentials.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if let Some(refused) =
            crate::outbound::redirect_refused(status, "GATEWAY_UPSTREAM_TOKEN_URL")
        {
            return Err(UpstreamError::BadResponse(format!(
                "the identity service {refused}"
            )));
        }
        let body = crate::outbound::read_capped(response, crate::outbound::MAX_SMALL_ANSWER_BYTES)
            .await
            .map_err(|error| match error {
                crate::outbound::ReadError::Transport(error) => transport(error),
                too_large => {
                    UpstreamError::BadResponse(format!("the identity service's {too_large}"))
                }
            })?;
        if status.is_server_error() {
            return Err(UpstreamError::Unavailable(format!(
                "the identity service answered HTTP {}",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            let error = serde_json::from_slice::<TokenRefusal>(&body)
                .ok()
                .and_then(|refusal| refusal.error)
                .filter(|code| is_oauth_error_code(code));
            return Err(UpstreamError::TokenRefused {
                status: status.as_u16(),
                error,
            });
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
            UpstreamError::BadResponse(
                "the identity service's answer has no `access_token` string".into(),
            )
        })?;
        let lifetime = token_lifetime(answer.expires_in);
        tracing::info!(
            expires_in_secs = lifetime.as_secs(),
            "obtained an app token from the identity service"
        );
        Ok(Issued {
            value: answer.access_token,
            replace_at: started + lifetime - refresh_margin(lifetime),
        })
    }
}

/// Whether `code` looks like an OAuth error code (RFC 6749 §5.2: a short token of printable
/// characters), so that nothing else from the answer is ever repeated.
fn is_oauth_error_code(code: &str) -> bool {
    code.len() <= 64
        && code
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_is_clamped_to_a_believable_lifetime() {
        assert_eq!(token_lifetime(None), DEFAULT_LIFETIME);
        assert_eq!(token_lifetime(Some(3600)), Duration::from_secs(3600));
        assert_eq!(token_lifetime(Some(0)), Duration::from_secs(1));
        assert_eq!(token_lifetime(Some(u64::MAX)), Duration::from_secs(86_400));
        // Adding the longest to now cannot overflow an Instant.
        let _ = Instant::now() + token_lifetime(Some(u64::MAX));
    }

    #[test]
    fn tokens_are_replaced_a_tenth_of_their_life_early_at_most_a_minute() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(10)),
            Duration::from_secs(1)
        );
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

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
