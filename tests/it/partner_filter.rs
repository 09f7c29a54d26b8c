//! `customers(filter:)`: customers narrowed by what `customers/batch` says of them, the whole
//! details listing read once (pages merged, duplicates dropped), cached, served stale while
//! the upstream fails, and answering single customers' details while it is cached.

use elements_gateway::mock_upstream::{Fault, FaultScope};
use serde_json::{Value, json};

use crate::common::{Options, TestGateway, error_code, spawn_with, upstream_items};

/// `customers/batch`'s record of every customer, in upstream order, asked of the mock.
async fn upstream_details(gateway: &TestGateway) -> Vec<Value> {
    let mut all = Vec::new();
    for page in 1.. {
        let path = format!("/customers/batch?pageIndex={page}&pageSize=50");
        let items = upstream_items(gateway, "POST", &path).await;
        if items.is_empty() {
            break;
        }
        all.extend(items);
    }
    all
}

/// The ids of the customers whose record passes `keep`, in upstream order.
fn kept(records: &[Value], keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    records
        .iter()
        .filter(|record| keep(record))
        .map(|record| record["id"].clone())
        .collect()
}

async fn ids_of(gateway: &TestGateway, filter: &str) -> (Vec<Value>, Value) {
    let data = gateway
        .data(&format!(
            "{{ customers(first: 1000, filter: {filter}) {{ totalCount nodes {{ id }} }} }}"
        ))
        .await;
    let nodes = data["customers"]["nodes"].as_array().unwrap();
    let ids = nodes.iter().map(|node| node["id"].clone()).collect();
    (ids, data["customers"]["totalCount"].clone())
}

#[tokio::test]
async fn every_condition_narrows_the_listing_in_upstream_order() {
    let gateway = spawn_with(Options::default()).await;
    let records = upstream_details(&gateway).await;
    let asked = gateway.upstream.partner_requests("details");
    let status = |record: &Value| record["jobStatus"].as_str().unwrap().to_owned();
    let (failed, total) = ids_of(&gateway, "{ backupStatus: [FAILED, WORKING] }").await;
    let expected = kept(&records, |r| status(r) == "2" || status(r) == "1");
    assert!(!expected.is_empty());
    assert_eq!(failed, expected);
    assert_eq!(total, json!(expected.len()));
    let (managed, _) = ids_of(&gateway, "{ managementMode: PARTNER_MANAGED }").await;
    assert_eq!(managed, kept(&records, |r| r["managementMode"] == "1"));
    let (german, _) = ids_of(&gateway, "{ countryOrRegion: \"gERMANY\" }").await;
    assert_eq!(
        german,
        kept(&records, |r| r["countryOrRegion"] == "Germany")
    );
    assert!(!german.is_empty());
    let (both, _) = ids_of(
        &gateway,
        "{ countryOrRegion: \"germany\", backupStatus: [FAILED] }",
    )
    .await;
    assert_eq!(
        both,
        kept(&records, |r| r["countryOrRegion"] == "Germany"
            && status(r) == "2")
    );
    // One listing read (its pages) for all of these.
    let pages = gateway.upstream.partner_requests("details") - asked;
    assert_eq!(
        pages,
        records.len().div_ceil(50) as u64,
        "one read of every page"
    );
    // A page of a filtered listing goes on from its cursor.
    let first = gateway
        .data("{ customers(first: 3, filter: { backupStatus: [FAILED] }) { pageInfo { endCursor } nodes { id } } }")
        .await;
    let cursor = first["customers"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap();
    let next = gateway
        .data(&format!(
            "{{ customers(first: 3, after: \"{cursor}\", filter: {{ backupStatus: [FAILED] }}) {{ nodes {{ id }} }} }}"
        ))
        .await;
    let failed_only = kept(&records, |r| status(r) == "2");
    let ids: Vec<Value> = next["customers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["id"].clone())
        .collect();
    assert_eq!(ids, failed_only[3..6].to_vec());
    // While the listing is cached, single customers' details come from it.
    gateway
        .data("{ customers(first: 50) { nodes { backupStatus ownerEmail } } }")
        .await;
    assert_eq!(gateway.upstream.partner_requests("details") - asked, pages);
}

#[tokio::test]
async fn duplicates_across_pages_count_once() {
    let gateway = spawn_with(Options::default()).await;
    let records = upstream_details(&gateway).await;
    gateway.upstream.set_duplicate_across_pages(true);
    let (all, total) = ids_of(&gateway, "{}").await;
    let mut distinct: Vec<Value> = Vec::new();
    for record in &records {
        if !distinct.contains(&record["id"]) {
            distinct.push(record["id"].clone());
        }
    }
    assert_eq!(total, json!(distinct.len()), "{all:?}");
    let unique: std::collections::HashSet<String> = all.iter().map(Value::to_string).collect();
    assert_eq!(unique.len(), all.len());
}

#[tokio::test]
async fn a_stale_listing_is_served_while_the_upstream_fails_and_the_filter_is_priced() {
    let gateway = spawn_with(Options::default().set("GATEWAY_LIMITS_UPSTREAM_REQUESTS", 1)).await;
    gateway.data("{ customers(first: 1) { totalCount } }").await;
    // 120 customers at pages of 100: two listing pages, over a limit of one.
    let query = "{ customers(first: 5, filter: { backupStatus: [FAILED] }) { nodes { id } } }";
    let refused = gateway.query(query).await;
    assert_eq!(error_code(&refused), "QUERY_TOO_COMPLEX", "{refused}");
    assert_eq!(gateway.upstream.partner_requests("details"), 0);
    let gateway = spawn_with(Options::default()).await;
    let fresh = gateway.data(query).await;
    let read = gateway.upstream.partner_requests("details");
    gateway.upstream.set_fault_where(
        Fault::ServerError { status: 503 },
        FaultScope::Details,
        None,
    );
    gateway.advance(std::time::Duration::from_secs(90));
    crate::common::eventually("the refresh fails", async || {
        let answer = gateway.query(query).await;
        answer["extensions"]["stale"]["upstreamCode"] == "UPSTREAM_UNAVAILABLE"
            && answer["data"] == fresh
    })
    .await;
    assert!(gateway.upstream.partner_requests("details") > read);
}
