//! Caller authentication: every `/graphql` request must carry a JWT the gateway accepts
//! before anything is sent upstream.
//!
//! [`Authenticator::verify`] checks, in order: the `Bearer` scheme, the token's shape, its
//! `alg` against the configured allowlist (`none` never passes), the signature, `exp` (always
//! required), `nbf`, `iss` and `aud` when configured (with leeway), and finally the required
//! scope, from `scope` (space-separated) or `scp` (string or list). The first failure is the
//! answer.
//!
//! Keys come from three sources, any of which may be combined: the HS256 secret, PEM public
//! keys ([`from_pem_file`]), and a JWKS endpoint ([`Jwks`]). Each key checks only the
//! algorithms its type allows, which is what defeats algorithm confusion.

mod claims;
mod error;
mod jwks;
mod keys;
mod settings;
mod verified;

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, Validation, errors::ErrorKind};
use serde::Deserialize;

#[cfg(test)]
pub(crate) use claims::CustomerIds;
pub(crate) use claims::{Caller, CustomerAccess, CustomerScoping};
pub(crate) use error::AuthError;
pub(crate) use jwks::{Jwks, JwksOptions};
pub(crate) use keys::{VerifyingKey, from_pem_file};
pub(crate) use settings::JwtSettings;

use crate::secret::Secret;

/// What the gateway requires of a caller token (from the `[jwt]` settings).
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthOptions {
    /// HS256 shared secret.
    pub secret: Option<Secret>,
    /// Keys read from `GATEWAY_JWT_PUBLIC_KEY_FILE`.
    pub public_keys: Vec<VerifyingKey>,
    /// Keys from `GATEWAY_JWT_JWKS_URL`, refreshed while the gateway runs.
    pub jwks: Option<Arc<Jwks>>,
    /// Required `iss`.
    pub issuer: Option<String>,
    /// Required member of `aud`.
    pub audience: Option<String>,
    /// A scope the token's `scope`/`scp` must hold.
    pub required_scope: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
    /// The customers a token may see.
    pub scoping: CustomerScoping,
}

/// Verifies caller tokens; built once at start, shared by all requests.
pub(crate) struct Authenticator {
    /// The secret's and PEM files' keys, fixed for the process's life.
    fixed_keys: Vec<VerifyingKey>,
    jwks: Option<Arc<Jwks>>,
    /// Every algorithm some configured key may check: the allowlist.
    algorithms: Vec<Algorithm>,
    validation: Validation,
    required_scope: Option<String>,
    scoping: CustomerScoping,
    verified: verified::VerifiedTokens,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("algorithms", &self.algorithms)
            .field("jwks", &self.jwks.is_some())
            .field("required_scope", &self.required_scope)
            .field("scoping", &self.scoping)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    /// Present with any value at all, `null` included: the gateway implements no extension
    /// a token could make critical.
    #[serde(default, deserialize_with = "present")]
    crit: Option<()>,
}

/// `Some` whenever the field is there, whatever its value.
fn present<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<()>, D::Error> {
    serde::de::IgnoredAny::deserialize(de).map(|_| Some(()))
}

