//! A replica holding the fill lease dies mid-read (a real child process, SIGKILLed): another
//! replica waits out the lease and completes the fill.

use std::time::Duration;

use serde_json::json;

use crate::{
    common::{
        base_settings, eventually,
        process::{Running, gateway_command},
        redis::RedisServer,
        sum_series, token,
    },
    replicas::{CUSTOMERS, TOTAL, upstream},
};

#[tokio::test]
async fn when_the_lease_holder_dies_mid_read_another_replica_completes_the_fill() {
    let redis = RedisServer::start().await;
    let upstream = upstream(Duration::ZERO).await;
    let start = || {
        let mut command = gateway_command();
        command
            .arg("serve")
            .envs(base_settings(&upstream))
            .env("GATEWAY_REDIS_URL", redis.url())
            .env("GATEWAY_UPSTREAM_TIMEOUT_MS", "10000");
        Running::start(command)
    };
    let mut holder = start();
    let holder_url = holder.line_after("elements-gateway listening on").await;
    let mut survivor = start();
    let survivor_url = survivor.line_after("elements-gateway listening on").await;
    let client = reqwest::Client::new();
    let ask = |url: String| {
        let request = client
            .post(url)
            .bearer_auth(token())
            .json(&json!({ "query": TOTAL }))
            .send();
        tokio::spawn(request)
    };

    // The holder takes the lease and stalls on a slow upstream; then it is killed.
    upstream.set_latency(Duration::from_millis(2_500));
    let lost = ask(holder_url);
    eventually("the holder took the lease", async || {
        redis.keys().await.iter().any(|key| key.contains("lease"))
    })
    .await;
    let waiting = ask(survivor_url.clone());
    holder.stop().await;
    assert!(
        lost.await.unwrap().is_err(),
        "the killed replica answered nothing"
    );
    upstream.set_latency(Duration::from_millis(200));

    // The survivor waits for the lease to expire, then fills.
    let answer: serde_json::Value = waiting.await.unwrap().unwrap().json().await.unwrap();
    assert_eq!(
        answer["data"]["customers"]["totalCount"], CUSTOMERS,
        "{answer}"
    );
    let again: serde_json::Value = ask(survivor_url.clone())
        .await
        .unwrap()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, answer);
    let metrics = client
        .get(survivor_url.replace("/graphql", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sum_series(
            &metrics,
            "gateway_redis_lease_waits_total{outcome=\"released\"}"
        ),
        1.0,
        "the survivor waited until the dead holder's lease expired\n{metrics}"
    );
    assert_eq!(
        sum_series(&metrics, "gateway_redis_leases_total{outcome=\"acquired\"}"),
        1.0
    );
    survivor.stop().await;
}
