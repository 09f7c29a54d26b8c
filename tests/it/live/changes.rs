//! What a subscription sends: the query's answer at once, then each change once, and nothing
//! when a refresh brings the same data; over SSE and over WebSocket.

use serde_json::{Value, json};

use super::{
    CUSTOMER, CUSTOMER_QUERY,
    clients::{Sse, Ws},
    past_the_ttl, runs,
};
use crate::common::{spawn, token};

/// The first customer's id and what a query answers for it.
async fn first_customer(gateway: &crate::common::TestGateway) -> (String, Value) {
    let id = gateway.upstream_ids()[0].clone();
    let answer = gateway
        .query_with(CUSTOMER_QUERY, json!({ "id": id }))
        .await;
    (id, answer)
}

#[tokio::test]
async fn over_sse_the_first_answer_is_the_querys_then_each_change_comes_once() {
    let gateway = spawn().await;
    let (id, query_answer) = first_customer(&gateway).await;
    let mut stream = Sse::open(&gateway, Some(&token()), CUSTOMER, json!({ "id": id }))
        .await
        .unwrap_or_else(|refused| panic!("refused: {}", refused.status()));
    assert_eq!(stream.answer().await, query_answer);

    past_the_ttl(&gateway, "same", 1.0).await;
    gateway.upstream.rename(&id, "Renamed Research Ltd");
    past_the_ttl(&gateway, "sent", 2.0).await;
    // Had the refresh with the same data sent anything, it would come first.
    let changed = stream.answer().await;
    assert_eq!(
        changed["data"]["customer"]["organization"], "Renamed Research Ltd",
        "{changed}"
    );
    assert_eq!(runs(&gateway, "sent").await, 2.0);
}

#[tokio::test]
async fn over_websocket_the_first_answer_is_the_querys_then_each_change_comes_once() {
    let gateway = spawn().await;
    let (id, query_answer) = first_customer(&gateway).await;
    let mut socket = Ws::ready(&gateway, &token()).await;
    socket.subscribe("1", CUSTOMER, json!({ "id": id })).await;
    assert_eq!(socket.answer("1").await, query_answer);

    past_the_ttl(&gateway, "same", 1.0).await;
    gateway.upstream.rename(&id, "Renamed Research Ltd");
    past_the_ttl(&gateway, "sent", 2.0).await;
    let changed = socket.answer("1").await;
    assert_eq!(
        changed["data"]["customer"]["organization"], "Renamed Research Ltd",
        "{changed}"
    );
    socket.send(json!({ "type": "complete", "id": "1" })).await;
    socket.subscribe("1", CUSTOMER, json!({ "id": id })).await;
    let again = socket.answer("1").await;
    assert_eq!(again, changed, "the id is free again once completed");
}

#[tokio::test]
async fn a_query_over_a_stream_is_answered_once_and_completes() {
    let gateway = spawn().await;
    let (id, query_answer) = first_customer(&gateway).await;
    let mut stream = Sse::open(
        &gateway,
        Some(&token()),
        CUSTOMER_QUERY,
        json!({ "id": id }),
    )
    .await
    .unwrap_or_else(|refused| panic!("refused: {}", refused.status()));
    assert_eq!(stream.answer().await, query_answer);
    stream.completes().await;
    let mut socket = Ws::ready(&gateway, &token()).await;
    socket
        .subscribe("q", CUSTOMER_QUERY, json!({ "id": id }))
        .await;
    assert_eq!(socket.answer("q").await, query_answer);
    assert_eq!(socket.expect("complete").await["id"], "q");
}

#[tokio::test]
async fn partner_fields_are_live_and_jobs_are_refreshed_on_their_own_ttl() {
    let gateway = spawn().await;
    gateway.data("{ customers(first: 1) { totalCount } }").await;
    let id = gateway.upstream_ids()[0].clone();
    let query = "subscription Jobs($id: ID!) { customer(id: $id) { organization \
        backupJobs(first: 3) { status } seats(platform: MICROSOFT_365) { assignedUserSeats } } }";
    let mut stream = Sse::open(&gateway, Some(&token()), query, json!({ "id": id }))
        .await
        .expect("a stream");
    let first = stream.answer().await;
    assert!(
        first["data"]["customer"]["backupJobs"].is_array(),
        "{first}"
    );
    let jobs = gateway.upstream.partner_requests("jobs");
    let seats = gateway.upstream.partner_requests("seats");
    let listings = gateway.upstream.stats().listing_requests;
    // Jobs are fresh for 30 s, the rest for 60 s: at 31 s only the jobs are read again.
    gateway.advance(std::time::Duration::from_secs(31));
    crate::common::eventually("the live answer ran again", async || {
        gateway
            .metric("gateway_subscription_evaluations_total")
            .await
            >= 2.0
    })
    .await;
    assert_eq!(gateway.upstream.partner_requests("jobs"), jobs + 1);
    assert_eq!(gateway.upstream.partner_requests("seats"), seats);
    assert_eq!(gateway.upstream.stats().listing_requests, listings);
}
