//! Span export (a build with the `otlp` feature): the real binary sends its spans over
//! OTLP/HTTP to a collector on loopback, and flushes them when it stops.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, http::HeaderMap, routing::post};
use serde_json::json;

use crate::common::process::{Running, gateway_command};

#[tokio::test]
async fn spans_reach_an_otlp_collector() {
    let received: Arc<Mutex<Vec<(String, Bytes)>>> = Arc::default();
    let collector = {
        let received = Arc::clone(&received);
        Router::new().route(
            "/v1/traces",
            post(move |headers: HeaderMap, body: Bytes| async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                received.lock().unwrap().push((content_type, body));
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let mut command = gateway_command();
    command
        .args(["serve", "--demo"])
        .env("GATEWAY_LISTEN", "127.0.0.1:0")
        .env("GATEWAY_TRACING_OTLP_ENDPOINT", &endpoint);
    let mut running = Running::start(command);
    let url = running.line_after("elements-gateway listening on").await;
    let token = running.line_after("Authorization: Bearer").await;
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token)
        .json(&json!({ "query": "{ customers(first: 1) { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let status = running.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "{status}");

    let received = received.lock().unwrap();
    assert!(!received.is_empty(), "the collector received nothing");
    let (content_type, body) = &received[0];
    assert_eq!(content_type, "application/x-protobuf");
    let contains = |needle: &[u8]| body.windows(needle.len()).any(|window| window == needle);
    assert!(contains(b"elements-gateway"), "the service name is missing");
    assert!(contains(b"request"), "the request span is missing");
}
