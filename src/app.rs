//! Building the gateway from settings, then serving until told to stop.
//!
//! [`Application::build`] wires every part (upstream client → store → schema, authenticator,
//! metrics), binds the listener and returns, so the caller learns the real address (port 0 in
//! tests) before anything is served; [`Application::run_until_stopped`] serves.

use std::{future::Future, net::SocketAddr, sync::Arc};

use tokio::net::TcpListener;

use crate::{
    auth::{AuthOptions, Authenticator},
    cache::CustomerStore,
    config::{Settings, UpstreamCredentials},
    graphql::build_schema,
    http::{App, AppState, ProbeClock, router},
    metrics::Metrics,
    upstream::{UpstreamClient, UpstreamError, UpstreamOptions},
};

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("GATEWAY_LISTEN (listen): cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A setting asks for something this version cannot do yet.
    #[error("{setting}: {what}")]
    Unsupported {
        /// The setting's environment name.
        setting: &'static str,
        /// What is not supported.
        what: &'static str,
    },
    /// The upstream client could not be set up.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

/// A gateway bound to its address, ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
}

impl Application {
    /// Wires the gateway from `settings` and binds its listener.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let token = match settings.upstream.credentials {
            UpstreamCredentials::Token(token) => token,
            UpstreamCredentials::ClientCredentials { .. } => {
                return Err(StartError::Unsupported {
                    setting: "GATEWAY_UPSTREAM_TOKEN_URL",
                    what: "client credentials are not supported by this version yet; set GATEWAY_UPSTREAM_TOKEN",
                });
            }
        };
        let not_yet = [
            (
                settings.jwt.public_key_file.is_some(),
                "GATEWAY_JWT_PUBLIC_KEY_FILE",
                "PEM caller keys are not supported by this version yet; use GATEWAY_JWT_SECRET",
            ),
            (
                settings.jwt.jwks_url.is_some(),
                "GATEWAY_JWT_JWKS_URL",
                "JWKS caller keys are not supported by this version yet; use GATEWAY_JWT_SECRET",
            ),
            (
                settings.jwt.customer_claim.is_some(),
                "GATEWAY_JWT_CUSTOMER_CLAIM",
                "claim-scoped customers are not supported by this version yet",
            ),
        ];
        if let Some((_, setting, what)) = not_yet.into_iter().find(|(set, _, _)| *set) {
            return Err(StartError::Unsupported { setting, what });
        }
        let authenticator = Authenticator::new(&AuthOptions {
            secret: settings.jwt.secret.clone(),
            issuer: settings.jwt.issuer.clone(),
            audience: settings.jwt.audience.clone(),
            required_scope: settings.jwt.required_scope.clone(),
            leeway_secs: settings.jwt.leeway_secs,
        })
        .ok_or(StartError::Unsupported {
            setting: "GATEWAY_JWT_SECRET",
            what: "no caller key is configured",
        })?;
        let metrics = Arc::new(Metrics::default());
        let upstream = Arc::new(UpstreamClient::new(
            UpstreamOptions {
                base_url: settings.upstream.url.clone(),
                token,
                page_size: settings.upstream.page_size,
                concurrency: settings.upstream.concurrency,
                timeout: settings.upstream.timeout,
            },
            Arc::clone(&metrics),
        )?);
        let store = Arc::new(CustomerStore::new(
            Arc::clone(&upstream),
            settings.cache.ttl,
            Arc::clone(&metrics),
        ));
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: settings.listen,
            source,
        })?;
        let state = AppState(Arc::new(App {
            schema: build_schema(Arc::clone(&store)),
            store,
            authenticator,
            upstream,
            metrics,
            probes: ProbeClock::default(),
        }));
        Ok(Self {
            listener,
            addr,
            state,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let upstream = Arc::clone(&self.state.upstream);
        // Learn early whether the upstream accepts our token, so /readyz turns 200 promptly.
        tokio::spawn(async move {
            if let Err(error) = upstream.probe().await {
                tracing::warn!(%error, "the upstream did not accept the first probe");
            }
        });
        tracing::info!(url = %format!("http://{}/graphql", self.addr), "elements-gateway listening");
        axum::serve(self.listener, router(self.state))
            .with_graceful_shutdown(shutdown)
            .await
    }
}
