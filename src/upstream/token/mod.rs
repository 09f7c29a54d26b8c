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
//! ([`AssertionSigner`], in `assertion.rs`).

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use reqwest::Url;
use serde::Deserialize;

use super::{
    UpstreamError,
    assertion::{ASSERTION_TYPE, AssertionSigner},
    scopes::{Learnt, Scopes},
};
use crate::{clock::Clock, flight::Flights, metrics::Metrics, secret::Secret};

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

/// How the app proves itself to the identity service.
#[derive(Debug)]
pub(crate) enum ClientProof {
    /// `client_secret` in the form body.
    Secret(Secret),
    /// A signed client assertion.
    Assertion(AssertionSigner),
}

/// What the gateway needs to run the client-credentials grant.
#[derive(Debug)]
pub(crate) struct ClientCredentials {
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

/// The client-credentials grant, with its current token; renewed through a
/// [`crate::flight`], so the waiters of one renewal share one request, and a caller that gives
/// up cancels it for nobody.
#[derive(Debug)]
pub(crate) struct TokenClient {
    grant: Arc<Grant>,
    renewals: Flights<(), Result<Secret, UpstreamError>>,
}

/// What a token request needs, and the token it got.
#[derive(Debug)]
struct Grant {
    http: reqwest::Client,
    credentials: ClientCredentials,
    timeout: Duration,
    /// Decides when a token is replaced.
    clock: Clock,
    current: RwLock<Option<Issued>>,
    /// The scopes asked for, narrowed to the granted ones when some are refused.
    scopes: Scopes,
    metrics: Arc<Metrics>,
}

/// Whether the identity service refused the scope asked for.
fn refuses_scope<T>(result: &Result<T, UpstreamError>) -> bool {
    matches!(result, Err(UpstreamError::TokenRefused { error: Some(code), .. }) if code == "invalid_scope")
}

/// Where the gateway's upstream token comes from (from the settings).
#[derive(Debug)]
pub(crate) enum AppCredentials {
    /// `GATEWAY_UPSTREAM_TOKEN`.
    Fixed(Secret),
    /// The client-credentials grant.
    Client(ClientCredentials),
}

/// The gateway's bearer token for the upstream.
#[derive(Debug)]
pub(crate) enum AppToken {
    /// A fixed token from the settings; never refreshed.
    Fixed(Secret),
    /// Tokens from the identity service.
    Issued(Box<TokenClient>),
}

impl AppToken {
    /// The token to send now, fetching one when there is none or it is about to expire.
    pub(crate) async fn get(&self) -> Result<Secret, UpstreamError> {
        match self {
            Self::Fixed(token) => Ok(token.clone()),
            Self::Issued(client) => client.get().await,
        }
    }

    /// The permissions the app token holds and lacks; `None` for a fixed token, or before the
    /// first token.
    pub(crate) fn permissions(&self) -> Option<Learnt> {
        match self {
            Self::Fixed(_) => None,
            Self::Issued(client) => client.grant.scopes.learnt(),
        }
    }

    /// The upstream refused `token`: forget it, so the next [`AppToken::get`] fetches anew.
    /// Returns whether a new token can be had (false for a fixed token).
    pub(crate) fn invalidate(&self, token: &Secret) -> bool {
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
    pub(crate) fn new(
        http: reqwest::Client,
        credentials: ClientCredentials,
        timeout: Duration,
        clock: Clock,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            grant: Arc::new(Grant {
                http,
                scopes: Scopes::new(&credentials.scope),
                credentials,
                timeout,
                clock,
                current: RwLock::new(None),
                metrics,
            }),
            renewals: Flights::default(),
        }
    }

    /// The current token, or a new one: a renewal under way is joined, and one that finished
    /// while this caller looked is not repeated.
    async fn get(&self) -> Result<Secret, UpstreamError> {
        loop {
            if let Some(token) = self.grant.fresh() {
                return Ok(token);
            }
            let grant = Arc::clone(&self.grant);
            let (flights, _) = self.renewals.join_or_start(
                &[()],
                |_| self.grant.fresh().is_some(),
                |_| async move { grant.renew().await },
            );
            if let Some(flight) = flights.into_iter().next() {
                return flight.await.unwrap_or_else(|| {
                    Err(UpstreamError::Unavailable(
                        "the app token request stopped unexpectedly".into(),
                    ))
                });
            }
        }
    }

    fn invalidate(&self, token: &Secret) {
        self.grant.invalidate(token);
    }
}

impl Grant {
    fn fresh(&self) -> Option<Secret> {
        let current = self
            .current
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        current
            .as_ref()
            .filter(|issued| self.clock.now() < issued.replace_at)
            .map(|issued| issued.value.clone())
    }

    /// Requests a new token and keeps it; when the identity service refuses one of several
    /// scopes, asks again without the refused ones.
    async fn renew(&self) -> Result<Secret, UpstreamError> {
        let mut result = self.request(&self.scopes.current()).await;
        let mut missing = None;
        if refuses_scope(&result)
            && let Some((granted, refused)) = self.narrowed().await
        {
            result = self.request(&granted).await;
            missing = Some(refused);
        }
        self.metrics
            .token_request(result.as_ref().map_or_else(UpstreamError::code, |_| "OK"));
        let issued = result?;
        if self.scopes.granted(missing)
            && let Some(learnt) = self.scopes.learnt()
        {
            for (scopes, held) in [(&learnt.held, true), (&learnt.missing, false)] {
                for scope in scopes {
                    self.metrics.permission(scope, held);
                }
            }
            if !learnt.missing.is_empty() {
                tracing::warn!(
                    missing = %learnt.missing.join(" "),
                    "the identity service does not grant these permissions (GATEWAY_UPSTREAM_SCOPE): the fields that need them answer UPSTREAM_FORBIDDEN"
                );
            }
        }
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

    /// The scopes granted and refused, asking for each alone; `None` when none is granted or
    /// the service fails otherwise (then the first refusal stands).
    async fn narrowed(&self) -> Option<(String, Vec<String>)> {
        let asked = self.scopes.each();
        if asked.len() < 2 {
            return None;
        }
        let (mut granted, mut refused) = (Vec::new(), Vec::new());
        for scope in asked {
            match self.request(scope).await {
                Ok(_) => granted.push(scope.as_str()),
                result if refuses_scope(&result) => refused.push(scope.clone()),
                Err(_) => return None,
            }
        }
        (!granted.is_empty()).then(|| (granted.join(" "), refused))
    }

    async fn request(&self, scope: &str) -> Result<Issued, UpstreamError> {
        let credentials = &self.credentials;
        let assertion;
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "client_credentials"),
            ("client_id", &credentials.client_id),
            ("scope", scope),
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
        let issued_at = self.clock.now();
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
            replace_at: issued_at + lifetime - refresh_margin(lifetime),
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
mod tests;
