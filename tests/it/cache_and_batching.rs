//! Single-flight, DataLoader batching, and the cache's freshness window, counted at the
//! upstream.

use std::time::Duration;

use futures::future::join_all;

use crate::common::{Options, spawn_with};

const LISTING: &str = "{ customers(first: 5) { totalCount nodes { id } } }";

#[tokio::test]
async fn concurrent_identical_queries_on_a_cold_cache_cost_one_read() {
    // 120 customers, cap 50: one read of all customers is 3 pages.
    let gateway = spawn_with(Options::default()).await;
    gateway.upstream.set_latency(Duration::from_millis(100));
    let before = gateway.upstream_requests();
    let answers = join_all((0..25).map(|_| gateway.data(LISTING))).await;
    assert!(
        answers
            .iter()
            .all(|data| data["customers"]["totalCount"] == 120)
    );
    assert_eq!(gateway.upstream_requests() - before, 3);
}

#[tokio::test]
async fn a_second_query_within_the_ttl_costs_no_upstream_request() {
    let gateway = spawn_with(Options::default()).await;
    gateway.data(LISTING).await;
    let before = gateway.upstream_requests();
    gateway.data(LISTING).await;
    gateway
        .data("{ products(filter: {service: \"cloud\"}) { service } }")
        .await;
    let id = gateway.upstream.customers()[0].customer_id.clone();
    gateway
        .data(&format!("{{ customer(id: {id:?}) {{ id }} }}"))
        .await;
    assert_eq!(gateway.upstream_requests() - before, 0);
}

#[tokio::test]
async fn after_the_ttl_the_upstream_is_read_again_in_the_background() {
    let gateway = spawn_with(Options::default().set("GATEWAY_CACHE_TTL_SECS", 1)).await;
    let fresh = gateway.query(LISTING).await;
    assert!(fresh.get("extensions").is_none(), "{fresh}");
    let before = gateway.upstream_requests();
    gateway.advance(Duration::from_millis(1300));
    let stale = gateway.query(LISTING).await;
    assert_eq!(stale["data"]["customers"]["totalCount"], 120);
    assert_eq!(stale["extensions"]["stale"]["reason"], "revalidating");
    assert!(stale["extensions"]["stale"]["ageSeconds"].as_u64().unwrap() >= 1);
    // The refresh's requests all go out at once (pages ahead): wait for it to finish.
    gateway.refreshed(1.0).await;
    let refreshed = gateway.query(LISTING).await;
    assert!(refreshed.get("extensions").is_none(), "{refreshed}");
    assert_eq!(gateway.upstream_requests() - before, 3);
}

#[tokio::test]
async fn aliased_lookups_share_one_customer_ids_round() {
    let gateway = spawn_with(Options::default()).await;
    let customers = gateway.upstream.customers();
    let query = format!(
        "{{ a: customer(id: {:?}) {{ id }} b: customer(id: {:?}) {{ id }} c: customer(id: {:?}) {{ id }}
           again: customer(id: {:?}) {{ id }} none: customer(id: \"unknown\") {{ id }} }}",
        customers[0].customer_id, customers[1].customer_id, customers[2].customer_id, customers[0].customer_id
    );
    let before = gateway.upstream.stats();
    let data = gateway.data(&query).await;
    assert_eq!(data["a"]["id"], customers[0].customer_id.as_str());
    assert_eq!(data["c"]["id"], customers[2].customer_id.as_str());
    assert!(data["none"].is_null());
    let after = gateway.upstream.stats();
    assert_eq!(after.id_requests - before.id_requests, 1);
    assert_eq!(after.listing_requests - before.listing_requests, 0);
    // Now cached one by one, including "no such customer".
    gateway.data(&query).await;
    assert_eq!(gateway.upstream.stats().requests, after.requests);
}

#[tokio::test]
async fn more_than_100_ids_go_out_in_chunks_of_100() {
    let gateway = spawn_with(
        Options::default()
            .customers(150, 1)
            .set("GATEWAY_LIMITS_ALIASES", 150)
            .set("GATEWAY_LIMITS_ROOT_FIELDS", 150),
    )
    .await;
    let query: String = gateway
        .upstream
        .customers()
        .iter()
        .enumerate()
        .map(|(n, customer)| format!("c{n}: customer(id: {:?}) {{ id }} ", customer.customer_id))
        .collect();
    let before = gateway.upstream.stats();
    let data = gateway.data(&format!("{{ {query} }}")).await;
    assert_eq!(data.as_object().unwrap().len(), 150);
    assert!(
        data.as_object()
            .unwrap()
            .values()
            .all(|v| !v["id"].is_null())
    );
    // 100 ids (2 pages of the mock's 50) + 50 ids (1 page).
    assert_eq!(gateway.upstream.stats().id_requests - before.id_requests, 3);
}

#[tokio::test]
async fn product_customers_come_with_their_products_with_no_extra_requests() {
    let gateway = spawn_with(Options::default()).await;
    let before = gateway.upstream.stats();
    let data = gateway
        .data(
            "{ products { customerId customer { id organization } }
               first: customer(id: \"unknown\") { id } }",
        )
        .await;
    let products = data["products"].as_array().unwrap();
    assert_eq!(products.len(), 600);
    assert!(
        products
            .iter()
            .all(|p| p["customer"]["id"] == p["customerId"])
    );
    let after = gateway.upstream.stats();
    // The products read (3 pages) and at most one customerIds round (for the unknown id),
    // never one per product.
    assert_eq!(after.listing_requests - before.listing_requests, 3);
    assert!(after.id_requests - before.id_requests <= 1);

    let again = gateway.upstream.stats().requests;
    gateway
        .data("{ products { customer { organization } } }")
        .await;
    assert_eq!(
        gateway.upstream.stats().requests,
        again,
        "warm: no upstream requests"
    );
}

#[tokio::test]
async fn errors_are_not_cached() {
    let gateway = spawn_with(Options::default()).await;
    gateway
        .upstream
        .set_fault(elements_gateway::mock_upstream::Fault::ServerError { status: 503 });
    let answer = gateway.query(LISTING).await;
    assert_eq!(crate::common::error_code(&answer), "UPSTREAM_UNAVAILABLE");
    gateway
        .upstream
        .set_fault(elements_gateway::mock_upstream::Fault::None);
    let data = gateway.data(LISTING).await;
    assert_eq!(data["customers"]["totalCount"], 120);
}
