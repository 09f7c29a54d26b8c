//! Whole answers reused while their fresh snapshot is current, within one customer scope
//! only, and identical requests in flight executed once.

use std::time::Duration;

use futures::future::join_all;
use serde_json::json;

use crate::common::{Options, spawn_with};

#[tokio::test]
async fn whole_answers_are_reused_only_while_their_fresh_snapshot_is_current() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_CACHE_TTL_SECS", 1)
            .set("GATEWAY_CACHE_STALE_SECS", 60),
    )
    .await;
    let reused = async || {
        gateway
            .metric("gateway_cache_lookups_total{cache=\"answer\",result=\"hit\"}")
            .await
    };
    let ask = async |body: &serde_json::Value| {
        let response = gateway.post(body, Some(&crate::common::token())).await;
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap()
    };
    let listing = json!({ "query": "{ customers(first: 3) { totalCount nodes { id } } }" });
    let first = ask(&listing).await; // cold: fills the snapshot
    let second = ask(&listing).await; // executed on the fresh snapshot, kept
    let third = ask(&listing).await; // the same bytes again, without execution
    assert_eq!(reused().await, 1.0);
    assert_eq!(first, second);
    assert_eq!(second, third);

    // An answer with an error is never kept.
    let bad_cursor = json!({ "query": "{ customers(after: \"nope\") { totalCount } }" });
    for _ in 0..3 {
        ask(&bad_cursor).await;
    }
    assert_eq!(reused().await, 1.0);

    // Past the TTL the snapshot is stale: the answer is built again (and says it is stale)
    // rather than reused, until the refresh brings a new snapshot.
    gateway.advance(Duration::from_millis(1_100));
    let stale: serde_json::Value = serde_json::from_slice(&ask(&listing).await).unwrap();
    assert!(stale["extensions"]["stale"].is_object(), "{stale}");
    assert_eq!(reused().await, 1.0);
    gateway.refreshed(1.0).await;
    ask(&listing).await;
    let again = ask(&listing).await;
    assert_eq!(
        reused().await,
        2.0,
        "reused again on the refreshed snapshot"
    );
    assert_eq!(again, first, "the mock's data did not change");
}

