//! `serve --demo`: the gateway over the built-in mock upstream, with no setup.
//!
//! It starts the mock in-process on a loopback port, registers a demo app with a random client
//! secret at the mock's token endpoint, points settings at it (so the gateway obtains its app
//! token by the client-credentials grant, as in production), and mints a caller token, signed
//! with a random secret, that a newcomer pastes into GraphiQL. Nothing here is fit for production, by design: the secrets die with the
//! process.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

use crate::{
    config::{
        CacheSettings, ClientAuthentication, DEFAULT_ANSWER_BYTES, DEFAULT_MAX_BODY_BYTES,
        DEFAULT_MAX_PAGES, JwtSettings, Limits, Resilience, Settings, ShutdownSettings,
        TelemetrySettings, UpstreamCredentials, UpstreamSettings,
    },
    mock_upstream::{MockClient, MockOptions, MockUpstream},
    secret::Secret,
};

/// Issuer written into demo tokens and required of callers.
pub const DEMO_ISSUER: &str = "elements-gateway-demo";
/// Audience written into demo tokens and required of callers.
pub const DEMO_AUDIENCE: &str = "elements-gateway";
/// The demo app's client id at the mock's token endpoint.
pub const DEMO_CLIENT_ID: &str = "elements-gateway-demo";
/// How long the demo's caller token stays valid.
const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// A running demo: the mock upstream, settings pointing at it, and a caller token.
#[derive(Debug)]
pub struct Demo {
    /// The in-process upstream; it stops when this is dropped.
    pub upstream: MockUpstream,
    /// Settings for the gateway, listening on `listen`.
    pub settings: Settings,
    /// A caller token the gateway accepts.
    pub caller_token: String,
}

/// Starts the mock upstream and prepares everything else, to listen on `listen`.
pub async fn start(listen: std::net::SocketAddr) -> std::io::Result<Demo> {
    let client_secret = random_hex(32)?;
    let upstream = MockUpstream::spawn(MockOptions {
        // Nobody is given the fixed token: the gateway must use client credentials.
        token: random_hex(32)?,
        client: Some(MockClient::with_secret(
            DEMO_CLIENT_ID,
            client_secret.clone(),
        )),
        ..MockOptions::default()
    })
    .await?;
    let jwt_secret = random_hex(32)?;
    let caller_token = mint(&jwt_secret)?;
    let settings = Settings {
        listen,
        upstream: UpstreamSettings {
            url: upstream.url().parse().map_err(std::io::Error::other)?,
            credentials: UpstreamCredentials::ClientCredentials {
                token_url: upstream
                    .token_url()
                    .parse()
                    .map_err(std::io::Error::other)?,
                client_id: DEMO_CLIENT_ID.into(),
                authentication: ClientAuthentication::Secret(Secret::new(client_secret)),
            },
            scope: "elements.license.read.all".into(),
            page_size: 100,
            concurrency: 8,
            pages_ahead: 7,
            timeout: Duration::from_secs(10),
            resilience: Resilience::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_pages: DEFAULT_MAX_PAGES,
        },
        cache: CacheSettings {
            ttl: Duration::from_secs(60),
            stale: Duration::from_secs(600),
            answer_bytes: DEFAULT_ANSWER_BYTES,
        },
        jwt: JwtSettings {
            secret: Some(Secret::new(jwt_secret)),
            issuer: Some(DEMO_ISSUER.into()),
            audience: Some(DEMO_AUDIENCE.into()),
            leeway_secs: 30,
            ..JwtSettings::default()
        },
        limits: Limits::default(),
        shutdown: ShutdownSettings::default(),
        telemetry: TelemetrySettings::default(),
        introspection: true,
        metrics_listen: None,
    };
    Ok(Demo {
        upstream,
        settings,
        caller_token,
    })
}

fn mint(secret: &str) -> std::io::Result<String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let claims = json!({
        "sub": "demo-user",
        "iss": DEMO_ISSUER,
        "aud": DEMO_AUDIENCE,
        "iat": now,
        "exp": now + TOKEN_LIFETIME.as_secs(),
        "scope": "elements.read",
    });
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(std::io::Error::other)
}

fn random_hex(bytes: usize) -> std::io::Result<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(std::io::Error::other)?;
    Ok(buffer.iter().map(|byte| format!("{byte:02x}")).collect())
}
