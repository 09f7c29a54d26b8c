//! What can go wrong talking to the upstream, one variant per contract error code.

use std::time::Duration;

/// A failed upstream exchange. Messages name the failure, never a token or a URL query.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream could not be reached, or answered with a 5xx.
    #[error("the upstream is unavailable: {0}")]
    Unavailable(String),
    /// One upstream request took longer than `GATEWAY_UPSTREAM_TIMEOUT_MS`.
    #[error("the upstream did not answer within {}ms", .0.as_millis())]
    Timeout(Duration),
    /// The upstream answered 429.
    #[error("the upstream is rate limiting the gateway{}", retry_hint(*.retry_after))]
    RateLimited {
        /// What the upstream's `Retry-After` asked for, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The upstream refused the gateway's app token (401 or 403).
    #[error("the upstream refused the gateway's credentials (HTTP {0})")]
    Unauthorized(u16),
    /// The app registration lacks the permission an endpoint needs (403, or a 401 that
    /// survived a fresh token): only the fields that need that endpoint fail.
    #[error("the gateway's app registration lacks the permission {permission} this data needs")]
    Forbidden {
        /// The permission, e.g. `elements.jobs.read.all`.
        permission: &'static str,
    },
    /// The identity service refused the gateway's client credentials.
    #[error("the identity service refused the gateway's client credentials (HTTP {status}{})", error.as_ref().map_or_else(String::new, |code| format!(", {code}")))]
    TokenRefused {
        /// Its HTTP status.
        status: u16,
        /// Its OAuth `error` code, when it sent a well-formed one.
        error: Option<String>,
    },
    /// The body could not be read as the documented JSON, or the status was unexpected.
    #[error("the upstream sent an unusable answer: {0}")]
    BadResponse(String),
    /// The GraphQL request's deadline passed while it waited for the upstream.
    #[error("no upstream answer within the request's time limit of {}ms (GATEWAY_LIMITS_REQUEST_TIMEOUT_MS)", .0.as_millis())]
    Deadline(Duration),
    /// Another replica's read of the upstream failed moments ago with this code (shared
    /// through Redis), so this one does not ask the upstream again yet.
    #[error("the upstream failed a moment ago for another replica of the gateway ({0})")]
    Elsewhere(&'static str),
    /// The circuit breaker is open: the upstream failed repeatedly, so it is not called now.
    #[error("the upstream is failing and is not being called for the next {}s (circuit open)", .retry_in.as_secs_f64().ceil())]
    CircuitOpen {
        /// How long until a probe request may go through.
        retry_in: Duration,
    },
}

fn retry_hint(retry_after: Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |wait| {
        format!(" (retry after {}s)", wait.as_secs())
    })
}

impl UpstreamError {
    /// Every code [`UpstreamError::code`] gives.
    pub const CODES: [&'static str; 6] = [
        "UPSTREAM_UNAVAILABLE",
        "UPSTREAM_TIMEOUT",
        "UPSTREAM_RATE_LIMITED",
        "UPSTREAM_UNAUTHORIZED",
        "UPSTREAM_FORBIDDEN",
        "UPSTREAM_BAD_RESPONSE",
    ];

    /// The contract's `extensions.code` for this failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable(_) | Self::CircuitOpen { .. } => "UPSTREAM_UNAVAILABLE",
            Self::Timeout(_) | Self::Deadline(_) => "UPSTREAM_TIMEOUT",
            Self::RateLimited { .. } => "UPSTREAM_RATE_LIMITED",
            Self::Unauthorized(_) | Self::TokenRefused { .. } => "UPSTREAM_UNAUTHORIZED",
            Self::Forbidden { .. } => "UPSTREAM_FORBIDDEN",
            Self::BadResponse(_) => "UPSTREAM_BAD_RESPONSE",
            Self::Elsewhere(code) => code,
        }
    }

    /// The failure another replica reported as `code`; an unknown code reads as unavailable.
    pub fn elsewhere(code: &str) -> Self {
        Self::Elsewhere(
            Self::CODES
                .into_iter()
                .find(|known| *known == code)
                .unwrap_or("UPSTREAM_UNAVAILABLE"),
        )
    }

    /// Whether the failure says the upstream cannot currently serve us (for readiness).
    pub fn means_not_ready(&self) -> bool {
        matches!(
            self,
            Self::Unavailable(_)
                | Self::CircuitOpen { .. }
                | Self::Timeout(_)
                | Self::Unauthorized(_)
                | Self::TokenRefused { .. }
        )
    }
}