impl Authenticator {
    /// An authenticator for `options`; `None` when no caller key is configured.
    pub(crate) fn new(options: AuthOptions) -> Option<Self> {
        let mut fixed_keys = Vec::new();
        if let Some(secret) = &options.secret {
            fixed_keys.push(VerifyingKey::shared_secret(secret));
        }
        fixed_keys.extend(options.public_keys);
        if fixed_keys.is_empty() && options.jwks.is_none() {
            return None;
        }
        let mut algorithms: Vec<Algorithm> = Vec::new();
        let jwks_algorithms = options
            .jwks
            .as_ref()
            .map(|_| keys::asymmetric_algorithms())
            .unwrap_or_default();
        for algorithm in fixed_keys
            .iter()
            .flat_map(|key| key.algorithms.iter().copied())
            .chain(jwks_algorithms)
        {
            if !algorithms.contains(&algorithm) {
                algorithms.push(algorithm);
            }
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = algorithms.clone();
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
            fixed_keys,
            jwks: options.jwks,
            algorithms,
            validation,
            required_scope: options.required_scope,
            scoping: options.scoping,
            verified: verified::VerifiedTokens::new(),
        })
    }

    /// Whether every key source is usable (the JWKS has been fetched once).
    pub(crate) fn is_ready(&self) -> bool {
        self.jwks.as_ref().is_none_or(|jwks| jwks.is_loaded())
    }

    /// Checks the `Authorization` header's value and returns the caller it proves.
    ///
    /// Only keys whose type fits the token's `alg` (and whose `kid`, if any, is the token's)
    /// are tried. A `kid` no JWKS key has causes a (rate-limited) refetch first.
    ///
    /// A token that passed recently against the same keys, and has not expired since, is
    /// not checked again (see `verified.rs`).
    pub(crate) async fn verify(&self, authorization: Option<&[u8]>) -> Result<Caller, AuthError> {
        let token = bearer(authorization)?;
        let mut jwks_keys = self.jwks.as_ref().map(|jwks| jwks.keys());
        if let Some(caller) = self.verified.get(token, jwks_keys.as_ref()) {
            return Ok(caller);
        }
        let (algorithm, kid) = self.header_of(token)?;
        if let (Some(jwks), Some(kid), Some(keys)) = (&self.jwks, kid.as_deref(), &jwks_keys)
            && !keys.iter().any(|key| key.kid.as_deref() == Some(kid))
        {
            jwks.refetch_for_unknown(kid).await;
            jwks_keys = Some(jwks.keys());
        }
        let candidates = self
            .fixed_keys
            .iter()
            .chain(jwks_keys.iter().flat_map(|keys| keys.iter()))
            .filter(|key| key.matches(algorithm, kid.as_deref()));
        let mut validation = self.validation.clone();
        validation.algorithms = vec![algorithm];
        let mut outcome = Err(AuthError::NoMatchingKey);
        for candidate in candidates {
            outcome = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
                token,
                &candidate.key,
                &validation,
            )
            .map_err(|error| refusal(error.kind()));
            // Only a bad signature says "try the next key"; any other answer came from a
            // signature that verified.
            if !matches!(outcome, Err(AuthError::BadSignature)) {
                break;
            }
        }
        let claims = outcome?.claims;
        let valid_until = claims
            .get("exp")
            .and_then(serde_json::Value::as_u64)
            .map(|exp| exp.saturating_add(self.validation.leeway));
        let caller = Caller::from_claims(claims, &self.scoping)?;
        if let Some(scope) = &self.required_scope
            && !caller.has_scope(scope)
        {
            return Err(AuthError::InsufficientScope(scope.clone()));
        }
        if let Some(valid_until) = valid_until {
            self.verified.insert(token, &caller, valid_until, jwks_keys);
        }
        Ok(caller)
    }

    /// The token's `alg` and `kid`, read before any crypto so `none` and foreign algorithms
    /// are refused by name rather than by a parse failure.
    fn header_of(&self, token: &str) -> Result<(Algorithm, Option<String>), AuthError> {
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed);
        };
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| AuthError::Malformed)?;
        let Header { alg, kid, crit } =
            serde_json::from_slice(&header).map_err(|_| AuthError::Malformed)?;
        if crit.is_some() {
            return Err(AuthError::CriticalHeader);
        }
        let algorithm: Algorithm = alg.parse().map_err(|_| AuthError::AlgorithmNotAllowed)?;
        if self.algorithms.contains(&algorithm) {
            Ok((algorithm, kid))
        } else {
            Err(AuthError::AlgorithmNotAllowed)
        }
    }
}

/// The token of a `Bearer` authorization header.
fn bearer(authorization: Option<&[u8]>) -> Result<&str, AuthError> {
    let header = authorization.ok_or(AuthError::Missing)?;
    let header = std::str::from_utf8(header).map_err(|_| AuthError::NotBearer)?;
    let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::NotBearer);
    }
    Ok(token.trim())
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
