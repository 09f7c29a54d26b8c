//! Caller tokens: every refusal is 401 (or 403 for scope) with a GraphQL-shaped body, and
//! nothing reaches the upstream first.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::common::{
    AUDIENCE, Options, SECRET, TestGateway, now, sign, spawn, spawn_with, token, valid_claims,
};

const QUERY: &str = "{ customers { totalCount } }";

/// Valid claims with `changes` made: a null removes the claim.
pub(crate) fn with(changes: Value) -> Value {
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

/// An HS256 token signed with `SECRET` under a header of our own (jsonwebtoken's has no `crit`).
fn signed_with_header(header: &Value, claims: &Value) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// A token of `claims` with `alg: none` and no signature.
pub(crate) fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}

/// Sends `authorization`, checks the refusal (401, or 403 for scope), its shape, that it was
/// counted under `reason`, and that the upstream saw nothing; returns the message.
pub(crate) async fn assert_refused(
    gateway: &TestGateway,
    authorization: Option<&str>,
    reason: &str,
) -> String {
    let (status, code) = if matches!(reason, "insufficient_scope" | "missing_customer_claim") {
        (403, "FORBIDDEN")
    } else {
        (401, "UNAUTHENTICATED")
    };
    let series = format!("gateway_auth_refusals_total{{reason=\"{reason}\"}}");
    let counted_before = gateway.metric(&series).await;
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
    let message = body["errors"][0]["message"].as_str().unwrap().to_owned();
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
    assert_eq!(
        gateway.metric(&series).await,
        counted_before + 1.0,
        "{authorization:?} was not counted as {reason}: {message}"
    );
    message
}

fn bearer(claims: &Value) -> String {
    format!("Bearer {}", sign(claims, Algorithm::HS256, SECRET))
}

/// Sends a token over `claims` and checks it is accepted.
async fn assert_accepted(gateway: &TestGateway, claims: &Value) {
    let token = sign(claims, Algorithm::HS256, SECRET);
    let response = gateway.post(&json!({ "query": QUERY }), Some(&token)).await;
    assert_eq!(response.status(), 200, "{claims}");
}

/// Claims that hold the scope the refusal tests require, changed by `changes`.
fn scoped(changes: Value) -> Value {
    let mut claims = with(changes);
    claims["scope"] = json!("elements.read");
    claims
}

/// Authorizations refused for their form, header or signature, by refusal reason.
fn refused_forms() -> Vec<(&'static str, Vec<Option<String>>)> {
    let good = sign(&scoped(json!({})), Algorithm::HS256, SECRET);
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(scoped(json!({"sub": "admin"})).to_string()),
        parts[2]
    );
    vec![
        ("missing", vec![None]),
        (
            "not_bearer",
            vec![Some(format!("Basic {}", token())), Some("Bearer".into())],
        ),
        (
            "malformed",
            vec![
                Some("Bearer not-a-jwt".into()),
                Some("Bearer a.b.c".into()),
                Some("Bearer a.b.c.d".into()),
            ],
        ),
        (
            "crit_header",
            vec![Some(format!(
                "Bearer {}",
                signed_with_header(
                    &json!({ "alg": "HS256", "typ": "JWT", "crit": ["exp"] }),
                    &scoped(json!({}))
                )
            ))],
        ),
        (
            "algorithm_not_allowed",
            vec![
                Some(format!("Bearer {}", unsigned(&scoped(json!({}))))),
                Some(format!(
                    "Bearer {}",
                    sign(&scoped(json!({})), Algorithm::HS512, SECRET)
                )),
            ],
        ),
        (
            "bad_signature",
            vec![
                Some(format!(
                    "Bearer {}",
                    sign(
                        &scoped(json!({})),
                        Algorithm::HS256,
                        "another-secret-of-enough-length-000"
                    )
                )),
                Some(format!("Bearer {forged}")),
            ],
        ),
    ]
}

/// Well-signed tokens refused for their claims, by refusal reason.
fn refused_claims() -> Vec<(&'static str, Vec<Option<String>>)> {
    let t = now();
    vec![
        (
            "expired",
            vec![Some(bearer(&scoped(json!({ "exp": t - 120 }))))],
        ),
        (
            "missing_exp",
            vec![Some(bearer(&scoped(json!({ "exp": null }))))],
        ),
        (
            "not_yet_valid",
            vec![Some(bearer(&scoped(json!({ "nbf": t + 120 }))))],
        ),
        (
            "wrong_issuer",
            vec![Some(bearer(&scoped(
                json!({ "iss": "https://someone-else.test" }),
            )))],
        ),
        (
            "missing_iss",
            vec![Some(bearer(&scoped(json!({ "iss": null }))))],
        ),
        (
            "wrong_audience",
            vec![
                Some(bearer(&scoped(json!({ "aud": "another-api" })))),
                Some(bearer(&scoped(
                    json!({ "aud": ["another-api", "a-third"] }),
                ))),
            ],
        ),
        (
            "missing_aud",
            vec![Some(bearer(&scoped(json!({ "aud": null }))))],
        ),
        (
            "insufficient_scope",
            vec![
                Some(bearer(&valid_claims())),
                Some(bearer(&with(
                    json!({ "scope": "elements.write elements.reader" }),
                ))),
                Some(bearer(&with(json!({ "scp": ["elements.write"] })))),
            ],
        ),
    ]
}

#[tokio::test]
async fn every_refusal_reason_has_its_own_message_and_metric_label() {
    let gateway =
        spawn_with(Options::default().set("GATEWAY_JWT_REQUIRED_SCOPE", "elements.read")).await;
    let mut cases = refused_forms();
    cases.extend(refused_claims());
    let mut messages: HashMap<String, &str> = HashMap::new();
    for (reason, authorizations) in &cases {
        for authorization in authorizations {
            let message = assert_refused(&gateway, authorization.as_deref(), reason).await;
            if let Some(other) = messages.insert(message.clone(), reason) {
                assert_eq!(other, *reason, "two reasons share the message {message:?}");
            }
        }
    }
    assert_eq!(messages.len(), cases.len(), "{messages:?}");
}

#[tokio::test]
async fn leeway_and_audience_lists_are_honoured() {
    let gateway = spawn().await;
    let t = now();
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
async fn scope_or_scp_grant_the_required_scope() {
    let gateway =
        spawn_with(Options::default().set("GATEWAY_JWT_REQUIRED_SCOPE", "elements.read")).await;
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
async fn a_token_whose_header_has_crit_is_refused_and_the_same_without_it_passes() {
    let gateway = spawn().await;
    let claims = with(json!({}));
    let plain = signed_with_header(&json!({ "alg": "HS256", "typ": "JWT" }), &claims);
    let answer = gateway.post(&json!({ "query": QUERY }), Some(&plain)).await;
    assert_eq!(answer.status(), 200);
    for crit in [json!(["exp"]), json!([]), json!("b64"), json!(null)] {
        let header = json!({ "alg": "HS256", "typ": "JWT", "crit": crit });
        let token = signed_with_header(&header, &claims);
        assert_refused(&gateway, Some(&format!("Bearer {token}")), "crit_header").await;
    }
}

/// A token for `sub` that may see `customers` only (the claim `elements_customers`).
pub(crate) fn scoped_token(sub: &str, customers: serde_json::Value) -> String {
    let mut claims = with(json!({ "elements_customers": customers }));
    claims["sub"] = sub.into();
    crate::common::sign(
        &claims,
        jsonwebtoken::Algorithm::HS256,
        crate::common::SECRET,
    )
}
