//! Upstream faults met with retries, the circuit breaker, pages sent ahead and partial
//! answers, each driven by the mock upstream's fault switches over real sockets (stale data:
//! `stale.rs`).

use std::time::{Duration, Instant};

use elements_gateway::mock_upstream::{Fault, FaultScope};
use serde_json::json;

use crate::common::{Options, error_code, spawn, spawn_with, token};

/// 120 customers in pages of 50: one full read is 3 batch requests.
const LISTING: &str = "{ customers(first: 5) { totalCount nodes { id } } }";
const PAGES: u64 = 3;

/// A gateway that sends no page ahead of page 1, for tests that count one request's tries
/// (pages ahead under faults have their own tests).
fn one_page_at_a_time() -> Options {
    Options::default().set("GATEWAY_UPSTREAM_PAGES_AHEAD", 0)
}

fn unavailable() -> Fault {
    Fault::ServerError { status: 503 }
}

#[tokio::test]
async fn a_transient_5xx_is_retried_until_it_passes() {
    let gateway = spawn_with(one_page_at_a_time().set("GATEWAY_UPSTREAM_BACKOFF_MS", 20)).await;
    let before = gateway.upstream_requests();
    gateway
        .upstream
        .set_fault_where(unavailable(), FaultScope::All, Some(2));
    let data = gateway.data(LISTING).await;
    assert_eq!(data["customers"]["totalCount"], 120);
    assert_eq!(gateway.upstream_requests() - before, PAGES + 2);
    assert_eq!(
        gateway
            .metric("gateway_upstream_retries_total{code=\"UPSTREAM_UNAVAILABLE\"}")
            .await,
        2.0
    );
}

#[tokio::test]
async fn attempts_are_bounded_and_the_last_failure_is_the_answer() {
    let gateway = spawn_with(
        one_page_at_a_time()
            .set("GATEWAY_UPSTREAM_BACKOFF_MS", 10)
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 4)
            .set("GATEWAY_UPSTREAM_BREAKER_FAILURES", 0),
    )
    .await;
    let before = gateway.upstream_requests();
    gateway.upstream.set_fault(unavailable());
    let answer = gateway.query(LISTING).await;
    assert_eq!(error_code(&answer), "UPSTREAM_UNAVAILABLE");
    assert_eq!(gateway.upstream_requests() - before, 4);
}

#[tokio::test]
async fn client_errors_other_than_429_and_401_are_not_retried() {
    let gateway = spawn_with(one_page_at_a_time().set("GATEWAY_UPSTREAM_BACKOFF_MS", 10)).await;
    for status in [400, 404, 422] {
        let before = gateway.upstream_requests();
        gateway.upstream.set_fault(Fault::ServerError { status });
        let answer = gateway.query(LISTING).await;
        assert_eq!(error_code(&answer), "UPSTREAM_BAD_RESPONSE", "{status}");
        assert_eq!(gateway.upstream_requests() - before, 1, "{status}");
    }
}

#[tokio::test]
async fn retry_after_is_waited_for_but_never_longer_than_the_cap() {
    let gateway =
        spawn_with(Options::default().set("GATEWAY_UPSTREAM_RETRY_AFTER_MAX_SECS", 1)).await;
    // Asked for one second: the retry comes after it, and succeeds.
    gateway.upstream.set_fault_where(
        Fault::RateLimited {
            retry_after_secs: Some(1),
        },
        FaultScope::All,
        Some(1),
    );
    let started = Instant::now();
    assert_eq!(gateway.data(LISTING).await["customers"]["totalCount"], 120);
    assert!(started.elapsed() >= Duration::from_millis(950));

    // Asked for an hour: cut to the one-second cap, so the answer still comes.
    let gateway =
        spawn_with(Options::default().set("GATEWAY_UPSTREAM_RETRY_AFTER_MAX_SECS", 1)).await;
    gateway.upstream.set_fault_where(
        Fault::RateLimited {
            retry_after_secs: Some(3600),
        },
        FaultScope::All,
        Some(1),
    );
    assert_eq!(gateway.data(LISTING).await["customers"]["totalCount"], 120);
}

#[tokio::test]
async fn no_retry_waits_past_the_request_deadline() {
    let gateway = spawn_with(
        one_page_at_a_time()
            .set("GATEWAY_LIMITS_REQUEST_TIMEOUT_MS", 800)
            .set("GATEWAY_UPSTREAM_RETRY_AFTER_MAX_SECS", 30),
    )
    .await;
    let before = gateway.upstream_requests();
    gateway.upstream.set_fault(Fault::RateLimited {
        retry_after_secs: Some(5),
    });
    let answer = gateway.query(LISTING).await;
    assert_eq!(error_code(&answer), "UPSTREAM_RATE_LIMITED");
    assert_eq!(gateway.upstream_requests() - before, 1);
}

#[tokio::test]
async fn a_slow_upstream_meets_the_request_deadline_named_in_the_error() {
    let gateway =
        spawn_with(Options::default().set("GATEWAY_LIMITS_REQUEST_TIMEOUT_MS", 300)).await;
    gateway.upstream.set_latency(Duration::from_millis(1000));
    let answer = gateway.query(LISTING).await;
    assert_eq!(error_code(&answer), "UPSTREAM_TIMEOUT");
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("GATEWAY_LIMITS_REQUEST_TIMEOUT_MS"),
        "{message}"
    );
}