/// The customer ids a `customers { nodes { id } }` answer lists, sorted.
fn seen(answer: &serde_json::Value) -> Vec<String> {
    let mut seen: Vec<String> = answer["data"]["customers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["id"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    seen
}

#[tokio::test]
async fn answers_are_reused_within_one_customer_scope_and_never_across_scopes() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_JWT_CUSTOMER_CLAIM", "elements_customers")
            .set("GATEWAY_JWT_ALL_CUSTOMERS_SCOPE", "customers.all"),
    )
    .await;
    let ids = gateway.upstream_ids();
    let first_two = crate::auth::scoped_token("portal-a", json!([ids[0], ids[1]]));
    let same_two = crate::auth::scoped_token("portal-b", json!([ids[1], ids[0]]));
    let other = crate::auth::scoped_token("portal-c", json!([ids[2]]));
    let reused = async || {
        gateway
            .metric("gateway_cache_lookups_total{cache=\"answer\",result=\"hit\"}")
            .await
    };
    // The same request written two ways: spacing and key order do not defeat reuse.
    let bodies = [
        r#"{"query":"{ customers { totalCount nodes { id } } }","variables":{}}"#,
        r#"{ "variables" : { }, "query" : "{ customers { totalCount nodes { id } } }" }"#,
    ];
    let ask = async |token: &str, body: &str| -> serde_json::Value {
        let response = gateway
            .client
            .post(gateway.url("/graphql"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    };
    let mut expected = vec![ids[0].clone(), ids[1].clone()];
    expected.sort();
    let everyone = crate::common::sign(
        &crate::auth::with(json!({ "scope": "customers.all" })),
        jsonwebtoken::Algorithm::HS256,
        crate::common::SECRET,
    );
    ask(&everyone, r#"{"query":"{ customers { totalCount } }"}"#).await; // the snapshot is cached
    let before = reused().await;
    assert_eq!(seen(&ask(&first_two, bodies[0]).await), expected); // executed, kept
    assert_eq!(seen(&ask(&first_two, bodies[1]).await), expected);
    assert_eq!(
        reused().await,
        before + 1.0,
        "the same request, written another way"
    );
    assert_eq!(seen(&ask(&same_two, bodies[0]).await), expected);
    assert_eq!(
        reused().await,
        before + 2.0,
        "another caller with the same customers"
    );
    // Another scope, the same body: its own answer, never the first scope's.
    let answer = ask(&other, bodies[0]).await;
    assert_eq!(seen(&answer), [ids[2].clone()]);
    assert_eq!(answer["data"]["customers"]["totalCount"], 1);
    assert_eq!(reused().await, before + 2.0);
    // Nor an unrestricted caller's.
    let all = ask(&everyone, bodies[0]).await;
    assert_eq!(all["data"]["customers"]["totalCount"], 120);
    assert_eq!(seen(&ask(&other, bodies[1]).await), [ids[2].clone()]);
    assert_eq!(
        reused().await,
        before + 3.0,
        "the other scope's own answer, reused"
    );
}

/// Sends `count` copies of `body` at once with one valid token; returns (status, bytes) each.
async fn identical_requests(
    gateway: &crate::common::TestGateway,
    body: &serde_json::Value,
    count: usize,
) -> Vec<(u16, axum::body::Bytes)> {
    let caller = crate::common::token();
    join_all((0..count).map(|_| async {
        let response = gateway.post(body, Some(&caller)).await;
        (response.status().as_u16(), response.bytes().await.unwrap())
    }))
    .await
}

#[tokio::test]
async fn identical_requests_in_flight_execute_once_and_get_the_same_bytes() {
    let gateway = spawn_with(Options::default()).await;
    gateway.upstream.set_latency(Duration::from_millis(300));
    let before = gateway.upstream_requests();
    let body =
        json!({ "query": "query Cold { customers(first: 7) { totalCount nodes { id email } } }" });
    let answers = identical_requests(&gateway, &body, 10).await;
    assert!(answers.iter().all(|(status, _)| *status == 200));
    assert!(answers.iter().all(|(_, bytes)| *bytes == answers[0].1));
    assert!(
        std::str::from_utf8(&answers[0].1)
            .unwrap()
            .contains("\"totalCount\":120")
    );
    let joined = "gateway_cache_singleflight_joins_total{cache=\"answer\"}";
    assert_eq!(
        gateway.metric(joined).await,
        9.0,
        "nine waited for the first"
    );
    assert_eq!(
        gateway
            .metric("gateway_graphql_requests_total{operation=\"Cold\",outcome=\"ok\"}")
            .await,
        10.0,
        "each request is still counted"
    );
    assert_eq!(gateway.upstream_requests() - before, 3, "one read");

    // A restricted caller never waits for, nor shares, an unrestricted caller's answer.
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_JWT_CUSTOMER_CLAIM", "customers")
            .set("GATEWAY_JWT_ALL_CUSTOMERS_SCOPE", "customers.all"),
    )
    .await;
    gateway.upstream.set_latency(Duration::from_millis(300));
    let mut claims = crate::common::valid_claims();
    claims["customers"] = json!([gateway.upstream_ids()[3]]);
    let restricted = crate::common::sign(
        &claims,
        jsonwebtoken::Algorithm::HS256,
        crate::common::SECRET,
    );
    let body = json!({ "query": "{ customers { totalCount } }" });
    let unrestricted = crate::common::sign(
        &crate::auth::with(json!({ "scope": "customers.all" })),
        jsonwebtoken::Algorithm::HS256,
        crate::common::SECRET,
    );
    let (everyone, one) = futures::join!(
        gateway.post(&body, Some(&unrestricted)),
        gateway.post(&body, Some(&restricted)),
    );
    let everyone: serde_json::Value = everyone.json().await.unwrap();
    let one: serde_json::Value = one.json().await.unwrap();
    assert_eq!(everyone["data"]["customers"]["totalCount"], 120);
    assert_eq!(one["data"]["customers"]["totalCount"], 1);
    assert_eq!(gateway.metric(joined).await, 0.0);
}

#[tokio::test]
async fn a_failing_upstream_is_asked_once_for_identical_requests() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)
            .set("GATEWAY_UPSTREAM_PAGES_AHEAD", 0),
    )
    .await;
    gateway.upstream.set_latency(Duration::from_millis(300));
    gateway
        .upstream
        .set_fault(elements_gateway::mock_upstream::Fault::ServerError { status: 503 });
    let before = gateway.upstream_requests();
    let body = json!({ "query": "{ customers { totalCount } }" });
    let answers = identical_requests(&gateway, &body, 10).await;
    for (status, bytes) in &answers {
        assert_eq!(*status, 200);
        assert!(
            std::str::from_utf8(bytes)
                .unwrap()
                .contains("UPSTREAM_UNAVAILABLE")
        );
    }
    assert_eq!(
        gateway.upstream_requests() - before,
        1,
        "page 1, once, for all ten"
    );
    assert_eq!(
        gateway
            .metric("gateway_cache_singleflight_joins_total{cache=\"answer\"}")
            .await,
        9.0
    );
}

#[tokio::test]
async fn partner_answers_are_reused_only_while_every_read_they_made_is_fresh() {
    let gateway = spawn_with(Options::default()).await;
    let hits = async || {
        gateway
            .metric("gateway_cache_lookups_total{cache=\"answer\",result=\"hit\"}")
            .await
    };
    let page = json!({ "query": "{ customers(first: 3) { nodes { backupStatus
        backupJobs(first: 3) { jobId } seats(platform: GOOGLE) { tenantId } } } }" });
    let ask = async || {
        let response = gateway.post(&page, Some(&crate::common::token())).await;
        assert_eq!(response.status(), 200);
        response.json::<serde_json::Value>().await.unwrap()
    };
    let first = ask().await; // cold: read while the listing comes in, not kept
    assert!(first.get("errors").is_none(), "{first}");
    let reads = gateway.upstream.partner_requests("jobs");
    assert_eq!(ask().await, first); // executed on fresh reads only: kept
    assert_eq!(ask().await, first);
    assert_eq!(
        hits().await,
        1.0,
        "the third answer is the second one's bytes"
    );
    // Past the jobs' TTL (30 s; the rest are fresh for 60 s) the kept answer is not reused:
    // the request executes, is served the stale jobs while one read refreshes them, and says so.
    gateway.advance(Duration::from_secs(40));
    let stale = ask().await;
    assert_eq!(hits().await, 1.0, "not reused once the jobs are stale");
    assert_eq!(
        stale["extensions"]["stale"]["reason"], "revalidating",
        "{stale}"
    );
    crate::common::eventually("the jobs are refreshed", async || {
        ask().await["extensions"]["stale"].is_null()
    })
    .await;
    assert_eq!(
        gateway.upstream.partner_requests("jobs"),
        2 * reads,
        "each customer's jobs refreshed once"
    );
    // Fresh again: kept again, and reused.
    let before = hits().await;
    ask().await;
    ask().await;
    assert!(hits().await > before, "reused again once fresh");
}
