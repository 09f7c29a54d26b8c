//! Live answers under trouble and at the edges: an upstream fault sends nothing and ends
//! nothing, a claim-scoped subscriber sees only its customers, the header and idle timeouts
//! leave a healthy stream alone, and shutdown completes every stream.

use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncReadExt;

use super::{CUSTOMER, clients::Sse, past_the_ttl, watched};
use crate::{
    common::{Options, spawn, spawn_with},
    customer_claim,
};
use elements_gateway::mock_upstream::Fault;

const PAGE: &str =
    "subscription { customers(first: 100) { totalCount nodes { id organization } } }";

#[tokio::test]
async fn an_upstream_fault_sends_nothing_and_the_change_comes_once_it_is_over() {
    let gateway = spawn().await;
    let id = gateway.upstream_ids()[0].clone();
    let (mut stream, mut socket, _) = watched(&gateway, &id).await;

    gateway
        .upstream
        .set_fault(Fault::ServerError { status: 503 });
    gateway.upstream.rename(&id, "Changed While Down Ltd");
    past_the_ttl(&gateway, "held", 1.0).await;
    gateway.advance(Duration::from_secs(2));
    past_the_ttl(&gateway, "held", 2.0).await;
    gateway.upstream.set_fault(Fault::None);
    // The retry after the fault is at most 30 s away by the gateway's clock.
    gateway.advance(Duration::from_secs(30));
    for changed in [stream.answer().await, socket.answer("1").await] {
        assert!(changed.get("errors").is_none(), "{changed}");
        assert_eq!(
            changed["data"]["customer"]["organization"],
            "Changed While Down Ltd"
        );
    }
}

#[tokio::test]
async fn a_first_answer_from_stale_data_says_so_as_a_query_would() {
    let gateway = spawn().await;
    let id = gateway.upstream_ids()[0].clone();
    gateway
        .query_with(super::CUSTOMER_QUERY, json!({ "id": id }))
        .await;
    gateway
        .upstream
        .set_fault(Fault::ServerError { status: 503 });
    gateway.advance(Duration::from_secs(61));
    let query = gateway
        .query_with(super::CUSTOMER_QUERY, json!({ "id": id }))
        .await;
    assert!(query["extensions"]["stale"].is_object(), "{query}");
    let (_stream, _socket, first) = watched(&gateway, &id).await;
    assert_eq!(first["data"], query["data"]);
    assert!(
        first["extensions"]["stale"]["ageSeconds"].as_u64() >= Some(61),
        "{first}"
    );
}

#[tokio::test]
async fn a_claim_scoped_subscriber_sees_only_its_customers() {
    let gateway = customer_claim::gateway().await;
    let ids = gateway.upstream_ids();
    let mine = [ids[3].clone(), ids[7].clone()];
    let scoped = customer_claim::token_for(Some(&mine));
    let everyone = customer_claim::token_for(None);
    let mut narrow = Sse::open(&gateway, Some(&scoped), PAGE, json!({}))
        .await
        .expect("a stream");
    let mut wide = Sse::open(&gateway, Some(&everyone), PAGE, json!({}))
        .await
        .expect("a stream");
    let seen = narrow.answer().await;
    assert_eq!(seen["data"]["customers"]["totalCount"], 2, "{seen}");
    assert_eq!(wide.answer().await["data"]["customers"]["totalCount"], 120);
    let mut other = Sse::open(&gateway, Some(&scoped), CUSTOMER, json!({ "id": ids[0] }))
        .await
        .expect("a stream");
    assert!(other.answer().await["data"]["customer"].is_null());

    gateway.upstream.rename(&ids[0], "Not Yours Ltd");
    gateway.upstream.rename(&ids[3], "Yours Ltd");
    past_the_ttl(&gateway, "sent", 5.0).await;
    let changed = narrow.answer().await;
    let names: Vec<_> = changed["data"]["customers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, mine, "{changed}");
    assert!(!changed.to_string().contains("Not Yours Ltd"));
    assert!(wide.answer().await.to_string().contains("Not Yours Ltd"));
}

#[tokio::test]
async fn the_header_and_idle_timeouts_leave_a_healthy_stream_open() {
    let gateway = spawn_with(Options::default().set("GATEWAY_LIMITS_HEADER_TIMEOUT_MS", 300)).await;
    let id = gateway.upstream_ids()[0].clone();
    let (mut stream, mut socket, _) = watched(&gateway, &id).await;
    // A connection that sends nothing is closed after the timeout: by then the streams have
    // been quiet that long too.
    let mut idle = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut byte)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the idle one closed"
    );
    gateway.upstream.rename(&id, "Still Listening Ltd");
    past_the_ttl(&gateway, "sent", 2.0).await;
    for changed in [stream.answer().await, socket.answer("1").await] {
        assert_eq!(
            changed["data"]["customer"]["organization"],
            "Still Listening Ltd"
        );
    }
}

#[tokio::test]
async fn shutdown_completes_every_stream() {
    let mut gateway = spawn().await;
    let id = gateway.upstream_ids()[0].clone();
    let (mut stream, mut socket, _) = watched(&gateway, &id).await;
    socket.subscribe("2", PAGE, json!({})).await;
    socket.answer("2").await;
    let mut completed = Vec::new();
    gateway.begin_shutdown();
    stream.completes().await;
    for _ in 0..2 {
        completed.push(socket.expect("complete").await["id"].clone());
    }
    completed.sort_by_key(|id| id.to_string());
    assert_eq!(completed, [json!("1"), json!("2")]);
    assert_eq!(socket.closed().await.0, 1001);
    assert!(stream.next().await.is_none(), "the stream ended");
    tokio::time::timeout(Duration::from_secs(10), gateway.stopped())
        .await
        .expect("the gateway stops")
        .unwrap();
}
