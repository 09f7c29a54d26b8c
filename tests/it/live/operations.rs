//! What an operator sees of live answers: the open streams, the answers sent and the upstream
//! requests subscriptions cause on `/metrics`, and a stream's start and end in the access log.

use serde_json::json;

use super::{CUSTOMER, clients::Sse, past_the_ttl};
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

#[tokio::test]
async fn a_stream_logs_its_start_and_its_end_under_its_request_id() {
    let traffic = async |url: &str| {
        let caller = token();
        let listing = reqwest::Client::new()
            .post(url)
            .bearer_auth(&caller)
            .json(&json!({ "query": "{ customers(first: 1) { nodes { id } } }" }))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        let id = listing["data"]["customers"]["nodes"][0]["id"].clone();
        let mut stream = Sse::open_at(url, Some(&caller), CUSTOMER, json!({ "id": id }))
            .await
            .expect("a stream");
        stream.answer().await;
    };
    let lines = json_access_lines(&[], traffic).await;
    let stream: Vec<_> = lines
        .iter()
        .filter(|line| request_id(line) == "live-stream")
        .collect();
    let messages: Vec<_> = stream
        .iter()
        .map(|line| line["fields"]["message"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        messages,
        ["stream started", "request", "stream ended"],
        "{stream:?}"
    );
    assert_eq!(stream[1]["fields"]["source"], "subscription");
    assert_eq!(stream[2]["fields"]["transport"], "sse");
    assert_eq!(stream[2]["fields"]["events"], 1);
    assert!(stream[2]["fields"]["duration_ms"].as_f64().unwrap() > 0.0);
}
