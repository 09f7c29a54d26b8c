//! Stale data while the upstream fails or refreshes: served at once with `extensions.stale`,
//! one refresh for many stale reads, and the upstream's error past the stale window.

use std::time::{Duration, Instant};

use elements_gateway::mock_upstream::Fault;
use futures::future::join_all;

use crate::common::{Options, error_code, spawn_with};

/// 120 customers in pages of 50: one full read is 3 batch requests.
const LISTING: &str = "{ customers(first: 5) { totalCount nodes { id } } }";
const PAGES: u64 = 3;

fn unavailable() -> Fault {
    Fault::ServerError { status: 503 }
}

#[tokio::test]
async fn a_fault_that_starts_while_answers_are_cached_serves_them_stale() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_CACHE_TTL_SECS", 1)
            .set("GATEWAY_CACHE_STALE_SECS", 60)
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1),
    )
    .await;
    gateway.data(LISTING).await;
    gateway.upstream.set_fault(unavailable());
    gateway.advance(Duration::from_millis(1200));

    let first = gateway.query(LISTING).await;
    assert!(first.get("errors").is_none(), "{first}");
    assert_eq!(first["data"]["customers"]["totalCount"], 120);
    assert_eq!(first["extensions"]["stale"]["reason"], "revalidating");

    let failed =
        "gateway_cache_refreshes_total{cache=\"snapshot\",outcome=\"UPSTREAM_UNAVAILABLE\"}";
    crate::common::eventually("the refresh failed", async || {
        gateway.metric(failed).await >= 1.0
    })
    .await;
    let later = gateway.query(LISTING).await;
    assert!(later.get("errors").is_none(), "{later}");
    let stale = &later["extensions"]["stale"];
    assert_eq!(stale["reason"], "upstream_error");
    assert_eq!(stale["upstreamCode"], "UPSTREAM_UNAVAILABLE");
    assert!(stale["ageSeconds"].as_u64().unwrap() >= 1);
    assert!(
        gateway
            .metric(
                "gateway_cache_stale_served_total{cache=\"snapshot\",reason=\"upstream_error\"}"
            )
            .await
            >= 1.0
    );
}

/// While refreshes fail, stale reads start one refresh a second at most, however many
/// callers read: a failing upstream is not asked again for every stale read (the breaker is
/// off here, so nothing else holds the reads back).
#[tokio::test]
async fn while_refreshes_fail_stale_reads_ask_the_upstream_once_a_second() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_CACHE_TTL_SECS", 1)
            .set("GATEWAY_CACHE_STALE_SECS", 60)
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)
            .set("GATEWAY_UPSTREAM_BREAKER_FAILURES", 0)
            .set("GATEWAY_CACHE_ANSWER_BYTES", 0),
    )
    .await;
    gateway.data(LISTING).await;
    gateway.upstream.set_fault(unavailable());
    gateway.advance(Duration::from_millis(1200));
    let failed =
        "gateway_cache_refreshes_total{cache=\"snapshot\",outcome=\"UPSTREAM_UNAVAILABLE\"}";
    gateway.data(LISTING).await;
    crate::common::eventually("the first refresh failed", async || {
        gateway.metric(failed).await >= 1.0
    })
    .await;
    let asked = gateway.upstream_requests();
    for _ in 0..20 {
        let answer = gateway.query(LISTING).await;
        assert_eq!(
            answer["extensions"]["stale"]["reason"], "upstream_error",
            "{answer}"
        );
    }
    gateway
        .wait_for(|| gateway.upstream.stats().in_flight == 0)
        .await;
    assert_eq!(
        gateway.upstream_requests(),
        asked,
        "within a second of the failure"
    );
    assert_eq!(gateway.metric(failed).await, 1.0);

    gateway.advance(Duration::from_millis(1100));
    for _ in 0..20 {
        gateway.query(LISTING).await;
    }
    crate::common::eventually("the second refresh failed", async || {
        gateway.metric(failed).await >= 2.0
    })
    .await;
    gateway
        .wait_for(|| gateway.upstream.stats().in_flight == 0)
        .await;
    assert_eq!(
        gateway.metric(failed).await,
        2.0,
        "one refresh for 20 stale reads"
    );
}

#[tokio::test]
async fn past_the_stale_window_the_caller_gets_the_upstream_error() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_CACHE_TTL_SECS", 1)
            .set("GATEWAY_CACHE_STALE_SECS", 1)
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1),
    )
    .await;
    gateway.data(LISTING).await;
    gateway.upstream.set_fault(unavailable());
    gateway.advance(Duration::from_millis(2300));
    let answer = gateway.query(LISTING).await;
    assert_eq!(error_code(&answer), "UPSTREAM_UNAVAILABLE");
}

#[tokio::test]
async fn at_ttl_expiry_under_concurrent_load_no_caller_waits_for_the_upstream() {
    let gateway = spawn_with(Options::default().set("GATEWAY_CACHE_TTL_SECS", 1)).await;
    gateway.data(LISTING).await;
    let before = gateway.upstream_requests();
    // Every upstream answer now takes 1.5 s; the cached one is served at once.
    gateway.upstream.set_latency(Duration::from_millis(1500));
    gateway.advance(Duration::from_millis(1100));
    let started = Instant::now();
    let answers = join_all((0..50).map(|_| gateway.query(LISTING))).await;
    let waited = started.elapsed();
    for answer in &answers {
        assert_eq!(answer["data"]["customers"]["totalCount"], 120, "{answer}");
        assert_eq!(answer["extensions"]["stale"]["reason"], "revalidating");
    }
    assert!(
        waited < Duration::from_secs(1),
        "50 answers took {waited:?} with a 1.5 s upstream"
    );
    // One background refresh for all fifty.
    gateway.refreshed(1.0).await;
    gateway
        .wait_for(|| gateway.upstream.stats().in_flight == 0)
        .await;
    assert_eq!(gateway.upstream_requests() - before, PAGES);
    let refreshed = gateway.query(LISTING).await;
    assert!(refreshed.get("extensions").is_none(), "{refreshed}");
}
