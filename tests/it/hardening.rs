//! Hostile peers: outbound answers that redirect, never end or never stop paging; documents
//! built to be costly. (Clients that hold connections are in `inbound.rs`.)

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Body,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::common::{AppAuth, Options, TestGateway, error_code, spawn_with, token};

/// A loopback server for `router`; returns its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// A server that counts every request it gets and answers `answer` to all of them.
async fn counting(answer: fn() -> Response) -> (String, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&count);
    let router = Router::new().fallback(move || {
        seen.fetch_add(1, Ordering::SeqCst);
        std::future::ready(answer())
    });
    (serve(router).await, count)
}

/// A server that answers every request with a redirect to `to` (keeping the path).
async fn redirecting(status: StatusCode, to: String) -> String {
    let router = Router::new().fallback(move |uri: axum::http::Uri| {
        let location = format!("{to}{}", uri.path());
        std::future::ready(
            (
                status,
                [(header::LOCATION, HeaderValue::from_str(&location).unwrap())],
            )
                .into_response(),
        )
    });
    serve(router).await
}

/// A gateway that gets its app token from `token_url`, not waiting for readiness.
async fn with_token_url(token_url: String) -> TestGateway {
    spawn_with(
        Options::default()
            .app_auth(AppAuth::ClientSecret)
            .set("GATEWAY_UPSTREAM_TOKEN_URL", token_url)
            .without_waiting_for_ready(),
    )
    .await
}

/// Starts a gateway on the JWKS at `jwks_url`, waits for its first fetch to fail, and checks
/// that it is not ready.
async fn assert_jwks_refused(jwks_url: String) {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_JWT_JWKS_URL", jwks_url)
            .without_waiting_for_ready(),
    )
    .await;
    let failed = "gateway_jwks_fetches_total{outcome=\"error\"}";
    crate::common::eventually("a JWKS fetch failed", async || {
        gateway.metric(failed).await >= 1.0
    })
    .await;
    assert!(!gateway.is_ready().await);
}

fn token_answer() -> Response {
    axum::Json(json!({ "access_token": "stolen", "expires_in": 3600 })).into_response()
}

#[tokio::test]
async fn no_outbound_client_follows_a_redirect_and_the_second_host_sees_nothing() {
    let (second, seen) = counting(token_answer).await;
    // The identity service: a 307 would carry the form body, client_secret included.
    let first = redirecting(StatusCode::TEMPORARY_REDIRECT, second.clone()).await;
    let gateway = with_token_url(format!("{first}/connect/token")).await;
    let answer = gateway.query("{ customers { totalCount } }").await;
    assert_eq!(error_code(&answer), "UPSTREAM_BAD_RESPONSE", "{answer}");
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("GATEWAY_UPSTREAM_TOKEN_URL"), "{message}");
    assert!(message.contains("307"), "{message}");

    // The upstream.
    let first = redirecting(StatusCode::PERMANENT_REDIRECT, second.clone()).await;
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_UPSTREAM_URL", first)
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)
            .without_waiting_for_ready(),
    )
    .await;
    let answer = gateway.query("{ customers { totalCount } }").await;
    assert_eq!(error_code(&answer), "UPSTREAM_BAD_RESPONSE", "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("GATEWAY_UPSTREAM_URL")
    );

    // The JWKS endpoint: the fetch fails, so the gateway never becomes ready.
    let first = redirecting(StatusCode::FOUND, second).await;
    assert_jwks_refused(format!("{first}/jwks.json")).await;
    assert_eq!(
        seen.load(Ordering::SeqCst),
        0,
        "the redirect target was reached"
    );
}

