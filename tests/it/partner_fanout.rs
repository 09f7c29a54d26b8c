//! Pricing and sharing the per-customer reads: a portal page reads each customer once per
//! endpoint however many callers ask, a query estimated over
//! `GATEWAY_LIMITS_UPSTREAM_REQUESTS` is refused before any request, and a price does not
//! depend on what the cache holds.

use std::collections::BTreeSet;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::common::{Options, TestGateway, error_code, spawn_with, token};

const PORTAL: &str = "{ customers(first: 50) { nodes { id organization backupStatus
    backupJobs(first: 5) { status startTime } seats(platform: MICROSOFT_365) { assignedUserSeats } } } }";

#[tokio::test]
async fn a_portal_page_reads_each_customer_once_and_again_costs_nothing() {
    let gateway = spawn_with(Options::default()).await;
    let requests = |gateway: &TestGateway| {
        ["jobs", "seats", "details"].map(|endpoint| gateway.upstream.partner_requests(endpoint))
    };
    // The listing first, so the estimate and the count below are the per-customer reads.
    gateway.data("{ customers(first: 1) { totalCount } }").await;
    let body = json!({ "query": PORTAL, "extensions": { "cost": true } });
    let answer = gateway
        .post(&body, Some(&token()))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(
        answer["data"]["customers"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
    // One read per customer and endpoint; the page's details in one `customerIds` batch.
    assert_eq!(requests(&gateway), [50, 50, 1]);
    let asked = gateway.upstream.partner_customers_asked();
    assert_eq!(asked.len(), 150, "each customer once per endpoint");
    assert_eq!(asked.iter().collect::<BTreeSet<_>>().len(), 50);
    let upstream = &answer["extensions"]["cost"]["upstreamRequests"];
    assert_eq!(upstream["estimated"], 101, "{upstream}");
    assert_eq!(upstream["made"], 101, "{upstream}");
    assert_eq!(upstream["limit"], 200);
    // Again, and from ten callers at once: nothing more upstream, and an estimate of zero.
    let caller = token();
    let again = join_all((0..10).map(|_| gateway.post(&body, Some(&caller)))).await;
    for response in again {
        let answer: Value = response.json().await.unwrap();
        assert_eq!(
            answer["extensions"]["cost"]["upstreamRequests"]["estimated"],
            0
        );
        assert_eq!(answer["extensions"]["cost"]["upstreamRequests"]["made"], 0);
    }
    assert_eq!(requests(&gateway), [50, 50, 1]);
}

#[tokio::test]
async fn ten_concurrent_callers_cold_share_one_read_per_customer() {
    let gateway = spawn_with(Options::default()).await;
    let answers = join_all((0..10).map(|_| gateway.query(PORTAL))).await;
    for answer in &answers {
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    assert_eq!(gateway.upstream.partner_requests("jobs"), 50);
    assert_eq!(gateway.upstream.partner_requests("seats"), 50);
}

#[tokio::test]
async fn a_query_over_the_upstream_limit_is_refused_before_any_request_until_cached() {
    let gateway = spawn_with(Options::default().set("GATEWAY_LIMITS_UPSTREAM_REQUESTS", 30)).await;
    let wide = "{ customers(first: 50) { nodes { backupJobs { jobId } } } }";
    let before = gateway.upstream.requests();
    let refused = gateway.query(wide).await;
    assert_eq!(error_code(&refused), "QUERY_TOO_COMPLEX", "{refused}");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    for part in ["GATEWAY_LIMITS_UPSTREAM_REQUESTS", "50", "30"] {
        assert!(message.contains(part), "{part} in {message}");
    }
    assert_eq!(gateway.upstream.requests(), before, "nothing read");
    // Two halves fit, and fill the cache.
    let first = gateway
        .data("{ customers(first: 25) { pageInfo { endCursor } nodes { backupJobs { jobId } } } }")
        .await;
    let cursor = first["customers"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap();
    gateway
        .data(&format!(
            "{{ customers(first: 25, after: \"{cursor}\") {{ nodes {{ backupJobs {{ jobId }} }} }} }}"
        ))
        .await;
    assert_eq!(gateway.upstream.partner_requests("jobs"), 50);
    let allowed = gateway.data(wide).await;
    assert_eq!(allowed["customers"]["nodes"].as_array().unwrap().len(), 50);
    assert_eq!(gateway.upstream.partner_requests("jobs"), 50);
    // Through products, every customer counts: refused.
    let through = gateway
        .query("{ products { customer { backupCoverage { module } } } }")
        .await;
    assert_eq!(error_code(&through), "QUERY_TOO_COMPLEX", "{through}");
    assert_eq!(gateway.upstream.partner_requests("coverage"), 0);
}

#[tokio::test]
async fn the_field_cost_is_the_same_cold_and_warm() {
    let query = "{ products { service customer { organization } } }";
    let options = || {
        Options::default()
            .customers(1_000, 5)
            .set("GATEWAY_LIMITS_COMPLEXITY", 12_000)
    };
    // 1 + 5,000 × 3 = 15,001 over 12,000, on a fresh gateway and on a warm one.
    let cold = spawn_with(options()).await;
    let answer = cold.query(query).await;
    assert_eq!(error_code(&answer), "QUERY_TOO_COMPLEX", "cold: {answer}");
    let answer = cold.query(query).await;
    assert_eq!(error_code(&answer), "QUERY_TOO_COMPLEX", "warm: {answer}");
    // And a query that fits is answered both ways.
    let fits = "{ products { service } }";
    let fresh = spawn_with(options()).await;
    assert_eq!(
        fresh.data(fits).await["products"].as_array().unwrap().len(),
        5_000
    );
    assert_eq!(
        fresh.data(fits).await["products"].as_array().unwrap().len(),
        5_000
    );
}

#[tokio::test]
async fn stale_jobs_are_served_while_one_read_refreshes_them_and_while_the_upstream_fails() {
    let gateway = spawn_with(Options::default()).await;
    let id = gateway.upstream_ids()[5].clone();
    let query = format!("{{ customer(id: \"{id}\") {{ backupJobs(first: 3) {{ jobId }} }} }}");
    let fresh = gateway.query(&query).await;
    assert!(fresh.get("errors").is_none(), "{fresh}");
    assert_eq!(gateway.upstream.partner_requests("jobs"), 1);
    // Past the jobs TTL (30 s), within the stale window: served at once, refreshed once.
    gateway.advance(std::time::Duration::from_secs(40));
    let stale = gateway.query(&query).await;
    assert_eq!(stale["data"], fresh["data"]);
    assert_eq!(
        stale["extensions"]["stale"]["reason"], "revalidating",
        "{stale}"
    );
    crate::common::eventually("the refresh is stored", async || {
        gateway.query(&query).await["extensions"]["stale"].is_null()
    })
    .await;
    assert_eq!(gateway.upstream.partner_requests("jobs"), 2, "one refresh");
    // The upstream fails for jobs: past the TTL again, the stale jobs go on being served.
    gateway.upstream.set_fault_where(
        elements_gateway::mock_upstream::Fault::ServerError { status: 500 },
        elements_gateway::mock_upstream::FaultScope::Jobs,
        None,
    );
    gateway.advance(std::time::Duration::from_secs(40));
    gateway.query(&query).await;
    crate::common::eventually("the refresh fails", async || {
        let answer = gateway.query(&query).await;
        answer["extensions"]["stale"]["upstreamCode"] == "UPSTREAM_UNAVAILABLE"
    })
    .await;
    let served = gateway.query(&query).await;
    assert_eq!(served["data"], fresh["data"], "{served}");
    assert!(served.get("errors").is_none(), "{served}");
}
