//! Retrying a failed upstream request, and a circuit breaker that stops calling a failing one.
//!
//! Retries cover what may pass on its own: a connect failure, a 5xx and a 429. Each waits an
//! exponentially growing, jittered delay (so a crowd of gateways does not retry in step), or
//! what `Retry-After` asked for, cut to a cap; no wait may pass the request's deadline. Other
//! 4xx, a refused token and an unusable body are answers, not accidents, and are not retried.
//!
//! The breaker counts consecutive failures of the upstream itself. At the threshold it opens:
//! for the cool-down every request fails at once instead of queueing behind a dead upstream
//! (the cache serves stale data meanwhile). After the cool-down one request goes through as a
//! probe; its success closes the circuit, its failure opens it again.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use super::Resilience;
use super::UpstreamError;
use crate::clock::Clock;

/// Longest backoff between two attempts, whatever the attempt number.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// When a failed attempt is worth another try, and how long to wait first.
#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    max_attempts: u32,
    backoff: Duration,
    retry_after_max: Duration,
}

impl RetryPolicy {
    /// The policy of these settings.
    pub(crate) fn new(settings: &Resilience) -> Self {
        Self {
            max_attempts: settings.max_attempts.max(1),
            backoff: settings.backoff,
            retry_after_max: settings.retry_after_max,
        }
    }

    /// The wait before attempt `attempt + 1` after `error` ended attempt `attempt` (counted
    /// from 1), or `None` when the error is not retried or no attempts are left.
    pub(crate) fn delay(&self, attempt: u32, error: &UpstreamError) -> Option<Duration> {
        if attempt >= self.max_attempts || !is_retried(error) {
            return None;
        }
        if let UpstreamError::RateLimited {
            retry_after: Some(wait),
        } = error
        {
            return Some((*wait).min(self.retry_after_max));
        }
        let ceiling = self
            .backoff
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(MAX_BACKOFF);
        // "Equal jitter": at least half the backoff, so a retry never comes at once.
        let half = ceiling / 2;
        Some(half + half.mul_f64(unit_random()))
    }
}

/// Whether a failure may pass if tried again.
fn is_retried(error: &UpstreamError) -> bool {
    matches!(
        error,
        UpstreamError::Unavailable(_) | UpstreamError::RateLimited { .. }
    )
}

/// A number in `[0, 1)`; jitter needs no more than the OS's random bytes.
fn unit_random() -> f64 {
    let value = getrandom::u32().unwrap_or(u32::MAX / 2);
    f64::from(value) / (f64::from(u32::MAX) + 1.0)
}

/// Where the breaker stands, as `/metrics` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CircuitState {
    /// Requests flow.
    Closed,
    /// Requests fail fast until the cool-down ends.
    Open,
    /// The cool-down is over; one probe request is (or may be) in flight.
    HalfOpen,
}

impl CircuitState {
    /// The gauge value: 0 closed, 1 open, 2 half-open.
    pub(crate) fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
        }
    }
}

#[derive(Debug, Default)]
struct BreakerState {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

/// The circuit breaker in front of the upstream.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    /// Decides when the cool-down is over.
    clock: Clock,
    state: Mutex<BreakerState>,
}

/// How an attempt went, as far as the upstream's health goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The upstream answered usefully.
    Healthy,
    /// The upstream failed (unreachable, 5xx, 429, timeout, unusable body).
    Failed,
    /// Says nothing about the upstream's health (our token was refused).
    Neutral,
}

impl Outcome {
    /// How an attempt's result counts.
    pub(crate) fn of<T>(result: &Result<T, UpstreamError>) -> Self {
        match result {
            Ok(_) => Self::Healthy,
            Err(
                UpstreamError::Unavailable(_)
                | UpstreamError::Timeout(_)
                | UpstreamError::RateLimited { .. }
                | UpstreamError::BadResponse(_),
            ) => Self::Failed,
            Err(_) => Self::Neutral,
        }
    }
}