#[tokio::test]
async fn a_caller_that_hangs_up_does_not_cancel_the_read_others_wait_for() {
    let gateway = spawn().await;
    gateway.upstream.set_latency(Duration::from_millis(400));
    let before = gateway.upstream_requests();
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let hung_up = impatient
        .post(gateway.url("/graphql"))
        .bearer_auth(token())
        .json(&json!({ "query": LISTING }))
        .send()
        .await;
    assert!(hung_up.is_err(), "the client gave up first");
    // The read it started goes on, and the next caller joins it instead of starting another.
    assert_eq!(gateway.data(LISTING).await["customers"]["totalCount"], 120);
    assert_eq!(gateway.upstream_requests() - before, PAGES);
}

#[tokio::test]
async fn the_circuit_opens_fails_fast_and_a_probe_closes_it() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)
            .set("GATEWAY_UPSTREAM_BREAKER_FAILURES", 3)
            .set("GATEWAY_UPSTREAM_BREAKER_COOLDOWN_MS", 700),
    )
    .await;
    gateway.upstream.set_fault(unavailable());
    for _ in 0..3 {
        assert_eq!(
            error_code(&gateway.query(LISTING).await),
            "UPSTREAM_UNAVAILABLE"
        );
    }
    assert_eq!(gateway.metric("gateway_upstream_circuit_state").await, 1.0);
    let before = gateway.upstream_requests();
    let answer = gateway.query(LISTING).await;
    assert_eq!(error_code(&answer), "UPSTREAM_UNAVAILABLE");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("circuit open"),
        "{answer}"
    );
    assert_eq!(
        gateway.upstream_requests(),
        before,
        "an open circuit sends nothing"
    );

    gateway.upstream.set_fault(Fault::None);
    gateway.advance(Duration::from_millis(800));
    assert_eq!(gateway.data(LISTING).await["customers"]["totalCount"], 120);
    assert_eq!(gateway.metric("gateway_upstream_circuit_state").await, 0.0);
}

#[tokio::test]
async fn a_failing_field_keeps_the_rest_of_the_answer() {
    let gateway = spawn_with(Options::default().set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)).await;
    let id = gateway.upstream.customers()[7].customer_id.clone();
    gateway
        .upstream
        .set_fault_where(unavailable(), FaultScope::Ids, None);
    // `customers` reads the listing, which works; `customer(id)` asks for its id while that
    // read is still under way (each answer takes 200 ms), and that request fails.
    gateway.upstream.set_latency(Duration::from_millis(200));
    let answer = gateway
        .query(&format!(
            "{{ customers(first: 2) {{ nodes {{ id }} }} customer(id: {id:?}) {{ id }} }}"
        ))
        .await;
    assert_eq!(
        answer["data"]["customers"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(answer["data"]["customer"].is_null(), "{answer}");
    assert_eq!(answer["errors"].as_array().unwrap().len(), 1);
    assert_eq!(answer["errors"][0]["path"][0], "customer");
    assert_eq!(error_code(&answer), "UPSTREAM_UNAVAILABLE");
}

#[tokio::test]
async fn pages_sent_ahead_that_fail_are_read_again_and_do_not_open_the_circuit() {
    // 500 customers in pages of 50: pages 2 to 8 go out with page 1, and all seven fail.
    let gateway = spawn_with(
        Options::default()
            .customers(500, 1)
            .set("GATEWAY_UPSTREAM_BREAKER_FAILURES", 3)
            .set("GATEWAY_UPSTREAM_BACKOFF_MS", 10),
    )
    .await;
    let before = gateway.upstream_requests();
    gateway
        .upstream
        .set_fault_where(unavailable(), FaultScope::LaterPages, Some(7));
    let data = gateway.data(LISTING).await;
    assert_eq!(data["customers"]["totalCount"], 500);
    assert_eq!(
        gateway.upstream_requests() - before,
        1 + 7 + 9,
        "page 1, seven pages ahead, then pages 2 to 10"
    );
    assert_eq!(gateway.pages_ahead("failed").await, 7.0);
    assert_eq!(gateway.pages_ahead("used").await, 0.0);
    assert_eq!(gateway.metric("gateway_upstream_circuit_state").await, 0.0);
    assert_eq!(
        gateway
            .metric("gateway_upstream_retries_total{code=\"UPSTREAM_UNAVAILABLE\"}")
            .await,
        0.0,
        "a page ahead is tried once, then read again the usual way"
    );
}

#[tokio::test]
async fn no_page_goes_ahead_while_the_upstream_is_failing() {
    let gateway = spawn_with(
        Options::default()
            .customers(500, 1)
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)
            .set("GATEWAY_UPSTREAM_BREAKER_FAILURES", 0),
    )
    .await;
    gateway.upstream.set_fault(unavailable());
    // The upstream was answering: the first read costs page 1 and the seven pages ahead.
    let before = gateway.upstream_requests();
    assert_eq!(
        error_code(&gateway.query(LISTING).await),
        "UPSTREAM_UNAVAILABLE"
    );
    assert_eq!(gateway.upstream_requests() - before, 8);
    // Now it is failing: page 1 alone.
    let before = gateway.upstream_requests();
    assert_eq!(
        error_code(&gateway.query(LISTING).await),
        "UPSTREAM_UNAVAILABLE"
    );
    assert_eq!(gateway.upstream_requests() - before, 1);
    // It recovers: this read still starts from page 1 alone, then reads the rest.
    gateway.upstream.set_fault(Fault::None);
    let before = gateway.upstream_requests();
    assert_eq!(gateway.data(LISTING).await["customers"]["totalCount"], 500);
    assert_eq!(gateway.upstream_requests() - before, 10);
    assert_eq!(gateway.pages_ahead("used").await, 0.0);
    assert_eq!(gateway.pages_ahead("failed").await, 7.0, "the first read's");
}
