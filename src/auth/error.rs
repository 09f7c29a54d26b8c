//! Why a caller was refused. Each reason has a fixed message (never the token) and a label
//! for metrics; the HTTP edge turns it into 401 or 403.

/// A refused caller token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AuthError {
    /// No `Authorization` header.
    #[error("missing bearer token: send `Authorization: Bearer <JWT>`")]
    Missing,
    /// The header is not `Bearer <token>`.
    #[error("the Authorization header must use the Bearer scheme")]
    NotBearer,
    /// Not three base64url parts with a JSON header and claims.
    #[error("the bearer token is not a well-formed JWT")]
    Malformed,
    /// `alg: none`, or an algorithm the gateway is not configured for.
    #[error("the token's signing algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// No configured key fits the token's `alg` and `kid` (after refetching the JWKS).
    #[error("no key the gateway trusts matches the token's key id and algorithm")]
    NoMatchingKey,
    /// The signature does not verify with the configured key.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// `exp` has passed (beyond the allowed leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is still ahead (beyond the allowed leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("the token's issuer is not accepted")]
    WrongIssuer,
    /// `aud` does not include the configured audience.
    #[error("the token's audience is not accepted")]
    WrongAudience,
    /// A claim the gateway requires is absent.
    #[error("the token lacks the required `{0}` claim")]
    MissingClaim(&'static str),
    /// The JWT header names `crit` extensions, which the gateway understands none of
    /// (RFC 7515 §4.1.11 says such a token must be refused).
    #[error("the token's header has `crit` extensions, which the gateway does not support")]
    CriticalHeader,
    /// `GATEWAY_JWT_CUSTOMER_CLAIM` is set and the token neither carries that claim nor holds
    /// the scope that sees every customer (403: it proves who the caller is, not what it may
    /// see).
    #[error("the token carries no `{0}` claim listing the customers it may see")]
    MissingCustomerClaim(String),
    /// The customer claim is present but not a list of customer id strings.
    #[error("the token's `{0}` claim must be a list of customer ids")]
    BadCustomerClaim(String),
    /// The token is valid but lacks the required scope (403, not 401).
    #[error("the token lacks the required scope `{0}`")]
    InsufficientScope(String),
}

impl AuthError {
    /// Stable, non-secret label for metrics and logs.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::NotBearer => "not_bearer",
            Self::Malformed => "malformed",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::NoMatchingKey => "no_matching_key",
            Self::MissingClaim("iss") => "missing_iss",
            Self::MissingClaim("aud") => "missing_aud",
            Self::MissingClaim(_) => "missing_exp",
            Self::BadCustomerClaim(_) => "bad_customer_claim",
            Self::CriticalHeader => "crit_header",
            Self::MissingCustomerClaim(_) => "missing_customer_claim",
            Self::InsufficientScope(_) => "insufficient_scope",
        }
    }

    /// True for a token that proved who the caller is but not that it may do this (403).
    pub(crate) fn is_forbidden(&self) -> bool {
        matches!(
            self,
            Self::InsufficientScope(_) | Self::MissingCustomerClaim(_)
        )
    }

    /// The contract's `extensions.code`.
    pub(crate) fn code(&self) -> &'static str {
        if self.is_forbidden() {
            "FORBIDDEN"
        } else {
            "UNAUTHENTICATED"
        }
    }
}
