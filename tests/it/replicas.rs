//! Replicas sharing one real `redis-server` (`GATEWAY_REDIS_URL`): one upstream fill for the
//! whole deployment, one refresh per TTL, one rate limit, and Redis as help only (stopped
//! mid-load, started again). A lease holder that dies: `replicas_lease.rs`.

use std::{sync::Arc, time::Duration};

use elements_gateway::mock_upstream::{Fault, MockOptions, MockUpstream};
use futures::future::join_all;
use serde_json::json;

use crate::common::{Options, TestGateway, eventually, redis::RedisServer, spawn_over, token};

/// Customers of the mock the replicas share.
pub(crate) const CUSTOMERS: usize = 250;
/// Listing pages of [`CUSTOMERS`] at the mock's page cap of 50, asked for one at a time (no
/// pages sent ahead), so a fill costs exactly its pages.
const PAGES: u64 = 5;
/// The query the replicas are asked.
pub(crate) const TOTAL: &str = "{ customers { totalCount } }";

/// A mock of [`CUSTOMERS`] customers with two products each, answering after `latency`.
pub(crate) async fn upstream(latency: Duration) -> Arc<MockUpstream> {
    let upstream = MockUpstream::spawn(MockOptions {
        customers: CUSTOMERS,
        products_per_customer: 2,
        latency,
        ..MockOptions::default()
    })
    .await
    .expect("mock upstream starts");
    Arc::new(upstream)
}

