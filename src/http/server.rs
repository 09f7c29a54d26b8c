//! The listener: accepts connections up to `GATEWAY_LIMITS_CONNECTIONS`, serves each with
//! hyper (HTTP/1.1 and HTTP/2), and drains them on shutdown.
//!
//! `axum::serve` sets no timer, so hyper's header-read timeout never fires there and a client
//! that sends half a request head keeps its connection for ever. Here every HTTP/1 connection
//! must deliver each request head within `GATEWAY_LIMITS_HEADER_TIMEOUT_MS`; the timer also
//! runs while a keep-alive connection waits for its next request, so idle connections close
//! after the same time. At the connection limit the gateway stops accepting until one closes:
//! newcomers wait in the kernel's listen queue instead of costing memory here.

use std::{future::Future, sync::Arc, time::Duration};

use axum::Router;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};

use crate::metrics::Metrics;

/// How connections are held in check.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time to send a request head, and the most a keep-alive connection may sit idle.
    pub header_timeout: Duration,
    /// Most connections open at once.
    pub connections: usize,
}

/// Serves `router` on `listener` until `stop` completes, then stops accepting and lets open
/// connections finish their requests (idle ones close at once); returns when all have.
pub async fn serve(
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
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.connections.max(1)));
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
        let service = TowerToHyperService::new(router.clone());
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        let metrics = Arc::clone(&metrics);
        metrics.connection_opened();
        tokio::spawn(async move {
            // A failed connection (reset, timed-out head) is the client's business.
            let _ = connection.await;
            metrics.connection_closed();
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
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
