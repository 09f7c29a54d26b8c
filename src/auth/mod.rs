//! Caller authentication: every `/graphql` request must carry a JWT the gateway accepts
//! before anything is sent upstream.
//!
//! [`Authenticator::verify`] checks, in order: the `Bearer` scheme, the token's shape, its
//! `alg` against the configured allowlist (`none` never passes), the signature, `exp` (always
//! required), `nbf`, `iss` and `aud` when configured (with leeway), and finally the required
//! scope, from `scope` (space-separated) or `scp` (string or list). The first failure is the
//! answer.

mod claims;
mod error;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;

pub use claims::Caller;
pub use error::AuthError;

use crate::secret::Secret;

/// What the gateway requires of a caller token (from the `[jwt]` settings).
#[derive(Debug, Clone, Default)]
pub struct AuthOptions {
    /// HS256 shared secret.
    pub secret: Option<Secret>,
    /// Required `iss`.
    pub issuer: Option<String>,
    /// Required member of `aud`.
    pub audience: Option<String>,
    /// A scope the token's `scope`/`scp` must hold.
    pub required_scope: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
}

/// Verifies caller tokens; built once at start, shared by all requests.
pub struct Authenticator {
    keys: Vec<(Algorithm, DecodingKey)>,
    validation: Validation,
    required_scope: Option<String>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("algorithms", &self.validation.algorithms)
            .field("required_scope", &self.required_scope)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

impl Authenticator {
    /// An authenticator for `options`; `None` when no caller key is configured.
    pub fn new(options: &AuthOptions) -> Option<Self> {
        let mut keys = Vec::new();
        if let Some(secret) = &options.secret {
            keys.push((
                Algorithm::HS256,
                DecodingKey::from_secret(secret.expose().as_bytes()),
            ));
        }
        if keys.is_empty() {
            return None;
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = keys.iter().map(|(algorithm, _)| *algorithm).collect();
        validation.leeway = options.leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        match &options.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &options.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        Some(Self {
            keys,
            validation,
            required_scope: options.required_scope.clone(),
        })
    }

    /// Checks the `Authorization` header's value and returns the caller it proves.
    pub fn verify(&self, authorization: Option<&[u8]>) -> Result<Caller, AuthError> {
        let header = authorization.ok_or(AuthError::Missing)?;
        let header = std::str::from_utf8(header).map_err(|_| AuthError::NotBearer)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::NotBearer);
        }
        let token = token.trim();
        let algorithm = self.algorithm_of(token)?;
        let key = self
            .keys
            .iter()
            .find_map(|(candidate, key)| (*candidate == algorithm).then_some(key))
            .ok_or(AuthError::AlgorithmNotAllowed)?;
        let mut validation = self.validation.clone();
        validation.algorithms = vec![algorithm];
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            key,
            &validation,
        )
        .map_err(|error| refusal(error.kind()))?;
        let caller = Caller::from_claims(data.claims);
        if let Some(scope) = &self.required_scope
            && !caller.has_scope(scope)
        {
            return Err(AuthError::InsufficientScope(scope.clone()));
        }
        Ok(caller)
    }

    /// The token's `alg`, read before any crypto so `none` and foreign algorithms are refused
    /// by name rather than by a parse failure.
    fn algorithm_of(&self, token: &str) -> Result<Algorithm, AuthError> {
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed);
        };
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| AuthError::Malformed)?;
        let Header { alg } = serde_json::from_slice(&header).map_err(|_| AuthError::Malformed)?;
        let algorithm: Algorithm = alg.parse().map_err(|_| AuthError::AlgorithmNotAllowed)?;
        if self.validation.algorithms.contains(&algorithm) {
            Ok(algorithm)
        } else {
            Err(AuthError::AlgorithmNotAllowed)
        }
    }
}

fn refusal(kind: &ErrorKind) -> AuthError {
    match kind {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            AuthError::AlgorithmNotAllowed
        }
        ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(match claim.as_str() {
            "iss" => "iss",
            "aud" => "aud",
            _ => "exp",
        }),
        _ => AuthError::Malformed,
    }
}