/// Three replicas over `upstream`, sharing `redis` when given.
async fn replicas(
    upstream: &Arc<MockUpstream>,
    redis: Option<&RedisServer>,
    settings: &[(&'static str, &str)],
) -> Vec<TestGateway> {
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let mut options = Options::default().set("GATEWAY_UPSTREAM_PAGES_AHEAD", 0);
        if let Some(redis) = redis {
            options = options.set("GATEWAY_REDIS_URL", redis.url());
        }
        for (name, value) in settings {
            options = options.set(name, value);
        }
        replicas.push(spawn_over(Arc::clone(upstream), options).await);
    }
    replicas
}

/// `count` identical requests spread over `replicas` at once; every answer must be whole.
async fn spread(replicas: &[TestGateway], count: usize) {
    let answers = join_all((0..count).map(|i| replicas[i % replicas.len()].query(TOTAL))).await;
    for answer in answers {
        assert_eq!(
            answer["data"]["customers"]["totalCount"], CUSTOMERS,
            "{answer}"
        );
        assert!(answer.get("errors").is_none(), "{answer}");
    }
}

fn listing_reads(upstream: &MockUpstream) -> u64 {
    upstream.stats().listing_requests
}

/// Moves every replica's clock past the default TTL of 60 s, the same amount, as time
/// passes for a whole deployment.
fn past_the_ttl(replicas: &[TestGateway]) {
    for replica in replicas {
        replica.advance(Duration::from_secs(61));
    }
}

/// Waits until every replica has refreshed its snapshot `times` times.
async fn refreshed(replicas: &[TestGateway], times: f64) {
    for replica in replicas {
        eventually("every replica refreshed", async || {
            replica.metric("gateway_cache_refreshes_total").await >= times
        })
        .await;
    }
}

#[tokio::test]
async fn three_replicas_read_the_listing_once_with_redis_and_three_times_without() {
    let redis = RedisServer::start().await;
    let shared = upstream(Duration::from_millis(150)).await;
    let together = replicas(&shared, Some(&redis), &[]).await;
    let before = listing_reads(&shared);
    spread(&together, 200).await;
    assert_eq!(
        listing_reads(&shared) - before,
        PAGES,
        "one fill for all three"
    );
    assert!(
        redis
            .keys()
            .await
            .iter()
            .all(|key| key.starts_with("elements-gateway:")),
        "every key has the default prefix"
    );

    // Past the TTL: each replica serves stale data and refreshes, and one read serves all.
    past_the_ttl(&together);
    let before = listing_reads(&shared);
    spread(&together, 30).await;
    refreshed(&together, 1.0).await;
    assert_eq!(
        listing_reads(&shared) - before,
        PAGES,
        "one refresh for all three"
    );

    let alone = upstream(Duration::from_millis(150)).await;
    let apart = replicas(&alone, None, &[]).await;
    let before = listing_reads(&alone);
    spread(&apart, 200).await;
    assert_eq!(
        listing_reads(&alone) - before,
        3 * PAGES,
        "each replica fills alone"
    );
}

#[tokio::test]
async fn a_customer_read_by_id_on_one_replica_is_not_read_again_by_the_others() {
    let redis = RedisServer::start().await;
    let shared = upstream(Duration::ZERO).await;
    let together = replicas(&shared, Some(&redis), &[]).await;
    let id = together[0].upstream_ids()[7].clone();
    let query = format!(
        r#"{{ customer(id: "{id}") {{ id email }} missing: customer(id: "no-such-id") {{ id }} }}"#
    );
    let first = together[0].query(&query).await;
    assert_eq!(first["data"]["customer"]["id"], id.as_str(), "{first}");
    assert!(first["data"]["missing"].is_null(), "{first}");
    assert_eq!(shared.stats().id_requests, 1);
    for replica in &together[1..] {
        assert_eq!(replica.query(&query).await, first);
    }
    assert_eq!(
        shared.stats().id_requests,
        1,
        "the other replicas took both answers (\"no such customer\" too) from Redis"
    );
    assert!(
        redis
            .keys()
            .await
            .iter()
            .all(|key| !key.contains(&id) && !key.contains("no-such-id")),
        "keys are digests, never a caller's text"
    );
}

#[tokio::test]
async fn a_failed_refresh_is_tried_once_for_all_replicas_and_stale_data_is_served() {
    let redis = RedisServer::start().await;
    let shared = upstream(Duration::ZERO).await;
    let together = replicas(
        &shared,
        Some(&redis),
        &[("GATEWAY_UPSTREAM_MAX_ATTEMPTS", "1")],
    )
    .await;
    spread(&together, 30).await;
    shared.set_fault(Fault::ServerError { status: 503 });
    past_the_ttl(&together);
    let before = shared.requests();
    spread(&together, 30).await;
    for replica in &together {
        eventually("every replica's refresh failed", async || {
            replica
                .metric("gateway_cache_refreshes_total{outcome=\"UPSTREAM_UNAVAILABLE\"}")
                .await
                >= 1.0
        })
        .await;
    }
    assert_eq!(
        shared.requests() - before,
        1,
        "one replica asked the upstream (once: no retries); the others took its failure"
    );
    let answer = together[2].query(TOTAL).await;
    assert_eq!(
        answer["data"]["customers"]["totalCount"], CUSTOMERS,
        "{answer}"
    );
    assert_eq!(
        answer["extensions"]["stale"]["upstreamCode"], "UPSTREAM_UNAVAILABLE",
        "{answer}"
    );
}

#[tokio::test]
async fn a_caller_over_the_rate_limit_on_one_replica_is_limited_on_the_others() {
    let redis = RedisServer::start().await;
    let shared = upstream(Duration::ZERO).await;
    let limit = [
        ("GATEWAY_LIMITS_RATE_PER_MINUTE", "60"),
        ("GATEWAY_LIMITS_RATE_BURST", "3"),
    ];
    let prefixed = [limit[0], limit[1], ("GATEWAY_REDIS_PREFIX", "tenant-a:")];
    let together = replicas(&shared, Some(&redis), &prefixed).await;
    let body = json!({ "query": TOTAL });
    for _ in 0..3 {
        assert_eq!(together[0].post(&body, Some(&token())).await.status(), 200);
    }
    for replica in &together[1..] {
        let refused = replica.post(&body, Some(&token())).await;
        assert_eq!(refused.status(), 429, "the limit holds on every replica");
        let retry_after: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=2).contains(&retry_after), "Retry-After: {retry_after}");
    }
    assert!(
        redis.keys().await.iter().all(|key| !key.contains("tester")),
        "a bucket's key does not name its caller"
    );
    let keys = redis.keys().await;
    assert!(
        !keys.is_empty() && keys.iter().all(|key| key.starts_with("tenant-a:")),
        "every key has GATEWAY_REDIS_PREFIX: {keys:?}"
    );

    let apart = replicas(&shared, None, &limit).await;
    for _ in 0..3 {
        assert_eq!(apart[0].post(&body, Some(&token())).await.status(), 200);
    }
    assert_eq!(
        apart[1].post(&body, Some(&token())).await.status(),
        200,
        "without Redis each replica limits alone"
    );
}

