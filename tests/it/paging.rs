//! Reading every customer from a paged upstream that caps page sizes and shifts pages.

use std::time::Duration;

use crate::common::{Options, spawn_with};

const ALL_IDS: &str = "{ customers(first: 1000) { totalCount nodes { id } } }";

fn ids(data: &serde_json::Value) -> Vec<String> {
    data["customers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn capped_page_size_and_uneven_total_read_every_customer_in_order() {
    // 123 customers, asked for 100 a page, capped at 50: pages of 50, 50, 23.
    let gateway = spawn_with(Options::default().customers(123, 1)).await;
    let before = gateway.upstream.stats();
    let data = gateway.data(ALL_IDS).await;
    let expected = gateway.upstream_ids();
    assert_eq!(data["customers"]["totalCount"], 123);
    assert_eq!(ids(&data), expected);
    let after = gateway.upstream.stats();
    assert_eq!(after.listing_requests - before.listing_requests, 3);
}

#[tokio::test]
async fn a_customer_repeated_across_shifted_pages_is_kept_once_and_none_is_lost() {
    let gateway = spawn_with(Options::default().customers(120, 1)).await;
    gateway.upstream.set_duplicate_across_pages(true);
    let data = gateway.data(ALL_IDS).await;
    let expected = gateway.upstream_ids();
    assert_eq!(
        ids(&data),
        expected,
        "every customer once, in upstream order"
    );
    assert_eq!(data["customers"]["totalCount"], 120);
}

#[tokio::test]
async fn pages_after_the_first_go_out_concurrently_but_within_the_limit() {
    let mut options = Options::default()
        .customers(300, 1)
        .set("GATEWAY_UPSTREAM_CONCURRENCY", 3);
    options.mock.page_cap = 10;
    let gateway = spawn_with(options).await;
    gateway.upstream.set_latency(Duration::from_millis(40));
    let before = gateway.upstream.stats();
    let data = gateway.data(ALL_IDS).await;
    assert_eq!(data["customers"]["totalCount"], 300);
    let stats = gateway.upstream.stats();
    assert_eq!(stats.listing_requests - before.listing_requests, 30);
    assert!(
        (2..=3).contains(&stats.max_in_flight),
        "in flight at once: {}",
        stats.max_in_flight
    );
}

#[tokio::test]
async fn the_configured_page_size_is_what_is_asked() {
    let mut options = Options::default()
        .customers(60, 1)
        .set("GATEWAY_UPSTREAM_PAGE_SIZE", 20);
    options.mock.page_cap = 100;
    let gateway = spawn_with(options).await;
    let before = gateway.upstream.stats().listing_requests;
    let data = gateway.data(ALL_IDS).await;
    assert_eq!(data["customers"]["totalCount"], 60);
    assert_eq!(gateway.upstream.stats().listing_requests - before, 3);
}
