//! `serve --demo`: the gateway over the built-in mock upstream, with no setup.
//!
//! It starts the mock in-process on a loopback port, registers a demo app with a random client
//! secret at the mock's token endpoint, points settings at it (so the gateway obtains its app
//! token by the client-credentials grant, as in production), and mints a caller token, signed
//! with a random secret, which the demo's GraphiQL opens with. It also writes a small manifest of
//! portal operations (unless `GATEWAY_PERSISTED_DOCUMENTS_FILE` names another), which become
//! an agent's tools at `/mcp`. Nothing here is fit for production, by design: the secrets die
//! with the process.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

use crate::{
    config::{ConfigError, Settings},
    mock_upstream::{MockClient, MockOptions, MockUpstream},
};

/// Issuer written into demo tokens and required of callers.
pub(crate) const DEMO_ISSUER: &str = "elements-gateway-demo";
/// Audience written into demo tokens and required of callers.
pub(crate) const DEMO_AUDIENCE: &str = "elements-gateway";
/// The demo app's client id at the mock's token endpoint.
pub(crate) const DEMO_CLIENT_ID: &str = "elements-gateway-demo";
/// How long the demo's caller token stays valid.
const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// A running demo: the mock upstream, settings pointing at it, and a caller token.
#[derive(Debug)]
pub(crate) struct Demo {
    /// The in-process upstream; it stops when this is dropped.
    pub upstream: MockUpstream,
    /// Settings for the gateway, listening on `listen`.
    pub settings: Settings,
    /// A caller token the gateway accepts.
    pub caller_token: String,
}

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DemoError {
    /// The mock upstream could not start, or no randomness or token could be had.
    #[error("the demo's sample upstream could not start: {0}")]
    Io(#[from] std::io::Error),
    /// A setting from the environment does not fit (`GATEWAY_LISTEN`, the limits, the logs).
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The portal operations the demo's manifest holds, so that an agent at `/mcp` has useful
/// tools at once (each named query is one; its comment is the tool's description).
const OPERATIONS: [&str; 3] = [
    "# Licences (subscriptions) expiring before a date, with the customer to call about each.\n\
     query ExpiringLicences($before: DateTime!) {\n  \
     products(filter: { expiringBefore: $before }) {\n    \
     service expirationDate purchasedUserSeats customer { id organization email }\n  }\n}\n",
    "# Customers whose backups failed, with their latest failed backup jobs.\n\
     query FailedBackups($first: Int = 50) {\n  \
     customers(first: $first, filter: { backupStatus: [FAILED] }) {\n    totalCount\n    \
     nodes { id organization backupStatus \
     backupJobs(first: 5, status: [FAILED, FAILED_TO_START]) { name startTime failedCount } }\n  }\n}\n",
    "# One customer's page: its subscriptions, recent backup jobs, Microsoft 365 seats and backup coverage.\n\
     query CustomerPage($id: ID!) {\n  customer(id: $id) {\n    \
     id organization email countryOrRegion managementMode backupStatus\n    \
     products { service expirationDate }\n    \
     backupJobs(first: 10) { name status startTime }\n    \
     seats(platform: MICROSOFT_365) { tenantName availableUserSeats assignedUserSeats }\n    \
     backupCoverage { module protectedObjects }\n  }\n}\n",
];

/// Writes the demo's manifest (`{id: document}`) to a file of its own; its path.
fn write_manifest() -> std::io::Result<std::path::PathBuf> {
    let manifest: serde_json::Map<String, serde_json::Value> = OPERATIONS
        .iter()
        .map(|text| {
            let id = format!("sha256:{}", crate::persisted::sha256_hex(text));
            (id, serde_json::Value::from(*text))
        })
        .collect();
    let path = std::env::temp_dir().join(format!(
        "elements-gateway-demo-{}-manifest.json",
        std::process::id()
    ));
    std::fs::write(&path, serde_json::Value::Object(manifest).to_string())?;
    Ok(path)
}

/// The settings the demo fixes. The rest of the `[upstream]` and `[jwt]` sections keep their
/// defaults; every other setting comes from `env` or its default, as for `serve`.
const FIXED: [&str; 7] = [
    "GATEWAY_UPSTREAM_URL",
    "GATEWAY_UPSTREAM_TOKEN_URL",
    "GATEWAY_UPSTREAM_CLIENT_ID",
    "GATEWAY_UPSTREAM_CLIENT_SECRET",
    "GATEWAY_JWT_SECRET",
    "GATEWAY_JWT_ISSUER",
    "GATEWAY_JWT_AUDIENCE",
];

/// Starts the mock upstream and prepares everything else. The settings are loaded like
/// `serve`'s, from `env` and the defaults (so `GATEWAY_LISTEN`, the limits and the rest keep
/// their meaning), with the upstream and the caller keys the demo's own.
pub(crate) async fn start(env: impl Fn(&str) -> Option<String>) -> Result<Demo, DemoError> {
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
    let fixed = [
        upstream.url(),
        upstream.token_url(),
        DEMO_CLIENT_ID.to_owned(),
        client_secret,
        jwt_secret,
        DEMO_ISSUER.to_owned(),
        DEMO_AUDIENCE.to_owned(),
    ];
    let manifest = write_manifest()?.display().to_string();
    let settings = Settings::load(None, |name| {
        match FIXED.iter().position(|fixed| *fixed == name) {
            Some(index) => Some(fixed[index].clone()),
            None if name == "GATEWAY_PERSISTED_DOCUMENTS_FILE" => {
                env(name).or_else(|| Some(manifest.clone()))
            }
            None if name.starts_with("GATEWAY_UPSTREAM_") || name.starts_with("GATEWAY_JWT_") => {
                None
            }
            None => env(name),
        }
    })?;
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
    crate::hex::random(bytes).map_err(std::io::Error::other)
}
