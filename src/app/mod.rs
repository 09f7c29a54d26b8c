//! Building the gateway from settings, then serving until told to stop.
//!
//! [`Application::build`] wires every part (upstream client → store → schema, authenticator,
//! metrics), binds the listener and returns, so the caller learns the real address (port 0 in
//! tests) before anything is served; [`Application::run_until_stopped`] serves, and drains on
//! shutdown.

use std::{
    future::Future,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::net::TcpListener;

use crate::{
    answer::{AnswerSettings, Answerer},
    cache::CustomerStore,
    clock::Clock,
    config::{Setting, Settings, ShutdownSettings},
    graphql::build_schema,
    http::{
        App, AppState, ConnectionLimits, McpSettings, ProbeClock, RateLimiter, metrics_router,
        router, serve,
    },
    metrics::Metrics,
    persisted::PersistedDocuments,
    shared::Shared,
    upstream::UpstreamError,
};

mod parts;

pub(crate) use parts::{app_credentials, public_keys};
use parts::{authenticator, bind, upstream_client};

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("GATEWAY_LISTEN (listen): cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A key, certificate or key source named by a setting cannot be used.
    #[error("{setting}: {problem}")]
    Key {
        /// The setting, in both its forms.
        setting: Setting,
        /// What is wrong with the file (never its contents).
        problem: String,
    },
    /// The `/metrics` listen address could not be bound.
    #[error("GATEWAY_METRICS_LISTEN ([metrics] listen): cannot listen on {addr}")]
    MetricsBind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The upstream client could not be set up.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The Redis client could not be set up.
    #[error("GATEWAY_REDIS_URL {0}")]
    Redis(String),
    /// The persisted-documents manifest is unusable; the text names the entry.
    #[error("GATEWAY_PERSISTED_DOCUMENTS_FILE ([persisted_documents] file) {0}")]
    Persisted(String),
}

/// A gateway bound to its address, ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    /// The separate `/metrics` listener (`GATEWAY_METRICS_LISTEN`), when set.
    metrics_listener: Option<(TcpListener, SocketAddr)>,
    state: AppState,
    shutdown: ShutdownSettings,
    connections: ConnectionLimits,
}

