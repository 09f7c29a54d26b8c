//! The mock's identity service: `POST /connect/token`, the OAuth 2.0 client-credentials
//! grant as the AvePoint identity service runs it.
//!
//! It checks what the real one checks: a form body, `grant_type=client_credentials`, the
//! client id, the requested scope, and either the client secret or a client assertion (an
//! RS256 JWT signed by the registered certificate's key, naming it by SHA-1 thumbprint in
//! `kid` (hex) and `x5t` (base64url), with `iss` = `sub` = client id, `aud` = this endpoint's
//! URL, a `jti` never seen before, and an `exp` a few minutes ahead). Each token it issues is
//! random and valid for the configured lifetime; the batch endpoint accepts only live ones.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;

use super::MockState;
use crate::upstream::{ASSERTION_TYPE, certificate_thumbprint};

/// Path of the token endpoint on the mock.
pub const TOKEN_PATH: &str = "/connect/token";

/// Longest `exp` ahead of now an assertion may carry ("a few minutes").
const MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// The four read permissions of the partner API.
pub const READ_PERMISSIONS: &str = "elements.license.read.all elements.customers.read.all elements.jobs.read.all elements.cbprotected.read.all";

/// The app registration the mock's token endpoint knows.
#[derive(Debug, Clone)]
pub struct MockClient {
    /// `client_id`.
    pub client_id: String,
    /// The `client_secret` it accepts, if any.
    pub secret: Option<String>,
    /// PEM certificate whose key may sign client assertions, if any.
    pub certificate_pem: Option<String>,
    /// The scopes granted to the app (space-separated): a request for any other is refused
    /// with `invalid_scope`.
    pub scope: String,
}

impl MockClient {
    /// A client that authenticates with `secret` and is granted the four read permissions.
    pub fn with_secret(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            secret: Some(secret.into()),
            certificate_pem: None,
            scope: READ_PERMISSIONS.into(),
        }
    }
}

/// A registered certificate, ready to check assertions.
#[derive(Debug)]
struct Certificate {
    key: DecodingKey,
    thumbprint: Vec<u8>,
}

/// The token endpoint's state.
#[derive(Debug)]
pub(super) struct Identity {
    client: Option<MockClient>,
    certificate: Option<Certificate>,
    pub(super) lifetime_secs: AtomicU64,
    pub(super) latency_ms: AtomicU64,
    /// Live tokens, when they stop being accepted, and the scopes each was issued for.
    issued: Mutex<HashMap<String, (Instant, HashSet<String>)>>,
    used_jtis: Mutex<HashSet<String>>,
    pub(super) requests: AtomicU64,
    pub(super) refusals: AtomicU64,
}

impl Identity {
    /// The identity service for `client` (none: every token request refused), issuing tokens
    /// that live `lifetime`; fails only when the client's certificate does not parse.
    pub(super) fn new(client: Option<MockClient>, lifetime: Duration) -> std::io::Result<Self> {
        let certificate = match client
            .as_ref()
            .and_then(|client| client.certificate_pem.as_ref())
        {
            None => None,
            Some(text) => {
                let block = pem::parse(text).map_err(std::io::Error::other)?;
                Some(Certificate {
                    key: DecodingKey::from_rsa_pem(text.as_bytes())
                        .map_err(std::io::Error::other)?,
                    thumbprint: certificate_thumbprint(block.contents()),
                })
            }
        };
        Ok(Self {
            client,
            certificate,
            lifetime_secs: AtomicU64::new(lifetime.as_secs()),
            latency_ms: AtomicU64::new(0),
            issued: Mutex::new(HashMap::new()),
            used_jtis: Mutex::new(HashSet::new()),
            requests: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
        })
    }

    /// Whether `token` is one this endpoint issued and it has not expired or been revoked.
    pub(super) fn accepts(&self, token: &str) -> bool {
        self.issued
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(token)
            .is_some_and(|(until, _)| Instant::now() < *until)
    }

    /// Whether `token` was issued without `permission` (a fixed token holds every one).
    pub(super) fn lacks(&self, token: &str, permission: &str) -> bool {
        self.issued
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(token)
            .is_some_and(|(_, scopes)| !scopes.contains(permission))
    }

