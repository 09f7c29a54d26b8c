//! The gateway's own upstream token by client credentials, against the mock's token
//! endpoint: reuse, expiry, single-flight refresh, refusal-then-retry, both client
//! authentications, readiness, and the caller's token never travelling upstream.

use std::time::Duration;

use serde_json::json;

use crate::common::{AppAuth, Options, TestGateway, error_code, spawn_with, token};

fn client_credentials() -> Options {
    Options::default().app_auth(AppAuth::ClientSecret)
}

/// `customer(id)` for `count` different customers, in `count` concurrent requests, so each
/// needs its own upstream request (and so its own token).
async fn concurrent_lookups(gateway: &TestGateway, count: usize) {
    let ids = gateway.upstream_ids();
    let lookups = ids.iter().take(count).map(|id| {
        gateway.query_with(
            "query($id: ID!) { customer(id: $id) { id } }",
            json!({ "id": id }),
        )
    });
    for answer in futures::future::join_all(lookups).await {
        assert!(answer["errors"].is_null(), "{answer}");
        assert!(answer["data"]["customer"]["id"].is_string(), "{answer}");
    }
}

#[tokio::test]
async fn one_token_serves_many_queries() {
    let gateway = spawn_with(client_credentials()).await;
    concurrent_lookups(&gateway, 10).await;
    for search in ["a", "b", "c", "d", "e"] {
        let answer = gateway
            .query_with(
                "query($s: String) { customers(search: $s) { totalCount } }",
                json!({ "s": search }),
            )
            .await;
        assert!(answer["errors"].is_null(), "{answer}");
    }
    assert!(gateway.upstream_requests() >= 10 + 3);
    assert_eq!(gateway.upstream.token_requests(), 1);
    assert_eq!(
        gateway
            .metric("gateway_upstream_token_requests_total{outcome=\"OK\"}")
            .await,
        1.0
    );
}

