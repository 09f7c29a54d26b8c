//! The parts the gateway is built from, each from its settings: the caller-token verifier,
//! the app token's source, the upstream client, and the listeners.

use std::{net::SocketAddr, sync::Arc};

use tokio::net::TcpListener;

use super::StartError;
use crate::{
    auth::{
        AuthOptions, Authenticator, CustomerScoping, Jwks, JwksOptions, VerifyingKey, from_pem_file,
    },
    clock::Clock,
    config::{ClientAuthentication, JwtSettings, Setting, Settings, UpstreamCredentials},
    metrics::Metrics,
    upstream::{
        AppCredentials, AssertionSigner, ClientCredentials, ClientProof, UpstreamClient,
        UpstreamRuntime,
    },
};

/// The caller keys of `GATEWAY_JWT_PUBLIC_KEY_FILE`, read and checked (none without it).
pub(crate) fn public_keys(jwt: &JwtSettings) -> Result<Vec<VerifyingKey>, StartError> {
    match &jwt.public_key_file {
        Some(path) => from_pem_file(path).map_err(|error| StartError::Key {
            setting: Setting::named("GATEWAY_JWT_PUBLIC_KEY_FILE"),
            problem: error.to_string(),
        }),
        None => Ok(Vec::new()),
    }
}

/// The caller-token verifier; starts the JWKS refresher when a JWKS URL is set.
pub(super) fn authenticator(
    jwt: &JwtSettings,
    metrics: &Arc<Metrics>,
) -> Result<Authenticator, StartError> {
    let public_keys = public_keys(jwt)?;
    let jwks = match &jwt.jwks_url {
        Some(url) => {
            let jwks = Jwks::new(
                JwksOptions {
                    url: url.clone(),
                    refresh: jwt.jwks_refresh,
                    min_refetch: jwt.jwks_min_refetch,
                },
                Arc::clone(metrics),
            )
            .map_err(|error| StartError::Key {
                setting: Setting::named("GATEWAY_JWT_JWKS_URL"),
                problem: format!("cannot set up an HTTP client: {error}"),
            })?;
            let jwks = Arc::new(jwks);
            jwks.start();
            Some(jwks)
        }
        None => None,
    };
    Authenticator::new(AuthOptions {
        secret: jwt.secret.clone(),
        public_keys,
        jwks,
        issuer: jwt.issuer.clone(),
        audience: jwt.audience.clone(),
        required_scope: jwt.required_scope.clone(),
        leeway_secs: jwt.leeway_secs,
        scoping: CustomerScoping {
            claim: jwt.customer_claim.clone(),
            all_customers_scope: jwt.all_customers_scope.clone(),
        },
    })
    .ok_or_else(|| StartError::Key {
        setting: Setting::named("GATEWAY_JWT_SECRET"),
        problem: "no caller key is configured".into(),
    })
}

/// The upstream client of these settings.
pub(super) fn upstream_client(
    settings: &Settings,
    credentials: AppCredentials,
    clock: &Clock,
    metrics: &Arc<Metrics>,
) -> Result<UpstreamClient, StartError> {
    Ok(UpstreamClient::new(
        &settings.upstream,
        UpstreamRuntime {
            credentials,
            deadline: settings.limits.request_timeout,
            clock: clock.clone(),
        },
        Arc::clone(metrics),
    )?)
}

/// The listeners: the gateway's, and `/metrics`' own when it is served apart.
pub(super) async fn bind(
    settings: &Settings,
) -> Result<(TcpListener, SocketAddr, Option<(TcpListener, SocketAddr)>), StartError> {
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: settings.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: settings.listen,
        source,
    })?;
    let metrics_listener = match settings.metrics_listen {
        Some(wanted) => {
            let bind_error = |source| StartError::MetricsBind {
                addr: wanted,
                source,
            };
            let listener = TcpListener::bind(wanted).await.map_err(bind_error)?;
            let bound = listener.local_addr().map_err(bind_error)?;
            Some((listener, bound))
        }
        None => None,
    };
    Ok((listener, addr, metrics_listener))
}

/// The app token's source; reads the assertion key and certificate now.
pub(crate) fn app_credentials(settings: &Settings) -> Result<AppCredentials, StartError> {
    Ok(match &settings.upstream.credentials {
        UpstreamCredentials::Token(token) => AppCredentials::Fixed(token.clone()),
        UpstreamCredentials::ClientCredentials {
            token_url,
            client_id,
            authentication,
        } => AppCredentials::Client(ClientCredentials {
            token_url: token_url.clone(),
            client_id: client_id.clone(),
            scope: settings.upstream.scope.clone(),
            proof: match authentication {
                ClientAuthentication::Secret(secret) => ClientProof::Secret(secret.clone()),
                ClientAuthentication::Assertion {
                    key_file,
                    cert_file,
                } => ClientProof::Assertion(
                    AssertionSigner::from_files(key_file, cert_file).map_err(|error| {
                        let setting = if error.is_about_certificate() {
                            "GATEWAY_UPSTREAM_CLIENT_CERT_FILE"
                        } else {
                            "GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE"
                        };
                        StartError::Key {
                            setting: Setting::named(setting),
                            problem: error.to_string(),
                        }
                    })?,
                ),
            },
        }),
    })
}