#[tokio::test]
async fn redis_stopped_mid_load_costs_no_answer_and_sharing_resumes_when_it_is_back() {
    let mut redis = RedisServer::start().await;
    let shared = upstream(Duration::from_millis(20)).await;
    let together = replicas(&shared, Some(&redis), &[]).await;
    spread(&together, 30).await;

    // Load across the stop, and past the TTL while Redis is gone: every answer whole, and
    // each replica refreshes alone.
    let before = listing_reads(&shared);
    for round in 0..20 {
        if round == 4 {
            // Stopped while a round of requests is under way.
            let outage = async {
                redis.stop().await;
                past_the_ttl(&together);
            };
            tokio::join!(spread(&together, 12), outage);
        } else {
            spread(&together, 12).await;
        }
    }
    refreshed(&together, 1.0).await;
    assert_eq!(
        listing_reads(&shared) - before,
        3 * PAGES,
        "each replica refreshed alone"
    );
    for replica in &together {
        assert!(replica.metric("gateway_redis_fallbacks_total").await >= 1.0);
    }

    // Back (empty): once Redis has rested, the replicas share again, one fill per TTL.
    redis.start_again().await;
    for replica in &together {
        eventually("every replica's ping was answered", async || {
            replica
                .metric("gateway_redis_operations_total{operation=\"ping\",outcome=\"ok\"}")
                .await
                >= 1.0
        })
        .await;
    }
    let before = listing_reads(&shared);
    past_the_ttl(&together);
    spread(&together, 30).await;
    refreshed(&together, 2.0).await;
    assert_eq!(
        listing_reads(&shared) - before,
        PAGES,
        "one refresh for all three again"
    );
}

#[tokio::test]
async fn a_gateway_whose_redis_is_not_there_is_ready_and_answers_on_its_own() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", closed.local_addr().unwrap());
    drop(closed);
    let upstream = upstream(Duration::ZERO).await;
    let alone = spawn_over(
        Arc::clone(&upstream),
        Options::default()
            .set("GATEWAY_REDIS_URL", url)
            .set("GATEWAY_LIMITS_RATE_PER_MINUTE", 600),
    )
    .await;
    assert!(alone.is_ready().await, "/readyz does not depend on Redis");
    for _ in 0..3 {
        let answer = alone.query(TOTAL).await;
        assert_eq!(
            answer["data"]["customers"]["totalCount"], CUSTOMERS,
            "{answer}"
        );
    }
    assert!(alone.metric("gateway_redis_fallbacks_total").await >= 2.0);
    assert!(
        alone
            .metric("gateway_redis_operations_total{outcome=\"skipped\"}")
            .await
            >= 1.0,
        "once Redis is known to be down, calls are not even tried"
    );
}

#[tokio::test]
async fn three_replicas_read_each_customers_details_jobs_and_seats_once_for_the_deployment() {
    let redis = RedisServer::start().await;
    let upstream = upstream(Duration::from_millis(20)).await;
    let replicas = replicas(&upstream, Some(&redis), &[]).await;
    // The listing first, then each page on all three at once.
    join_all(replicas.iter().map(|replica| replica.query(TOTAL))).await;
    let at_once = async |query: &str| {
        let answers = join_all(replicas.iter().map(|replica| replica.query(query))).await;
        for answer in &answers {
            assert!(answer.get("errors").is_none(), "{answer}");
            assert_eq!(answer["data"], answers[0]["data"]);
        }
    };
    at_once(
        "{ customers(first: 20) { nodes { id backupJobs(first: 2) { jobId }
           seats(platform: MICROSOFT_365) { tenantId } } } }",
    )
    .await;
    assert_eq!(
        upstream.partner_requests("jobs"),
        20,
        "one read per customer"
    );
    assert_eq!(upstream.partner_requests("seats"), 20);
    at_once("{ customers(first: 20) { nodes { id backupStatus } } }").await;
    assert_eq!(
        upstream.partner_requests("details"),
        1,
        "one customerIds batch"
    );
}

#[tokio::test]
async fn three_replicas_asking_at_once_read_the_details_listing_once() {
    let redis = RedisServer::start().await;
    let upstream = upstream(Duration::from_millis(20)).await;
    let replicas = replicas(&upstream, Some(&redis), &[]).await;
    let filtered = "{ customers(first: 1000, filter: { backupStatus: [FAILED] }) { totalCount } }";
    let answers = join_all(replicas.iter().map(|replica| replica.query(filtered))).await;
    for answer in &answers {
        assert!(answer.get("errors").is_none(), "{answer}");
        assert_eq!(answer["data"], answers[0]["data"]);
    }
    assert_eq!(
        upstream.partner_requests("details"),
        PAGES,
        "one fill of every page for the deployment"
    );
}
