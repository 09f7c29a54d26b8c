//! The listener: accepts connections up to `GATEWAY_LIMITS_CONNECTIONS`, serves each with
//! hyper (HTTP/1.1 and HTTP/2), and drains them on shutdown.
//!
//! `axum::serve` sets no timer, so hyper's header-read timeout never fires there and a client
//! that sends half a request head keeps its connection for ever. Here every HTTP/1 connection
//! must deliver each request head within `GATEWAY_LIMITS_HEADER_TIMEOUT_MS`; the timer also
//! runs while a keep-alive connection waits for its next request, so idle connections close
//! after the same time. HTTP/2 has no such timer (and a client answering pings looks alive),
//! so every connection also has an idle watch: no request in flight and none begun for that
//! long, and it is shut down gracefully. At the connection limit the gateway stops accepting
//! until one closes: newcomers wait in the kernel's listen queue instead of costing memory
//! here.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::Router;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore, time::Instant};

use crate::metrics::Metrics;

/// How connections are held in check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    /// Time to send a request head, and the most a keep-alive connection may sit idle.
    pub header_timeout: Duration,
    /// Most connections open at once.
    pub connections: usize,
}

/// Serves `router` on `listener` until `stop` completes, then stops accepting and lets open
/// connections finish their requests (idle ones close at once); returns when all have.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
    stop: impl Future<Output = ()> + Send,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.header_timeout)
        .keep_alive_timeout(limits.header_timeout);
    let permits = Arc::new(Semaphore::new(limits.connections.max(1)));
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            () = &mut stop => break,
            permit = acquire(&permits, &metrics) => permit,
        };
        let (stream, _peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: pass, rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Nagle stays on, as with `axum::serve`: turning it off raised the warm benchmark's p99
        // from 1.8 to 2.5 times the baseline's (BENCHMARKS.md, step 10).
        let activity = Arc::new(Activity::new());
        let service = Tracked {
            inner: TowerToHyperService::new(router.clone()),
            activity: Arc::clone(&activity),
        };
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let metrics = Arc::clone(&metrics);
        let mut stopped = stopped.clone();
        let idle_limit = limits.header_timeout;
        metrics.connection_opened();
        tokio::spawn(async move {
            {
                tokio::pin!(connection);
                let mut closing = false;
                loop {
                    tokio::select! {
                        // A failed connection (reset, timed-out head) is the client's business.
                        _ = connection.as_mut() => break,
                        () = activity.idle_for(idle_limit), if !closing => {
                            connection.as_mut().graceful_shutdown();
                            closing = true;
                        }
                        _ = stopped.wait_for(|stop| *stop), if !closing => {
                            connection.as_mut().graceful_shutdown();
                            closing = true;
                        }
                    }
                }
            }
            // The connection, and whatever its last response still held (a stream's log
            // line is written when the stream is dropped), is gone before its slot is given
            // back: a drain that holds every slot has every line written.
            metrics.connection_closed();
            drop(permit);
        });
    }
    drop(listener);
    // Open connections finish their requests (idle ones close at once); each gives its slot
    // back when it is done, so holding every slot means all are.
    let _ = stopping.send(true);
    let _ = permits
        .acquire_many(u32::try_from(limits.connections.max(1)).unwrap_or(u32::MAX))
        .await;
}

/// When a connection last began or finished a request, and how many it has in flight.
#[derive(Debug)]
struct Activity {
    opened: Instant,
    /// Milliseconds after `opened`.
    last: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    /// Completes once the connection has had nothing in flight and begun nothing for `limit`.
    /// A request's end counts as activity, so while one is in flight the watch looks again a
    /// whole `limit` later rather than polling.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.opened + Duration::from_millis(self.last.load(Ordering::Relaxed));
            let quiet = last.elapsed();
            let wait = if self.in_flight.load(Ordering::Relaxed) > 0 {
                limit
            } else if quiet >= limit {
                return;
            } else {
                limit - quiet
            };
            tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
        }
    }
}

/// The router's hyper service, noting each request's start and end in [`Activity`].
#[derive(Debug, Clone)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S, R> hyper::service::Service<R> for Tracked<S>
where
    S: hyper::service::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn call(&self, request: R) -> Self::Future {
        self.activity.in_flight.fetch_add(1, Ordering::Relaxed);
        self.activity.touch();
        let answer = self.inner.call(request);
        let activity = Arc::clone(&self.activity);
        Box::pin(async move {
            let answer = answer.await;
            activity.touch();
            activity.in_flight.fetch_sub(1, Ordering::Relaxed);
            answer
        })
    }
}

/// A connection slot, counting the times a newcomer had to wait for one.
async fn acquire(permits: &Arc<Semaphore>, metrics: &Metrics) -> tokio::sync::OwnedSemaphorePermit {
    if let Ok(permit) = Arc::clone(permits).try_acquire_owned() {
        return permit;
    }
    metrics.connection_limit_reached();
    Arc::clone(permits)
        .acquire_owned()
        .await
        .expect("the semaphore is never closed")
}
