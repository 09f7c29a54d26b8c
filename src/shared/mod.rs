//! What the replicas of one deployment share through Redis (`GATEWAY_REDIS_URL`): the
//! upstream's answers (`snapshot`, `customers`), automatic persisted queries (`documents`), the
//! lease that lets one replica at a time read the upstream
//! for all of them (`lease`), and the per-caller rate limit (`rate`).
//!
//! Redis is help, never a dependency of answering. Every call has a short time limit; the
//! first failure marks Redis down and logs it once. While it is down every call is refused at
//! once without touching the network, so each replica falls back to its own cache,
//! single-flight and rate limit at no extra latency, and a background probe pings Redis every
//! [`RETRY_AFTER`] (which makes redis-rs's connection manager reconnect). The first ping that
//! is answered clears the mark and logs that sharing resumes.
//!
//! Nothing written here identifies a caller: rate-limit buckets are keyed by a digest, and no
//! caller token or app token is ever stored.

mod customers;
mod documents;
mod lease;
mod rate;
mod reads;
pub(crate) mod settings;
mod snapshot;

use std::{
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use redis::{
    Client, FromRedisValue, IntoConnectionInfo,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

pub(crate) use lease::Turn;
pub(crate) use reads::StoredRead;
pub(crate) use snapshot::{SnapshotState, StoredSnapshot};

use self::settings::RedisSettings;
use crate::metrics::Metrics;

/// Longest one small call (a lease, a counter, a timestamp) may take.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);
/// Longest reading or writing a whole snapshot may take.
const BULK_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a Redis marked down is pinged.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Every reason a replica does without Redis ([`Shared::fell_back`]).
const FALLBACK_REASONS: [&str; 4] = [
    "redis_error",
    "lease_wait_timeout",
    "store_failed",
    "rate_limit",
];

/// Why a call to Redis gave nothing; the caller then does without it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SharedError {
    /// Redis is marked down: no call is tried until a ping is answered.
    #[error("Redis is marked down")]
    Down,
    /// The call took longer than its limit.
    #[error("Redis did not answer {0} within {1:?}")]
    Timeout(&'static str, Duration),
    /// Redis (or the connection to it) refused the call.
    #[error("Redis failed {0}: {1}")]
    Failed(&'static str, String),
    /// What Redis holds is not in the form this build writes.
    #[error("the shared {0} could not be read: {1}")]
    Unreadable(&'static str, String),
}

/// A start-up problem with the Redis settings.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct SettingsError(pub String);

/// The connection to the shared Redis, and whether it is answering.
pub(crate) struct Shared {
    connection: ConnectionManager,
    prefix: String,
    /// Set from a failed call until a ping is answered; calls are refused meanwhile.
    down: AtomicBool,
    metrics: Arc<Metrics>,
    /// This client, for the probe a failure starts.
    me: Weak<Self>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("prefix", &self.prefix)
            .field("down", &self.down)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// A client for the Redis `settings` name; `None` without `GATEWAY_REDIS_URL`. Connects
    /// lazily: an unreachable Redis at start is not an error, only a fallback.
    pub(crate) fn new(
        settings: &RedisSettings,
        metrics: Arc<Metrics>,
    ) -> Result<Option<Arc<Self>>, SettingsError> {
        let Some(url) = &settings.url else {
            return Ok(None);
        };
        let client = Client::open(connection_info(url.expose(), settings)?)
            .map_err(|error| SettingsError(format!("is not usable: {:?}", error.kind())))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(BULK_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(RETRY_AFTER);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|error| SettingsError(format!("is not usable: {:?}", error.kind())))?;
        metrics.redis_in_use(&FALLBACK_REASONS);
        Ok(Some(Arc::new_cyclic(|me| Self {
            connection,
            prefix: settings.prefix().to_owned(),
            down: AtomicBool::new(false),
            metrics,
            me: me.clone(),
        })))
    }

    /// The full name of the key `name`.
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Sends `cmd` as operation `op` within `limit`, unless Redis is marked down.
    async fn call<T: FromRedisValue>(
        &self,
        op: &'static str,
        limit: Duration,
        cmd: &redis::Cmd,
    ) -> Result<T, SharedError> {
        let mut connection = self.connection.clone();
        self.guarded(
            op,
            limit,
            async move { cmd.query_async(&mut connection).await },
        )
        .await
    }

    /// Sends `pipe` as operation `op` within `limit`, unless Redis is marked down.
    async fn pipeline(
        &self,
        op: &'static str,
        limit: Duration,
        pipe: &redis::Pipeline,
    ) -> Result<(), SharedError> {
        let mut connection = self.connection.clone();
        self.guarded(op, limit, async move {
            pipe.query_async::<()>(&mut connection).await
        })
        .await
    }

    /// Runs `script` as operation `op`, unless Redis is marked down.
    async fn script<T: FromRedisValue>(
        &self,
        op: &'static str,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, SharedError> {
        let mut connection = self.connection.clone();
        self.guarded(op, CALL_TIMEOUT, async move {
            invocation.invoke_async(&mut connection).await
        })
        .await
    }

    /// Runs one call with the down mark, time limit, logs and metrics every call has.
    async fn guarded<T>(
        &self,
        op: &'static str,
        limit: Duration,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, SharedError> {
        if self.down.load(Ordering::Relaxed) {
            self.metrics.redis_operation(op, "skipped", Duration::ZERO);
            return Err(SharedError::Down);
        }
        let outcome = self.timed(op, limit, call).await;
        if let Err(error) = &outcome {
            self.mark_down(error);
        }
        outcome
    }

    /// Runs one call within `limit`, recording its outcome and latency as operation `op`.
    async fn timed<T>(
        &self,
        op: &'static str,
        limit: Duration,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, SharedError> {
        let started = Instant::now();
        let (outcome, label) = match tokio::time::timeout(limit, call).await {
            Ok(Ok(value)) => (Ok(value), "ok"),
            Ok(Err(error)) => (Err(SharedError::Failed(op, error.to_string())), "error"),
            Err(_) => (Err(SharedError::Timeout(op, limit)), "timeout"),
        };
        self.metrics.redis_operation(op, label, started.elapsed());
        outcome
    }

    /// Marks Redis down after `error` and, the first time, logs it and starts the probe.
    fn mark_down(&self, error: &SharedError) {
        if self.down.swap(true, Ordering::Relaxed) {
            return;
        }
        tracing::warn!(%error, "Redis is unreachable; each replica uses its own cache and rate limit until it answers");
        if let Some(me) = self.me.upgrade() {
            tokio::spawn(me.probe());
        }
    }

    /// Pings Redis every [`RETRY_AFTER`] until it answers, then clears the down mark.
    async fn probe(self: Arc<Self>) {
        loop {
            tokio::time::sleep(RETRY_AFTER).await;
            let mut connection = self.connection.clone();
            let ping = redis::cmd("PING");
            let answered = self
                .timed(
                    "ping",
                    CALL_TIMEOUT,
                    ping.query_async::<String>(&mut connection),
                )
                .await;
            if answered.is_ok() {
                self.down.store(false, Ordering::Relaxed);
                tracing::info!("Redis answers again; replicas share the cache again");
                return;
            }
        }
    }

    /// The metrics Redis's calls report to.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Notes that a replica did without Redis for `reason`.
    pub(crate) fn fell_back(&self, reason: &'static str) {
        debug_assert!(FALLBACK_REASONS.contains(&reason), "{reason}");
        self.metrics.redis_fallback(reason);
    }
}

/// `keep_for` in whole milliseconds, at least one, as `PX` takes it.
fn px(keep_for: Duration) -> u64 {
    u64::try_from(keep_for.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// The connection details from `url`, with `GATEWAY_REDIS_PASSWORD` when the URL has none.
fn connection_info(
    url: &str,
    settings: &RedisSettings,
) -> Result<redis::ConnectionInfo, SettingsError> {
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err(SettingsError(
            "must start with redis:// or rediss://".into(),
        ));
    }
    let info = url
        .into_connection_info()
        .map_err(|error| SettingsError(format!("is not a Redis URL ({:?})", error.kind())))?;
    Ok(match &settings.password {
        Some(password) if info.redis_settings().password().is_none() => {
            let redis = info
                .redis_settings()
                .clone()
                .set_password(password.expose());
            info.set_redis_settings(redis)
        }
        _ => info,
    })
}

/// What start-up needs to know of the Redis settings, read without touching the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checked {
    /// A password would go in clear (`redis://`) to a host off loopback.
    pub(crate) password_in_clear: bool,
}

/// Whether the settings name a Redis the client can use, and how it would be reached.
pub(crate) fn check(settings: &RedisSettings) -> Result<Checked, SettingsError> {
    let Some(url) = &settings.url else {
        return Ok(Checked {
            password_in_clear: false,
        });
    };
    let info = connection_info(url.expose(), settings)?;
    let has_password = info.redis_settings().password().is_some();
    let password_in_clear = match info.addr() {
        redis::ConnectionAddr::Tcp(host, _) => {
            has_password && !matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1" | "[::1]")
        }
        _ => false,
    };
    Ok(Checked { password_in_clear })
}
