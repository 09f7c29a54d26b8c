//! `/healthz` (the process runs) and `/readyz` (caller keys are loaded, the upstream accepts
//! our token, and the gateway is not shutting down).
//!
//! Readiness follows the upstream client's last exchange: any success makes the gateway
//! ready, a connection failure, timeout or refused token makes it not ready. While not ready,
//! `/readyz` starts a small probe request at most every [`PROBE_INTERVAL`], so the gateway
//! recovers without waiting for caller traffic.

use std::{
    sync::{Mutex, atomic::Ordering},
    time::{Duration, Instant},
};

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use super::AppState;

/// Shortest time between two readiness probes of the upstream.
pub(super) const PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// When the last readiness probe was started.
#[derive(Debug, Default)]
pub(crate) struct ProbeClock(Mutex<Option<Instant>>);

impl ProbeClock {
    /// Whether a probe may start now; records the start if so.
    pub(crate) fn try_start(&self) -> bool {
        let mut last = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
        if last.is_some_and(|at| at.elapsed() < PROBE_INTERVAL) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

/// `/healthz`: the process is up and serving; nothing else is checked.
pub(super) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `/readyz`: ready when not draining, the JWKS (if one is set) is fetched and the upstream
/// has answered; until it has, one probe at a time is sent in the background.
pub(super) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if state.draining.load(Ordering::SeqCst) {
        return not_ready("the gateway is shutting down");
    }
    if !state.authenticator.is_ready() {
        return not_ready("the JWKS has not been fetched yet");
    }
    if state.upstream.is_reachable() {
        let mut body = json!({ "status": "ready" });
        // With client credentials: the permissions the app token holds, and those the
        // identity service refused (whose fields answer UPSTREAM_FORBIDDEN).
        if let Some(learnt) = state.upstream.permissions() {
            body["permissions"] = json!({ "held": learnt.held, "missing": learnt.missing });
        }
        return (StatusCode::OK, Json(body));
    }
    if state.probes.try_start() {
        let upstream = std::sync::Arc::clone(&state.upstream);
        tokio::spawn(async move {
            if let Err(error) = upstream.probe().await {
                tracing::warn!(%error, "upstream readiness probe failed");
            }
        });
    }
    not_ready("the upstream has not accepted a request with the app token yet")
}

fn not_ready(reason: &str) -> (StatusCode, Json<Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "not ready", "reason": reason })),
    )
}
