//! Reading every customer from a paged upstream that caps page sizes and shifts pages.

use std::time::Duration;

use elements_gateway::mock_upstream::{Fault, FaultScope};

use crate::common::{Options, error_code, spawn_with};

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

/// A gateway over 120 customers in pages of 50 whose listing pages after the first fail
/// (no retries), so that only an answer drawn from page 1 alone can succeed.
async fn only_the_first_page_answers() -> crate::common::TestGateway {
    let gateway = spawn_with(
        Options::default()
            .customers(120, 1)
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1),
    )
    .await;
    gateway.upstream.set_fault_where(
        Fault::ServerError { status: 503 },
        FaultScope::LaterPages,
        None,
    );
    gateway
}

#[tokio::test]
async fn a_first_page_of_customers_is_answered_from_the_pages_already_read() {
    let gateway = only_the_first_page_answers().await;
    let first_page: Vec<String> = gateway.upstream_ids().into_iter().take(50).collect();

    // Everything asked for is on page 1: answered although the rest of the read fails.
    let data = gateway
        .data("{ customers(first: 50) { nodes { id } edges { cursor } pageInfo { endCursor } } }")
        .await;
    assert_eq!(ids(&data), first_page);
    let data = gateway
        .data("{ customers(first: 20) { pageInfo { hasNextPage hasPreviousPage } nodes { id } } }")
        .await;
    assert_eq!(ids(&data), first_page[..20]);
    assert_eq!(data["customers"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(data["customers"]["pageInfo"]["hasPreviousPage"], false);

    // Each of these needs more than page 1, so it waits for the whole read and sees it fail.
    for query in [
        "{ customers(first: 5) { totalCount } }",
        "{ customers(first: 51) { nodes { id } } }",
        "{ customers(first: 50) { pageInfo { hasNextPage } nodes { id } } }",
        "{ customers(first: 50) { nodes { id } count: totalCount } }",
        "{ customers(first: 50) { ...C } } fragment C on CustomerConnection { totalCount }",
        "{ customers(first: 50) { ... on CustomerConnection { pageInfo { ... { hasNextPage } } } } }",
        "{ products { service } }",
    ] {
        let answer = gateway.query(query).await;
        assert_eq!(
            error_code(&answer),
            "UPSTREAM_UNAVAILABLE",
            "{query}: {answer}"
        );
    }
}

#[tokio::test]
async fn an_early_page_agrees_with_the_same_page_from_the_whole_read() {
    let gateway = only_the_first_page_answers().await;
    let query = "{ customers(first: 10, search: \"a\") { nodes { id organization email products { service expirationDate } } edges { cursor } } }";
    let early = gateway.query(query).await;
    assert!(early.get("errors").is_none(), "{early}");
    assert!(!ids(&early["data"]).is_empty());

    gateway
        .upstream
        .set_fault_where(Fault::None, FaultScope::All, None);
    gateway.data("{ customers { totalCount } }").await;
    let before = gateway.upstream_requests();
    let whole = gateway.query(query).await;
    assert_eq!(
        gateway.upstream_requests(),
        before,
        "from the cached snapshot"
    );
    assert_eq!(early, whole);
}

#[tokio::test]
async fn pages_after_the_first_go_out_with_it_once_the_layout_is_known() {
    // 500 customers in pages of 50; the readiness probe has seen page 1's layout.
    let gateway = spawn_with(Options::default().customers(500, 1)).await;
    let before = gateway.upstream.stats();
    let data = gateway.data(ALL_IDS).await;
    assert_eq!(data["customers"]["totalCount"], 500);
    assert_eq!(ids(&data), gateway.upstream_ids());
    let stats = gateway.upstream.stats();
    assert_eq!(
        stats.listing_requests - before.listing_requests,
        10,
        "no page twice"
    );
    assert!(stats.max_in_flight <= 8, "{}", stats.max_in_flight);
    assert_eq!(gateway.pages_ahead("used").await, 7.0, "pages 2 to 8");
    assert_eq!(gateway.pages_ahead("unused").await, 0.0);
    assert_eq!(gateway.pages_ahead("failed").await, 0.0);
}

#[tokio::test]
async fn pages_ahead_are_capped_by_the_setting_and_by_the_concurrency() {
    for (ahead, concurrency, sent) in [(3, 8, 3.0), (7, 4, 3.0), (0, 8, 0.0)] {
        let gateway = spawn_with(
            Options::default()
                .customers(500, 1)
                .set("GATEWAY_UPSTREAM_PAGES_AHEAD", ahead)
                .set("GATEWAY_UPSTREAM_CONCURRENCY", concurrency),
        )
        .await;
        let before = gateway.upstream.stats().listing_requests;
        assert_eq!(gateway.data(ALL_IDS).await["customers"]["totalCount"], 500);
        assert_eq!(gateway.upstream.stats().listing_requests - before, 10);
        assert_eq!(
            gateway.pages_ahead("used").await,
            sent,
            "{ahead} ahead, concurrency {concurrency}"
        );
    }
}
