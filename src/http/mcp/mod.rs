//! The Model Context Protocol at `/mcp` (streamable HTTP, the official Rust SDK `rmcp`), for
//! agents: the graph as tools ([`tools`]).
//!
//! Every request to `/mcp` passes the caller check of `/graphql` first (the same keys, scope
//! and rate limit): without an accepted token it is 401 with `WWW-Authenticate: Bearer
//! resource_metadata="…"`, which points the client at `/.well-known/oauth-protected-resource`
//! (RFC 9728: this resource, and the issuer whose tokens it accepts). The verified caller rides
//! in the request's extensions to the tool call, which answers through the answer stage as a
//! `POST /graphql` would: the same limits, claim scope, persisted documents and safelist; the
//! request's access-log line names the tool as its operation (`source=mcp`), and
//! `gateway_mcp_tool_calls_total` counts it. The
//! service is stateless (no sessions to hold) and answers in JSON. Its `Host` check is off:
//! the token, not the host name, is what guards it, and a browser sends no token cross-site.

mod tools;

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{Next, from_fn_with_state},
    response::{IntoResponse, Response},
    routing::get,
};
use rmcp::transport::{
    StreamableHttpServerConfig, StreamableHttpService,
    streamable_http_server::session::never::NeverSessionManager,
};
use serde_json::json;

use super::{AppState, error::HttpError, extract::authenticate_token};

/// Where the protected resource's metadata is (RFC 9728).
const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// What the metadata names: the issuer of accepted tokens, and the scope they need.
#[derive(Debug, Clone, Default)]
pub(crate) struct McpSettings {
    /// `GATEWAY_JWT_ISSUER`.
    pub issuer: Option<String>,
    /// `GATEWAY_JWT_REQUIRED_SCOPE`.
    pub scope: Option<String>,
}

/// `/mcp` and its metadata, over `state`.
pub(super) fn routes(state: AppState) -> Router<AppState> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_max_request_body_bytes(state.limits.body_bytes)
        .disable_allowed_hosts();
    let agent = state.clone();
    let service = StreamableHttpService::new(
        move || Ok(tools::Agent::new(agent.clone())),
        std::sync::Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route_service("/mcp", service)
        .route_layer(from_fn_with_state(state, caller))
        .route(METADATA_PATH, get(metadata))
}

/// The caller check in front of `/mcp`: the verified caller goes on in the request's
/// extensions; a refused one gets the challenge that names the metadata.
async fn caller(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let authorization = request.headers().get(header::AUTHORIZATION).cloned();
    let authorization = authorization.as_ref().map(HeaderValue::as_bytes);
    let caller = match authenticate_token(&state, authorization).await {
        Ok(caller) => caller,
        Err(error) => return refused(error, request.headers()),
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, state.limits.body_bytes).await else {
        let too_large = HttpError::PayloadTooLarge(state.limits.body_bytes);
        return refused(too_large, &parts.headers);
    };
    if let Some(tool) = called_tool(&body) {
        state.metrics.mcp_tool_call(&tool);
        crate::noted::tool(&tool);
    }
    let mut request = Request::from_parts(parts, axum::body::Body::from(body));
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The tool a JSON-RPC `tools/call` request names, for the access log and the metrics (the
/// call itself runs in the SDK's task, where this request's notes cannot reach).
fn called_tool(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Call {
        method: String,
        params: Option<Params>,
    }
    #[derive(serde::Deserialize)]
    struct Params {
        name: String,
    }
    let call: Call = serde_json::from_slice(body).ok()?;
    (call.method == "tools/call").then_some(call.params?.name)
}

/// A refusal of `/mcp`: the response `/graphql` gives for `error` (status, code, and
/// `Retry-After` for the rate limit), with a challenge naming the metadata when the token is
/// missing or bad.
fn refused(error: HttpError, headers: &HeaderMap) -> Response {
    let mut response = error.into_response();
    if response.status() == StatusCode::UNAUTHORIZED {
        let challenge = format!(
            "Bearer resource_metadata=\"{}{METADATA_PATH}\"",
            base_url(headers)
        );
        if let Ok(challenge) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
    }
    response
}

/// `GET /.well-known/oauth-protected-resource`: this resource and the issuer of its tokens.
async fn metadata(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let settings = state.mcp.clone().unwrap_or_default();
    let mut metadata = json!({
        "resource": format!("{}/mcp", base_url(&headers)),
        "bearer_methods_supported": ["header"],
        "resource_name": "elements-gateway",
    });
    if let Some(issuer) = &settings.issuer {
        metadata["authorization_servers"] = json!([issuer]);
    }
    if let Some(scope) = &settings.scope {
        metadata["scopes_supported"] = json!([scope]);
    }
    Json(metadata).into_response()
}

/// This gateway's URL as the client reached it: `X-Forwarded-Proto` (behind a proxy that
/// ends TLS) or `http`, and the `Host` it named.
fn base_url(headers: &HeaderMap) -> String {
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .filter(|scheme| matches!(*scheme, "http" | "https"))
        .unwrap_or("http");
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            host.bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b".-:[]".contains(&byte))
        })
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}
