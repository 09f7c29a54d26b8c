//! Shutdown: `/readyz` turns 503 while the gateway drains, in-flight requests finish, new
//! connections are refused once the delay is over, and the drain is bounded.

use std::time::{Duration, Instant};

use elements_gateway::mock_upstream::{MockOptions, MockUpstream};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::common::{
    Options, TestGateway, base_settings, eventually,
    process::{Running, gateway_command},
    spawn_with, token,
};

const SLOW_QUERY: &str = "{ customers(first: 2) { totalCount nodes { id } } }";

/// Sends [`SLOW_QUERY`] with `client` in its own task, to be answered (or not) while the test
/// goes on.
fn in_background(
    client: &reqwest::Client,
    url: &str,
) -> JoinHandle<reqwest::Result<reqwest::Response>> {
    tokio::spawn(
        client
            .post(url)
            .bearer_auth(token())
            .json(&json!({ "query": SLOW_QUERY }))
            .send(),
    )
}

fn in_flight(gateway: &TestGateway) -> JoinHandle<reqwest::Result<reqwest::Response>> {
    in_background(&gateway.client, &gateway.url("/graphql"))
}

#[tokio::test]
async fn draining_answers_503_on_readyz_and_lets_in_flight_requests_finish() {
    let mut gateway = spawn_with(
        Options::default()
            .set("GATEWAY_SHUTDOWN_DELAY_MS", 800)
            .set("GATEWAY_SHUTDOWN_TIMEOUT_SECS", 10),
    )
    .await;
    gateway.upstream.set_latency(Duration::from_millis(1_500));
    let in_flight = in_flight(&gateway);
    gateway
        .wait_for(|| gateway.upstream.stats().in_flight >= 1)
        .await;
    gateway.begin_shutdown();

    // The delay: still accepting, but no longer ready.
    eventually("/readyz answers 503", async || {
        gateway.get("/readyz").await.status() == 503
    })
    .await;
    let readyz = gateway.get("/readyz").await;
    assert_eq!(readyz.status(), 503);
    let body: serde_json::Value = readyz.json().await.unwrap();
    assert_eq!(body["reason"], "the gateway is shutting down");
    assert_eq!(gateway.get("/healthz").await.status(), 200);

    // After the delay: a new connection is refused while the slow request is still running.
    eventually("a new connection is refused", async || {
        reqwest::Client::new()
            .get(gateway.url("/healthz"))
            .send()
            .await
            .is_err()
    })
    .await;
    assert!(
        !in_flight.is_finished(),
        "the slow request ended before the delay was over"
    );

    let answer = in_flight
        .await
        .unwrap()
        .expect("the in-flight request gets its answer");
    assert_eq!(answer.status(), 200);
    let answer: serde_json::Value = answer.json().await.unwrap();
    assert!(
        answer["data"]["customers"]["totalCount"].as_u64().unwrap() > 0,
        "{answer}"
    );
    gateway.stopped().await.expect("serving ends cleanly");
}

#[tokio::test]
async fn the_drain_is_bounded_by_the_shutdown_timeout() {
    let mut gateway = spawn_with(Options::default().set("GATEWAY_SHUTDOWN_TIMEOUT_SECS", 1)).await;
    gateway.upstream.set_latency(Duration::from_secs(8));
    let stuck = in_flight(&gateway);
    gateway
        .wait_for(|| gateway.upstream.stats().in_flight >= 1)
        .await;
    let started = Instant::now();
    gateway.begin_shutdown();
    gateway.stopped().await.expect("serving ends");
    let took = started.elapsed();
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(4)).contains(&took),
        "the drain took {took:?}"
    );
    // Serving stopped without waiting for it; in the binary, returning ends the process and
    // with it the connection (see the SIGTERM test below).
    assert!(!stuck.is_finished(), "the stuck request was answered");
    stuck.abort();
}

#[tokio::test]
async fn sigterm_stops_the_binary_within_the_bound_cutting_off_a_stuck_request() {
    let upstream = MockUpstream::spawn(MockOptions::default())
        .await
        .expect("the mock starts");
    upstream.set_latency(Duration::from_secs(20));
    let mut command = gateway_command();
    command
        .arg("serve")
        .envs(base_settings(&upstream))
        .env("GATEWAY_SHUTDOWN_TIMEOUT_SECS", "1");
    let mut running = Running::start(command);
    let url = running.line_after("elements-gateway listening on").await;
    let client = reqwest::Client::new();
    let health = client
        .get(url.replace("/graphql", "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let stuck = in_background(&client, &url);
    eventually("the request is in progress upstream", async || {
        upstream.stats().in_flight >= 1
    })
    .await;
    let started = Instant::now();
    let status = running.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "exit took {:?}",
        started.elapsed()
    );
    assert!(
        stuck.await.unwrap().is_err(),
        "the request still running at the bound is cut off"
    );
}
