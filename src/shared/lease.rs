//! The fill lease: the one replica allowed to read the upstream for a key, for all of them.
//!
//! Taken with `SET NX PX` and a random token, extended while the read goes on, released by
//! compare-and-delete, so a holder that stalls past its lease can never release a lease that
//! another replica has taken since. A holder that dies stops extending, and the lease expires
//! [`LEASE_FOR`] later at most; then another replica takes it.

use std::{
    sync::{Arc, LazyLock},
    time::{Duration, Instant},
};

use redis::Script;

use super::{CALL_TIMEOUT, Shared, SharedError, px};

/// How long a lease lasts without being extended.
pub(crate) const LEASE_FOR: Duration = Duration::from_secs(3);
/// How often the holder extends it.
const EXTEND_EVERY: Duration = Duration::from_secs(1);

/// `PEXPIRE` if the lease is still ours.
const EXTEND: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

/// `DEL` if the lease is still ours.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

static EXTEND_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(EXTEND));
static RELEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RELEASE));

/// How often a replica waiting for another's fill looks again.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// Whose turn it is to fill a key ([`Shared::turn`]).
#[derive(Debug)]
pub(crate) enum Turn {
    /// This replica holds the lease: it reads (after looking once more for what another
    /// stored), stores, and releases.
    Mine(Lease),
    /// Another replica holds it: look for what it stores again (the wait has been slept).
    Wait,
    /// Redis cannot help (it failed, or the wait ran out, which is noted): read alone.
    Alone,
}

/// A lease this replica holds; extended in the background until released or dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    shared: Arc<Shared>,
    key: String,
    token: String,
    keeper: tokio::task::JoinHandle<()>,
}

impl Shared {
    /// Takes the lease on `name`: `Ok(None)` while another replica holds it.
    pub(crate) async fn take_lease(
        self: &Arc<Self>,
        name: &str,
    ) -> Result<Option<Lease>, SharedError> {
        let key = self.lease_key(name);
        // 128 random bits tell this holder's lease apart from any other's.
        let token = crate::hex::random(16).expect("the system has a random source");
        let taken: Option<String> = self
            .call(
                "lease_take",
                CALL_TIMEOUT,
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg(px(LEASE_FOR)),
            )
            .await?;
        if taken.is_none() {
            self.metrics.redis_lease("busy");
            return Ok(None);
        }
        self.metrics.redis_lease("acquired");
        let keeper = tokio::spawn(keep(Arc::clone(self), key.clone(), token.clone()));
        Ok(Some(Lease {
            shared: Arc::clone(self),
            key,
            token,
            keeper,
        }))
    }

    /// Takes the lease on `name` for a fill, or waits a moment for its holder, until
    /// `give_up`: the one step every shared fill of the partner graph's reads repeats.
    pub(crate) async fn turn(self: &Arc<Self>, name: &str, give_up: Instant) -> Turn {
        match self.take_lease(name).await {
            Ok(Some(lease)) => Turn::Mine(lease),
            Ok(None) if Instant::now() + POLL_EVERY < give_up => {
                tokio::time::sleep(POLL_EVERY).await;
                Turn::Wait
            }
            Ok(None) => {
                self.fell_back("lease_wait_timeout");
                Turn::Alone
            }
            Err(_) => {
                self.fell_back("redis_error");
                Turn::Alone
            }
        }
    }

    /// The key of the lease on `name`.
    pub(super) fn lease_key(&self, name: &str) -> String {
        self.key(&format!("lease:{name}"))
    }
}

impl Lease {
    /// Gives the lease up, if it is still ours.
    pub(crate) async fn release(self) {
        self.keeper.abort();
        let mut invocation = RELEASE_SCRIPT.prepare_invoke();
        invocation.key(&self.key).arg(&self.token);
        let _: Result<i64, _> = self.shared.script("lease_release", invocation).await;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.keeper.abort();
    }
}

/// Extends the lease every [`EXTEND_EVERY`] until it is no longer ours.
async fn keep(shared: Arc<Shared>, key: String, token: String) {
    loop {
        tokio::time::sleep(EXTEND_EVERY).await;
        let mut invocation = EXTEND_SCRIPT.prepare_invoke();
        invocation.key(&key).arg(&token).arg(px(LEASE_FOR));
        match shared.script::<i64>("lease_extend", invocation).await {
            Ok(1) => {}
            Ok(_) => {
                shared.metrics.redis_lease("lost");
                return;
            }
            Err(_) => {}
        }
    }
}