/// A server whose every answer is `bytes` of spaces, 200 OK, streamed without a length.
async fn endless_upstream(bytes: usize) -> String {
    let router = Router::new().fallback(move || {
        let chunk = vec![b' '; 64 * 1024];
        let chunks = bytes / chunk.len();
        let stream =
            futures::stream::iter((0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
        std::future::ready(
            (
                [(header::CONTENT_TYPE, "application/json")],
                Body::from_stream(stream),
            )
                .into_response(),
        )
    });
    serve(router).await
}

#[tokio::test]
async fn an_upstream_answer_past_the_cap_is_cut_off_while_it_streams() {
    let upstream = endless_upstream(64 * 1024 * 1024).await;
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_UPSTREAM_URL", upstream)
            .set("GATEWAY_UPSTREAM_MAX_BODY_BYTES", 1024 * 1024)
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)
            .without_waiting_for_ready(),
    )
    .await;
    let started = Instant::now();
    let answer = gateway.query("{ customers { totalCount } }").await;
    assert_eq!(error_code(&answer), "UPSTREAM_BAD_RESPONSE", "{answer}");
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("GATEWAY_UPSTREAM_MAX_BODY_BYTES") && message.contains("1048576"),
        "{message}"
    );
    // Well before 64 MiB could have been read.
    assert!(started.elapsed() < Duration::from_secs(5));
    // The gateway goes on serving.
    assert_eq!(gateway.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn token_and_jwks_answers_are_read_under_a_mebibyte() {
    let huge = endless_upstream(4 * 1024 * 1024).await;
    let gateway = with_token_url(format!("{huge}/connect/token")).await;
    let answer = gateway.query("{ customers { totalCount } }").await;
    assert_eq!(error_code(&answer), "UPSTREAM_BAD_RESPONSE", "{answer}");
    assert!(
        answer.to_string().contains("larger than 1048576 bytes"),
        "{answer}"
    );

    // A good key, padded past the cap by a key of a type the gateway skips: read whole, it
    // would load.
    let padding = json!({ "kty": "padding", "x": "x".repeat(2 * 1024 * 1024) });
    let good = crate::common::keys::jwk("rsa-1.key", jsonwebtoken::Algorithm::RS256, "k1");
    let jwks = crate::common::keys::JwksServer::spawn(vec![good, padding]).await;
    assert_jwks_refused(jwks.url()).await;
}

/// An upstream that answers every page full (100 customers) under a huge `totalCount`: the
/// same customers each time, or new ones each page; counts its requests.
async fn full_pages(new_each_page: bool) -> (String, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&count);
    let router = Router::new().fallback(move |query: axum::extract::RawQuery| {
        seen.fetch_add(1, Ordering::SeqCst);
        let page: u64 = query
            .0
            .unwrap_or_default()
            .split('&')
            .find_map(|pair| pair.strip_prefix("pageIndex="))
            .and_then(|index| index.parse().ok())
            .unwrap_or(1);
        let first = if new_each_page { (page - 1) * 100 } else { 0 };
        let data: Vec<Value> = (first..first + 100)
            .map(|id| json!({ "customerId": format!("c{id}"), "products": [] }))
            .collect();
        let metadata = json!({ "pageIndex": page, "pageSize": 100, "totalCount": u64::MAX });
        std::future::ready(axum::Json(json!({ "data": data, "metadata": metadata })))
    });
    (serve(router).await, count)
}

#[tokio::test]
async fn a_listing_stops_at_a_page_of_nothing_new_and_at_the_page_limit() {
    let (upstream, requests) = full_pages(false).await;
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_UPSTREAM_URL", upstream)
            .set("GATEWAY_UPSTREAM_CONCURRENCY", 2),
    )
    .await;
    let before = requests.load(Ordering::SeqCst);
    let data = gateway.data("{ customers { totalCount } }").await;
    assert_eq!(data["customers"]["totalCount"], 100);
    let read = requests.load(Ordering::SeqCst) - before;
    // Page 1 and page 2 (sent ahead with it) bringing nothing new, and at most the pages
    // already in flight beside them: not the thousand pages the total promises.
    assert!((2..=4).contains(&read), "{read} page requests");

    let (upstream, requests) = full_pages(true).await;
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_UPSTREAM_URL", upstream)
            .set("GATEWAY_UPSTREAM_MAX_PAGES", 5),
    )
    .await;
    let before = requests.load(Ordering::SeqCst);
    let data = gateway.data("{ customers(first: 0) { totalCount } }").await;
    assert_eq!(data["customers"]["totalCount"], 500);
    assert_eq!(requests.load(Ordering::SeqCst) - before, 5);
}

#[tokio::test]
async fn introspection_can_be_turned_off_with_its_suggestions() {
    let gateway = spawn_with(Options::default().set("GATEWAY_INTROSPECTION", false)).await;
    let answer = gateway.query("{ __schema { queryType { name } } }").await;
    assert_eq!(error_code(&answer), "GRAPHQL_VALIDATION_FAILED", "{answer}");
    assert!(
        answer.to_string().contains("GATEWAY_INTROSPECTION"),
        "{answer}"
    );
    let answer = gateway
        .query("{ __type(name: \"Product\") { name } }")
        .await;
    assert_eq!(error_code(&answer), "GRAPHQL_VALIDATION_FAILED");
    let typo = gateway.query("{ customers { totalCont } }").await;
    assert_eq!(error_code(&typo), "GRAPHQL_VALIDATION_FAILED");
    assert!(!typo.to_string().contains("Did you mean"), "{typo}");
    assert_eq!(gateway.data("{ __typename }").await["__typename"], "Query");

    let open = spawn_with(Options::default()).await;
    let typo = open.query("{ customers { totalCont } }").await;
    assert!(typo.to_string().contains("Did you mean"), "{typo}");
}

