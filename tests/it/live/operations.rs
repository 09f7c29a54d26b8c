//! What an operator sees of live answers: the open streams, the answers sent and the upstream
//! requests subscriptions cause on `/metrics`, and a stream's start and end in the access log.

use serde_json::json;

use super::{
    CUSTOMER,
    clients::{Sse, Ws},
    past_the_ttl,
};
use crate::{
    access_log::{json_access_lines, request_id},
    common::{eventually, spawn, token},
};

#[tokio::test]
async fn open_streams_answers_sent_and_the_refreshes_they_cause_are_counted() {
    let gateway = spawn().await;
    let id = gateway.upstream_ids()[0].clone();
    let open = "gateway_subscriptions_open{transport=\"sse\"}";
    let mut stream = Sse::open(&gateway, Some(&token()), CUSTOMER, json!({ "id": id }))
        .await
        .expect("a stream");
    stream.answer().await;
    assert_eq!(gateway.metric(open).await, 1.0);
    assert_eq!(
        gateway
            .metric("gateway_subscription_events_total{transport=\"sse\"}")
            .await,
        1.0
    );
    let caused = "gateway_subscription_upstream_requests_total";
    let before = gateway.metric(caused).await;
    past_the_ttl(&gateway, "same", 1.0).await;
    assert!(
        gateway.metric(caused).await > before,
        "the refresh is counted"
    );
    drop(stream);
    eventually("the closed stream is counted out", async || {
        gateway.metric(open).await == 0.0
    })
    .await;
}

/// The id of the first customer in the listing at `url`.
async fn first_customer(url: &str, caller: &str) -> serde_json::Value {
    let listing = reqwest::Client::new()
        .post(url)
        .bearer_auth(caller)
        .json(&json!({ "query": "{ customers(first: 1) { nodes { id } } }" }))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    listing["data"]["customers"]["nodes"][0]["id"].clone()
}

/// The access lines of request `live-stream`, which opens a stream and reads one answer,
/// from a gateway logging JSON under `level`.
async fn stream_lines(level: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let traffic = async |url: &str| {
        let caller = token();
        let id = first_customer(url, &caller).await;
        let mut stream = Sse::open_at(url, Some(&caller), CUSTOMER, json!({ "id": id }))
            .await
            .expect("a stream");
        stream.answer().await;
    };
    json_access_lines(level, traffic)
        .await
        .into_iter()
        .filter(|line| request_id(line) == "live-stream")
        .collect()
}

/// The messages of `lines`.
fn messages(lines: &[serde_json::Value]) -> Vec<&str> {
    lines
        .iter()
        .map(|line| line["fields"]["message"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_stream_logs_its_start_and_its_end_under_its_request_id() {
    let stream = stream_lines(&[]).await;
    assert_eq!(
        messages(&stream),
        ["stream started", "request", "stream ended"],
        "{stream:?}"
    );
    assert_eq!(stream[1]["fields"]["source"], "subscription");
    assert_eq!(stream[2]["fields"]["transport"], "sse");
    assert_eq!(stream[2]["fields"]["events"], 1);
    assert!(stream[2]["fields"]["duration_ms"].as_f64().unwrap() > 0.0);
}

/// A level that keeps the access log but leaves the request span out.
const NO_SPAN: [(&str, &str); 1] = [("GATEWAY_LOG_LEVEL", "warn,elements_gateway::access=info")];

/// Without the request span, each of the three lines carries the id itself.
#[tokio::test]
async fn without_the_request_span_a_streams_lines_still_carry_its_request_id() {
    let stream = stream_lines(&NO_SPAN).await;
    assert_eq!(
        messages(&stream),
        ["stream started", "request", "stream ended"],
        "{stream:?}"
    );
    for line in &stream {
        assert_eq!(line["fields"]["id"], "live-stream", "{line}");
    }
}

/// The same over a WebSocket, whose operations run in tasks of their own.
#[tokio::test]
async fn without_the_request_span_a_sockets_stream_lines_still_carry_its_request_id() {
    let traffic = async |url: &str| {
        let caller = token();
        let id = first_customer(url, &caller).await;
        let mut socket = Ws::ready_at(url, "live-socket", &caller).await;
        socket.subscribe("1", CUSTOMER, json!({ "id": id })).await;
        socket.answer("1").await;
        socket.send(json!({ "type": "complete", "id": "1" })).await;
    };
    let lines: Vec<_> = json_access_lines(&NO_SPAN, traffic)
        .await
        .into_iter()
        .filter(|line| request_id(line) == "live-socket")
        .collect();
    let mut seen = messages(&lines);
    seen.sort_unstable();
    assert_eq!(
        seen,
        ["request", "stream ended", "stream started"],
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .all(|line| line["fields"]["id"] == "live-socket")
    );
}
