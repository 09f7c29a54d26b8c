//! A customer's details from `customers/batch` through the API: owner, country, management
//! mode, backup status and tenants, read for a whole page in one `customerIds` request, cached,
//! shared by concurrent callers, scoped by the caller's claim, and failing alone (with
//! `UPSTREAM_FORBIDDEN` naming the permission when the app lacks it).

use std::collections::{BTreeSet, HashMap};

use elements_gateway::mock_upstream::{Fault, FaultScope};
use futures::future::join_all;
use serde_json::{Value, json};

use crate::common::{Options, TestGateway, assert_all_forbidden, spawn_with, upstream_items};

const PAGE: &str = "{ customers(first: 50) { nodes { id organization ownerEmail countryOrRegion
    managementMode backupStatus tenants { id name } } } }";

/// What `customers/batch` says of every customer, by id, asked of the mock directly.
async fn upstream_details(gateway: &TestGateway) -> HashMap<String, Value> {
    upstream_items(gateway, "POST", "/customers/batch?pageSize=100")
        .await
        .into_iter()
        .map(|item| (item["id"].as_str().unwrap().to_owned(), item))
        .collect()
}

fn text(value: &Value) -> Value {
    match value.as_str() {
        Some("N/A" | "") | None => Value::Null,
        Some(text) => json!(text),
    }
}

#[tokio::test]
async fn a_page_of_customers_gets_its_details_in_one_request_normalised() {
    let gateway = spawn_with(Options::default().customers(100, 1)).await;
    let before = gateway.upstream.partner_requests("details");
    let data = gateway.data(PAGE).await;
    assert_eq!(gateway.upstream.partner_requests("details") - before, 1);
    let upstream = upstream_details(&gateway).await;
    let statuses = [
        "",
        "WORKING",
        "FAILED",
        "WAITING_FOR_CONFIGURATION",
        "MULTIPLE_ISSUES",
        "FINISHED_WITH_EXCEPTION",
        "NO_BACKUP_UPDATES",
    ];
    let modes = ["CUSTOMER_MANAGED", "PARTNER_MANAGED", "TO_BE_CONFIGURED"];
    for node in data["customers"]["nodes"].as_array().unwrap() {
        let raw = &upstream[node["id"].as_str().unwrap()];
        assert_eq!(node["ownerEmail"], text(&raw["ownerEmail"]));
        assert_eq!(node["countryOrRegion"], text(&raw["countryOrRegion"]));
        let status: usize = raw["jobStatus"].as_str().unwrap().parse().unwrap();
        let expected = statuses.get(status).filter(|name| !name.is_empty());
        assert_eq!(node["backupStatus"], json!(expected), "{raw}");
        let mode: usize = raw["managementMode"].as_str().unwrap().parse().unwrap();
        assert_eq!(node["managementMode"], json!(modes.get(mode)), "{raw}");
        assert_eq!(node["tenants"], raw["tenants"], "{raw}");
    }
    // Every documented status and mode, and the null of N/A and unknown numbers, over 100
    // customers.
    let seen = |field: &str| -> BTreeSet<String> {
        data["customers"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| node[field].as_str().unwrap_or("null").to_owned())
            .collect()
    };
    let every =
        |names: &str| -> BTreeSet<String> { names.split_whitespace().map(str::to_owned).collect() };
    assert_eq!(
        seen("backupStatus"),
        every(
            "WORKING FAILED WAITING_FOR_CONFIGURATION MULTIPLE_ISSUES FINISHED_WITH_EXCEPTION \
             NO_BACKUP_UPDATES null"
        )
    );
    assert_eq!(
        seen("managementMode"),
        every("CUSTOMER_MANAGED PARTNER_MANAGED TO_BE_CONFIGURED null")
    );
    let counted = "gateway_upstream_requests_total{endpoint=\"customers\",outcome=\"OK\"}";
    assert_eq!(gateway.metric(counted).await, 1.0, "counted by endpoint");
    // Cached: the same page again costs nothing upstream.
    let asked = gateway.upstream.partner_requests("details");
    gateway.data(PAGE).await;
    assert_eq!(gateway.upstream.partner_requests("details"), asked);
}

#[tokio::test]
async fn concurrent_callers_share_one_read() {
    let gateway = spawn_with(Options::default()).await;
    gateway.data("{ customers(first: 1) { totalCount } }").await;
    let answers = join_all((0..10).map(|_| gateway.query(PAGE))).await;
    for answer in &answers {
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    assert_eq!(gateway.upstream.partner_requests("details"), 1);
}

#[tokio::test]
async fn a_missing_permission_or_a_fault_costs_only_those_fields() {
    let gateway = spawn_with(Options::default()).await;
    gateway.upstream.deny("elements.customers.read.all");
    let answer = gateway.query(PAGE).await;
    let nodes = answer["data"]["customers"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 50, "{answer}");
    assert!(
        nodes
            .iter()
            .all(|node| node["organization"].is_string() || node["organization"].is_null())
    );
    assert!(
        nodes
            .iter()
            .all(|node| node["id"].is_string() && node["backupStatus"].is_null())
    );
    assert_all_forbidden(&answer, "elements.customers.read.all");
    let forbidden =
        "gateway_upstream_requests_total{endpoint=\"customers\",outcome=\"UPSTREAM_FORBIDDEN\"}";
    assert!(gateway.metric(forbidden).await >= 1.0);
    gateway.upstream.allow("elements.customers.read.all");
    gateway.upstream.set_fault_where(
        Fault::ServerError { status: 503 },
        FaultScope::Details,
        None,
    );
    let answer = gateway
        .query("{ customers(first: 2) { nodes { id backupStatus } } }")
        .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "UPSTREAM_UNAVAILABLE",
        "{answer}"
    );
    assert_eq!(
        answer["data"]["customers"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_claim_scoped_caller_never_has_another_customer_asked_for() {
    let gateway = crate::customer_claim::gateway().await;
    let ids = gateway.upstream_ids();
    let mine = [ids[3].clone(), ids[7].clone()];
    let caller = crate::auth::scoped_token("portal", json!(mine));
    let response = gateway.post(&json!({ "query": PAGE }), Some(&caller)).await;
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["data"]["customers"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{answer}"
    );
    let asked: BTreeSet<String> = gateway
        .upstream
        .partner_customers_asked()
        .into_iter()
        .collect();
    assert_eq!(asked, mine.iter().cloned().collect());
}

#[tokio::test]
async fn stale_details_are_served_while_the_upstream_fails() {
    let gateway = spawn_with(Options::default()).await;
    let id = gateway.upstream_ids()[9].clone();
    let query =
        format!("{{ customer(id: \"{id}\") {{ backupStatus ownerEmail tenants {{ id }} }} }}");
    let fresh = gateway.data(&query).await;
    let read = gateway.upstream.partner_requests("details");
    gateway.upstream.set_fault_where(
        Fault::ServerError { status: 503 },
        FaultScope::Details,
        None,
    );
    // Past the TTL (60 s), within the stale window: served, and the refresh's failure said.
    gateway.advance(std::time::Duration::from_secs(90));
    crate::common::eventually("the refresh fails", async || {
        let answer = gateway.query(&query).await;
        answer["data"] == fresh
            && answer["extensions"]["stale"]["upstreamCode"] == "UPSTREAM_UNAVAILABLE"
    })
    .await;
    assert!(gateway.upstream.partner_requests("details") > read);
}