#[tokio::test]
async fn costly_documents_are_refused_quickly_naming_the_limit_and_the_estimate() {
    let gateway = spawn_with(Options::default().customers(200, 5)).await;
    // Warm the snapshot, so the estimate uses the real sizes.
    gateway.data("{ customers(first: 0) { totalCount } }").await;
    let cycle = "{ products { customer { products { customer { products { customer { organization } } } } } } }";
    let answer = gateway.query(cycle).await;
    assert_eq!(error_code(&answer), "QUERY_TOO_COMPLEX", "{answer}");
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("GATEWAY_LIMITS_COMPLEXITY"), "{message}");
    // 1,000 products, each customer holding 5: 1 + 1000 × (1 + 1 + 5 × (1 + 1 + 5 × 2)).
    assert!(message.contains("estimated cost is 62001"), "{message}");

    let bomb = fragment_bomb("query", "Query");
    let started = Instant::now();
    let answer = gateway.query(&bomb).await;
    assert_eq!(error_code(&answer), "GRAPHQL_VALIDATION_FAILED", "{answer}");
    assert!(answer.to_string().contains("Nope"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Asked for, the estimate comes back with the answer.
    let body = json!({
        "query": "{ customers(first: 10) { nodes { id } } }",
        "extensions": { "cost": true },
    });
    let answer: Value = gateway
        .post(&body, Some(&token()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["extensions"]["cost"]["estimated"],
        1 + 1 + 10,
        "{answer}"
    );
    assert_eq!(answer["extensions"]["cost"]["limit"], 50_000);
    let plain = json!({ "query": "{ customers(first: 10) { nodes { id } } }" });
    let answer: Value = gateway
        .post(&plain, Some(&token()))
        .await
        .json()
        .await
        .unwrap();
    assert!(answer["extensions"]["cost"].is_null(), "{answer}");
}

/// An `operation` of 2^40 fragment spreads on `root`, ending at an unknown fragment.
pub(crate) fn fragment_bomb(operation: &str, root: &str) -> String {
    let mut bomb = format!("{operation} {{ ...F0 }}");
    for level in 0..40 {
        bomb.push_str(&format!(
            " fragment F{level} on {root} {{ ...F{next} ...F{next} }}",
            next = level + 1
        ));
    }
    bomb.push_str(&format!(" fragment F40 on {root} {{ ...Nope }}"));
    bomb
}

/// The GraphQL examples of the README and the API page, one document each (a `#` comment line
/// opens the next).
fn readme_examples() -> Vec<String> {
    let pages = [
        include_str!("../../README.md"),
        include_str!("../../docs/api.md"),
    ];
    let mut documents = Vec::new();
    for block in pages
        .iter()
        .flat_map(|page| page.split("```graphql\n").skip(1))
    {
        let block = block.split("```").next().unwrap_or_default();
        if block.trim_start().starts_with("type ") {
            continue; // the schema excerpt
        }
        let mut current = String::new();
        for line in block.lines() {
            if line.starts_with('#') && !current.trim().is_empty() {
                documents.push(std::mem::take(&mut current));
            }
            current.push_str(line);
            current.push('\n');
        }
        if !current.trim().is_empty() {
            documents.push(current);
        }
    }
    documents
}

#[tokio::test]
async fn the_readme_examples_and_the_full_introspection_query_run_with_the_default_limits() {
    // The demo's catalogue: 120 customers of 5 products.
    let gateway = spawn_with(Options::default()).await;
    let examples = readme_examples();
    assert!(examples.len() >= 3, "{examples:?}");
    let introspection = include_str!("../fixtures/introspection.graphql").to_owned();
    for (round, query) in examples.iter().chain([&introspection]).enumerate() {
        // Twice: on assumed sizes (nothing cached yet on the first round) and on the data.
        for _ in 0..2 {
            let answer = gateway.query(query).await;
            assert!(answer["data"].is_object(), "{round}: {query}\n{answer}");
            for error in answer["errors"].as_array().into_iter().flatten() {
                let code = error["extensions"]["code"].as_str().unwrap_or_default();
                assert!(
                    !code.starts_with("QUERY_TOO") && code != "GRAPHQL_VALIDATION_FAILED",
                    "{query}\n{answer}"
                );
            }
        }
    }
}