impl Breaker {
    /// A breaker that opens after `threshold` consecutive failures (0: never).
    pub(crate) fn new(settings: &Resilience, clock: Clock) -> Self {
        Self {
            threshold: settings.breaker_failures,
            cooldown: settings.breaker_cooldown,
            clock,
            state: Mutex::new(BreakerState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Lets an attempt through, or refuses it while the circuit is open. After the cool-down
    /// exactly one attempt is let through (the probe) until its outcome is recorded.
    ///
    /// The returned [`Admission`] records the outcome; dropped without one (the attempt was
    /// cancelled), it frees the probe slot so the circuit cannot stay half-open for good.
    pub(crate) fn admit(&self) -> Result<Admission<'_>, UpstreamError> {
        let admission = Admission {
            breaker: self,
            recorded: false,
        };
        if self.threshold == 0 {
            return Ok(admission);
        }
        let mut state = self.state();
        let Some(open_until) = state.open_until else {
            return Ok(admission);
        };
        let now = self.clock.now();
        if now < open_until {
            return Err(UpstreamError::CircuitOpen {
                retry_in: open_until - now,
            });
        }
        if state.probing {
            return Err(UpstreamError::CircuitOpen {
                retry_in: Duration::ZERO,
            });
        }
        state.probing = true;
        Ok(admission)
    }

    fn record(&self, outcome: Outcome) -> Option<CircuitState> {
        if self.threshold == 0 {
            return None;
        }
        let mut state = self.state();
        let before = self.current(&state);
        match outcome {
            Outcome::Healthy => *state = BreakerState::default(),
            Outcome::Failed => {
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                if state.probing || state.consecutive_failures >= self.threshold {
                    state.open_until = Some(self.clock.now() + self.cooldown);
                    state.probing = false;
                }
            }
            Outcome::Neutral => state.probing = false,
        }
        let after = self.current(&state);
        (after != before).then_some(after)
    }

    /// The breaker's state now.
    pub(crate) fn current_state(&self) -> CircuitState {
        self.current(&self.state())
    }

    fn current(&self, state: &BreakerState) -> CircuitState {
        match state.open_until {
            None => CircuitState::Closed,
            Some(until) if self.clock.now() < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }
}

/// An attempt the breaker let through; its outcome must be recorded with [`Admission::finish`].
#[derive(Debug)]
#[must_use = "an admitted attempt's outcome must be recorded"]
pub(crate) struct Admission<'a> {
    breaker: &'a Breaker,
    recorded: bool,
}

impl Admission<'_> {
    /// Records how the attempt went; returns the breaker's new state when it changed.
    pub(crate) fn finish(mut self, outcome: Outcome) -> Option<CircuitState> {
        self.recorded = true;
        self.breaker.record(outcome)
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        if !self.recorded {
            self.breaker.record(Outcome::Neutral);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(failures: u32, cooldown_ms: u64) -> Resilience {
        Resilience {
            max_attempts: 4,
            backoff: Duration::from_millis(100),
            retry_after_max: Duration::from_secs(2),
            breaker_failures: failures,
            breaker_cooldown: Duration::from_millis(cooldown_ms),
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_stops_at_the_attempt_limit() {
        let policy = RetryPolicy::new(&settings(5, 10));
        let error = UpstreamError::Unavailable("HTTP 503".into());
        for (attempt, ceiling) in [(1, 100), (2, 200), (3, 400)] {
            for _ in 0..50 {
                let wait = policy.delay(attempt, &error).unwrap();
                assert!(wait >= Duration::from_millis(ceiling / 2), "{wait:?}");
                assert!(wait <= Duration::from_millis(ceiling), "{wait:?}");
            }
        }
        assert_eq!(policy.delay(4, &error), None);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let policy = RetryPolicy::new(&settings(5, 10));
        let asked = |secs| UpstreamError::RateLimited {
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(policy.delay(1, &asked(1)), Some(Duration::from_secs(1)));
        assert_eq!(policy.delay(1, &asked(120)), Some(Duration::from_secs(2)));
        assert!(
            policy
                .delay(1, &UpstreamError::RateLimited { retry_after: None })
                .is_some()
        );
    }

    #[test]
    fn answers_that_would_not_change_are_not_retried() {
        let policy = RetryPolicy::new(&settings(5, 10));
        for error in [
            UpstreamError::BadResponse("unexpected HTTP 400".into()),
            UpstreamError::Unauthorized(401),
            UpstreamError::Timeout(Duration::from_secs(1)),
        ] {
            assert_eq!(policy.delay(1, &error), None, "{error}");
        }
    }

    #[test]
    fn the_breaker_opens_fails_fast_then_lets_one_probe_through() {
        let clock = Clock::default();
        let breaker = Breaker::new(&settings(3, 50), clock.clone());
        for _ in 0..2 {
            assert_eq!(breaker.admit().unwrap().finish(Outcome::Failed), None);
        }
        let third = breaker.admit().unwrap();
        assert_eq!(third.finish(Outcome::Failed), Some(CircuitState::Open));
        assert!(matches!(
            breaker.admit(),
            Err(UpstreamError::CircuitOpen { .. })
        ));
        clock.advance(Duration::from_millis(60));
        assert_eq!(breaker.current_state(), CircuitState::HalfOpen);
        let probe = breaker.admit().unwrap();
        assert!(breaker.admit().is_err(), "only one probe at a time");
        assert_eq!(probe.finish(Outcome::Failed), Some(CircuitState::Open));
        clock.advance(Duration::from_millis(60));
        let probe = breaker.admit().unwrap();
        assert_eq!(probe.finish(Outcome::Healthy), Some(CircuitState::Closed));
        breaker.admit().unwrap().finish(Outcome::Healthy);
    }

    #[test]
    fn a_cancelled_probe_frees_the_probe_slot() {
        let clock = Clock::default();
        let breaker = Breaker::new(&settings(1, 20), clock.clone());
        breaker.admit().unwrap().finish(Outcome::Failed);
        clock.advance(Duration::from_millis(30));
        drop(breaker.admit().unwrap());
        let probe = breaker.admit().expect("the next caller may probe");
        assert_eq!(probe.finish(Outcome::Healthy), Some(CircuitState::Closed));
    }

    #[test]
    fn a_success_resets_the_count_and_zero_turns_the_breaker_off() {
        let breaker = Breaker::new(&settings(2, 1_000), Clock::default());
        for outcome in [
            Outcome::Failed,
            Outcome::Healthy,
            Outcome::Failed,
            Outcome::Neutral,
        ] {
            breaker.admit().unwrap().finish(outcome);
        }
        assert!(breaker.admit().is_ok());
        let off = Breaker::new(&settings(0, 1_000), Clock::default());
        for _ in 0..100 {
            off.admit().unwrap().finish(Outcome::Failed);
        }
        assert!(off.admit().is_ok());
    }
}
