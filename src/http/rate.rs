//! The optional per-caller rate limit: governor's keyed GCRA limiter, one key per caller
//! (the token's `sub`, or the token's digest when it has none).
//!
//! A caller may make `burst` requests at once and then `per_minute` a minute; a request over
//! that is refused with 429 and a `Retry-After` saying when the next one will pass. Keys whose
//! state is as good as new carry no information and are dropped every [`SWEEP_EVERY`] checks,
//! so a stream of one-off callers cannot grow memory without bound.
//!
//! With a shared Redis the limit holds for the whole deployment (`shared::rate`); while Redis
//! cannot answer, each replica applies it alone.

use std::{
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use governor::{
    Quota,
    clock::{Clock, DefaultClock},
    middleware::NoOpMiddleware,
    state::keyed::DefaultKeyedStateStore,
};

use crate::shared::Shared;

/// Checks between two sweeps of idle keys.
const SWEEP_EVERY: u64 = 10_000;

type Keyed<C> = governor::RateLimiter<
    String,
    DefaultKeyedStateStore<String>,
    C,
    NoOpMiddleware<<C as Clock>::Instant>,
>;

/// Per-caller limits on governor's clock `C` (the real one, or a fake one in tests).
pub(crate) struct RateLimiter<C: Clock = DefaultClock> {
    limiter: Keyed<C>,
    clock: C,
    checks: AtomicU64,
    per_minute: u32,
    burst: u32,
    /// The deployment-wide limit, when replicas share a Redis.
    shared: Option<Arc<Shared>>,
}

impl<C: Clock> std::fmt::Debug for RateLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("callers", &self.limiter.len())
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter of `per_minute` requests a minute with bursts of `burst`; `None` when
    /// `per_minute` is 0 (no limit).
    pub(crate) fn new(per_minute: u32, burst: u32) -> Option<Self> {
        Self::with_clock(per_minute, burst, DefaultClock::default())
    }

    /// The same limit, held across every replica on `shared` while it answers.
    pub(crate) fn shared_through(mut self, shared: Option<Arc<Shared>>) -> Self {
        self.shared = shared;
        self
    }

    /// Takes one request from `caller`'s allowance (across the deployment when replicas
    /// share a Redis that answers), or says how long until it may try again.
    pub(crate) async fn acquire(&self, caller: &String) -> Result<(), Duration> {
        if let Some(shared) = &self.shared {
            // Boxed: the Redis round trip's state is kilobytes, which every request's future
            // would otherwise carry and move without Redis too.
            match Box::pin(shared.acquire(caller, self.per_minute, self.burst)).await {
                Ok(outcome) => return outcome,
                Err(_) => shared.fell_back("rate_limit"),
            }
        }
        self.acquire_here(caller)
    }
}

impl<C: Clock + Clone> RateLimiter<C> {
    fn with_clock(per_minute: u32, burst: u32, clock: C) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute)?;
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Some(Self {
            per_minute: per_minute.get(),
            burst: burst.get(),
            shared: None,
            limiter: governor::RateLimiter::new(
                quota,
                DefaultKeyedStateStore::default(),
                clock.clone(),
            ),
            clock,
            checks: AtomicU64::new(0),
        })
    }

    /// Takes one request from `caller`'s allowance in this replica alone, or says how long
    /// until it may try again.
    fn acquire_here(&self, caller: &String) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(caller)
            .map_err(|refused| refused.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    #[test]
    fn a_burst_then_one_request_per_interval_per_caller() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(60, 3, clock.clone()).unwrap();
        for _ in 0..3 {
            limiter.acquire_here(&"alice".to_owned()).unwrap();
        }
        let wait = limiter.acquire_here(&"alice".to_owned()).unwrap_err();
        assert!((0.99..=1.01).contains(&wait.as_secs_f64()), "{wait:?}");
        limiter.acquire_here(&"bob".to_owned()).unwrap();
        clock.advance(Duration::from_millis(1_000));
        limiter.acquire_here(&"alice".to_owned()).unwrap();
        assert!(limiter.acquire_here(&"alice".to_owned()).is_err());
    }

    #[test]
    fn zero_means_no_limit_and_idle_callers_are_swept() {
        assert!(RateLimiter::new(0, 10).is_none());
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(600, 1, clock.clone()).unwrap();
        for caller in 0..SWEEP_EVERY - 1 {
            limiter.acquire_here(&caller.to_string()).unwrap();
        }
        assert_eq!(limiter.limiter.len() as u64, SWEEP_EVERY - 1);
        clock.advance(Duration::from_secs(60));
        limiter.acquire_here(&"late".to_owned()).unwrap();
        assert_eq!(
            limiter.limiter.len(),
            1,
            "only the caller just seen is kept"
        );
    }
}
