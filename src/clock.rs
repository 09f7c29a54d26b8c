//! The time that decides freshness: when a cached answer goes stale or expires, when an open
//! circuit may be probed, when the app token is replaced. Real time, plus an offset that only
//! tests move ([`Clock::advance`]), so they can step past a TTL or a cool-down without
//! sleeping. Deadlines, timeouts and durations measured for metrics stay on real time.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::Notify;

/// A clock: real time, moved forward by whatever [`Clock::advance`] added. Clones share the
/// offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Nanoseconds added to real time.
    offset: Arc<AtomicU64>,
    /// Wakes [`Clock::sleep_until`] when the offset moves.
    advanced: Arc<Notify>,
}

impl Clock {
    /// The time now.
    pub fn now(&self) -> Instant {
        Instant::now() + Duration::from_nanos(self.offset.load(Ordering::Relaxed))
    }

    /// Milliseconds since the Unix epoch by this clock: the time data shared with other
    /// replicas is stamped with, so they can tell its age.
    pub fn unix_millis(&self) -> u64 {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let offset = Duration::from_nanos(self.offset.load(Ordering::Relaxed));
        u64::try_from((wall + offset).as_millis()).unwrap_or(u64::MAX)
    }

    /// How long ago the Unix millisecond `at` was by this clock (zero for a time ahead of it):
    /// the age of data another replica stamped.
    pub fn since_unix_millis(&self, at: u64) -> Duration {
        Duration::from_millis(self.unix_millis().saturating_sub(at))
    }

    /// Moves this clock (and its clones) `by` forward, for tests; sleepers wake to look.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.offset.fetch_add(nanos, Ordering::Relaxed);
        self.advanced.notify_waiters();
    }

    /// Completes once this clock reads `at` or later: on real time, or sooner when a test
    /// moves the clock past it.
    pub async fn sleep_until(&self, at: Instant) {
        loop {
            let advanced = self.advanced.notified();
            tokio::pin!(advanced);
            advanced.as_mut().enable();
            let now = self.now();
            if now >= at {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(at - now) => {}
                () = advanced => {}
            }
        }
    }
}

/// Seconds since the Unix epoch, as JWT claims count them (`exp`, `iat`): wall time, which
/// tokens made elsewhere are checked against, so no offset applies.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let clock = Clock::default();
        let copy = clock.clone();
        let then = clock.now();
        copy.advance(Duration::from_secs(90));
        assert!(clock.now().duration_since(then) >= Duration::from_secs(90));
        assert!(clock.now() > Instant::now() + Duration::from_secs(89));
    }

    #[tokio::test]
    async fn a_sleeper_wakes_when_the_clock_is_moved_past_its_time() {
        let clock = Clock::default();
        let at = clock.now() + Duration::from_secs(3600);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(at).await }
        });
        clock.advance(Duration::from_secs(3600));
        tokio::time::timeout(Duration::from_secs(10), sleeper)
            .await
            .expect("woken by the move")
            .unwrap();
    }
}