impl Application {
    /// Wires the gateway from `settings` and binds its listener.
    ///
    /// Every key and certificate file is read here, so a bad one stops start-up with a line
    /// naming its setting before anything listens.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        Self::build_with_clock(settings, Clock::default()).await
    }

    /// Like [`Application::build`], with `clock` deciding freshness (TTL, cool-down, token
    /// life): tests move it forward instead of sleeping.
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> Result<Self, StartError> {
        let metrics = Arc::new(Metrics::default());
        let credentials = app_credentials(&settings)?;
        let authenticator = authenticator(&settings.jwt, &metrics)?;
        let upstream = Arc::new(upstream_client(&settings, credentials, &clock, &metrics)?);
        let shared = Shared::new(&settings.redis, Arc::clone(&metrics))
            .map_err(|error| StartError::Redis(error.0))?;
        let store = Arc::new(
            CustomerStore::new(
                Arc::clone(&upstream),
                &settings.cache,
                clock,
                Arc::clone(&metrics),
            )
            .with_shared(shared.clone()),
        );
        let persisted =
            PersistedDocuments::from_settings(&settings.persisted, shared.clone(), &metrics)
                .await
                .map_err(StartError::Persisted)?;
        let (listener, addr, metrics_listener) = bind(&settings).await?;
        let connections = ConnectionLimits {
            header_timeout: settings.limits.header_timeout,
            connections: settings.limits.connections,
        };
        let answer = Answerer::new(
            build_schema(Arc::clone(&store), settings.introspection),
            Arc::clone(&store),
            persisted,
            Arc::clone(&metrics),
            AnswerSettings {
                limits: settings.limits.query(settings.introspection),
                query_bytes: settings.limits.query_bytes,
                request_timeout: settings.limits.request_timeout,
                answer_bytes: settings.cache.answer_bytes,
                subscriptions_per_caller: settings.limits.subscriptions_per_caller,
                batch: settings.limits.batch,
            },
        );
        let state = AppState(Arc::new(App {
            answer,
            store,
            authenticator,
            upstream,
            metrics,
            probes: ProbeClock::default(),
            rate_limiter: RateLimiter::new(
                settings.limits.rate_per_minute,
                settings.limits.rate_burst,
            )
            .map(|limiter| limiter.shared_through(shared)),
            sockets: Arc::new(tokio::sync::Semaphore::new(settings.limits.connections)),
            limits: settings.limits,
            draining: AtomicBool::new(false),
            mcp: settings.mcp.then(|| McpSettings {
                issuer: settings.jwt.issuer.clone(),
                scope: settings.jwt.required_scope.clone(),
            }),
            demo_token: std::sync::OnceLock::new(),
            metrics_apart: metrics_listener.is_some(),
            log_requests: settings.telemetry.log_requests,
        }));
        Ok(Self {
            listener,
            addr,
            metrics_listener,
            state,
            shutdown: settings.shutdown,
            connections,
        })
    }

    /// The gateway with async-graphql's executor answering every request: the reference the
    /// differential test holds the fast executor to.
    pub fn with_reference_executor_only(self) -> Self {
        self.state.answer.reference_executor_only();
        self
    }

    /// The gateway of `serve --demo`: GraphiQL opens with `token` in its Headers tab.
    pub fn with_demo_token(self, token: String) -> Self {
        let _ = self.state.demo_token.set(token);
        self
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address `/metrics` is served on apart, when `GATEWAY_METRICS_LISTEN` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().map(|(_, addr)| *addr)
    }

    /// The gateway's routes, to drive in-process without the listener (the fuzz target).
    pub fn router(&self) -> axum::Router {
        router(self.state.clone())
    }

    /// Serves until `shutdown` completes, then drains.
    ///
    /// Draining: `/readyz` answers 503 at once, while requests are still accepted for
    /// `GATEWAY_SHUTDOWN_DELAY_MS` (a load balancer notices and stops sending traffic); then
    /// every subscription is completed, no new connection is accepted, idle ones are closed,
    /// and in-flight requests get
    /// `GATEWAY_SHUTDOWN_TIMEOUT_SECS` to finish before the rest are cut off.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let ShutdownSettings { delay, timeout } = self.shutdown;
        let state = self.state.clone();
        let (stopping, stopped_accepting) = tokio::sync::watch::channel(false);
        let signal = async move {
            shutdown.await;
            state.draining.store(true, Ordering::SeqCst);
            tracing::info!(
                delay_ms = delay.as_millis() as u64,
                "shutting down: /readyz answers 503 from now on"
            );
            tokio::time::sleep(delay).await;
            tracing::info!(
                timeout_secs = timeout.as_secs(),
                "no longer accepting connections; draining in-flight requests"
            );
            state.answer.close_streams();
            let _ = stopping.send(true);
        };
        tokio::spawn(signal);
        let stop = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            // An error: the sender is gone without a signal, so never stop.
            if stopped.wait_for(|stop| *stop).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        if let Some((listener, addr)) = self.metrics_listener {
            tracing::info!(url = %format!("http://{addr}/metrics"), "metrics listening apart");
            tokio::spawn(serve(
                listener,
                metrics_router(self.state.clone()),
                self.connections,
                Arc::clone(&self.state.metrics),
                stop(stopped_accepting.clone()),
            ));
        }
        let server = serve(
            self.listener,
            router(self.state.clone()),
            self.connections,
            Arc::clone(&self.state.metrics),
            stop(stopped_accepting.clone()),
        );
        let bound = async move {
            stop(stopped_accepting).await;
            tokio::time::sleep(timeout).await;
        };
        start_probe(&self.state);
        tracing::info!(url = %format!("http://{}/graphql", self.addr), "elements-gateway listening");
        tokio::select! {
            () = server => {
                tracing::info!("stopped");
                Ok(())
            }
            () = bound => {
                tracing::warn!(
                    "requests were still running after GATEWAY_SHUTDOWN_TIMEOUT_SECS; stopping without them"
                );
                Ok(())
            }
        }
    }
}

/// Learns early whether the upstream accepts our token, so `/readyz` turns 200 promptly (and
/// does not start a second probe while this one runs).
fn start_probe(state: &AppState) {
    let upstream = Arc::clone(&state.upstream);
    state.probes.try_start();
    tokio::spawn(async move {
        if let Err(error) = upstream.probe().await {
            tracing::warn!(%error, "the upstream did not accept the first probe");
        }
    });
}
