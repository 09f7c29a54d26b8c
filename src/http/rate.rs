//! The optional per-caller rate limit: a token bucket for each token `sub`.
//!
//! A bucket holds up to `burst` requests and refills at `per_minute` a minute; a request that
//! finds it empty is refused with 429 and a `Retry-After` saying when one token will be back.
//! Buckets that have refilled completely carry no information and are dropped when the table
//! grows, so a stream of one-off callers cannot grow memory without bound.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Buckets kept before full ones are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Per-caller token buckets.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter of `per_minute` requests a minute with bursts of `burst`; `None` when
    /// `per_minute` is 0 (no limit).
    pub fn new(per_minute: u32, burst: u32) -> Option<Self> {
        (per_minute > 0).then(|| Self {
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one request from `caller`'s bucket, or says how long until it may try again.
    pub fn acquire(&self, caller: &str) -> Result<(), Duration> {
        self.acquire_at(caller, Instant::now())
    }

    fn acquire_at(&self, caller: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if buckets.len() >= SWEEP_AT && !buckets.contains_key(caller) {
            buckets.retain(|_, bucket| self.refilled(*bucket, now) < self.burst);
        }
        let bucket = buckets.entry(caller.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        bucket.tokens = self.refilled(*bucket, now);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_token_per_interval_per_caller() {
        let limiter = RateLimiter::new(60, 3).unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire_at("alice", start).unwrap();
        }
        let wait = limiter.acquire_at("alice", start).unwrap_err();
        assert!((0.99..=1.01).contains(&wait.as_secs_f64()), "{wait:?}");
        limiter.acquire_at("bob", start).unwrap();
        limiter
            .acquire_at("alice", start + Duration::from_millis(1_000))
            .unwrap();
        assert!(
            limiter
                .acquire_at("alice", start + Duration::from_millis(1_000))
                .is_err()
        );
    }

    #[test]
    fn zero_means_no_limit_and_full_buckets_are_swept() {
        assert!(RateLimiter::new(0, 10).is_none());
        let limiter = RateLimiter::new(600, 1).unwrap();
        let start = Instant::now();
        for caller in 0..SWEEP_AT {
            limiter.acquire_at(&caller.to_string(), start).unwrap();
        }
        limiter
            .acquire_at("late", start + Duration::from_secs(60))
            .unwrap();
        assert_eq!(limiter.buckets.lock().unwrap().len(), 1);
    }
}