#[tokio::test]
async fn a_token_is_replaced_before_it_expires_by_one_request_for_all_waiters() {
    let mut options = client_credentials().set("GATEWAY_UPSTREAM_CONCURRENCY", 32);
    options.mock.token_lifetime = Duration::from_secs(2);
    let gateway = spawn_with(options).await;
    assert_eq!(gateway.upstream.token_requests(), 1);
    // Past the token's replacement time (1.8 s into its 2 s life), 20 requests need a new
    // token at the same moment; the token endpoint is slow, so they all wait on one request.
    gateway.advance(Duration::from_millis(2000));
    gateway
        .upstream
        .set_token_latency(Duration::from_millis(150));
    concurrent_lookups(&gateway, 20).await;
    assert_eq!(gateway.upstream.token_requests(), 2, "one refresh for all");
    // No request went out with the expired token.
    assert_eq!(
        gateway
            .metric("gateway_upstream_requests_total{outcome=\"UPSTREAM_UNAUTHORIZED\"}")
            .await,
        0.0
    );
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_and_the_request_retried() {
    let gateway = spawn_with(client_credentials().customers(30, 1)).await;
    assert_eq!(gateway.upstream.token_requests(), 1);
    gateway.upstream.revoke_issued_tokens();
    let data = gateway.data("{ customers { totalCount } }").await;
    assert_eq!(data["customers"]["totalCount"], 30);
    assert_eq!(gateway.upstream.token_requests(), 2);
    assert_eq!(
        gateway
            .metric("gateway_upstream_requests_total{outcome=\"UPSTREAM_UNAUTHORIZED\"}")
            .await,
        1.0
    );
}

#[tokio::test]
async fn a_token_the_upstream_keeps_refusing_is_reported_after_one_retry() {
    // One request's retry is counted: no pages sent ahead of page 1.
    let gateway = spawn_with(client_credentials().set("GATEWAY_UPSTREAM_PAGES_AHEAD", 0)).await;
    gateway
        .upstream
        .set_fault(elements_gateway::mock_upstream::Fault::Unauthorized);
    let before = gateway.upstream_requests();
    let tokens_before = gateway.upstream.token_requests();
    let answer = gateway.query("{ customers { totalCount } }").await;
    assert_eq!(error_code(&answer), "UPSTREAM_UNAUTHORIZED");
    assert_eq!(
        gateway.upstream_requests() - before,
        2,
        "one retry, no more"
    );
    assert_eq!(gateway.upstream.token_requests() - tokens_before, 1);
}

#[tokio::test]
async fn the_signed_client_assertion_is_accepted_by_the_identity_service() {
    let gateway = spawn_with(Options::default().app_auth(AppAuth::ClientAssertion)).await;
    let ids = gateway.upstream_ids();
    let lookup = async |id: &str| {
        let answer = gateway
            .query_with(
                "query($id: ID!) { customer(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(answer["data"]["customer"]["id"], id, "{answer}");
    };
    lookup(&ids[0]).await;
    // The mock checked the header (kid, x5t), the claims and a fresh jti: nothing refused.
    let stats = gateway.upstream.stats();
    assert_eq!((stats.token_requests, stats.token_refusals), (1, 0));
    // A second assertion (after a refusal) carries a new jti, which the mock also accepts.
    gateway.upstream.revoke_issued_tokens();
    lookup(&ids[1]).await;
    let stats = gateway.upstream.stats();
    assert_eq!((stats.token_requests, stats.token_refusals), (2, 0));
}

#[tokio::test]
async fn refused_client_credentials_keep_the_gateway_unready_and_report_the_code() {
    let gateway = spawn_with(
        client_credentials()
            .set("GATEWAY_UPSTREAM_CLIENT_SECRET", "not-the-secret")
            .without_waiting_for_ready(),
    )
    .await;
    let answer = gateway.query("{ customers { totalCount } }").await;
    assert_eq!(error_code(&answer), "UPSTREAM_UNAUTHORIZED");
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("invalid_client"), "{message}");
    assert!(!message.contains("not-the-secret"), "{message}");
    assert_eq!(
        gateway.upstream_requests(),
        0,
        "no token, no upstream request"
    );
    assert!(!gateway.is_ready().await);
    let readyz = gateway.get("/readyz").await.text().await.unwrap();
    assert!(readyz.contains("app token"), "{readyz}");
}

#[tokio::test]
async fn readiness_waits_for_the_first_token() {
    let mut options = client_credentials().without_waiting_for_ready();
    options.mock.client.as_mut().unwrap().scope = "a-scope-nobody-asks-for".into();
    let gateway = spawn_with(options).await;
    assert!(!gateway.is_ready().await);
    gateway
        .wait_for(|| gateway.upstream.stats().token_refusals >= 1)
        .await;
    assert!(
        !gateway.is_ready().await,
        "no token was granted (invalid_scope)"
    );
}

#[tokio::test]
async fn the_callers_token_never_travels_upstream() {
    let gateway = spawn_with(client_credentials()).await;
    let caller = token();
    gateway.data("{ customers { totalCount } }").await;
    gateway
        .query_with(
            "query($id: ID!) { customer(id: $id) { id } }",
            json!({ "id": gateway.upstream_ids()[0] }),
        )
        .await;
    let seen = gateway.upstream.authorizations_seen();
    assert!(!seen.is_empty());
    for authorization in &seen {
        assert!(
            authorization.starts_with("Bearer mock-app-"),
            "{authorization}"
        );
        assert!(!authorization.contains(&caller));
    }
}

#[tokio::test]
async fn an_assertion_signed_by_another_key_is_refused() {
    let gateway = spawn_with(
        Options::default()
            .app_auth(AppAuth::ClientAssertion)
            .set(
                "GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE",
                crate::common::keys::fixture("rsa-2.key").display(),
            )
            .without_waiting_for_ready(),
    )
    .await;
    let answer = gateway.query("{ customers { totalCount } }").await;
    assert_eq!(error_code(&answer), "UPSTREAM_UNAUTHORIZED");
    assert!(gateway.upstream.stats().token_refusals >= 1);
    assert_eq!(gateway.upstream_requests(), 0);
}

#[tokio::test]
async fn an_unusable_assertion_key_or_certificate_stops_start_up_naming_its_setting() {
    use crate::common::keys::fixture;
    use elements_gateway::{Application, Settings};
    for (key, cert, setting) in [
        (
            fixture("missing.key"),
            fixture("client.crt"),
            "GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE ([upstream] client_assertion_key_file): ",
        ),
        (
            fixture("ec-p256.key"),
            fixture("client.crt"),
            "GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE ([upstream] client_assertion_key_file): ",
        ),
        (
            fixture("client.key"),
            fixture("rsa-1.pub.pem"),
            "GATEWAY_UPSTREAM_CLIENT_CERT_FILE ([upstream] client_cert_file): ",
        ),
        (
            fixture("client.key"),
            fixture("missing.crt"),
            "GATEWAY_UPSTREAM_CLIENT_CERT_FILE ([upstream] client_cert_file): ",
        ),
    ] {
        let env = |name: &str| {
            Some(match name {
                "GATEWAY_LISTEN" => "127.0.0.1:0".to_owned(),
                "GATEWAY_UPSTREAM_TOKEN_URL" => "http://127.0.0.1:9/connect/token".to_owned(),
                "GATEWAY_UPSTREAM_CLIENT_ID" => "app".to_owned(),
                "GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE" => key.display().to_string(),
                "GATEWAY_UPSTREAM_CLIENT_CERT_FILE" => cert.display().to_string(),
                "GATEWAY_JWT_SECRET" => crate::common::SECRET.to_owned(),
                _ => return None,
            })
        };
        let settings = Settings::load(None, env).unwrap();
        let error = Application::build(settings).await.unwrap_err().to_string();
        assert!(error.starts_with(setting), "{error}");
        assert!(!error.contains("MII"), "key material in {error}");
    }
}

#[tokio::test]
async fn a_permission_the_identity_service_refuses_is_dropped_and_the_gateway_stays_ready() {
    let mut options = client_credentials();
    options.mock.client.as_mut().unwrap().scope =
        "elements.license.read.all elements.customers.read.all elements.cbprotected.read.all"
            .into();
    let gateway = spawn_with(options).await;
    assert!(gateway.is_ready().await);
    let readyz: serde_json::Value = gateway.get("/readyz").await.json().await.unwrap();
    assert_eq!(
        readyz["permissions"]["missing"],
        json!(["elements.jobs.read.all"]),
        "{readyz}"
    );
    assert_eq!(readyz["permissions"]["held"].as_array().unwrap().len(), 3);
    let missing = "gateway_upstream_permissions{permission=\"elements.jobs.read.all\"}";
    let held = "gateway_upstream_permissions{permission=\"elements.license.read.all\"}";
    assert_eq!(gateway.metric(missing).await, 0.0);
    assert_eq!(gateway.metric(held).await, 1.0);
    // The four asked at once, then each alone, then the three granted: six requests, once.
    assert_eq!(gateway.upstream.stats().token_requests, 6);
    let data = gateway.data("{ customers(first: 2) { totalCount } }").await;
    assert_eq!(data["customers"]["totalCount"], 120);
    // The other endpoints are served; the jobs, read without the permission, are forbidden.
    let answer = gateway
        .query("{ customers(first: 2) { nodes { seats(platform: MICROSOFT_365) { tenantId } backupJobs { jobId } } } }")
        .await;
    let nodes = answer["data"]["customers"]["nodes"].as_array().unwrap();
    assert!(
        nodes
            .iter()
            .all(|node| node["seats"].is_array() && node["backupJobs"].is_null()),
        "{answer}"
    );
    crate::common::assert_all_forbidden(&answer, "elements.jobs.read.all");
    // The narrowed scope is asked for from then on: a new token costs one request.
    gateway.upstream.revoke_issued_tokens();
    gateway.advance(Duration::from_secs(3600));
    gateway.data("{ customers(first: 3) { totalCount } }").await;
    assert_eq!(gateway.upstream.stats().token_requests, 7);
}
