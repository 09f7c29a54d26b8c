//! What an operator watches: every metric docs/operations.md lists exists and moves with traffic, and
//! JSON logs name the request id on every line a request causes, down to the upstream call.

use std::{process::Stdio, time::Duration};

use elements_gateway::mock_upstream::{MockOptions, MockUpstream};
use serde_json::{Value, json};

use crate::common::{
    AppAuth, Options, TestGateway, base_settings,
    process::{Running, gateway_command},
    spawn_with, sum_series, token,
};

/// Series that must move with [`traffic_of_every_kind`], and by at least how much.
const MOVED: [(&str, f64); 14] = [
    (
        "gateway_graphql_requests_total{operation=\"Listing\",outcome=\"ok\"}",
        9.0,
    ),
    (
        "gateway_graphql_request_duration_seconds_count{operation=\"Listing\"}",
        9.0,
    ),
    ("gateway_upstream_requests_total{outcome=\"OK\"}", 1.0),
    ("gateway_upstream_request_duration_seconds_count", 1.0),
    ("gateway_upstream_pages_ahead_total{outcome=\"used\"}", 1.0),
    ("gateway_cache_lookups_total{result=\"hit\"}", 1.0),
    ("gateway_cache_lookups_total{result=\"miss\"}", 1.0),
    (
        "gateway_cache_singleflight_joins_total{cache=\"snapshot\"}",
        1.0,
    ),
    (
        "gateway_cache_singleflight_joins_total{cache=\"answer\"}",
        1.0,
    ),
    ("gateway_cache_evictions_total{cause=\"expired\"}", 1.0),
    ("gateway_loader_batch_size_count", 1.0),
    ("gateway_loader_batch_size_sum", 2.0),
    ("gateway_auth_refusals_total", 1.0),
    (
        "gateway_request_refusals_total{check=\"QUERY_TOO_DEEP\"}",
        1.0,
    ),
];

/// A cold stampede of two different bodies (one fetch, the rest join it; identical bodies
/// execute once), warm named queries, a loader batch, two refusals, and entries expiring.
async fn traffic_of_every_kind(gateway: &TestGateway) {
    gateway.upstream.set_latency(Duration::from_millis(300));
    let listing = json!({ "query": "query Listing { customers(first: 5) { nodes { id } } }" });
    let other = json!({ "query": "query Listing { customers(first: 6) { nodes { id } } }" });
    let caller = token();
    let cold: Vec<_> = (0..8)
        .map(|i| gateway.post(if i % 2 == 0 { &listing } else { &other }, Some(&caller)))
        .collect();
    for response in futures::future::join_all(cold).await {
        assert_eq!(response.status(), 200);
    }
    gateway.upstream.set_latency(Duration::ZERO);
    gateway.post(&listing, Some(&token())).await;
    // Loader batches: products and their customers, in one batch.
    let ids = gateway.upstream_ids();
    gateway
        .data(&format!(
            "{{ a: customer(id: {:?}) {{ id }} b: customer(id: {:?}) {{ id }} }}",
            ids[0], ids[1]
        ))
        .await;
    // Refusals: a bad token, and a query past the depth limit.
    gateway
        .post(&json!({ "query": "{ __typename }" }), Some("not-a-jwt"))
        .await;
    let deep = format!(
        "{{ customers {{ nodes {{ {} id {} }} }} }}",
        "products { customer { ".repeat(8),
        "} } ".repeat(8)
    );
    gateway
        .post(&json!({ "query": deep }), Some(&token()))
        .await;
    // Entries expire (TTL 1 s) and the cache evicts them.
    crate::common::eventually("an expired entry is evicted", async || {
        gateway
            .metric("gateway_cache_evictions_total{cause=\"expired\"}")
            .await
            >= 1.0
    })
    .await;
}

#[tokio::test]
async fn every_metric_exists_and_moves_with_traffic() {
    let gateway = spawn_with(
        Options::default()
            // 120 customers: three pages, so the first read sends pages ahead.
            .customers(120, 2)
            .app_auth(AppAuth::ClientSecret)
            .set("GATEWAY_CACHE_TTL_SECS", 1)
            .set("GATEWAY_CACHE_STALE_SECS", 0),
    )
    .await;
    let before = gateway.get("/metrics").await.text().await.unwrap();

    traffic_of_every_kind(&gateway).await;

    let after = gateway.get("/metrics").await.text().await.unwrap();
    let moved = |series: &str| sum_series(&after, series) - sum_series(&before, series);
    for (series, at_least) in MOVED {
        assert!(
            moved(series) >= at_least,
            "{series} moved by {} (wanted {at_least}) in\n{after}",
            moved(series)
        );
    }
    // The app token was fetched at start, before the first reading.
    assert!(
        sum_series(
            &after,
            "gateway_upstream_token_requests_total{outcome=\"OK\"}"
        ) >= 1.0
    );
    // Families without labels are always there; labelled ones appear with their first
    // series (stale serving, refreshes, retries and JWKS fetches are counted in the
    // resilience and caller-key tests).
    for name in [
        "gateway_cache_entries",
        "gateway_upstream_circuit_state",
        "gateway_upstream_circuit_rejections_total",
        "gateway_jwks_keys",
        "gateway_jwks_refetches_suppressed_total",
    ] {
        assert!(
            after.contains(&format!("# TYPE {name} ")),
            "{name} is missing from\n{after}"
        );
    }
}

#[tokio::test]
async fn json_logs_name_the_request_id_down_to_the_upstream_call() {
    let upstream = MockUpstream::spawn(MockOptions::default())
        .await
        .expect("the mock starts");
    let log_path =
        std::env::temp_dir().join(format!("elements-gateway-{}-json.log", std::process::id()));
    let mut command = gateway_command();
    command
        .arg("serve")
        .envs(base_settings(&upstream))
        .envs([
            ("GATEWAY_LOG_FORMAT", "json"),
            ("GATEWAY_LOG_LEVEL", "info,elements_gateway=debug"),
        ])
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()));
    let mut running = Running::start(command);
    let url = running.line_after("elements-gateway listening on").await;
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token())
        .header("x-request-id", "trace-me-42")
        .json(&json!({ "query": "{ customers(first: 1) { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    // SIGTERM: every line logged so far is written before the process exits.
    let status = running.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status after SIGTERM: {status}");

    let log = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let upstream_calls: Vec<&Value> = lines
        .iter()
        .filter(|line| line["fields"]["message"] == "upstream answered")
        .filter(|line| {
            line["spans"]
                .as_array()
                .is_some_and(|spans| spans.iter().any(|span| span["id"] == "trace-me-42"))
        })
        .collect();
    assert!(
        !upstream_calls.is_empty(),
        "no upstream call logged under the request id in\n{log}"
    );
    let spans: Vec<&str> = upstream_calls[0]["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|span| span["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        spans,
        ["request", "fetch", "upstream"],
        "{}",
        upstream_calls[0]
    );
}
