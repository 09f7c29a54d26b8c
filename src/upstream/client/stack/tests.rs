//! Each layer alone, over a fake inner exchange that answers from a script.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::*;
use crate::{
    metrics::Metrics,
    secret::Secret,
    upstream::{AppToken, Breaker, CircuitState, Resilience, RetryPolicy},
};

/// Answers from a script (then success), and records what each call was given.
#[derive(Default)]
struct Scripted {
    answers: Mutex<VecDeque<PageResult>>,
    calls: Mutex<Vec<(Duration, Option<String>)>>,
}

impl Scripted {
    fn failing(times: usize, error: impl Fn() -> UpstreamError) -> Self {
        Self {
            answers: Mutex::new((0..times).map(|_| Err(error())).collect()),
            calls: Mutex::default(),
        }
    }

    fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

impl Exchange for Scripted {
    async fn call(&self, request: PageRequest<'_>) -> PageResult {
        let token = request.token.map(|token| token.expose().to_owned());
        self.calls.lock().unwrap().push((request.timeout, token));
        self.answers.lock().unwrap().pop_front().unwrap_or(Ok(None))
    }
}

fn resilience(failures: u32) -> Resilience {
    Resilience {
        max_attempts: 3,
        backoff: Duration::from_millis(1),
        breaker_failures: failures,
        ..Resilience::default()
    }
}

fn request(deadline: Duration) -> PageRequest<'static> {
    PageRequest::new(
        Selection { customer_ids: None },
        1,
        100,
        Instant::now() + deadline,
    )
}

fn unavailable() -> UpstreamError {
    UpstreamError::Unavailable("HTTP 503".into())
}

fn metrics() -> Arc<Metrics> {
    Arc::new(Metrics::default())
}

#[tokio::test]
async fn retry_tries_again_up_to_the_limit_and_a_once_request_is_tried_once() {
    let policy = RetryPolicy::new(&resilience(0));
    let retry = Retry::new(Scripted::failing(2, unavailable), policy.clone(), metrics());
    assert!(retry.call(request(Duration::from_secs(5))).await.is_ok());
    assert_eq!(retry.inner.calls(), 3);

    let retry = Retry::new(Scripted::failing(5, unavailable), policy.clone(), metrics());
    assert!(retry.call(request(Duration::from_secs(5))).await.is_err());
    assert_eq!(retry.inner.calls(), 3, "the attempt limit");

    let retry = Retry::new(Scripted::failing(1, unavailable), policy.clone(), metrics());
    assert!(
        retry
            .call(request(Duration::from_secs(5)).once())
            .await
            .is_err()
    );
    assert_eq!(retry.inner.calls(), 1);

    let refused = || UpstreamError::Unauthorized(401);
    let retry = Retry::new(Scripted::failing(1, refused), policy, metrics());
    assert!(retry.call(request(Duration::from_secs(5))).await.is_err());
    assert_eq!(retry.inner.calls(), 1, "an answer, not an accident");
}

#[tokio::test]
async fn the_breaker_opens_on_failures_but_not_on_pages_sent_ahead() {
    let health = Arc::new(Health::default());
    let guarded = Guarded::new(
        Scripted::failing(10, unavailable),
        Breaker::new(&resilience(2), crate::clock::Clock::default()),
        Arc::clone(&health),
        metrics(),
    );
    for _ in 0..3 {
        assert!(
            guarded
                .call(request(Duration::from_secs(5)).ahead())
                .await
                .is_err()
        );
    }
    assert_eq!(guarded.breaker.current_state(), CircuitState::Closed);
    assert!(health.is_failing(), "the failures are seen all the same");
    for _ in 0..2 {
        assert!(guarded.call(request(Duration::from_secs(5))).await.is_err());
    }
    assert_eq!(guarded.breaker.current_state(), CircuitState::Open);
    let calls = guarded.inner.calls();
    let refused = guarded.call(request(Duration::from_secs(5))).await;
    assert!(matches!(refused, Err(UpstreamError::CircuitOpen { .. })));
    assert_eq!(
        guarded.inner.calls(),
        calls,
        "an open circuit calls nothing"
    );
}

#[tokio::test]
async fn the_budget_gives_each_attempt_what_is_left_of_the_deadline() {
    let budget = Budget::new(Scripted::default(), 2, Duration::from_secs(10));
    budget.call(request(Duration::from_secs(1))).await.unwrap();
    budget.call(request(Duration::from_secs(60))).await.unwrap();
    let limits: Vec<Duration> = budget
        .inner
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.0)
        .collect();
    assert!(limits[0] <= Duration::from_secs(1) && limits[0] > Duration::ZERO);
    assert_eq!(
        limits[1],
        Duration::from_secs(10),
        "the upstream's own limit"
    );
    let late = budget.call(request(Duration::ZERO)).await;
    assert!(matches!(late, Err(UpstreamError::Timeout(_))));
    assert_eq!(budget.inner.calls(), 2, "past the deadline nothing is sent");
}

#[tokio::test]
async fn the_token_goes_on_every_request_and_a_fixed_one_is_not_renewed() {
    let health = Arc::new(Health::default());
    let authorized = Authorized::new(
        Scripted::failing(1, || UpstreamError::Unauthorized(401)),
        AppToken::Fixed(Secret::new("app-token")),
        Arc::clone(&health),
    );
    let refused = authorized.call(request(Duration::from_secs(5))).await;
    assert!(matches!(refused, Err(UpstreamError::Unauthorized(401))));
    assert_eq!(
        authorized.inner.calls(),
        1,
        "a fixed token cannot be renewed"
    );
    authorized
        .call(request(Duration::from_secs(5)))
        .await
        .unwrap();
    let tokens: Vec<Option<String>> = authorized
        .inner
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.1.clone())
        .collect();
    assert_eq!(tokens, [Some("app-token".into()), Some("app-token".into())]);
}

#[test]
fn health_follows_what_the_layers_report() {
    let health = Health::default();
    assert!(!health.is_reachable());
    health.exchanged(&Ok(None));
    assert!(health.is_reachable());
    health.exchanged(&Err(UpstreamError::Unauthorized(401)));
    assert!(!health.is_reachable(), "our token refused: not ready");
}
