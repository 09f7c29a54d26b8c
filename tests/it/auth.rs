//! Caller tokens: every refusal is 401 (or 403 for scope) with a GraphQL-shaped body, and
//! nothing reaches the upstream first.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::common::{
    AUDIENCE, Options, SECRET, TestGateway, now, sign, spawn, spawn_with, token, valid_claims,
};

const QUERY: &str = "{ customers { totalCount } }";

fn with(changes: Value) -> Value {
    let mut claims = valid_claims();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value.clone();
        }
    }
    claims
}

fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}

/// Sends `authorization` and checks the refusal, its shape, and that the upstream saw nothing.
async fn assert_refused(
    gateway: &TestGateway,
    authorization: Option<&str>,
    status: u16,
    code: &str,
) {
    let before = gateway.upstream_requests();
    let mut request = gateway
        .client
        .post(gateway.url("/graphql"))
        .json(&json!({ "query": QUERY }));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), status, "{authorization:?}");
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    if status == 401 {
        assert_eq!(challenge, "Bearer");
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], code, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.is_empty());
    if let Some(token) = authorization.and_then(|value| value.split(' ').nth(1)) {
        assert!(!message.contains(token), "the message repeats the token");
    }
    assert!(!message.contains(SECRET));
    assert_eq!(
        gateway.upstream_requests(),
        before,
        "the upstream was called"
    );
}

/// Sends a token over `claims` and checks it is accepted.
async fn assert_accepted(gateway: &TestGateway, claims: &Value) {
    let token = sign(claims, Algorithm::HS256, SECRET);
    let response = gateway.post(&json!({ "query": QUERY }), Some(&token)).await;
    assert_eq!(response.status(), 200, "{claims}");
}

#[tokio::test]
async fn missing_or_malformed_credentials_are_refused_with_401() {
    let gateway = spawn().await;
    assert_refused(&gateway, None, 401, "UNAUTHENTICATED").await;
    assert_refused(
        &gateway,
        Some(&format!("Basic {}", token())),
        401,
        "UNAUTHENTICATED",
    )
    .await;
    assert_refused(&gateway, Some("Bearer"), 401, "UNAUTHENTICATED").await;
    assert_refused(&gateway, Some("Bearer not-a-jwt"), 401, "UNAUTHENTICATED").await;
    assert_refused(&gateway, Some("Bearer a.b.c"), 401, "UNAUTHENTICATED").await;
}

#[tokio::test]
async fn bad_signatures_and_foreign_algorithms_are_refused_with_401() {
    let gateway = spawn().await;
    let other_secret = sign(
        &valid_claims(),
        Algorithm::HS256,
        "another-secret-of-enough-length-000",
    );
    assert_refused(
        &gateway,
        Some(&format!("Bearer {other_secret}")),
        401,
        "UNAUTHENTICATED",
    )
    .await;
    let none = unsigned(&valid_claims());
    assert_refused(
        &gateway,
        Some(&format!("Bearer {none}")),
        401,
        "UNAUTHENTICATED",
    )
    .await;
    // Same secret, an algorithm that is not configured.
    let hs512 = sign(&valid_claims(), Algorithm::HS512, SECRET);
    assert_refused(
        &gateway,
        Some(&format!("Bearer {hs512}")),
        401,
        "UNAUTHENTICATED",
    )
    .await;
    // A tampered payload with the original signature.
    let good = token();
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(with(json!({"sub": "admin"})).to_string()),
        parts[2]
    );
    assert_refused(
        &gateway,
        Some(&format!("Bearer {forged}")),
        401,
        "UNAUTHENTICATED",
    )
    .await;
}

#[tokio::test]
async fn time_issuer_and_audience_claims_are_enforced_with_leeway() {
    let gateway = spawn().await;
    let t = now();
    for claims in [
        with(json!({ "exp": t - 120 })),
        with(json!({ "exp": null })),
        with(json!({ "nbf": t + 120 })),
        with(json!({ "iss": "https://someone-else.test" })),
        with(json!({ "iss": null })),
        with(json!({ "aud": "another-api" })),
        with(json!({ "aud": ["another-api", "a-third"] })),
        with(json!({ "aud": null })),
    ] {
        let bearer = format!("Bearer {}", sign(&claims, Algorithm::HS256, SECRET));
        assert_refused(&gateway, Some(&bearer), 401, "UNAUTHENTICATED").await;
    }
    // Within the 30 s leeway, and an audience list that includes ours: accepted.
    for claims in [
        with(json!({ "exp": t - 5 })),
        with(json!({ "nbf": t + 5 })),
        with(json!({ "aud": ["another-api", AUDIENCE] })),
    ] {
        assert_accepted(&gateway, &claims).await;
    }
}

#[tokio::test]
async fn a_missing_scope_is_403_and_scope_or_scp_grant_it() {
    let gateway =
        spawn_with(Options::default().set("GATEWAY_JWT_REQUIRED_SCOPE", "elements.read")).await;
    for claims in [
        valid_claims(),
        with(json!({ "scope": "elements.write elements.reader" })),
        with(json!({ "scp": ["elements.write"] })),
    ] {
        let bearer = format!("Bearer {}", sign(&claims, Algorithm::HS256, SECRET));
        assert_refused(&gateway, Some(&bearer), 403, "FORBIDDEN").await;
    }
    for claims in [
        with(json!({ "scope": "openid elements.read" })),
        with(json!({ "scp": "elements.read" })),
        with(json!({ "scp": ["other", "elements.read"] })),
    ] {
        assert_accepted(&gateway, &claims).await;
    }
}

#[tokio::test]
async fn get_requests_need_a_token_too_but_the_graphiql_page_does_not() {
    let gateway = spawn().await;
    let before = gateway.upstream_requests();
    let response = gateway
        .client
        .get(gateway.url("/graphql?query=%7Bcustomers%7BtotalCount%7D%7D"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(gateway.upstream_requests(), before);
    let page = gateway
        .client
        .get(gateway.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("GraphiQL"));
}

#[tokio::test]
async fn refusals_are_counted_by_reason_in_metrics() {
    let gateway = spawn().await;
    assert_refused(&gateway, None, 401, "UNAUTHENTICATED").await;
    let expired = sign(
        &with(json!({ "exp": now() - 3600 })),
        Algorithm::HS256,
        SECRET,
    );
    assert_refused(
        &gateway,
        Some(&format!("Bearer {expired}")),
        401,
        "UNAUTHENTICATED",
    )
    .await;
    let metrics = gateway.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("gateway_auth_refusals_total{reason=\"missing\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gateway_auth_refusals_total{reason=\"expired\"} 1"),
        "{metrics}"
    );
}
