//! Caller keys from a JWKS endpoint: fetched at start, refreshed on a period, and refetched
//! when a token names a `kid` the gateway has not seen, so an identity provider can rotate
//! keys without the gateway restarting.
//!
//! Two rules keep the identity provider safe from the gateway and the gateway safe from
//! callers: fetches are single-flight ([`crate::flight`]: one in progress at a time, late
//! arrivals join it, and a caller that gives up cancels nothing), and a refetch for an unknown `kid` happens at most once per
//! [`JwksOptions::min_refetch`], so a flood of tokens with invented kids costs the provider
//! nothing. A failed fetch keeps the last good keys in use, logs a warning and counts
//! `gateway_jwks_fetches_total{outcome="error"}`.

use std::{
    sync::{
        Arc, Mutex, RwLock, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use jsonwebtoken::jwk::Jwk;
use reqwest::{Url, header};
use serde::Deserialize;

use super::keys::{VerifyingKey, from_jwk};
use crate::{
    flight::{Flight, Flights},
    metrics::Metrics,
};

/// Largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = crate::outbound::MAX_SMALL_ANSWER_BYTES;
/// Most keys kept from one JWKS; a token without a `kid` is tried against each.
const MAX_KEYS: usize = 64;
/// Time limit of one JWKS fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Wait before retrying after a failed fetch, when the period is longer.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// Where the keys are and how often to look again.
#[derive(Debug, Clone)]
pub(crate) struct JwksOptions {
    /// The JWKS URL.
    pub url: Url,
    /// Period of the background refresh.
    pub refresh: Duration,
    /// Shortest time between two fetches caused by unknown `kid`s.
    pub min_refetch: Duration,
}

/// Why a fetch failed; logged, never shown to callers.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("could not reach the JWKS endpoint: {0}")]
    Transport(String),
    #[error("the JWKS endpoint answered HTTP {0}")]
    Status(u16),
    #[error("the JWKS endpoint {0}")]
    Redirect(String),
    #[error("the JWKS is larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    #[error("the JWKS is not a JSON object with `keys`: {0}")]
    NotJwks(String),
    #[error("the JWKS holds no usable signing key")]
    NoUsableKey,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

/// The current keys of one JWKS endpoint.
#[derive(Debug)]
pub(crate) struct Jwks {
    options: JwksOptions,
    http: reqwest::Client,
    keys: RwLock<Arc<[VerifyingKey]>>,
    loaded: AtomicBool,
    /// When the last unknown-`kid` refetch started; held while deciding whether one starts.
    last_refetch: Mutex<Option<Instant>>,
    /// The fetch in flight (one key: there is one endpoint); its result says whether it worked.
    fetches: Flights<(), bool>,
    metrics: Arc<Metrics>,
}

impl Jwks {
    /// A key source with no keys yet; [`Jwks::start`] fetches them.
    pub(crate) fn new(options: JwksOptions, metrics: Arc<Metrics>) -> Result<Self, reqwest::Error> {
        let http = crate::outbound::client().timeout(FETCH_TIMEOUT).build()?;
        metrics.jwks_in_use();
        Ok(Self {
            options,
            http,
            keys: RwLock::new(Arc::from(Vec::new())),
            loaded: AtomicBool::new(false),
            last_refetch: Mutex::new(None),
            fetches: Flights::default(),
            metrics,
        })
    }

    /// Fetches now, then keeps refreshing in the background for as long as `self` lives.
    pub(crate) fn start(self: &Arc<Self>) {
        let source: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut trigger = "start";
            loop {
                let Some(jwks) = source.upgrade() else { return };
                let ok = jwks.refresh(trigger).await;
                let wait = if ok {
                    jwks.options.refresh
                } else {
                    jwks.options.refresh.min(RETRY_AFTER_FAILURE)
                };
                drop(jwks);
                tokio::time::sleep(wait).await;
                trigger = "periodic";
            }
        });
    }

    /// The keys in use now.
    pub(crate) fn keys(&self) -> Arc<[VerifyingKey]> {
        Arc::clone(
            &self
                .keys
                .read()
                .unwrap_or_else(|poison| poison.into_inner()),
        )
    }

    /// Whether a fetch has ever succeeded (readiness waits for this).
    pub(crate) fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Relaxed)
    }

    fn knows(&self, kid: &str) -> bool {
        self.keys()
            .iter()
            .any(|key| key.kid.as_deref() == Some(kid))
    }

    /// A token named `kid`, which no current key has: fetch again, unless that was done less
    /// than the minimum interval ago; join the fetch in flight, if one is. Returns once the
    /// keys are as fresh as they will get.
    pub(crate) async fn refetch_for_unknown(self: &Arc<Self>, kid: &str) {
        let flight = {
            let mut last = self
                .last_refetch
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            if self.knows(kid) {
                return; // a fetch finished meanwhile
            }
            match self.fetches.joinable(&()) {
                Some(flight) => flight,
                None if last.is_some_and(|at| at.elapsed() < self.options.min_refetch) => {
                    self.metrics.jwks_refetch_suppressed();
                    return;
                }
                None => {
                    *last = Some(Instant::now());
                    self.start_fetch("unknown_kid")
                }
            }
        };
        flight.await;
    }

    /// Fetches now, or joins the fetch in flight; whether it succeeded.
    async fn refresh(self: &Arc<Self>, trigger: &'static str) -> bool {
        if trigger == "start" {
            *self
                .last_refetch
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()) = Some(Instant::now());
        }
        self.start_fetch(trigger).await.unwrap_or(false)
    }

    fn start_fetch(self: &Arc<Self>, trigger: &'static str) -> Flight<bool> {
        let jwks = Arc::clone(self);
        let (flight, _) = self.fetches.join_or_start_one((), move || async move {
            jwks.fetch_and_store(trigger).await
        });
        flight
    }

    async fn fetch_and_store(self: Arc<Self>, trigger: &'static str) -> bool {
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(trigger, keys = keys.len(), "JWKS fetched");
                self.metrics.jwks_fetch(trigger, "ok", keys.len());
                *self
                    .keys
                    .write()
                    .unwrap_or_else(|poison| poison.into_inner()) = keys.into();
                self.loaded.store(true, Ordering::Relaxed);
                true
            }
            Err(error) => {
                let kept = self.keys().len();
                tracing::warn!(
                    trigger,
                    %error,
                    kept_keys = kept,
                    "JWKS fetch failed; keeping the last good keys"
                );
                self.metrics.jwks_fetch(trigger, "error", kept);
                false
            }
        }
    }

    async fn fetch(&self) -> Result<Vec<VerifyingKey>, FetchError> {
        let transport =
            |error: reqwest::Error| FetchError::Transport(error.without_url().to_string());
        let response = self
            .http
            .get(self.options.url.clone())
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport)?;
        if let Some(refused) =
            crate::outbound::redirect_refused(response.status(), "GATEWAY_JWT_JWKS_URL")
        {
            return Err(FetchError::Redirect(refused));
        }
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let body = crate::outbound::read_capped(response, MAX_JWKS_BYTES)
            .await
            .map_err(|error| match error {
                crate::outbound::ReadError::Transport(error) => transport(error),
                crate::outbound::ReadError::TooLarge(_) => FetchError::TooLarge,
            })?;
        let set: RawSet = serde_json::from_slice(&body)
            .map_err(|error| FetchError::NotJwks(error.to_string()))?;
        let mut keys = Vec::new();
        for (index, raw) in set.keys.into_iter().enumerate() {
            let parsed = serde_json::from_value::<Jwk>(raw)
                .map_err(|_| "it is not a JWK the gateway understands".to_owned())
                .and_then(|jwk| from_jwk(&jwk));
            match parsed {
                Ok(key) if keys.len() < MAX_KEYS => keys.push(key),
                Ok(_) => tracing::warn!(index, "JWKS key skipped: more than {MAX_KEYS} keys"),
                Err(reason) => tracing::warn!(index, %reason, "JWKS key skipped"),
            }
        }
        if keys.is_empty() {
            return Err(FetchError::NoUsableKey);
        }
        Ok(keys)
    }
}
