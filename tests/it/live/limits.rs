//! Every limit on a query holds for a subscription, on both transports: the document limits
//! (a fragment bomb, the cost, the upstream requests, priced as if nothing were cached), the
//! safelist, the token (none, bad, expiring) and the per-caller stream limit.

use serde_json::{Value, json};

use super::{
    CUSTOMER,
    clients::{Sse, Ws},
};
use crate::{
    common::{
        AUDIENCE, ISSUER, Options, SECRET, TestGateway, error_code, now, sign, spawn, spawn_with,
        token, valid_claims,
    },
    hardening::fragment_bomb,
    persisted::{manifest, sha256},
};

/// Jobs for 100 customers: 100 upstream requests a TTL, whatever is cached now.
const FAN_OUT: &str =
    "subscription { customers(first: 100) { nodes { backupJobs(first: 5) { status } } } }";

/// Over the default cost limit of 50,000.
const COSTLY: &str = "subscription { products { customer { products { customer { products { \
    customer { products { customer { organization } } } } } } } } }";

/// A token that expires in two seconds.
fn expiring() -> String {
    let mut claims = valid_claims();
    claims["exp"] = json!(now() + 2);
    sign(&claims, jsonwebtoken::Algorithm::HS256, SECRET)
}

/// The code of an answer refused over SSE: a `next` event with the errors, then `complete`.
async fn sse_refusal(gateway: &TestGateway, query: &str) -> String {
    let mut stream = Sse::open(gateway, Some(&token()), query, json!({}))
        .await
        .unwrap_or_else(|refused| panic!("refused over HTTP: {}", refused.status()));
    let answer = stream.answer().await;
    stream.completes().await;
    assert!(answer.get("data").is_none(), "{answer}");
    error_code(&answer).to_owned()
}

