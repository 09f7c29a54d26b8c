//! Each upstream fault the contract names, seen by the caller as its `UPSTREAM_*` code.

use std::time::Duration;

use elements_gateway::mock_upstream::Fault;
use serde_json::Value;

use crate::common::{Options, error_code, spawn, spawn_with};

const QUERY: &str = "{ customers { totalCount } }";

/// The code a fault shows as, tried once (retries have their own tests).
async fn code_for(fault: Fault) -> (String, Value) {
    let gateway = spawn_with(Options::default().set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)).await;
    gateway.upstream.set_fault(fault);
    let answer = gateway.query(QUERY).await;
    (error_code(&answer).to_owned(), answer)
}

#[tokio::test]
async fn server_errors_are_upstream_unavailable() {
    for status in [500, 502, 503] {
        let (code, answer) = code_for(Fault::ServerError { status }).await;
        assert_eq!(code, "UPSTREAM_UNAVAILABLE");
        assert!(
            answer["data"].is_null(),
            "customers is non-null, so data is null"
        );
        assert_eq!(answer["errors"][0]["path"][0], "customers");
    }
}

#[tokio::test]
async fn throttling_is_upstream_rate_limited() {
    let (code, answer) = code_for(Fault::RateLimited {
        retry_after_secs: Some(7),
    })
    .await;
    assert_eq!(code, "UPSTREAM_RATE_LIMITED");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("7s")
    );
    let (code, _) = code_for(Fault::RateLimited {
        retry_after_secs: None,
    })
    .await;
    assert_eq!(code, "UPSTREAM_RATE_LIMITED");
}

#[tokio::test]
async fn a_refused_app_token_is_upstream_unauthorized_and_never_shown() {
    let (code, answer) = code_for(Fault::Unauthorized).await;
    assert_eq!(code, "UPSTREAM_UNAUTHORIZED");
    assert!(!answer.to_string().contains("mock-upstream-token"));
}

#[tokio::test]
async fn unparseable_or_wrong_shaped_bodies_are_upstream_bad_response() {
    assert_eq!(
        code_for(Fault::InvalidJson).await.0,
        "UPSTREAM_BAD_RESPONSE"
    );
    assert_eq!(code_for(Fault::WrongShape).await.0, "UPSTREAM_BAD_RESPONSE");
}

#[tokio::test]
async fn a_slow_upstream_is_upstream_timeout() {
    let gateway = spawn_with(Options::default().set("GATEWAY_UPSTREAM_TIMEOUT_MS", 200)).await;
    gateway.upstream.set_latency(Duration::from_millis(1000));
    let answer = gateway.query(QUERY).await;
    assert_eq!(error_code(&answer), "UPSTREAM_TIMEOUT");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("200ms")
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_upstream_unavailable_and_not_ready() {
    // A socket bound but never listening holds its port for the whole test, so no server a
    // parallel test starts can take it, and every connection to it is refused.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let dead = reserved.local_addr().unwrap();
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_UPSTREAM_URL", format!("http://{dead}"))
            .without_waiting_for_ready(),
    )
    .await;
    assert_eq!(gateway.get("/readyz").await.status(), 503);
    assert_eq!(gateway.get("/healthz").await.status(), 200);
    let answer = gateway.query(QUERY).await;
    assert_eq!(error_code(&answer), "UPSTREAM_UNAVAILABLE");
    assert_eq!(gateway.get("/readyz").await.status(), 503);
}

#[tokio::test]
async fn an_error_in_one_field_keeps_the_other_fields() {
    let gateway = spawn().await;
    let customers = gateway.upstream.customers();
    let (id, other) = (
        customers[0].customer_id.clone(),
        customers[1].customer_id.clone(),
    );
    // Cache one customer, then break the upstream: the cached customer still answers; another
    // (a nullable field) is null with its error beside a field that succeeds.
    gateway
        .data(&format!("{{ customer(id: {id:?}) {{ id }} }}"))
        .await;
    gateway
        .upstream
        .set_fault(Fault::ServerError { status: 500 });
    let cached = gateway
        .data(&format!("{{ cached: customer(id: {id:?}) {{ id }} }}"))
        .await;
    assert_eq!(cached["cached"]["id"], id.as_str());
    let answer = gateway
        .query(&format!(
            "{{ __typename other: customer(id: {other:?}) {{ id }} }}"
        ))
        .await;
    assert_eq!(answer["data"]["__typename"], "Query", "{answer}");
    assert!(answer["data"]["other"].is_null(), "{answer}");
    assert!(
        answer["data"].get("other").is_some(),
        "null, not missing: {answer}"
    );
    assert_eq!(error_code(&answer), "UPSTREAM_UNAVAILABLE");
    // A non-null field's failure (`customers`) nulls the whole answer.
    let answer = gateway
        .query(&format!(
            "{{ cached: customer(id: {id:?}) {{ id }} all: customers {{ totalCount }} }}"
        ))
        .await;
    assert!(answer["data"].is_null(), "{answer}");
    assert_eq!(answer["errors"][0]["path"][0], "all");
}

/// Data past the stale window (TTL plus `GATEWAY_CACHE_STALE_SECS`) is neither served nor
/// taken for a fetch that just completed, even before the cache's own timer drops it: the
/// listing is read again and its failure reported, at once. (Two workers, so that a read
/// spinning on the entry would fail the timeout rather than hang the test.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_past_the_stale_window_is_read_again_not_served() {
    let gateway = spawn_with(Options::default().set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)).await;
    let id = gateway.upstream_ids()[0].clone();
    let by_id = format!(r#"{{ customer(id: "{id}") {{ id }} }}"#);
    gateway.data("{ customers(first: 1) { totalCount } }").await;
    gateway
        .upstream
        .set_fault(Fault::ServerError { status: 503 });
    gateway.advance(Duration::from_secs(3600));
    let before = gateway.upstream_requests();
    for query in ["{ customers(first: 1) { totalCount } }", by_id.as_str()] {
        let answer = tokio::time::timeout(Duration::from_secs(10), gateway.query(query))
            .await
            .expect("answered, not stuck on the expired entry");
        assert_eq!(error_code(&answer), "UPSTREAM_UNAVAILABLE", "{answer}");
    }
    assert!(
        gateway.upstream_requests() > before,
        "the upstream was asked again"
    );
}
