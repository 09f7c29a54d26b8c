//! One refresh for all: however many subscribers (over both transports) and replicas, the
//! upstream is read for a subscription's data once per TTL, as for one subscriber.

use std::sync::Arc;

use futures::future::join_all;
use serde_json::json;

use super::{
    clients::{Sse, Ws},
    past_the_ttl, runs,
};
use crate::common::{
    Options, TestGateway, eventually, redis::RedisServer, spawn, spawn_over, spawn_with, token,
};
use elements_gateway::mock_upstream::{MockOptions, MockUpstream};

const PAGE: &str = "subscription { customers(first: 10) { nodes { id organization } } }";

/// `count` subscribers of [`PAGE`] on `gateway`, half over SSE and half over WebSocket, each
/// past its first answer (read from the whole listing, which is read first).
async fn subscribers(gateway: &TestGateway, count: usize) -> (Vec<Sse>, Vec<Ws>) {
    gateway.data("{ customers(first: 1) { totalCount } }").await;
    let caller = token();
    let streams = join_all((0..count / 2).map(|_| async {
        let mut stream = Sse::open(gateway, Some(&caller), PAGE, json!({}))
            .await
            .expect("a stream");
        stream.answer().await;
        stream
    }))
    .await;
    let sockets = join_all((0..count - count / 2).map(|_| async {
        let mut socket = Ws::ready(gateway, &caller).await;
        socket.subscribe("1", PAGE, json!({})).await;
        socket.answer("1").await;
        socket
    }))
    .await;
    (streams, sockets)
}

/// The upstream requests one TTL of `gateway`'s subscriptions costs.
async fn one_ttl(gateway: &TestGateway) -> u64 {
    let (before, runs_before) = (gateway.upstream_requests(), runs(gateway, "same").await);
    past_the_ttl(gateway, "same", runs_before + 1.0).await;
    gateway.upstream_requests() - before
}

/// A gateway whose one caller may hold many subscriptions.
fn roomy() -> Options {
    Options::default().set("GATEWAY_LIMITS_SUBSCRIPTIONS_PER_CALLER", 1000)
}

#[tokio::test]
async fn two_hundred_subscribers_cost_the_upstream_what_one_does() {
    let alone = spawn().await;
    let _one = subscribers(&alone, 1).await;
    let per_ttl = one_ttl(&alone).await;
    assert!(per_ttl >= 1, "the listing is read again each TTL");

    let gateway = spawn_with(roomy()).await;
    let _many = subscribers(&gateway, 200).await;
    assert_eq!(runs(&gateway, "sent").await, 1.0, "one evaluation for all");
    assert_eq!(one_ttl(&gateway).await, per_ttl);
    assert_eq!(runs(&gateway, "same").await, 1.0);
}

#[tokio::test]
async fn three_replicas_on_one_redis_cost_the_upstream_what_one_gateway_does() {
    let alone = spawn().await;
    let _one = subscribers(&alone, 1).await;
    let per_ttl = one_ttl(&alone).await;

    let redis = RedisServer::start().await;
    let upstream = Arc::new(
        MockUpstream::spawn(MockOptions::default())
            .await
            .expect("mock upstream starts"),
    );
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let options = roomy().set("GATEWAY_REDIS_URL", redis.url());
        replicas.push(spawn_over(Arc::clone(&upstream), options).await);
    }
    let mut held = Vec::new();
    for replica in &replicas {
        held.push(subscribers(replica, 66).await);
    }
    let before = upstream.requests();
    all_past_the_ttl(&replicas, "same", 1.0).await;
    assert_eq!(upstream.requests() - before, per_ttl);

    // Redis down: each replica refreshes for itself, and the streams go on.
    let mut redis = redis;
    redis.stop().await;
    let id = upstream.customers()[0].customer_id.clone();
    upstream.rename(&id, "Renamed Without Redis Ltd");
    let before = upstream.requests();
    all_past_the_ttl(&replicas, "sent", 2.0).await;
    assert_eq!(upstream.requests() - before, 3 * per_ttl);
    for (streams, sockets) in &mut held {
        let changed = streams[0].answer().await;
        assert!(
            changed.to_string().contains("Renamed Without Redis Ltd"),
            "{changed}"
        );
        assert_eq!(sockets[0].answer("1").await, changed);
    }
}

/// Moves every replica's clock past the TTL, the same amount, and waits until each has run
/// its live answer `times` times in all with `outcome`.
async fn all_past_the_ttl(replicas: &[TestGateway], outcome: &str, times: f64) {
    for replica in replicas {
        replica.advance(std::time::Duration::from_secs(61));
    }
    for replica in replicas {
        eventually("every replica ran its live answer again", async || {
            runs(replica, outcome).await >= times
        })
        .await;
    }
}