    /// Forgets every issued token, as if the identity service had rotated its signing key.
    pub(super) fn revoke_all(&self) {
        self.issued
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clear();
    }

    fn issue(&self, scopes: HashSet<String>) -> Result<(String, u64), Refusal> {
        let random = crate::hex::random(16).map_err(|_| Refusal::server("no randomness"))?;
        let token = format!("mock-app-{random}");
        let lifetime = self.lifetime_secs.load(Ordering::SeqCst);
        self.issued
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(
                token.clone(),
                (Instant::now() + Duration::from_secs(lifetime), scopes),
            );
        Ok((token, lifetime))
    }

    fn check_assertion(&self, client_id: &str, assertion: &str, audience: &str) -> bool {
        let Some(certificate) = &self.certificate else {
            return false;
        };
        let Ok(header) = jsonwebtoken::decode_header(assertion) else {
            return false;
        };
        let thumbprint_hex = crate::hex::hex(&certificate.thumbprint);
        let names_certificate = header
            .kid
            .is_some_and(|kid| kid.eq_ignore_ascii_case(&thumbprint_hex))
            && header.x5t.as_deref() == Some(&URL_SAFE_NO_PAD.encode(&certificate.thumbprint));
        if header.alg != Algorithm::RS256 || !names_certificate {
            return false;
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[client_id]);
        validation.sub = Some(client_id.to_owned());
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        let Ok(data) =
            jsonwebtoken::decode::<AssertionClaims>(assertion, &certificate.key, &validation)
        else {
            return false;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        if data.claims.exp > now + MAX_ASSERTION_LIFETIME.as_secs() {
            return false;
        }
        let Some(jti) = data.claims.jti.filter(|jti| !jti.is_empty()) else {
            return false;
        };
        self.used_jtis
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(jti)
    }
}

#[derive(Deserialize)]
struct AssertionClaims {
    exp: u64,
    jti: Option<String>,
}

/// An OAuth error answer (RFC 6749 §5.2).
struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
}

impl Refusal {
    fn new(status: StatusCode, error: &'static str, description: &'static str) -> Self {
        Self {
            status,
            error,
            description,
        }
    }

    fn server(description: &'static str) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            description,
        )
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response()
    }
}

/// `POST /connect/token`.
pub(super) async fn token(
    State(state): State<std::sync::Arc<MockState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let identity = &state.identity;
    identity.requests.fetch_add(1, Ordering::SeqCst);
    let latency = identity.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match grant(identity, &headers, &body) {
        Ok((access_token, expires_in)) => Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
        }))
        .into_response(),
        Err(refusal) => {
            identity.refusals.fetch_add(1, Ordering::SeqCst);
            refusal.into_response()
        }
    }
}

fn grant(identity: &Identity, headers: &HeaderMap, body: &[u8]) -> Result<(String, u64), Refusal> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("grant_type") != Some("client_credentials") {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        ));
    }
    let invalid_client = Refusal::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    );
    let Some(client) = &identity.client else {
        return Err(invalid_client);
    };
    let Some(client_id) = field("client_id").filter(|id| *id == client.client_id) else {
        return Err(invalid_client);
    };
    let authenticated = match (field("client_secret"), field("client_assertion")) {
        (Some(secret), None) => client.secret.as_deref() == Some(secret),
        (None, Some(assertion)) => {
            let host = headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            field("client_assertion_type") == Some(ASSERTION_TYPE)
                && identity.check_assertion(
                    client_id,
                    assertion,
                    &format!("http://{host}{TOKEN_PATH}"),
                )
        }
        _ => false,
    };
    if !authenticated {
        return Err(invalid_client);
    }
    let granted: Vec<&str> = client.scope.split_whitespace().collect();
    let asked = field("scope").unwrap_or_default();
    if asked.trim().is_empty()
        || !asked
            .split_whitespace()
            .all(|scope| granted.contains(&scope))
    {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "the requested scope is not granted to this client",
        ));
    }
    identity.issue(asked.split_whitespace().map(str::to_owned).collect())
}