/// The code of a subscription refused over WebSocket: an `error` message.
async fn ws_refusal(gateway: &TestGateway, query: &str) -> String {
    let mut socket = Ws::ready(gateway, &token()).await;
    socket.subscribe("1", query, json!({})).await;
    let error = socket.expect("error").await;
    assert_eq!(error["id"], "1");
    error["payload"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_fragment_bomb_the_cost_and_the_upstream_requests_are_limited_on_both_transports() {
    let gateway = spawn_with(Options::default().set("GATEWAY_LIMITS_UPSTREAM_REQUESTS", 60)).await;
    // Warm, 50 customers at a time: the query of all 100 then costs nothing, yet the
    // subscription reads every customer's jobs again each TTL.
    let page = "query Page($after: String) { customers(first: 50, after: $after) { \
        pageInfo { endCursor } nodes { backupJobs(first: 5) { status } } } }";
    let first = gateway.query_with(page, json!({})).await;
    let after = &first["data"]["customers"]["pageInfo"]["endCursor"];
    gateway.query_with(page, json!({ "after": after })).await;
    let query = FAN_OUT.replacen("subscription", "query", 1);
    assert!(gateway.query(&query).await.get("errors").is_none());
    let requests = gateway.upstream_requests();
    for (query, code) in [
        (
            fragment_bomb("subscription", "Subscription").as_str(),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (COSTLY, "QUERY_TOO_COMPLEX"),
        (FAN_OUT, "QUERY_TOO_COMPLEX"),
    ] {
        assert_eq!(sse_refusal(&gateway, query).await, code, "{query}");
        assert_eq!(ws_refusal(&gateway, query).await, code, "{query}");
    }
    assert_eq!(
        gateway.upstream_requests(),
        requests,
        "nothing reached the upstream"
    );
    let invalid = "subscription { customers(last: 1) { totalCount } customer(id: \"1\") { id } }";
    assert_eq!(
        sse_refusal(&gateway, invalid).await,
        "GRAPHQL_VALIDATION_FAILED"
    );
}

#[tokio::test]
async fn no_token_or_a_bad_one_opens_nothing_and_an_expiring_one_ends_the_stream() {
    let gateway = spawn().await;
    let id = json!({ "id": gateway.upstream_ids()[0] });
    for token in [None, Some("not-a-token")] {
        let refused = Sse::open(&gateway, token, CUSTOMER, id.clone())
            .await
            .err()
            .unwrap();
        assert_eq!(refused.status(), 401);
    }
    let mut socket = Ws::connect(&gateway, None).await;
    socket.subscribe("1", CUSTOMER, id.clone()).await;
    assert_eq!(socket.closed().await.0, 4401, "a subscribe before the ack");
    assert_eq!(
        Ws::try_connect(&gateway, Some("nope")).await.unwrap_err(),
        401
    );
    let mut socket = Ws::connect(&gateway, Some(&token())).await;
    socket.send(json!({ "type": "connection_init" })).await;
    socket.expect("connection_ack").await;
    socket.subscribe("1", CUSTOMER, id.clone()).await;
    assert!(
        socket.answer("1").await["data"]["customer"].is_object(),
        "the upgrade's token"
    );
    let mut socket = Ws::connect(&gateway, None).await;
    socket.send(json!({ "type": "connection_init" })).await;
    assert_eq!(socket.closed().await.0, 4403, "no token");
    let mut socket = Ws::connect(&gateway, None).await;
    socket
        .send(json!({ "type": "connection_init", "payload": { "Authorization": "Bearer nope" } }))
        .await;
    let (code, reason) = socket.closed().await;
    assert_eq!(code, 4403, "{reason}");
    assert!(!reason.contains("nope"), "{reason}");

    let mut stream = Sse::open(&gateway, Some(&expiring()), CUSTOMER, id.clone())
        .await
        .unwrap_or_else(|refused| panic!("refused: {}", refused.status()));
    assert!(stream.answer().await["data"]["customer"].is_object());
    assert_eq!(error_code(&stream.answer().await), "UNAUTHENTICATED");
    stream.completes().await;
    let mut socket = Ws::ready(&gateway, &expiring()).await;
    socket.subscribe("1", CUSTOMER, id).await;
    let ended: Value = socket.answer("1").await;
    let ended = if ended.get("data").is_some() {
        socket.answer("1").await
    } else {
        ended
    };
    assert_eq!(error_code(&ended), "UNAUTHENTICATED");
    socket.expect("complete").await;
}

#[tokio::test]
async fn a_caller_holds_at_most_its_subscriptions_and_a_closed_one_frees_its_place() {
    let gateway =
        spawn_with(Options::default().set("GATEWAY_LIMITS_SUBSCRIPTIONS_PER_CALLER", 2)).await;
    let id = json!({ "id": gateway.upstream_ids()[0] });
    let caller = token();
    let mut first = Sse::open(&gateway, Some(&caller), CUSTOMER, id.clone())
        .await
        .expect("a stream");
    first.answer().await;
    let mut socket = Ws::ready(&gateway, &caller).await;
    socket.subscribe("a", CUSTOMER, id.clone()).await;
    socket.answer("a").await;
    let refused = Sse::open(&gateway, Some(&caller), CUSTOMER, id.clone())
        .await
        .err()
        .unwrap();
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(error_code(&body), "TOO_MANY_SUBSCRIPTIONS");
    socket.subscribe("b", CUSTOMER, id.clone()).await;
    let error = socket.expect("error").await;
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "TOO_MANY_SUBSCRIPTIONS"
    );
    let other = sign(
        &json!({ "sub": "someone-else", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600 }),
        jsonwebtoken::Algorithm::HS256,
        SECRET,
    );
    Sse::open(&gateway, Some(&other), CUSTOMER, id.clone())
        .await
        .expect("another caller's own");
    socket.send(json!({ "type": "complete", "id": "a" })).await;
    crate::common::eventually("the completed subscription frees its place", async || {
        socket.subscribe("c", CUSTOMER, id.clone()).await;
        socket.message().await["type"] == "next"
    })
    .await;
}

#[tokio::test]
async fn in_safelist_mode_only_manifest_subscriptions_run() {
    let path = manifest("live-safelist", &[CUSTOMER]);
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_PERSISTED_DOCUMENTS_FILE", path.display())
            .set("GATEWAY_PERSISTED_DOCUMENTS_ONLY", true),
    )
    .await;
    let other = "subscription { customers(first: 1) { totalCount } }";
    assert_eq!(
        sse_refusal(&gateway, other).await,
        "PERSISTED_DOCUMENT_REQUIRED"
    );
    assert_eq!(
        ws_refusal(&gateway, other).await,
        "PERSISTED_DOCUMENT_REQUIRED"
    );
    let mut socket = Ws::ready(&gateway, &token()).await;
    socket
        .send(json!({
            "type": "subscribe",
            "id": "1",
            "payload": {
                "documentId": format!("sha256:{}", sha256(CUSTOMER)),
                "variables": { "id": gateway.upstream_ids()[0] },
            },
        }))
        .await;
    assert!(socket.answer("1").await["data"]["customer"].is_object());
}
