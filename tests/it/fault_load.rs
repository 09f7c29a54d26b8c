//! The fault-under-load check (ignored: it runs for a while and prints figures, it is not a
//! CI test). Steady load from several callers while the upstream flips between healthy, 500,
//! slow (past the upstream timeout) and invalid JSON; at the end it prints answers served,
//! stale answers, errors by code, gateway 5xx and panics, and fails if either of the last two
//! is not zero.
//!
//! Run: `cargo test --release --test it fault_load -- --ignored --nocapture`
//! (`FAULT_LOAD_SECS` sets the duration, default 30).

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use elements_gateway::mock_upstream::Fault;
use serde_json::{Value, json};

use crate::common::{Options, spawn_with, token};

#[derive(Default)]
struct Tally {
    served: AtomicU64,
    stale: AtomicU64,
    gateway_5xx: AtomicU64,
    transport_errors: AtomicU64,
    by_code: Mutex<BTreeMap<String, u64>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a load check that prints figures; run it by hand"]
async fn fault_load() {
    let panics = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&panics);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counted.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    let seconds: u64 = std::env::var("FAULT_LOAD_SECS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(30);
    let gateway = Arc::new(
        spawn_with(
            Options::default()
                .customers(500, 5)
                .set("GATEWAY_CACHE_TTL_SECS", 1)
                .set("GATEWAY_CACHE_STALE_SECS", 600)
                .set("GATEWAY_UPSTREAM_TIMEOUT_MS", 300)
                .set("GATEWAY_LIMITS_REQUEST_TIMEOUT_MS", 1500)
                .set("GATEWAY_UPSTREAM_BREAKER_COOLDOWN_MS", 500),
        )
        .await,
    );
    let ids = gateway.upstream_ids();
    let tally = Arc::new(Tally::default());
    // The upstream's phase moves on every PHASE_REQUESTS requests the callers send, so every
    // phase sees the same load however fast the machine is.
    let sent = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let callers: Vec<_> = (0..16)
        .map(|caller| {
            let gateway = Arc::clone(&gateway);
            let tally = Arc::clone(&tally);
            let sent = Arc::clone(&sent);
            let id = ids[caller % ids.len()].clone();
            tokio::spawn(async move {
                let token = token();
                let queries = [
                    "{ customers(first: 20) { totalCount nodes { id email } } }".to_owned(),
                    "{ products(filter: {expiringBefore: \"2026-06-01\"}) { service customer { organization } } }".to_owned(),
                    format!("{{ customer(id: {id:?}) {{ id products {{ service }} }} }}"),
                ];
                let mut turn = caller;
                while Instant::now() < deadline {
                    turn += 1;
                    let number = sent.fetch_add(1, Ordering::SeqCst);
                    if number.is_multiple_of(PHASE_REQUESTS) {
                        enter_phase(&gateway, (number / PHASE_REQUESTS) as usize);
                    }
                    let body = json!({ "query": queries[turn % queries.len()] });
                    record(&gateway, &tally, &body, &token).await;
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.expect("a caller task");
    }

    let by_code = tally.by_code.lock().unwrap().clone();
    let panics = panics.load(Ordering::SeqCst);
    println!("fault under load, {seconds} s, 16 callers:");
    for (label, counter) in [
        ("answers with data", &tally.served),
        ("  of which stale", &tally.stale),
        ("gateway 5xx", &tally.gateway_5xx),
        ("transport errors", &tally.transport_errors),
    ] {
        println!("  {label:<18} {}", counter.load(Ordering::SeqCst));
    }
    println!("  {:<18} {by_code:?}", "errors by code");
    println!("  {:<18} {panics}", "panics");
    assert_eq!(tally.gateway_5xx.load(Ordering::SeqCst), 0);
    assert_eq!(tally.transport_errors.load(Ordering::SeqCst), 0);
    assert_eq!(panics, 0);
}

/// Requests sent in each phase of the upstream.
const PHASE_REQUESTS: u64 = 400;

/// Sets the upstream to phase `phase` of the cycle: healthy, 500, slow, invalid JSON.
fn enter_phase(gateway: &crate::common::TestGateway, phase: usize) {
    let phases = [
        ("healthy", Fault::None, Duration::ZERO),
        ("500", Fault::ServerError { status: 500 }, Duration::ZERO),
        ("slow", Fault::None, Duration::from_millis(800)),
        ("invalid JSON", Fault::InvalidJson, Duration::ZERO),
    ];
    let (name, fault, latency) = &phases[phase % phases.len()];
    println!("upstream: {name}");
    gateway.upstream.set_fault(fault.clone());
    gateway.upstream.set_latency(*latency);
}

/// Sends one query and tallies what came back.
async fn record(gateway: &crate::common::TestGateway, tally: &Tally, body: &Value, token: &str) {
    let Ok(response) = gateway
        .client
        .post(gateway.url("/graphql"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
    else {
        tally.transport_errors.fetch_add(1, Ordering::SeqCst);
        return;
    };
    if response.status().is_server_error() {
        tally.gateway_5xx.fetch_add(1, Ordering::SeqCst);
    }
    let Ok(answer) = response.json::<Value>().await else {
        tally.transport_errors.fetch_add(1, Ordering::SeqCst);
        return;
    };
    if answer["data"]
        .as_object()
        .is_some_and(|data| data.values().any(|value| !value.is_null()))
    {
        tally.served.fetch_add(1, Ordering::SeqCst);
    }
    if answer["extensions"]["stale"].is_object() {
        tally.stale.fetch_add(1, Ordering::SeqCst);
    }
    if let Some(errors) = answer["errors"].as_array() {
        let mut by_code = tally.by_code.lock().unwrap();
        for error in errors {
            let code = error["extensions"]["code"]
                .as_str()
                .unwrap_or("none")
                .to_owned();
            *by_code.entry(code).or_default() += 1;
        }
    }
}
