//! HTTP wiring: the routes of the contract over one shared [`AppState`].
//!
//! This module turns requests into a caller and the request's body or URL for the answer stage
//! ([`crate::answer`]), and its replies and refusals into responses with the specification's
//! status codes and headers; it builds no async-graphql types.

mod access;
mod batch;
mod caching;
mod compress;
mod error;
mod extract;
mod graphiql;
mod graphql;
mod health;
mod mcp;
mod media;
mod middleware;
mod rate;
mod request_id;
mod server;
mod settings;
mod sse;
mod streams;
mod ws;

use std::{
    ops::Deref,
    sync::{Arc, atomic::AtomicBool},
};

use axum::{
    Router, extract::State, http::header, middleware::from_fn_with_state, response::IntoResponse,
    routing::get,
};
use tower::ServiceBuilder;
use tower_http::{catch_panic::CatchPanicLayer, compression::CompressionLayer};

pub(crate) use health::ProbeClock;
pub(crate) use mcp::McpSettings;
pub(crate) use rate::RateLimiter;
pub(crate) use server::{ConnectionLimits, serve};
pub(crate) use settings::{Limits, MetricsSection, ShutdownSettings};

use crate::{
    answer::Answerer, auth::Authenticator, cache::CustomerStore, metrics::Metrics,
    upstream::UpstreamClient,
};

/// Everything a request handler needs, built once at start.
pub(crate) struct App {
    /// What turns a caller and a GraphQL request into an answer.
    pub(crate) answer: Answerer,
    /// The cached customer store the schema reads (its sizes for `/metrics`).
    pub store: Arc<CustomerStore>,
    /// Caller-token verification.
    pub authenticator: Authenticator,
    /// The upstream client (for readiness).
    pub upstream: Arc<UpstreamClient>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Rate limit for readiness probes.
    pub probes: ProbeClock,
    /// What one request may cost.
    pub limits: Limits,
    /// The per-caller rate limit, when one is set.
    pub rate_limiter: Option<RateLimiter>,
    /// Set once shutdown has begun: `/readyz` answers 503 from then on.
    pub draining: AtomicBool,
    /// The demo's caller token (`serve --demo` only): GraphiQL opens with it in its Headers
    /// tab. Never set otherwise, so no page of a real deployment carries a token.
    pub demo_token: std::sync::OnceLock<String>,
    /// `/mcp` (`GATEWAY_MCP`), and what its metadata names; `None`: not served.
    pub mcp: Option<McpSettings>,
    /// One permit per open WebSocket (`GATEWAY_LIMITS_CONNECTIONS` of them): an upgraded
    /// connection leaves the listener's count, and is held to the same bound here.
    pub sockets: Arc<tokio::sync::Semaphore>,
    /// `/metrics` is served on its own listener (`GATEWAY_METRICS_LISTEN`), not with the API.
    pub metrics_apart: bool,
    /// `GATEWAY_LOG_REQUESTS`: one access-log line per request.
    pub log_requests: bool,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("authenticator", &self.authenticator)
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

/// Cheap-to-clone handle on the [`App`].
#[derive(Debug, Clone)]
pub(crate) struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// The gateway's routes, behind the [`plumbing`]. `/metrics` is among them unless it is
/// served apart.
pub(crate) fn router(state: AppState) -> Router {
    let mut routes = Router::new()
        .route(
            "/graphql",
            get(graphql::get)
                .post(graphql::post)
                .fallback(graphql::other_method),
        )
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    if !state.metrics_apart {
        routes = routes.route("/metrics", get(metrics));
    }
    if state.mcp.is_some() {
        routes = routes.merge(mcp::routes(state.clone()));
    }
    let front = middleware::Front::of(&state);
    plumbing(routes.with_state(state), front)
}

/// `/metrics` alone, for its own listener (`GATEWAY_METRICS_LISTEN`).
pub(crate) fn metrics_router(state: AppState) -> Router {
    let front = middleware::Front::of(&state);
    plumbing(
        Router::new()
            .route("/metrics", get(metrics))
            .with_state(state),
        front,
    )
}

/// What every route sits behind, outermost first: the request id (a caller's sane
/// `x-request-id`, otherwise a fresh one, echoed in the response), the request's log span, its
/// access-log line and the header size limit, in one middleware; compression (gzip or br as
/// the caller accepts, for answers of [`compress::MIN_BYTES`] or more; answers already
/// encoded, like a reused one, pass as they are), and the panic guard.
fn plumbing(routes: Router, front: middleware::Front) -> Router {
    routes.layer(
        ServiceBuilder::new()
            .layer(from_fn_with_state(front, middleware::front))
            .layer(
                CompressionLayer::new()
                    .quality(compress::LEVEL)
                    .compress_when(compress::predicate()),
            )
            .layer(CatchPanicLayer::custom(middleware::masked_panic)),
    )
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.store.record_sizes().await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
